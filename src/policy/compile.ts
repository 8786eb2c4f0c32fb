/**
 * Compile, then check: the policy document is validated once into an immutable form. Checking a token
 * against a compiled policy cannot fail for configuration reasons, only grant or deny.
 */
import * as z from 'zod/mini';
import { compileGlob, type Glob } from './glob.ts';
import {
  DEFAULT_ALGORITHMS,
  DEFAULT_CLOCK_LEEWAY_SECONDS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  policySchema,
  type AdminDocument,
  type Algorithm,
  type CredentialKind,
  type IssuerDocument,
  type PolicyDocument,
} from './schema.ts';

export interface CompiledIssuer {
  readonly iss: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly Algorithm[];
  readonly maxTokenLifetimeSeconds: number;
  readonly clockLeewaySeconds: number;
  /** Required `typ` header (RFC 8725 §3.11): keeps tokens minted for other purposes from being used here. */
  readonly typ: string;
  readonly keySource: KeySource;
}

export type KeySource =
  | { readonly type: 'inline'; readonly jwks: { keys: Record<string, unknown>[] } }
  | { readonly type: 'remote'; readonly uri: string };

export interface CompiledRule {
  readonly iss: string;
  /** Claim name → matcher. Every matcher must accept the token's claim for the rule to grant. */
  readonly matchers: ReadonlyArray<readonly [claim: string, glob: Glob]>;
}

export interface CompiledCredential {
  readonly name: string;
  readonly kind: CredentialKind;
  readonly secretId: string;
  readonly jsonKey: string | undefined;
  readonly maxUses: number;
  readonly cache: { readonly ttlMs: number; readonly staleIfErrorMs: number };
  readonly rules: readonly CompiledRule[];
}

export interface CompiledAdmin {
  readonly issuers: ReadonlyMap<string, CompiledIssuer>;
  readonly rules: readonly CompiledRule[];
}

export interface CompiledPolicy {
  readonly issuers: ReadonlyMap<string, CompiledIssuer>;
  readonly credentials: ReadonlyMap<string, CompiledCredential>;
  readonly environment: string | undefined;
  /** Absent when the policy declares no admin access: every admin route then answers 403. */
  readonly admin: CompiledAdmin | undefined;
}

/** A policy that fails validation. `field` names the first bad field, e.g. `credentials.codex.secret.id`. */
export class PolicyInvalidError extends Error {
  override readonly name = 'PolicyInvalidError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`policy invalid at ${field || '(root)'}: ${problem}`);
  }
}

/** Parses and validates a policy document (already JSON-decoded). Throws PolicyInvalidError. */
export function compilePolicy(document: unknown): CompiledPolicy {
  const parsed = z.safeParse(policySchema, document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    // Name the unknown field itself (a typo like `json_kye`), not just the object that holds it.
    if (issue.code === 'unrecognized_keys') {
      throw new PolicyInvalidError([...path, issue.keys[0]!].join('.'), 'is not a known field');
    }
    throw new PolicyInvalidError(path.join('.'), issue.message);
  }
  return compileValidated(parsed.data);
}

function compileValidated(policy: PolicyDocument): CompiledPolicy {
  const issuers = new Map<string, CompiledIssuer>();
  for (const [iss, issuer] of Object.entries(policy.issuers)) {
    issuers.set(iss, compileIssuer(iss, issuer, SANDBOX_TOKEN_TYPE));
  }

  const credentials = new Map<string, CompiledCredential>();
  for (const [name, credential] of Object.entries(policy.credentials)) {
    const rules = credential.allow.map((rule, index) => compileRule(rule, issuers, `credentials.${name}.allow.${index}`, 'issuers'));
    credentials.set(
      name,
      Object.freeze({
        name,
        kind: credential.kind,
        secretId: credential.secret.id,
        jsonKey: credential.secret.json_key,
        maxUses: credential.max_uses ?? 1,
        cache: Object.freeze({
          ttlMs: (credential.cache_ttl_seconds ?? DEFAULT_CACHE_TTL_SECONDS) * 1000,
          staleIfErrorMs: (credential.stale_if_error_seconds ?? DEFAULT_STALE_IF_ERROR_SECONDS) * 1000,
        }),
        rules: Object.freeze(rules),
      }),
    );
  }
  return Object.freeze({ issuers, credentials, environment: policy.environment, admin: policy.admin ? compileAdmin(policy.admin, issuers) : undefined });
}

function compileAdmin(admin: AdminDocument, sandboxIssuers: ReadonlyMap<string, CompiledIssuer>): CompiledAdmin {
  const issuers = new Map<string, CompiledIssuer>();
  for (const [iss, issuer] of Object.entries(admin.issuers)) {
    // Separate trust roots: a sandbox token can never be an admin token.
    if (sandboxIssuers.has(iss)) throw new PolicyInvalidError(`admin.issuers.${iss}`, 'is also a sandbox issuer; admin issuers must be separate');
    issuers.set(iss, compileIssuer(iss, issuer, ADMIN_TOKEN_TYPE));
  }
  const rules = admin.allow.map((rule, index) => compileRule(rule, issuers, `admin.allow.${index}`, 'admin.issuers'));
  return Object.freeze({ issuers, rules: Object.freeze(rules) });
}

function compileRule(rule: Record<string, string>, issuers: ReadonlyMap<string, CompiledIssuer>, field: string, declaredIn: string): CompiledRule {
  const iss = rule.iss!;
  if (!issuers.has(iss)) throw new PolicyInvalidError(`${field}.iss`, `names an issuer that is not declared in "${declaredIn}"`);
  const matchers = Object.entries(rule)
    .filter(([claim]) => claim !== 'iss')
    .map(([claim, pattern]) => [claim, compileGlob(pattern)] as const);
  return Object.freeze({ iss, matchers: Object.freeze(matchers) });
}

export const DEFAULT_CACHE_TTL_SECONDS = 60;
export const DEFAULT_STALE_IF_ERROR_SECONDS = 15 * 60;
export const SANDBOX_TOKEN_TYPE = 'sandbox+jwt';
export const ADMIN_TOKEN_TYPE = 'admin+jwt';

function compileIssuer(iss: string, issuer: IssuerDocument, defaultType: string): CompiledIssuer {
  const keySource: KeySource = issuer.jwks
    ? { type: 'inline', jwks: structuredClone(issuer.jwks) }
    : { type: 'remote', uri: issuer.jwks_uri! };
  return Object.freeze({
    iss,
    audiences: Object.freeze(typeof issuer.audience === 'string' ? [issuer.audience] : [...issuer.audience]),
    algorithms: Object.freeze([...(issuer.algorithms ?? DEFAULT_ALGORITHMS)]),
    maxTokenLifetimeSeconds: issuer.max_token_lifetime_seconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    clockLeewaySeconds: issuer.clock_leeway_seconds ?? DEFAULT_CLOCK_LEEWAY_SECONDS,
    typ: issuer.typ ?? defaultType,
    keySource: Object.freeze(keySource),
  });
}
