/**
 * The policy file, bundled into the Worker at build time. `wrangler.toml` aliases this module to
 * policy/policy.json; `npm run dev` and the tests alias it to their own policies.
 */
declare module 'token-broker-policy' {
  const document: unknown;
  export default document;
}
