/**
 * The policy file's schema: the single source of truth for what a policy may say. Unknown fields are
 * rejected (strict objects) so that a typo such as `json_kye` fails validation instead of being ignored.
 */
import * as z from 'zod/mini';

/** Asymmetric algorithms only: `none` and HMAC can never be configured (RFC 8725 §3.1, §3.2). */
export const ALLOWED_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;
export type Algorithm = (typeof ALLOWED_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: Algorithm[] = ['ES256', 'EdDSA'];
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 15 * 60;
export const DEFAULT_CLOCK_LEEWAY_SECONDS = 30;

export const CREDENTIAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A claim name a rule may test: printable, no wildcards. */
const CLAIM_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** A public JWK. Private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) are refused: a policy holds only public keys. */
const publicJwk = z
  .looseObject({
    kty: z.enum(['EC', 'OKP', 'RSA']),
    kid: z.optional(nonEmpty(256)),
    alg: z.optional(z.enum(ALLOWED_ALGORITHMS)),
    use: z.optional(z.literal('sig')),
    crv: z.optional(z.string()),
    x: z.optional(z.string()),
    y: z.optional(z.string()),
    n: z.optional(z.string()),
    e: z.optional(z.string()),
  })
  .check(
    z.refine((jwk) => !['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in jwk), {
      message: 'must be a public key (private key members such as "d" are not allowed)',
    }),
  );

const jwksUri = z.url({ protocol: /^https?$/ }).check(
  z.refine(
    (uri) => {
      const url = new URL(uri);
      return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    },
    { message: 'must use https (plain http is allowed only for localhost)' },
  ),
);

const issuerSchema = z
  .strictObject({
    description: z.optional(z.string()),
    audience: z.union([nonEmpty(512), z.array(nonEmpty(512)).check(z.minLength(1))]),
    algorithms: z.optional(z.array(z.enum(ALLOWED_ALGORITHMS)).check(z.minLength(1))),
    max_token_lifetime_seconds: z.optional(z.int().check(z.positive(), z.lte(24 * 60 * 60))),
    clock_leeway_seconds: z.optional(z.int().check(z.gte(0), z.lte(300))),
    /** The `typ` header this issuer's tokens carry (default `sandbox+jwt`; `admin+jwt` for admin issuers). */
    typ: z.optional(z.string().check(z.regex(/^[A-Za-z0-9.+\/-]{1,64}$/, 'must be a media type such as sandbox+jwt'))),
    jwks: z.optional(z.strictObject({ keys: z.array(publicJwk).check(z.minLength(1)) })),
    jwks_uri: z.optional(jwksUri),
  })
  .check(
    z.refine((issuer) => (issuer.jwks === undefined) !== (issuer.jwks_uri === undefined), {
      message: 'needs exactly one of "jwks" or "jwks_uri"',
    }),
  );

/** A rule: `iss` (exact) plus claim matchers, each an exact string or a `*` glob. */
const ruleSchema = z
  .record(z.string().check(z.regex(CLAIM_NAME_PATTERN, 'must be a claim name')), nonEmpty(512))
  .check(
    z.refine((rule) => typeof rule.iss === 'string', { message: 'needs an "iss" (rules are always scoped to one issuer)' }),
  )
  .check(z.refine((rule) => !(rule.iss ?? '').includes('*'), { message: '"iss" must be exact, not a glob' }));

const credentialSchema = z.strictObject({
  description: z.optional(z.string()),
  kind: z.enum(['codex_access_token', 'api_key']),
  secret: z.strictObject({
    id: nonEmpty(2048),
    json_key: z.optional(nonEmpty(256)),
  }),
  /** How long the secret's value is cached per isolate (default 60 s; 0 fetches every time). */
  cache_ttl_seconds: z.optional(z.int().check(z.gte(0), z.lte(3600))),
  /** How long past the TTL a cached value may still be served while Secrets Manager fails (default 900 s; 0 disables). */
  stale_if_error_seconds: z.optional(z.int().check(z.gte(0), z.lte(86_400))),
  /** How many times one token may fetch this credential (default 1: single use). */
  max_uses: z.optional(z.int().check(z.gte(1), z.lte(1000))),
  allow: z.array(ruleSchema).check(z.minLength(1)),
});

/** Admin rules must test at least one claim besides `iss`: being signed by the admin issuer is not enough. */
const adminRuleSchema = ruleSchema.check(
  z.refine((rule) => Object.keys(rule).some((claim) => claim !== 'iss'), {
    message: 'needs at least one claim besides "iss" (e.g. "role": "token-broker-admin")',
  }),
);

const adminSchema = z.strictObject({
  description: z.optional(z.string()),
  /** Issuers of admin tokens (the platform team's key, Cloudflare Access, …). Never the sandbox issuers. */
  issuers: z
    .record(nonEmpty(512), issuerSchema)
    .check(z.refine((issuers) => Object.keys(issuers).length > 0, { message: 'needs at least one issuer' })),
  allow: z.array(adminRuleSchema).check(z.minLength(1)),
});

export const policySchema = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(1),
  /** Which deployment this policy is for; checked against the Worker's BROKER_ENVIRONMENT at startup. */
  environment: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a short lowercase name'))),
  issuers: z
    .record(nonEmpty(512), issuerSchema)
    .check(z.refine((issuers) => Object.keys(issuers).length > 0, { message: 'needs at least one issuer' })),
  credentials: z.record(
    z.string().check(z.regex(CREDENTIAL_NAME_PATTERN, 'must match ' + CREDENTIAL_NAME_PATTERN.source)),
    credentialSchema,
  ),
  admin: z.optional(adminSchema),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type IssuerDocument = z.infer<typeof issuerSchema>;
export type AdminDocument = z.infer<typeof adminSchema>;
export type CredentialDocument = z.infer<typeof credentialSchema>;
export type CredentialKind = CredentialDocument['kind'];
