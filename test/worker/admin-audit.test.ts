/** Admin routes over the ledger: who may call them, filters, pagination, export, retention. */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { readConfig, type BrokerEnv } from '../../src/config/env.ts';
import { pruneExpiredAudit } from '../../src/index.ts';
import type { ChainAnchor, LedgerRecord } from '../../src/ledger/ledger-record.ts';
import { shardFor, tokenShardKey } from '../../src/ledger/shard-for.ts';
import { verifyExport } from '../../src/ledger/verify-export.ts';
import { ISSUER } from '../support/test-world.ts';
import { adminFetch, errorCode, exportAudit, keys, mint, mintAdmin, requestCredential } from './helpers.ts';

interface QueryResult {
  records: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

describe('admin authentication', () => {
  it('refuses sandbox tokens, admin tokens without the required claim, and anonymous calls; records each', async () => {
    const sandbox = await adminFetch('/v1/admin/audit', { token: await mint({ claims: { role: 'token-broker-admin' } }) });
    expect(sandbox.status).toBe(401);
    expect(await errorCode(sandbox)).toBe('unknown_issuer');

    const noRole = await adminFetch('/v1/admin/audit', { token: await mintAdmin({ claims: { role: 'viewer' }, subject: 'mallory@platform.test' }) });
    expect(noRole.status).toBe(403);
    expect(await errorCode(noRole)).toBe('forbidden');

    const wrongKey = await adminFetch('/v1/admin/audit', { token: await mintAdmin({ privateJwk: keys().primary }) });
    expect(wrongKey.status).toBe(401);

    const anonymous = await adminFetch('/v1/admin/audit', { token: '' });
    expect(anonymous.status).toBe(401);

    const denials = ((await (await adminFetch('/v1/admin/audit?outcome=denied&limit=500')).json()) as QueryResult).records.filter(
      (record) => String(record.action).startsWith('admin.'),
    );
    expect(denials.map((record) => record.reason).sort()).toEqual(['forbidden', 'malformed_token', 'unknown_issuer', 'unknown_key']);
    expect(denials.find((record) => record.reason === 'forbidden')).toMatchObject({ sub: 'mallory@platform.test', token_verified: true });
  });

  it('accepts the admin token from the Cloudflare Access header', async () => {
    const { exports } = await import('cloudflare:workers');
    const response = await exports.default.fetch('https://broker.test/v1/admin/audit?limit=1', {
      headers: { 'Cf-Access-Jwt-Assertion': await mintAdmin() },
    });
    expect(response.status).toBe(200);
  });

  it('applies the token size limits to the Cloudflare Access header before decoding it', async () => {
    const { exports } = await import('cloudflare:workers');
    const send = (assertion: string) =>
      exports.default.fetch('https://broker.test/v1/admin/audit?limit=1', { headers: { 'Cf-Access-Jwt-Assertion': assertion } });
    const valid = await mintAdmin();
    const oversized = `${valid}${'A'.repeat(20_000)}`;
    const huge = await send(oversized);
    expect(huge.status).toBe(401);
    expect(await errorCode(huge)).toBe('token_too_large');
    const justOver = await send(`${valid}${'A'.repeat(4 * 1024 + 1 - valid.length)}`);
    expect(await errorCode(justOver)).toBe('token_too_large');
    // The record keeps the length, not the token.
    const records = ((await (await adminFetch('/v1/admin/audit?outcome=denied&limit=500')).json()) as QueryResult).records.filter(
      (record) => record.reason === 'token_too_large' && String(record.action).startsWith('admin.'),
    );
    expect(records.map((record) => record.detail)).toEqual([`Cf-Access-Jwt-Assertion of ${oversized.length} bytes`, 'token of 4097 bytes']);
    expect(JSON.stringify(records)).not.toContain(valid.slice(-40));
  });
});

describe('GET /v1/admin/audit', () => {
  it('filters by sub, credential, outcome and secret version, and pages with a cursor without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) {
      await requestCredential('codex', { token: await mint({ subject: 'sb-query-target' }) });
    }
    const token = await mint({ subject: 'sb-query-target' });
    await requestCredential('codex', { token });
    await requestCredential('codex', { token }); // replay: denied
    await requestCredential('codex', { token: await mint({ subject: 'sb-query-other' }) });

    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await adminFetch(`/v1/admin/audit?sub=sb-query-target&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as QueryResult;
      seen.push(...page.records);
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toHaveLength(9);
    expect(new Set(seen.map((record) => `${record.shard}:${record.seq}`)).size).toBe(9);
    expect(seen.every((record) => record.sub === 'sb-query-target')).toBe(true);
    const times = seen.map((record) => String(record.time));
    expect([...times].sort()).toEqual(times);

    const denied = (await (await adminFetch('/v1/admin/audit?sub=sb-query-target&outcome=denied')).json()) as QueryResult;
    expect(denied.records.map((record) => record.reason)).toEqual(['token_replayed']);

    const version = String(seen[0]!.secret_version_id);
    const byVersion = (await (await adminFetch(`/v1/admin/audit?secret_version_id=${version}&credential=codex&limit=500`)).json()) as QueryResult;
    expect(byVersion.records.length).toBeGreaterThanOrEqual(9);
    expect(byVersion.records.every((record) => record.secret_version_id === version && record.credential === 'codex')).toBe(true);
  });

  it('filters by time range', async () => {
    const before = new Date().toISOString();
    await requestCredential('codex', { token: await mint({ subject: 'sb-time-range' }) });
    const after = new Date(Date.now() + 1000).toISOString();
    const inside = (await (await adminFetch(`/v1/admin/audit?sub=sb-time-range&since=${before}&until=${after}`)).json()) as QueryResult;
    expect(inside.records).toHaveLength(1);
    const outside = (await (await adminFetch(`/v1/admin/audit?sub=sb-time-range&until=${before}`)).json()) as QueryResult;
    expect(outside.records).toHaveLength(0);
  });

  it('rejects bad parameters with 400 invalid_request', async () => {
    for (const query of ['limit=0', 'limit=100000', 'since=yesterday', 'outcome=maybe', 'cursor=garbage', 'unknown=1']) {
      const response = await adminFetch(`/v1/admin/audit?${query}`);
      expect({ query, status: response.status, code: await errorCode(response) }).toEqual({ query, status: 400, code: 'invalid_request' });
    }
  });
});

describe('export and retention', () => {
  it('prunes records older than a cutoff and the remainder still verifies from the pruned anchor', async () => {
    for (let i = 0; i < 4; i++) await requestCredential('codex', { token: await mint({ subject: `sb-old-${i}` }) });
    const cutoff = new Date(Date.now() + 5).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const prune = await adminFetch('/v1/admin/audit/prune', { method: 'POST', body: { before: cutoff } });
    expect(prune.status).toBe(200);
    const { pruned } = (await prune.json()) as { pruned: number[] };
    expect(pruned.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(4);

    for (let i = 0; i < 4; i++) await requestCredential('codex', { token: await mint({ subject: `sb-new-${i}` }) });
    const exported = await exportAudit();
    expect(exported).not.toContain('sb-old-');
    const verdict = verifyExport(exported);
    expect(verdict.ok).toBe(true);
    if (verdict.ok) expect(verdict.anchors.some((anchor) => anchor.reason === 'pruned' && anchor.seq > 0)).toBe(true);
  });

  it('the cron retention prunes by AUDIT_RETENTION_DAYS and leaves a verifiable ledger', async () => {
    await requestCredential('codex', { token: await mint({ subject: 'sb-retention' }) });
    const twoDaysLater = new Date(Date.now() + 2 * 86_400_000);
    const result = await pruneExpiredAudit({ ...(env as unknown as BrokerEnv), AUDIT_RETENTION_DAYS: '1' }, twoDaysLater);
    expect(result!.pruned.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
    expect(await pruneExpiredAudit(env as unknown as BrokerEnv, twoDaysLater)).toBeUndefined();
    const exported = await exportAudit();
    expect(exported).not.toContain('sb-retention');
    expect(verifyExport(exported).ok).toBe(true);
  });

  it('exports a time range whose chain verifies from a range anchor', async () => {
    const { ledger } = readConfig(env as unknown as BrokerEnv);
    const shards = Array.from({ length: ledger.shards }, (_, shard) => shard);
    /** A token whose records land on the given shard, so that every shard has records on both sides of `since`. */
    const tokenForShard = async (shard: number, subject: string) => {
      for (;;) {
        const jti = crypto.randomUUID();
        if (shardFor(tokenShardKey(ISSUER, jti), ledger.shards) === shard) return mint({ subject, jti });
      }
    };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (const shard of shards) {
      expect((await requestCredential('codex', { token: await tokenForShard(shard, `sb-before-range-${shard}`) })).status).toBe(200);
    }
    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    for (const shard of shards) {
      expect((await requestCredential('codex', { token: await tokenForShard(shard, `sb-range-${shard}`) })).status).toBe(200);
    }

    const parse = (ndjson: string) => ndjson.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const full = parse(await exportAudit());
    const exported = await exportAudit(`?since=${encodeURIComponent(since)}`);
    const verdict = verifyExport(exported);
    expect(verdict).toMatchObject({ ok: true, shards: ledger.shards });
    if (verdict.ok) expect(verdict.anchors.map((anchor) => anchor.reason)).toEqual(shards.map(() => 'range'));

    const entries = parse(exported);
    for (const shard of shards) {
      const [anchor, firstRecord] = entries.filter((entry) => entry.shard === shard) as unknown as [ChainAnchor, LedgerRecord];
      expect(anchor).toEqual({ type: 'anchor', shard, seq: firstRecord.seq - 1, hash: firstRecord.prev_hash, reason: 'range' });
      expect(firstRecord.time >= since).toBe(true);
      // The anchor is the last record before the range, as the full export has it.
      const before = full.find((entry) => entry.type === 'audit' && entry.shard === shard && entry.seq === anchor.seq) as LedgerRecord | undefined;
      expect(before).toBeDefined();
      expect(before!.hash).toBe(anchor.hash);
      expect(before!.time < since).toBe(true);
    }
    expect(shards.every((shard) => exported.includes(`"sub":"sb-range-${shard}"`))).toBe(true);
    expect(exported).not.toContain('sb-before-range-');
  });
});
