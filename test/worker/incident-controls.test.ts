/** The platform team's incident controls through the HTTP interface, each visible in the ledger. */
import { abortAllDurableObjects } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readConfig, type BrokerEnv } from '../../src/config/env.ts';
import { LedgerControls } from '../../src/ledger/ledger-controls.ts';
import { ISSUER, TEST_INVALID_TOKEN_RATE_LIMIT, TEST_SANDBOX_RATE_LIMIT } from '../support/test-world.ts';
import { adminFetch, errorCode, keys, mint, mintAdmin, requestCredential, signRaw, validClaims } from './helpers.ts';

async function ledgerFor(query: string): Promise<Array<Record<string, unknown>>> {
  const response = await adminFetch(`/v1/admin/audit?${query}&limit=500`);
  return ((await response.json()) as { records: Array<Record<string, unknown>> }).records;
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe('revocation', () => {
  it('revokes a sandbox until a time: its tokens get token_revoked, others are unaffected; lifting restores it', async () => {
    const revoke = await adminFetch('/v1/admin/revocations', { method: 'POST', body: { sub: 'sb-compromised', until: inAnHour(), reason: 'incident 42' } });
    expect(revoke.status).toBe(201);
    const { revocation } = (await revoke.json()) as { revocation: { id: string; kind: string; value: string; reason: string } };
    expect(revocation).toMatchObject({ kind: 'sub', value: 'sb-compromised', reason: 'incident 42', id: 'sub:*:sb-compromised' });

    const denied = await requestCredential('codex', { token: await mint({ subject: 'sb-compromised' }) });
    expect(denied.status).toBe(401);
    expect(await errorCode(denied)).toBe('token_revoked');
    expect((await requestCredential('codex', { token: await mint({ subject: 'sb-healthy' }) })).status).toBe(200);

    const listed = (await (await adminFetch('/v1/admin/revocations')).json()) as { revocations: Array<{ id: string }> };
    expect(listed.revocations.map((item) => item.id)).toContain('sub:*:sb-compromised');

    const lift = await adminFetch(`/v1/admin/revocations/${encodeURIComponent(revocation.id)}`, { method: 'DELETE' });
    expect(lift.status).toBe(200);
    expect((await requestCredential('codex', { token: await mint({ subject: 'sb-compromised' }) })).status).toBe(200);
    expect((await adminFetch(`/v1/admin/revocations/${encodeURIComponent(revocation.id)}`, { method: 'DELETE' })).status).toBe(404);

    const records = await ledgerFor('sub=sb-compromised');
    expect(records.map((record) => [record.outcome, record.reason])).toEqual([
      ['denied', 'token_revoked'],
      ['issued', null],
    ]);
    const adminRecords = (await ledgerFor('outcome=admin')).filter((record) => String(record.action).startsWith('admin.revocation'));
    expect(adminRecords.map((record) => record.action)).toEqual(
      expect.arrayContaining(['admin.revocation.put', 'admin.revocation.list', 'admin.revocation.lift']),
    );
    expect(adminRecords.find((record) => record.action === 'admin.revocation.put')!.detail).toContain('sub=sb-compromised');
  });

  it('revokes a single token by jti, for every shard it could land on', async () => {
    const jti = `jti-revoked-${crypto.randomUUID()}`;
    expect((await adminFetch('/v1/admin/revocations', { method: 'POST', body: { jti, until: inAnHour() } })).status).toBe(201);
    const response = await requestCredential('codex', { token: await mint({ jti }) });
    expect(await errorCode(response)).toBe('token_revoked');
    expect((await requestCredential('codex', { token: await mint() })).status).toBe(200);
  });

  it('validates revocation requests', async () => {
    for (const body of [
      { sub: 'x', until: new Date(Date.now() - 1000).toISOString() },
      { sub: 'x', jti: 'y', until: inAnHour() },
      { until: inAnHour() },
      { sub: 'x', until: new Date(Date.now() + 400 * 86_400_000).toISOString() },
      { sub: 'x', until: 'soon' },
    ]) {
      const response = await adminFetch('/v1/admin/revocations', { method: 'POST', body });
      expect({ body, status: response.status, code: await errorCode(response) }).toEqual({ body, status: 400, code: 'invalid_request' });
    }
  });

  it('gives every (kind, issuer, value) its own id: a revocation for issuer "*" or another issuer never replaces the any-issuer one', async () => {
    const sub = `sb-ids-${crypto.randomUUID()}`;
    const put = async (body: Record<string, unknown>) => {
      const response = await adminFetch('/v1/admin/revocations', { method: 'POST', body: { sub, until: inAnHour(), ...body } });
      expect(response.status).toBe(201);
      return ((await response.json()) as { revocation: { id: string; iss: string | null } }).revocation;
    };
    const anyIssuer = await put({});
    const literalStar = await put({ iss: '*' });
    const scoped = await put({ iss: ISSUER });
    const colon = await put({ iss: `${ISSUER}:${sub}` });
    expect(anyIssuer).toMatchObject({ id: `sub:*:${sub}`, iss: null });
    expect(literalStar).toMatchObject({ id: `sub:%2A:${sub}`, iss: '*' });
    expect(scoped).toMatchObject({ id: `sub:${encodeURIComponent(ISSUER)}:${sub}`, iss: ISSUER });
    expect(new Set([anyIssuer.id, literalStar.id, scoped.id, colon.id]).size).toBe(4);

    const listed = (await (await adminFetch('/v1/admin/revocations')).json()) as { revocations: Array<{ id: string; iss: string | null }> };
    expect(listed.revocations.filter((item) => item.id.endsWith(`:${sub}`)).map((item) => item.iss).sort()).toEqual(['*', ISSUER, `${ISSUER}:${sub}`, null].sort());
    // Still revoked, in memory and after every shard restarts from storage.
    expect(await errorCode(await requestCredential('codex', { token: await mint({ subject: sub }) }))).toBe('token_revoked');
    await abortAllDurableObjects();
    expect(await errorCode(await requestCredential('codex', { token: await mint({ subject: sub }) }))).toBe('token_revoked');

    // Lifting the scoped ones leaves the any-issuer one in force.
    for (const { id } of [literalStar, scoped, colon]) {
      expect((await adminFetch(`/v1/admin/revocations/${encodeURIComponent(id)}`, { method: 'DELETE' })).status).toBe(200);
    }
    expect(await errorCode(await requestCredential('codex', { token: await mint({ subject: sub }) }))).toBe('token_revoked');
    expect((await adminFetch(`/v1/admin/revocations/${encodeURIComponent(anyIssuer.id)}`, { method: 'DELETE' })).status).toBe(200);
    expect((await requestCredential('codex', { token: await mint({ subject: sub }) })).status).toBe(200);
  });

  it('lifts exactly the named revocation when its id holds % (the path is decoded once)', async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const put = async (sub: string) => {
      const response = await adminFetch('/v1/admin/revocations', { method: 'POST', body: { sub, until: inAnHour() } });
      expect(response.status).toBe(201);
      return ((await response.json()) as { revocation: { id: string } }).revocation.id;
    };
    const plainId = await put(`sb-A${tag}`);
    const percentId = await put(`sb-%41${tag}`);
    const hundredId = await put(`sb-100%-${tag}`);
    expect([plainId, percentId, hundredId]).toEqual([`sub:*:sb-A${tag}`, `sub:*:sb-%2541${tag}`, `sub:*:sb-100%25-${tag}`]);

    const lift = await adminFetch(`/v1/admin/revocations/${encodeURIComponent(percentId)}`, { method: 'DELETE' });
    expect(lift.status).toBe(200);
    expect(await lift.json()).toMatchObject({ lifted: percentId });
    const hundred = await adminFetch(`/v1/admin/revocations/${encodeURIComponent(hundredId)}`, { method: 'DELETE' });
    expect(hundred.status).toBe(200);

    const listed = (await (await adminFetch('/v1/admin/revocations')).json()) as { revocations: Array<{ id: string }> };
    const left = listed.revocations.map((item) => item.id).filter((id) => id.endsWith(tag));
    expect(left).toEqual([plainId]);
    expect(await errorCode(await requestCredential('codex', { token: await mint({ subject: `sb-A${tag}` }) }))).toBe('token_revoked');
    expect((await requestCredential('codex', { token: await mint({ subject: `sb-%41${tag}` }) })).status).toBe(200);
    expect((await adminFetch(`/v1/admin/revocations/${encodeURIComponent(plainId)}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('is admin-only: a sandbox token cannot revoke or lift', async () => {
    const response = await adminFetch('/v1/admin/revocations', { method: 'POST', token: await mint(), body: { sub: 'sb-x', until: inAnHour() } });
    expect(response.status).toBe(401);
  });
});

describe('kill switch', () => {
  it('refuses all issuance of one credential with 503 credential_disabled until switched off, without a redeploy', async () => {
    const on = await adminFetch('/v1/admin/kill-switches/codex-thrice', { method: 'PUT', body: { reason: 'leaked upstream' } });
    expect(on.status).toBe(200);
    const disabled = await requestCredential('codex-thrice', { token: await mint({ subject: 'sb-killed' }) });
    expect(disabled.status).toBe(503);
    expect(await errorCode(disabled)).toBe('credential_disabled');
    expect((await requestCredential('codex', { token: await mint() })).status).toBe(200);
    const listed = (await (await adminFetch('/v1/admin/kill-switches')).json()) as { kill_switches: Array<{ credential: string; reason: string }> };
    expect(listed.kill_switches).toEqual([expect.objectContaining({ credential: 'codex-thrice', reason: 'leaked upstream' })]);

    expect((await adminFetch('/v1/admin/kill-switches/codex-thrice', { method: 'DELETE' })).status).toBe(200);
    expect((await requestCredential('codex-thrice', { token: await mint({ subject: 'sb-killed' }) })).status).toBe(200);

    const records = await ledgerFor('sub=sb-killed');
    expect(records.map((record) => [record.outcome, record.reason, record.detail])).toEqual([
      ['denied', 'credential_disabled', 'kill switch on'],
      ['issued', null, null],
    ]);
  });
});

describe('kill switch names', () => {
  it('refuses to switch off a credential the policy does not define (a typo must not look like a working switch)', async () => {
    const on = await adminFetch('/v1/admin/kill-switches/codx', { method: 'PUT', body: { reason: 'typo of codex' } });
    expect(on.status).toBe(400);
    expect(await on.json()).toEqual({
      error: { code: 'invalid_request', message: 'credential codx is not defined in the policy', request_id: on.headers.get('X-Request-Id') },
    });
    const listed = (await (await adminFetch('/v1/admin/kill-switches')).json()) as { kill_switches: Array<{ credential: string }> };
    expect(listed.kill_switches.map((item) => item.credential)).not.toContain('codx');
    // Nothing was switched off: the credential the admin meant still issues.
    expect((await requestCredential('codex', { token: await mint() })).status).toBe(200);

    const refused = (await ledgerFor('outcome=denied')).filter((record) => record.action === 'admin.kill_switch.on' && record.request_id === on.headers.get('X-Request-Id'));
    expect(refused.map((record) => [record.reason, record.detail])).toEqual([['invalid_request', 'credential codx is not defined in the policy']]);
  });

  it('still lifts a switch left on a credential that is no longer in the policy; lifting a switch that is not on is 404', async () => {
    // As if switched on under an earlier policy that still had this credential.
    const { ledger } = readConfig(env as unknown as BrokerEnv);
    const controls = new LedgerControls(ledger.namespace, ledger.shards);
    await controls.putKillSwitch({ credential: 'retired-credential', reason: 'old incident', created_at: new Date().toISOString(), created_by: 'alice@platform.test' });

    const lift = await adminFetch('/v1/admin/kill-switches/retired-credential', { method: 'DELETE' });
    expect(lift.status).toBe(200);
    expect(await lift.json()).toEqual({ removed: 'retired-credential' });
    expect(await controls.listKillSwitches()).not.toContainEqual(expect.objectContaining({ credential: 'retired-credential' }));

    const again = await adminFetch('/v1/admin/kill-switches/retired-credential', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe('no kill switch is on for credential retired-credential');
  });

  it('keeps the admin-only message away from sandboxes: a sandbox token gets 401, not the policy check', async () => {
    const response = await adminFetch('/v1/admin/kill-switches/codx', { method: 'PUT', token: await mint() });
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).not.toContain('codx');
  });
});

describe('rate limits', () => {
  it('limits one sandbox: requests past the limit get 429 rate_limited with Retry-After, and are recorded', async () => {
    const subject = `sb-chatty-${crypto.randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < TEST_SANDBOX_RATE_LIMIT + 5; i++) {
      const response = await requestCredential('no-such-credential', { token: await mint({ subject }) });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('Retry-After')).toBe('60');
        expect(await errorCode(response)).toBe('rate_limited');
      } else {
        await response.body?.cancel();
      }
    }
    expect(statuses.filter((status) => status === 403)).toHaveLength(TEST_SANDBOX_RATE_LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    expect((await requestCredential('codex', { token: await mint() })).status).toBe(200);
    const limited = (await ledgerFor(`sub=${subject}&outcome=denied`)).filter((record) => record.reason === 'rate_limited');
    expect(limited).toHaveLength(5);
  });

  it('limits invalid tokens by client address, then refuses that address before any token work', async () => {
    const address = '203.0.113.77';
    const send = async (authorization: string, ip = address) =>
      exports.default.fetch('https://broker.test/v1/credentials/codex', {
        method: 'POST',
        headers: { Authorization: authorization, 'CF-Connecting-IP': ip },
      });
    const forged = `Bearer ${await signRaw(validClaims(), { key: keys().stranger })}`;
    const codes: string[] = [];
    for (let i = 0; i < TEST_INVALID_TOKEN_RATE_LIMIT + 3; i++) codes.push(await errorCode(await send(forged)));
    expect(codes.filter((code) => code === 'unknown_key')).toHaveLength(TEST_INVALID_TOKEN_RATE_LIMIT);
    expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(3);

    // Now even a valid token from that address is refused up front; another address is fine.
    const blocked = await send(`Bearer ${await mint({ subject: 'sb-behind-bad-nat' })}`);
    expect(blocked.status).toBe(429);
    expect((await send(`Bearer ${await mint()}`, '198.51.100.9')).status).toBe(200);
    // Refused before the token was even decoded: the record knows the address, not the sandbox.
    const records = (await ledgerFor('outcome=denied&credential=codex'))
      .filter((record) => record.client_ip === address && record.reason === 'rate_limited')
      .map((record) => [record.detail, record.sub]);
    // The attempt that crossed the limit was verified (and counted); every later one was refused up front.
    expect(records).toEqual([
      ['client over its invalid-token limit (last: unknown_key)', expect.stringMatching(/^sb-test-/)],
      ...Array(3).fill(['client blocked after repeated invalid tokens', null]),
    ]);
  });

  it('counts invalid tokens on admin routes against the address too, and then refuses the address there', async () => {
    const address = '203.0.113.79';
    const admin = (authorization: string) =>
      exports.default.fetch('https://broker.test/v1/admin/audit?limit=1', { headers: { Authorization: authorization, 'CF-Connecting-IP': address } });
    const codes: string[] = [];
    for (let i = 0; i < TEST_INVALID_TOKEN_RATE_LIMIT + 2; i++) codes.push(await errorCode(await admin('Bearer a.b.c')));
    expect(codes.filter((code) => code === 'malformed_token')).toHaveLength(TEST_INVALID_TOKEN_RATE_LIMIT);
    expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(2);
    // A valid admin token from that address now waits out the period too; from another address it works.
    const blocked = await admin(`Bearer ${await mintAdmin()}`);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('Retry-After')).toBe('60');
    const elsewhere = await exports.default.fetch('https://broker.test/v1/admin/audit?limit=1', {
      headers: { Authorization: `Bearer ${await mintAdmin()}`, 'CF-Connecting-IP': '198.51.100.10' },
    });
    expect(elsewhere.status).toBe(200);
    // The credential routes share the same block.
    expect((await exports.default.fetch('https://broker.test/v1/credentials/codex', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await mint()}`, 'CF-Connecting-IP': address },
    })).status).toBe(429);
    const records = (await ledgerFor('outcome=denied')).filter((record) => record.client_ip === address && String(record.action).startsWith('admin.'));
    expect(records.map((record) => record.reason)).toEqual([
      ...Array(TEST_INVALID_TOKEN_RATE_LIMIT).fill('malformed_token'),
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
  });

  it('does not count replays of verified tokens against the address: a looping sandbox cannot block its NAT', async () => {
    const nat = '203.0.113.88';
    const send = async (token: string) =>
      exports.default.fetch('https://broker.test/v1/credentials/codex', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'CF-Connecting-IP': nat },
      });
    // A distinct sandbox per used token, so the per-sandbox limit stays out of the picture.
    const used: string[] = [];
    for (let i = 0; i < TEST_INVALID_TOKEN_RATE_LIMIT + 5; i++) {
      const token = await mint({ subject: `sb-nat-looping-${i}` });
      expect((await send(token)).status).toBe(200);
      used.push(token);
    }
    const replays: string[] = [];
    for (const token of used) replays.push(await errorCode(await send(token)));
    expect(replays).toEqual(Array(used.length).fill('token_replayed'));
    // The address was never blocked: a fresh sandbox behind the same NAT still gets its credential.
    const fresh = await send(await mint({ subject: 'sb-nat-fresh' }));
    expect(fresh.status).toBe(200);
    await fresh.body?.cancel();
    const limited = (await ledgerFor('outcome=denied&credential=codex')).filter((record) => record.client_ip === nat && record.reason === 'rate_limited');
    expect(limited).toEqual([]);
  });
});
