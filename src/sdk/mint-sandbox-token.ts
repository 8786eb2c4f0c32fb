/**
 * Mints a sandbox token: what an orchestrator calls once per sandbox. Exported for orchestrators written
 * in TypeScript; `token-broker mint` is the same function on the command line.
 */
import { importJWK, SignJWT, type JWK } from 'jose';

export { SANDBOX_TOKEN_TYPE } from '../policy/compile.ts';
import { SANDBOX_TOKEN_TYPE } from '../policy/compile.ts';

export interface MintOptions {
  /** The orchestrator's private JWK (with `alg` and `kid`, as `generateSigningKey` makes them). */
  privateJwk: JWK;
  issuer: string;
  /** The sandbox id. */
  subject: string;
  audience: string | string[];
  /** Seconds until expiry (default 300). Keep it short: the broker refuses lifetimes above the issuer's maximum. */
  lifetimeSeconds?: number;
  /** Extra claims for policy rules, e.g. `{ team: 'research' }`. Registered claims here are ignored. */
  claims?: Record<string, unknown>;
  /** Token id; defaults to a random UUID. Each token is single-use per credential. */
  jti?: string;
  /** The `typ` header; the broker checks it against the issuer's expected type. */
  type?: string;
  now?: Date;
}

const REGISTERED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti']);

export async function mintSandboxToken(options: MintOptions): Promise<string> {
  const alg = options.privateJwk.alg;
  if (alg !== 'ES256' && alg !== 'EdDSA' && alg !== 'Ed25519') {
    throw new Error('privateJwk.alg must be ES256 or EdDSA');
  }
  if (!options.privateJwk.d) throw new Error('privateJwk is not a private key');
  const key = await importJWK(options.privateJwk, alg);
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const extra = Object.fromEntries(Object.entries(options.claims ?? {}).filter(([name]) => !REGISTERED.has(name)));
  return new SignJWT(extra)
    .setProtectedHeader({ alg, typ: options.type ?? SANDBOX_TOKEN_TYPE, ...(options.privateJwk.kid ? { kid: options.privateJwk.kid } : {}) })
    .setIssuer(options.issuer)
    .setSubject(options.subject)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.lifetimeSeconds ?? 300))
    .setJti(options.jti ?? crypto.randomUUID())
    .sign(key);
}
