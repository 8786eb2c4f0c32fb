/**
 * The ledger through the HTTP interface: single-use tokens under concurrency, counting only real
 * issuances, surviving Durable Object restarts, failing closed, and a verifiable hash chain.
 */
import { env } from 'cloudflare:workers';
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { decodeJwt } from 'jose';
import policyDocument from 'token-broker-policy';
import { describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { readConfig, type BrokerEnv } from '../../src/config/env.ts';
import { shardStub } from '../../src/ledger/durable-object-ledger.ts';
import { hashRecord, type LedgerRecord } from '../../src/ledger/ledger-record.ts';
import type { LedgerShard } from '../../src/ledger/ledger-shard.ts';
import { shardFor, tokenShardKey } from '../../src/ledger/shard-for.ts';
import { verifyExport } from '../../src/ledger/verify-export.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { ISSUER, SECRETS } from '../support/test-world.ts';
import { captureLogs, errorCode, exportAudit, mint, requestCredential } from './helpers.ts';

const concurrently = <T>(count: number, task: (index: number) => Promise<T>) => Promise.all(Array.from({ length: count }, (_, index) => task(index)));

async function statuses(responses: Response[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const response of responses) {
    const key = response.status === 200 ? '200' : `${response.status} ${await errorCode(response)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('single-use tokens', () => {
  it('50 concurrent requests with one token for one credential: exactly one 200, 49 token_replayed', async () => {
    const token = await mint({ subject: 'sb-concurrent-1' });
    const responses = await concurrently(50, () => requestCredential('codex', { token }));
    expect(await statuses(responses)).toEqual({ '200': 1, '401 token_replayed': 49 });
  });

  it('honours max_uses per credential under concurrency, independently per credential', async () => {
    const token = await mint({ subject: 'sb-concurrent-2' });
    const responses = await concurrently(60, (index) => requestCredential(index % 2 === 0 ? 'codex' : 'codex-thrice', { token }));
    const codex = await statuses(responses.filter((_, index) => index % 2 === 0));
    const thrice = await statuses(responses.filter((_, index) => index % 2 === 1));
    expect(codex).toEqual({ '200': 1, '401 token_replayed': 29 });
    expect(thrice).toEqual({ '200': 3, '401 token_replayed': 27 });
  });

  it('counts a token only when a credential is issued: a retry after an upstream failure succeeds', async () => {
    const token = await mint({ subject: 'sb-retry-1' });
    const first = await requestCredential('late-secret', { token });
    expect(first.status).toBe(502);
    expect(await errorCode(first)).toBe('upstream_error');
    await fetch(`${inject('secretsManagerUrl')}/__control/secrets`, {
      method: 'POST',
      body: JSON.stringify({ name: SECRETS.late, secretString: 'sk-late-value-0001' }),
    });
    const retry = await requestCredential('late-secret', { token, accept: 'text/plain' });
    expect(retry.status).toBe(200);
    expect(await retry.text()).toBe('sk-late-value-0001\n');
    const replay = await requestCredential('late-secret', { token });
    expect(await errorCode(replay)).toBe('token_replayed');
  });

  it('still refuses a replay after every Durable Object was evicted and restarted', async () => {
    const token = await mint({ subject: 'sb-evicted-1' });
    expect((await requestCredential('codex', { token })).status).toBe(200);
    await abortAllDurableObjects();
    const replay = await requestCredential('codex', { token });
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe('token_replayed');
  });

  it('removes redemption state once the token has expired (plus leeway), by alarm', async () => {
    const stub = shardStub((env as unknown as BrokerEnv).LEDGER!, 0) as DurableObjectStub<LedgerShard>;
    const nowSeconds = Math.floor(Date.now() / 1000);
    const base = { iss: 'https://orchestrator.test', sub: 'sb-alarm', credential: 'codex', maxUses: 1 };
    const record = (jti: string) => ({
      type: 'audit' as const, time: '', request_id: `alarm-${jti}`, action: 'credential.issue', outcome: 'issued' as const, reason: null, detail: null,
      token_verified: true, iss: base.iss, sub: 'sb-alarm', jti, credential: 'codex', secret_version_id: 'v', issuance_id: jti, served_stale: false,
      value_fingerprint: null, client_ip: null, user_agent: null,
    });
    // redeem resolves once its queued step has run (group commit), so await both before looking.
    const outcomes = await runInDurableObject(stub, async (shard: LedgerShard) => [
      (await shard.redeem(0, record('expiring-jti'), { ...base, jti: 'expiring-jti', expiresAt: nowSeconds + 1 })).outcome,
      (await shard.redeem(0, record('live-jti'), { ...base, jti: 'live-jti', expiresAt: nowSeconds + 3600 })).outcome,
    ]);
    expect(outcomes).toEqual(['issued', 'issued']);
    const jtisHeld = () =>
      runInDurableObject(stub, (_shard: LedgerShard, state) =>
        state.storage.sql.exec<{ jti: string }>("SELECT jti FROM redemptions WHERE jti IN ('expiring-jti', 'live-jti') ORDER BY jti").toArray().map((row) => row.jti),
      );
    expect(await jtisHeld()).toEqual(['expiring-jti', 'live-jti']);
    // Let the first one expire for real (the alarm compares with the clock, not with a test flag). Its
    // alarm, due at its expiry, may already have run by itself; running the next one changes nothing then.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (nowSeconds + 2) * 1000 - Date.now())));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await jtisHeld()).toEqual(['live-jti']);
    // The alarm is set again, for the live one.
    const alarm = await runInDurableObject(stub, (_shard: LedgerShard, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual((nowSeconds + 3600) * 1000);
    // The live one is still counted: presenting it again is a replay.
    const replayed = await runInDurableObject(stub, (shard: LedgerShard) =>
      shard.redeem(0, record('live-jti'), { ...base, jti: 'live-jti', expiresAt: nowSeconds + 3600 }),
    );
    expect(replayed.outcome).toBe('denied');
  });

  it('refuses a redemption that reaches the shard after the token expired, and counts nothing (no fresh start after the alarm)', async () => {
    const stub = shardStub((env as unknown as BrokerEnv).LEDGER!, 0) as DurableObjectStub<LedgerShard>;
    const nowSeconds = Math.floor(Date.now() / 1000);
    const jti = `late-${crypto.randomUUID()}`;
    const record = {
      type: 'audit' as const, time: '', request_id: `late-${jti}`, action: 'credential.issue', outcome: 'issued' as const, reason: null, detail: null,
      token_verified: true, iss: 'https://orchestrator.test', sub: 'sb-late', jti, credential: 'codex', secret_version_id: 'v', issuance_id: jti, served_stale: false,
      value_fingerprint: null, client_ip: null, user_agent: null,
    };
    const { result, rows } = await runInDurableObject(stub, async (shard: LedgerShard, state) => ({
      result: await shard.redeem(0, record, { iss: record.iss, sub: 'sb-late', jti, credential: 'codex', maxUses: 1, expiresAt: nowSeconds - 1 }),
      rows: state.storage.sql.exec('SELECT uses FROM redemptions WHERE jti = ?', jti).toArray(),
    }));
    expect(result.outcome).toBe('denied');
    expect(result.outcome === 'denied' && result.reason).toBe('token_expired');
    expect(result.record).toMatchObject({ outcome: 'denied', reason: 'token_expired', jti, issuance_id: null, value_fingerprint: null });
    expect(rows).toEqual([]);
  });

  it('keeps a redemption row, issued through the HTTP route, until exactly the token\'s exp plus its issuer\'s clock leeway', async () => {
    const leeway = compilePolicy(policyDocument).issuers.get(ISSUER)!.clockLeewaySeconds;
    // The test policy leaves the leeway at its documented default; non-zero, so `exp` alone cannot pass.
    expect(leeway).toBe(30);
    const jti = `jti-expiry-${crypto.randomUUID()}`;
    const token = await mint({ subject: 'sb-expiry-1', jti, lifetimeSeconds: 120 });
    const { exp } = decodeJwt(token);
    expect(typeof exp).toBe('number');

    expect((await requestCredential('codex', { token })).status).toBe(200);

    const { ledger } = readConfig(env as unknown as BrokerEnv);
    const stub = shardStub(ledger.namespace, shardFor(tokenShardKey(ISSUER, jti), ledger.shards)) as DurableObjectStub<LedgerShard>;
    const { rows, alarm } = await runInDurableObject(stub, async (_shard: LedgerShard, state) => ({
      rows: state.storage.sql.exec('SELECT iss, jti, credential, uses, expires_at FROM redemptions WHERE jti = ?', jti).toArray(),
      alarm: await state.storage.getAlarm(),
    }));
    expect(rows).toEqual([{ iss: ISSUER, jti, credential: 'codex', uses: 1, expires_at: exp! + leeway }]);
    // The alarm that removes it is due no later than that (another row of the shard may be due earlier).
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual((exp! + leeway) * 1000);
  });
});

describe('fail closed when the ledger cannot record', () => {
  it('answers 503 audit_unavailable and issues nothing', async () => {
    const failing = {
      idFromName: (name: string) => (env as unknown as BrokerEnv).LEDGER!.idFromName(name),
      get: () => ({
        redeem: () => Promise.reject(new Error('ledger down')),
        append: () => Promise.reject(new Error('ledger down')),
      }),
    };
    const app = buildApp({ ...(env as unknown as Record<string, string>), LEDGER: failing } as never);
    const logs = captureLogs();
    try {
      const response = await app.fetch(
        new Request('https://broker.test/v1/credentials/codex', { method: 'POST', headers: { Authorization: `Bearer ${await mint()}` } }),
      );
      const body = await response.text();
      expect(response.status).toBe(503);
      expect(JSON.parse(body).error.code).toBe('audit_unavailable');
      expect(body).not.toContain(inject('canaries')[0]);
      // The attempt still reaches the Workers log, marked as missing from the ledger.
      expect(logs.audit()).toEqual([expect.objectContaining({ ledger: 'unavailable', credential: 'codex' })]);
    } finally {
      logs.restore();
    }
  });
});

describe('hash chain', () => {
  it('an export verifies; altering, deleting or reordering a record is detected and named', async () => {
    for (let i = 0; i < 6; i++) await requestCredential('codex', { token: await mint({ subject: `sb-chain-${i}` }) });
    await requestCredential('codex', { authorization: 'Bearer not.a.jwt' });
    const exported = await exportAudit();
    const verdict = verifyExport(exported);
    expect(verdict).toMatchObject({ ok: true, shards: 4 });
    expect((verdict as { records: number }).records).toBeGreaterThanOrEqual(7);

    const lines = exported.trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as LedgerRecord | { type: 'anchor' | 'export_end'; shard?: number });
    const index = lines.findIndex((line) => line.includes('"sub":"sb-chain-3"'));
    const target = JSON.parse(lines[index]!) as LedgerRecord;

    // Altered in place (hash left as it was): named at the record itself.
    const altered = [...lines];
    altered[index] = JSON.stringify({ ...target, sub: 'sb-someone-else' });
    expect(verifyExport(altered.join('\n'))).toEqual({
      ok: false, line: index + 1, shard: target.shard, seq: target.seq, requestId: target.request_id, problem: 'hash does not match the record (it was altered)',
    });

    // Altered with a made-up hash: still named at the record itself.
    const madeUpHash = [...lines];
    madeUpHash[index] = JSON.stringify({ ...target, sub: 'sb-forged', hash: 'f'.repeat(64) });
    expect(verifyExport(madeUpHash.join('\n'))).toEqual({
      ok: false, line: index + 1, shard: target.shard, seq: target.seq, requestId: target.request_id, problem: 'hash does not match the record (it was altered)',
    });

    // Two adjacent records of one shard (7+ records over 4 shards: some shard has two).
    const first = entries.findIndex((entry, i) => entry.type === 'audit' && entries[i + 1]?.type === 'audit' && entries[i + 1]!.shard === entry.shard);
    expect(first).toBeGreaterThanOrEqual(0);
    const a = entries[first] as LedgerRecord;
    const b = entries[first + 1] as LedgerRecord;
    expect(b.seq).toBe(a.seq + 1);

    // Deleted from the middle of a chain: named at the record that follows the gap (lines are 1-based).
    const deleted = lines.filter((_, i) => i !== first);
    expect(verifyExport(deleted.join('\n'))).toEqual({
      ok: false, line: first + 1, shard: a.shard, seq: b.seq, requestId: b.request_id, problem: `expected seq ${a.seq} (a record is missing or out of order)`,
    });

    // Deleted at the end of a chain: only the export_end counts can tell, and they name the shard and its last seq.
    const lastOfShard = entries.findIndex((entry, i) => entry.type === 'audit' && !(entries[i + 1]?.type === 'audit' && entries[i + 1]!.shard === entry.shard));
    const last = entries[lastOfShard] as LedgerRecord;
    const end = entries.at(-1) as unknown as { type: string; records_per_shard: number[] };
    expect(end.type).toBe('export_end');
    const deletedLast = lines.filter((_, i) => i !== lastOfShard);
    expect(verifyExport(deletedLast.join('\n'))).toEqual({
      ok: false,
      line: deletedLast.length,
      shard: last.shard,
      seq: last.seq - 1,
      requestId: null,
      problem: `export_end says ${end.records_per_shard[last.shard]} records for shard ${last.shard}, found ${end.records_per_shard[last.shard]! - 1} (records were deleted)`,
    });

    // Reordered: the two adjacent records swapped; named at the first one out of place.
    const reordered = [...lines];
    [reordered[first], reordered[first + 1]] = [lines[first + 1]!, lines[first]!];
    expect(verifyExport(reordered.join('\n'))).toEqual({
      ok: false, line: first + 1, shard: a.shard, seq: b.seq, requestId: b.request_id, problem: `expected seq ${a.seq} (a record is missing or out of order)`,
    });

    // Altered and correctly rehashed: the record itself checks out, so the break shows at the NEXT record,
    // whose prev_hash no longer matches.
    const forged = { ...a, sub: 'sb-forged', outcome: 'issued' as const };
    const forgedHash = hashRecord(forged);
    expect(forgedHash).not.toBe(a.hash);
    const rehashed = [...lines];
    rehashed[first] = JSON.stringify({ ...forged, hash: forgedHash });
    expect(verifyExport(rehashed.join('\n'))).toEqual({
      ok: false, line: first + 2, shard: a.shard, seq: b.seq, requestId: b.request_id, problem: 'prev_hash does not match the previous record',
    });

    const truncated = lines.slice(0, -1);
    expect(verifyExport(truncated.join('\n'))).toMatchObject({ ok: false, problem: expect.stringContaining('truncated') });
  });

  it('records value fingerprints (HMAC of the value), never the value', async () => {
    const token = await mint({ subject: 'sb-fingerprint' });
    const response = await requestCredential('codex', { token });
    const { issuance_id } = (await response.json()) as { issuance_id: string };
    const exported = await exportAudit();
    const record = exported.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((line) => line.issuance_id === issuance_id);
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('test-audit-hmac-key-0123456789abcdef0123456789'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(inject('canaries')[0])));
    expect(record.value_fingerprint).toBe(`hmac-sha256:${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
    expect(exported).not.toContain(inject('canaries')[0]);
  });
});
