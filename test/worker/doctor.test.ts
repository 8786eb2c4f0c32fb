/** The admin doctor route: per-credential reachability without values, every shard probed. */
import { describe, expect, inject, it } from 'vitest';
import { adminFetch, mint } from './helpers.ts';

describe('GET /v1/admin/doctor', () => {
  it('reports each credential, each ledger shard and the cache control object; problems make it 503', async () => {
    const response = await adminFetch('/v1/admin/doctor');
    const text = await response.text();
    const report = JSON.parse(text) as {
      ok: boolean;
      credentials: Record<string, { ok: boolean; error?: string; current_version_id?: string }>;
      ledger: { shards: Array<{ shard: number; ok: boolean }> };
      cache_control: { ok: boolean };
    };
    // The test policy deliberately holds a missing and a denied secret.
    expect(response.status).toBe(503);
    expect(report.ok).toBe(false);
    expect(report.credentials.codex).toMatchObject({ ok: true, current_version_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(report.credentials['missing-secret']).toEqual(expect.objectContaining({ ok: false, error: 'upstream_error' }));
    expect(report.credentials['denied-secret']).toEqual(expect.objectContaining({ ok: false, error: 'upstream_error' }));
    expect(report.ledger.shards.map((shard) => [shard.shard, shard.ok])).toEqual([[0, true], [1, true], [2, true], [3, true]]);
    expect(report.cache_control.ok).toBe(true);
    for (const canary of inject('canaries')) expect(text).not.toContain(canary);
  });

  it('is admin-only', async () => {
    expect((await adminFetch('/v1/admin/doctor', { token: await mint() })).status).toBe(401);
  });
});
