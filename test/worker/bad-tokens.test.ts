/**
 * Every way a token can be wrong, through the HTTP interface: the status, the stable code, the
 * WWW-Authenticate header on 401s, an audit record with the reason, and proof that nothing was issued
 * (no value in the body, and Secrets Manager was never asked for the target secret).
 */
import { env, exports } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { SignJWT } from 'jose';
import { readConfig, type BrokerEnv } from '../../src/config/env.ts';
import { shardStub } from '../../src/ledger/durable-object-ledger.ts';
import type { LedgerShard } from '../../src/ledger/ledger-shard.ts';
import { ISSUER, SECRETS } from '../support/test-world.ts';
import { captureLogs, keys, mint, nowSeconds, requestCredential, secretsManagerCalls, signRaw, validClaims } from './helpers.ts';

const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const withoutClaim = (claim: string) => {
  const claims = validClaims({ team: 'research' });
  delete claims[claim as keyof typeof claims];
  return claims;
};

interface Case {
  name: string;
  credential?: string;
  authorization: () => Promise<string | undefined>;
  status: number;
  code: string;
}

const cases: Case[] = [
  { name: 'no Authorization header', authorization: async () => undefined, status: 401, code: 'missing_token' },
  { name: 'wrong scheme', authorization: async () => `Basic ${btoa('user:pass')}`, status: 401, code: 'malformed_token' },
  { name: 'not a JWT', authorization: async () => 'Bearer not-a-jwt', status: 401, code: 'malformed_token' },
  { name: 'JWT with a non-JSON header', authorization: async () => 'Bearer aGVsbG8.e30.c2ln', status: 401, code: 'malformed_token' },
  {
    name: 'bad signature (payload swapped after signing)',
    authorization: async () => {
      const [header, , signature] = (await signRaw(validClaims({ team: 'research' }))).split('.');
      return `Bearer ${header}.${b64(validClaims({ team: 'research', sub: 'sb-evil' }))}.${signature}`;
    },
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'alg: none',
    authorization: async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims({ team: 'research' }))}.`,
    status: 401,
    code: 'unsupported_algorithm',
  },
  {
    name: 'HS256 signed with the public key as the HMAC secret',
    authorization: async () => {
      const publicJwk = { ...keys().primary };
      delete publicJwk.d;
      const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
      const token = await new SignJWT(validClaims({ team: 'research' })).setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid }).sign(secret);
      return `Bearer ${token}`;
    },
    status: 401,
    code: 'unsupported_algorithm',
  },
  {
    name: 'a key not in the JWKS',
    authorization: async () => `Bearer ${await signRaw(validClaims({ team: 'research' }), { key: keys().stranger })}`,
    status: 401,
    code: 'unknown_key',
  },
  {
    name: 'a foreign key claiming a trusted kid',
    authorization: async () => `Bearer ${await signRaw(validClaims({ team: 'research' }), { key: { ...keys().stranger, kid: keys().primary.kid } })}`,
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'unknown issuer',
    authorization: async () => `Bearer ${await signRaw(validClaims({ iss: 'https://evil.test', team: 'research' }))}`,
    status: 401,
    code: 'unknown_issuer',
  },
  {
    name: 'wrong audience',
    authorization: async () => `Bearer ${await signRaw(validClaims({ aud: 'https://someone-else.test', team: 'research' }))}`,
    status: 401,
    code: 'invalid_audience',
  },
  {
    name: 'expired (beyond the 30 s leeway)',
    authorization: async () => {
      const iat = nowSeconds() - 400;
      return `Bearer ${await signRaw(validClaims({ iat, exp: iat + 300, team: 'research' }))}`;
    },
    status: 401,
    code: 'token_expired',
  },
  {
    name: 'not yet valid (nbf in the future)',
    authorization: async () => `Bearer ${await signRaw(validClaims({ nbf: nowSeconds() + 120, team: 'research' }))}`,
    status: 401,
    code: 'token_not_yet_valid',
  },
  {
    name: 'issued in the future (iat beyond leeway)',
    authorization: async () => {
      const iat = nowSeconds() + 120;
      return `Bearer ${await signRaw(validClaims({ iat, exp: iat + 300, team: 'research' }))}`;
    },
    status: 401,
    code: 'token_not_yet_valid',
  },
  { name: 'missing sub', authorization: async () => `Bearer ${await signRaw(withoutClaim('sub'))}`, status: 401, code: 'missing_claim' },
  { name: 'missing jti', authorization: async () => `Bearer ${await signRaw(withoutClaim('jti'))}`, status: 401, code: 'missing_claim' },
  { name: 'missing exp', authorization: async () => `Bearer ${await signRaw(withoutClaim('exp'))}`, status: 401, code: 'missing_claim' },
  { name: 'missing iat', authorization: async () => `Bearer ${await signRaw(withoutClaim('iat'))}`, status: 401, code: 'missing_claim' },
  { name: 'missing iss', authorization: async () => `Bearer ${await signRaw(withoutClaim('iss'))}`, status: 401, code: 'missing_claim' },
  {
    name: 'sub that is not a string',
    authorization: async () => `Bearer ${await signRaw(validClaims({ sub: 42 as unknown as string, team: 'research' }))}`,
    status: 401,
    code: 'invalid_claim',
  },
  {
    name: 'lifetime too long (1 h > 15 min)',
    authorization: async () => {
      const iat = nowSeconds();
      return `Bearer ${await signRaw(validClaims({ iat, exp: iat + 3600, team: 'research' }))}`;
    },
    status: 401,
    code: 'token_lifetime_too_long',
  },
  {
    name: 'oversized Authorization header',
    authorization: async () => `Bearer ${'a'.repeat(9000)}`,
    status: 401,
    code: 'token_too_large',
  },
  {
    name: 'credential not allowed (token lacks team: research)',
    authorization: async () => `Bearer ${await mint()}`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'sub outside the allowed glob',
    authorization: async () => `Bearer ${await mint({ subject: 'ci-runner-1', claims: { team: 'research' } })}`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'unknown credential (same answer as not allowed)',
    credential: 'no-such-credential',
    authorization: async () => `Bearer ${await mint({ claims: { team: 'research' } })}`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'credential name with invalid syntax',
    credential: '..%2F..%2Fetc',
    authorization: async () => `Bearer ${await mint({ claims: { team: 'research' } })}`,
    status: 400,
    code: 'invalid_request',
  },
];

describe('bad requests: stable codes, right statuses, nothing issued, every attempt audited', () => {
  let logs: ReturnType<typeof captureLogs>;
  let callsBefore: number;
  beforeAll(async () => {
    logs = captureLogs();
    callsBefore = await secretsManagerCalls({ secretName: SECRETS.tableTarget });
  });
  afterAll(async () => {
    logs.restore();
    // Not one of the bad requests reached Secrets Manager for the target secret.
    expect(await secretsManagerCalls({ secretName: SECRETS.tableTarget })).toBe(callsBefore);
  });

  it.each(cases)('$name → $status $code', async ({ credential, authorization, status, code }) => {
    const header = await authorization();
    const response = await requestCredential(credential ?? 'table-target', header === undefined ? {} : { authorization: header });
    const text = await response.text();
    expect(response.status).toBe(status);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const body = JSON.parse(text) as { error: { code: string; message: string; request_id: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.request_id).toBe(response.headers.get('X-Request-Id'));
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(body).not.toHaveProperty('value');
    expect(inject('canaries').some((canary) => text.includes(canary))).toBe(false);
    if (status === 401) {
      expect(response.headers.get('WWW-Authenticate')).toBe(`Bearer error="invalid_token", error_description="${code}"`);
    } else {
      expect(response.headers.get('WWW-Authenticate')).toBeNull();
    }
    const records = logs.audit().filter((record) => record.request_id === body.error.request_id);
    expect(records).toHaveLength(1);
    // The record is the ledger's (it carries its chain position), not just a log line.
    expect(records[0]).toMatchObject({
      outcome: 'denied',
      reason: code,
      issuance_id: null,
      secret_version_id: null,
      value_fingerprint: null,
      seq: expect.any(Number),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('records verified identity on a policy denial and unverified claims (flagged) on a token denial', async () => {
    await requestCredential('table-target', { token: await mint({ subject: 'sb-who', jti: 'jti-denied-policy' }) });
    await requestCredential('table-target', { authorization: `Bearer ${await signRaw(validClaims({ sub: 'sb-liar', aud: 'x' }))}` });
    const policyDenial = logs.audit().find((record) => record.jti === 'jti-denied-policy');
    expect(policyDenial).toMatchObject({ reason: 'forbidden', token_verified: true, sub: 'sb-who', iss: ISSUER });
    const tokenDenial = logs.audit().find((record) => record.sub === 'sb-liar');
    expect(tokenDenial).toMatchObject({ reason: 'invalid_audience', token_verified: false });
  });

  it('never puts the token in an audit line', async () => {
    const token = await signRaw(validClaims({ aud: 'https://nope.test' }));
    await requestCredential('table-target', { token });
    const signature = token.split('.')[2]!;
    expect(logs.lines().some((line) => line.includes(signature))).toBe(false);
  });
});

describe('routing', () => {
  it('answers GET on a credential route with 405 and unknown paths with 404', async () => {
    const get = await requestCredential('codex', { method: 'GET', token: await mint() });
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    const missing = await exports.default.fetch('https://broker.test/v1/nothing');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('serves /healthz without touching any upstream', async () => {
    const response = await exports.default.fetch('https://broker.test/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('Cache-Control')).toBe('no-store');
  });

  it('/healthz, called repeatedly, makes no outbound fetch (Secrets Manager, key sets) and no ledger record', async () => {
    const { ledger } = readConfig(env as unknown as BrokerEnv);
    const shards = Array.from({ length: ledger.shards }, (_, shard) => shard);
    const ledgerRecords = () =>
      Promise.all(shards.map((shard) => runInDurableObject(shardStub(ledger.namespace, shard) as DurableObjectStub<LedgerShard>, (instance: LedgerShard) => instance.stats().records)));
    // The Secrets Manager and JWKS servers are shared with test files running in parallel, so their global
    // counters cannot show "no call"; the spy on this isolate's fetch can (every upstream call is a fetch).
    const before = { secretsManager: await secretsManagerCalls(), ledger: await ledgerRecords() };
    // Outbound fetches of this isolate (the worker's and the test's) while only /healthz runs.
    const outbound = vi.spyOn(globalThis, 'fetch');
    try {
      for (let i = 0; i < 5; i++) {
        const response = await exports.default.fetch('https://broker.test/healthz', { headers: { Authorization: `Bearer ${await mint()}` } });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ status: 'ok' });
      }
      expect(outbound).not.toHaveBeenCalled();
    } finally {
      outbound.mockRestore();
    }
    expect(await ledgerRecords()).toEqual(before.ledger);

    // The same probes do see a request that reaches upstream (a secret the broker may not read: never cached).
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const denied = await requestCredential('denied-secret', { token: await mint() });
      expect(denied.status).toBe(502);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(await secretsManagerCalls()).toBeGreaterThan(before.secretsManager);
    const after = await ledgerRecords();
    expect(after.reduce((sum, n) => sum + n, 0)).toBe(before.ledger.reduce((sum, n) => sum + n, 0) + 1);
  });
});

