/**
 * The bench world: signing keys (ES256 and EdDSA for sandboxes, ES256 for admin), a policy that trusts
 * them, the Secrets Manager contents and the broker's principal. Generated fresh for every run (no private
 * key is ever written to the repo); the policy JSON goes to a temporary folder so it can be bundled.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { Principal, SeedSecret } from '../dev/secrets-manager/server.ts';
import { generateSigningKey } from '../src/sdk/generate-signing-key.ts';

export const BENCH_ISSUER = 'https://orchestrator.bench';
export const BENCH_AUDIENCE = 'https://broker.bench';
export const BENCH_ADMIN_ISSUER = 'https://platform.bench';
export const BENCH_ADMIN_AUDIENCE = 'https://broker.bench/admin';
export const BENCH_REGION = 'us-east-1';

/** The credential every warm-path phase asks for; its secret stays cached for the whole run. */
export const WARM_CREDENTIAL = 'codex';
/** Cache TTL of every bench credential: the policy's maximum, far longer than a run. */
export const BENCH_CACHE_TTL_SECONDS = 3600;

export interface BenchWorldOptions {
  dir: string;
  /** Credentials whose secret nobody has fetched yet: one per cold-miss sample (`cold-0`, `cold-1`, …). */
  coldCredentials?: number;
  /** Credentials reserved for single-flight bursts (`burst-0`, …): one per burst. */
  burstCredentials?: number;
}

export interface BenchWorld {
  dir: string;
  policyPath: string;
  policy: Record<string, unknown>;
  keys: { es256: JWK; eddsa: JWK; admin: JWK };
  secrets: SeedSecret[];
  /** Secret id behind each credential name. */
  secretOf: Record<string, string>;
  principal: Principal;
  auditHmacKey: string;
  coldCredentials: string[];
  burstCredentials: string[];
}

export async function createBenchWorld(options: BenchWorldOptions): Promise<BenchWorld> {
  const [es256, eddsa, admin] = await Promise.all([generateSigningKey('ES256'), generateSigningKey('EdDSA'), generateSigningKey('ES256')]);
  const coldCredentials = Array.from({ length: options.coldCredentials ?? 12 }, (_, i) => `cold-${i}`);
  const burstCredentials = Array.from({ length: options.burstCredentials ?? 8 }, (_, i) => `burst-${i}`);
  const names = [WARM_CREDENTIAL, ...coldCredentials, ...burstCredentials];
  const secretOf = Object.fromEntries(names.map((name) => [name, `bench/${name}`]));

  const credentials = Object.fromEntries(
    names.map((name) => [
      name,
      {
        kind: 'codex_access_token',
        secret: { id: secretOf[name], json_key: 'access_token' },
        allow: [{ iss: BENCH_ISSUER, sub: 'sb-*' }],
        cache_ttl_seconds: BENCH_CACHE_TTL_SECONDS,
      },
    ]),
  );
  const policy = {
    version: 1,
    issuers: {
      [BENCH_ISSUER]: {
        audience: BENCH_AUDIENCE,
        algorithms: ['ES256', 'EdDSA'],
        jwks: { keys: [...es256.publicJwks.keys, ...eddsa.publicJwks.keys] },
      },
    },
    credentials,
    admin: {
      issuers: { [BENCH_ADMIN_ISSUER]: { audience: BENCH_ADMIN_AUDIENCE, jwks: admin.publicJwks } },
      allow: [{ iss: BENCH_ADMIN_ISSUER, role: 'token-broker-admin' }],
    },
  };

  mkdirSync(options.dir, { recursive: true });
  const policyPath = join(options.dir, 'policy.json');
  writeFileSync(policyPath, `${JSON.stringify(policy, null, 2)}\n`);

  const value = `at-BENCH-${randomBytes(16).toString('hex')}`;
  const secrets: SeedSecret[] = names.map((name) => ({ name: secretOf[name]!, secretString: JSON.stringify({ access_token: value }) }));
  const principal: Principal = {
    accessKeyId: 'AKIDBENCHBROKER00001',
    secretAccessKey: randomBytes(20).toString('hex'),
    allow: { actions: ['GetSecretValue', 'DescribeSecret'], secrets: ['bench/*'] },
  };

  return {
    dir: options.dir,
    policyPath,
    policy,
    keys: { es256: es256.privateJwk, eddsa: eddsa.privateJwk, admin: admin.privateJwk },
    secrets,
    secretOf,
    principal,
    auditHmacKey: randomBytes(32).toString('hex'),
    coldCredentials,
    burstCredentials,
  };
}
