/**
 * The world the worker tests run in, generated fresh for every run (no private keys in the repo): signing
 * keys, a policy that trusts some of them, and the secrets (canary values) the local Secrets Manager holds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { generateSigningKey } from '../../src/sdk/generate-signing-key.ts';

export const GENERATED_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '.generated');

export const ISSUER = 'https://orchestrator.test';
export const OTHER_ISSUER = 'https://other-orchestrator.test';
export const REMOTE_ISSUER = 'https://remote-orchestrator.test';
export const AUDIENCE = 'https://broker.test';
export const ADMIN_ISSUER = 'https://platform.test';
export const ADMIN_AUDIENCE = 'https://broker.test/admin';
export const REGION = 'us-east-1';
export const TEST_SANDBOX_RATE_LIMIT = 100;
export const TEST_INVALID_TOKEN_RATE_LIMIT = 20;
export const TEST_AUDIT_HMAC_KEY = 'test-audit-hmac-key-0123456789abcdef0123456789';
export const BROKER_ACCESS_KEY = { accessKeyId: 'AKIDBROKERTEST000001', secretAccessKey: 'broker-test-secret-access-key' };

export interface TestKeys {
  primary: JWK;
  eddsa: JWK;
  /** Valid key, but in no key set. */
  stranger: JWK;
  other: JWK;
  remote: JWK;
  /** Published later, to test rotation. */
  rotated: JWK;
  /** The platform team's admin key. */
  admin: JWK;
}

export interface TestWorld {
  keys: TestKeys;
  publicJwks: Record<keyof TestKeys, { keys: JWK[] }>;
  canaries: { codex: string; apiKey: string; all: string[] };
  policyPath: string;
}

/** Secret names in the local Secrets Manager, by the case they exercise. */
export const SECRETS = {
  codex: 'test/codex',
  apiKey: 'test/openai-api-key',
  denied: 'test/denied',
  missing: 'test/does-not-exist',
  binary: 'test/binary',
  notJson: 'test/not-json',
  missingKey: 'test/missing-json-key',
  wrongFormat: 'test/wrong-format',
  /** Used only by the bad-token table, so its call count proves no request got as far as Secrets Manager. */
  tableTarget: 'test/table-target',
  /** Created mid-test: a first attempt fails upstream, a retry with the same token succeeds. */
  late: 'test/late-secret',
  /** Secret cache tests: one secret per scenario, so call counts and scoped faults are exact. */
  cacheBurst: 'test/cache-burst',
  cacheMany: 'test/cache-many',
  cacheRotation: 'test/cache-rotation',
  cacheOutage: 'test/cache-outage',
  cacheCold: 'test/cache-cold',
  cacheNoStale: 'test/cache-no-stale',
  cacheFlush: 'test/cache-flush',
} as const;

/** One folder per test run (by process id), so that concurrent runs in one checkout never share a policy. */
export function generatedDirFor(pid: number): string {
  return join(GENERATED_ROOT, `run-${pid}`);
}

