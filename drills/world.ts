/**
 * The drills' world: the bench world (keys, admin issuer, `codex` and `cold-*` credentials) plus what the
 * drills need on top, every secret value a canary:
 *  - `stale`: 2 s TTL and a 5 min stale-if-error window (the outage drill);
 *  - `uncached`: TTL 0, every request fetches (the slow/throttling drill);
 *  - `rotating`: an `api_key` that the rotation drill rotates;
 *  - a second trusted issuer and an untrusted key, as the token-mutation generator expects.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { generateSigningKey } from '../src/sdk/generate-signing-key.ts';
import { BENCH_ADMIN_AUDIENCE, BENCH_ADMIN_ISSUER, BENCH_AUDIENCE, BENCH_ISSUER, createBenchWorld, type BenchWorld } from '../bench/world.ts';
import { WORLD_DEFAULTS, type MutationWorld } from '../test/support/token-mutations.ts';

export const OTHER_ISSUER = 'https://other-orchestrator.drill';

export interface DrillWorld extends BenchWorld {
  /** Every secret value in the world; none may show up anywhere but in a 200 body. Grows when a drill rotates. */
  canaries: Set<string>;
  /** The value behind each credential name at the start. */
  valueOf: Record<string, string>;
  mutationWorld: MutationWorld;
}

export function canaryValue(prefix: 'at' | 'sk'): string {
  return `${prefix}-CANARY-${randomBytes(18).toString('hex')}`;
}

export async function createDrillWorld(dir: string): Promise<DrillWorld> {
  const world = await createBenchWorld({ dir, coldCredentials: 4, burstCredentials: 0 });
  const [stranger, other] = await Promise.all([generateSigningKey('ES256'), generateSigningKey('ES256')]);
  const policy = world.policy as {
    issuers: Record<string, unknown>;
    credentials: Record<string, Record<string, unknown>>;
  };
  policy.issuers[OTHER_ISSUER] = { audience: BENCH_AUDIENCE, jwks: other.publicJwks };
  const allow = [{ iss: BENCH_ISSUER, sub: 'sb-*' }];
  const extra: Record<string, Record<string, unknown>> = {
    stale: { kind: 'codex_access_token', secret: { id: 'bench/stale', json_key: 'access_token' }, allow, cache_ttl_seconds: 2, stale_if_error_seconds: 300 },
    uncached: { kind: 'codex_access_token', secret: { id: 'bench/uncached', json_key: 'access_token' }, allow, cache_ttl_seconds: 0, stale_if_error_seconds: 0 },
    rotating: { kind: 'api_key', secret: { id: 'bench/rotating' }, allow, cache_ttl_seconds: 3600 },
  };
  Object.assign(policy.credentials, extra);
  writeFileSync(world.policyPath, `${JSON.stringify(policy, null, 2)}\n`);

  // One canary per secret, so a leak also tells which secret leaked.
  const valueOf: Record<string, string> = {};
  const secrets = Object.entries(policy.credentials).map(([name, credential]) => {
    const kind = credential.kind === 'api_key' ? 'sk' : 'at';
    const value = canaryValue(kind);
    valueOf[name] = value;
    const secret = credential.secret as { id: string; json_key?: string };
    world.secretOf[name] = secret.id;
    return { name: secret.id, secretString: secret.json_key ? JSON.stringify({ [secret.json_key]: value }) : value };
  });
  world.secrets = secrets;
  // The broker's AWS secret key and audit key must not leak either.
  const canaries = new Set([...Object.values(valueOf), world.principal.secretAccessKey, world.auditHmacKey]);

  const mutationWorld: MutationWorld = {
    keys: { primary: world.keys.es256, eddsa: world.keys.eddsa, stranger: stranger.privateJwk as JWK, other: other.privateJwk as JWK, admin: world.keys.admin },
    issuer: BENCH_ISSUER,
    otherIssuer: OTHER_ISSUER,
    adminIssuer: BENCH_ADMIN_ISSUER,
    audience: BENCH_AUDIENCE,
    adminAudience: BENCH_ADMIN_AUDIENCE,
    ...WORLD_DEFAULTS,
  };
  return { ...world, canaries, valueOf, mutationWorld };
}