export async function createTestWorld(options: { jwksPort: number; dir: string }): Promise<TestWorld> {
  const pairs = {
    primary: await generateSigningKey('ES256'),
    eddsa: await generateSigningKey('EdDSA'),
    stranger: await generateSigningKey('ES256'),
    other: await generateSigningKey('ES256'),
    remote: await generateSigningKey('ES256'),
    rotated: await generateSigningKey('ES256'),
    admin: await generateSigningKey('ES256'),
  };
  const keys = Object.fromEntries(Object.entries(pairs).map(([name, pair]) => [name, pair.privateJwk])) as unknown as TestKeys;
  const publicJwks = Object.fromEntries(Object.entries(pairs).map(([name, pair]) => [name, pair.publicJwks])) as TestWorld['publicJwks'];

  const canary = (prefix: string) => `${prefix}CANARY${randomBytes(12).toString('hex')}`;
  const canaries = { codex: canary('at-'), apiKey: canary('sk-test-') };

  const rule = (extra: Record<string, string> = {}) => ({ iss: ISSUER, sub: 'sb-*', ...extra });
  const credential = (kind: string, id: string, jsonKey?: string, allow = [rule()]) => ({
    kind,
    secret: jsonKey ? { id, json_key: jsonKey } : { id },
    allow,
  });
  const policy = {
    version: 1,
    issuers: {
      [ISSUER]: { audience: AUDIENCE, jwks: { keys: [...pairs.primary.publicJwks.keys, ...pairs.eddsa.publicJwks.keys] } },
      [OTHER_ISSUER]: { audience: AUDIENCE, jwks: pairs.other.publicJwks },
      [REMOTE_ISSUER]: { audience: AUDIENCE, jwks_uri: `http://127.0.0.1:${options.jwksPort}/jwks.json` },
    },
    credentials: {
      codex: credential('codex_access_token', SECRETS.codex, 'access_token'),
      'openai-api-key': credential('api_key', SECRETS.apiKey, undefined, [rule({ team: 'research' })]),
      'other-issuer-only': credential('api_key', SECRETS.apiKey, undefined, [{ iss: OTHER_ISSUER, sub: '*' }]),
      'remote-codex': credential('codex_access_token', SECRETS.codex, 'access_token', [{ iss: REMOTE_ISSUER, sub: 'sb-*' }]),
      'denied-secret': credential('api_key', SECRETS.denied),
      'missing-secret': credential('api_key', SECRETS.missing),
      'binary-secret': credential('api_key', SECRETS.binary),
      'not-json-secret': credential('api_key', SECRETS.notJson, 'key'),
      'missing-json-key': credential('api_key', SECRETS.missingKey, 'absent'),
      'wrong-format': credential('codex_access_token', SECRETS.wrongFormat),
      'table-target': credential('api_key', SECRETS.tableTarget, undefined, [rule({ team: 'research' })]),
      'codex-thrice': { ...credential('codex_access_token', SECRETS.codex, 'access_token'), max_uses: 3 },
      'late-secret': credential('api_key', SECRETS.late),
      'cache-burst': credential('codex_access_token', SECRETS.cacheBurst, 'access_token'),
      'cache-many': credential('codex_access_token', SECRETS.cacheMany, 'access_token'),
      'cache-rotation': credential('codex_access_token', SECRETS.cacheRotation, 'access_token'),
      'cache-outage': { ...credential('codex_access_token', SECRETS.cacheOutage, 'access_token'), cache_ttl_seconds: 60, stale_if_error_seconds: 900 },
      'cache-cold': credential('codex_access_token', SECRETS.cacheCold, 'access_token'),
      'cache-no-stale': { ...credential('codex_access_token', SECRETS.cacheNoStale, 'access_token'), stale_if_error_seconds: 0 },
      'cache-flush': credential('codex_access_token', SECRETS.cacheFlush, 'access_token'),
    },
    admin: {
      issuers: { [ADMIN_ISSUER]: { audience: ADMIN_AUDIENCE, jwks: pairs.admin.publicJwks } },
      allow: [{ iss: ADMIN_ISSUER, role: 'token-broker-admin' }],
    },
  };
  mkdirSync(options.dir, { recursive: true });
  const policyPath = join(options.dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(policy, null, 2));
  return { keys, publicJwks, canaries: { ...canaries, all: [canaries.codex, canaries.apiKey] }, policyPath };
}

/** The Secrets Manager contents for a world: canaries where a credential is served, junk elsewhere. */
export function seedSecrets(world: TestWorld) {
  return [
    { name: SECRETS.codex, secretString: JSON.stringify({ access_token: world.canaries.codex, note: 'test' }) },
    { name: SECRETS.apiKey, secretString: world.canaries.apiKey },
    { name: SECRETS.denied, secretString: world.canaries.apiKey },
    { name: SECRETS.binary, secretBinary: new TextEncoder().encode(world.canaries.apiKey) },
    { name: SECRETS.notJson, secretString: world.canaries.apiKey },
    { name: SECRETS.missingKey, secretString: JSON.stringify({ present: world.canaries.apiKey }) },
    { name: SECRETS.wrongFormat, secretString: world.canaries.apiKey },
    { name: SECRETS.tableTarget, secretString: world.canaries.apiKey },
    ...[SECRETS.cacheBurst, SECRETS.cacheMany, SECRETS.cacheRotation, SECRETS.cacheOutage, SECRETS.cacheCold, SECRETS.cacheNoStale, SECRETS.cacheFlush].map((name) => ({
      name,
      secretString: JSON.stringify({ access_token: world.canaries.codex }),
    })),
  ];
}

/** The broker may read everything except the `denied` secret. */
export function brokerPrincipal() {
  return {
    ...BROKER_ACCESS_KEY,
    allow: { actions: ['GetSecretValue', 'DescribeSecret'], secrets: Object.values(SECRETS).filter((name) => name !== SECRETS.denied) },
  };
}
