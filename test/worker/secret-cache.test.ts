/**
 * The secret cache through the HTTP interface, against the real local Secrets Manager server. Each
 * scenario has its own secret, so call counts and (secret-scoped) faults are exact. Fresh apps stand for
 * fresh isolates; an injected clock moves time past TTLs and stale windows without sleeping.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { SECRETS } from '../support/test-world.ts';
import { adminFetch, errorCode, mint, mintAdmin, secretsManager } from './helpers.ts';

const GET = 'GetSecretValue';

function isolate() {
  let offset = 0;
  const app = buildApp(env as never, undefined, { clock: () => new Date(Date.now() + offset) });
  const now = () => new Date(Date.now() + offset);
  return {
    advance: (ms: number) => void (offset += ms),
    /** A cache flush received by this isolate (the admin route), not by another one. */
    async flush(credential: string): Promise<Response> {
      return app.fetch(
        new Request('https://broker.test/v1/admin/cache/flush', {
          method: 'POST',
          headers: { Authorization: `Bearer ${await mintAdmin({ now: now() })}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ credential }),
        }),
      );
    },
    async issue(credential: string): Promise<Response> {
      const token = await mint({ now: now() });
      return app.fetch(new Request(`https://broker.test/v1/credentials/${credential}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }));
    },
  };
}

async function issuedVersion(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  return ((await response.json()) as { version_id: string }).version_id;
}

async function ledgerRecord(sub: string | undefined, versionId: string) {
  const response = await adminFetch(`/v1/admin/audit?secret_version_id=${versionId}&limit=500`);
  const { records } = (await response.json()) as { records: Array<Record<string, unknown>> };
  return sub ? records.filter((record) => record.sub === sub) : records;
}

describe('secret cache', () => {
  afterEach(() => secretsManager.setFaults({}));

  it('200 concurrent requests on a cold cache make exactly one GetSecretValue', async () => {
    const fresh = isolate();
    const before = await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheBurst });
    const responses = await Promise.all(Array.from({ length: 200 }, () => fresh.issue('cache-burst')));
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    expect((await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheBurst })) - before).toBe(1);
  });

  it('10,000 issuances within one TTL make one call per isolate', async () => {
    const isolates = [isolate(), isolate()];
    const before = await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheMany });
    let issued = 0;
    for (let batch = 0; batch < 100; batch++) {
      const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => isolates[i % 2]!.issue('cache-many')));
      issued += responses.filter((response) => response.status === 200).length;
    }
    expect(issued).toBe(10_000);
    expect((await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheMany })) - before).toBe(2);
  }, 120_000);

  it('serves AWSCURRENT only: a new current version after the TTL or a flush, never AWSPENDING', async () => {
    const fresh = isolate();
    const v1 = await issuedVersion(await fresh.issue('cache-rotation'));

    // Rotation begins: the new value is staged as AWSPENDING. Nothing changes for sandboxes.
    const pending = await secretsManager.put(SECRETS.cacheRotation, JSON.stringify({ access_token: 'at-pending-version' }), ['AWSPENDING']);
    fresh.advance(61_000);
    expect(await issuedVersion(await fresh.issue('cache-rotation'))).toBe(v1);
    expect(pending).not.toBe(v1);

    // Promoted to AWSCURRENT: served once the TTL has passed.
    const v2 = await secretsManager.put(SECRETS.cacheRotation, JSON.stringify({ access_token: 'at-rotated-version-2' }));
    expect(await issuedVersion(await fresh.issue('cache-rotation'))).toBe(v1);
    fresh.advance(61_000);
    expect(await issuedVersion(await fresh.issue('cache-rotation'))).toBe(v2);

    // Rotated again and flushed through the admin API (received by another isolate): this isolate picks the
    // flush up at its next generation check, a few seconds later, well inside the TTL.
    const v3 = await secretsManager.put(SECRETS.cacheRotation, JSON.stringify({ access_token: 'at-rotated-version-3' }));
    const flush = await adminFetch('/v1/admin/cache/flush', { method: 'POST', body: { credential: 'cache-rotation' } });
    expect(flush.status).toBe(200);
    expect(await issuedVersion(await fresh.issue('cache-rotation'))).toBe(v2);
    fresh.advance(4_000);
    expect(await issuedVersion(await fresh.issue('cache-rotation'))).toBe(v3);
    expect(await ledgerRecord(undefined, pending)).toEqual([]);
  });

  it('a flush received by this isolate empties its cache once: the generation check seconds later does not flush the refilled entry again', async () => {
    const fresh = isolate();
    const calls = () => secretsManager.calls({ operation: GET, secretName: SECRETS.cacheFlush });
    const start = await calls();
    expect((await fresh.issue('cache-flush')).status).toBe(200);
    expect((await fresh.flush('cache-flush')).status).toBe(200);
    // Refilled by one call, whatever the burst.
    const burst = await Promise.all(Array.from({ length: 50 }, () => fresh.issue('cache-flush')));
    expect(burst.map((response) => response.status)).toEqual(Array(50).fill(200));
    expect((await calls()) - start).toBe(2);
    // Past the generation check interval, inside the TTL: the isolate's own flush is not seen as news.
    fresh.advance(4_000);
    expect((await fresh.issue('cache-flush')).status).toBe(200);
    fresh.advance(4_000);
    expect((await fresh.issue('cache-flush')).status).toBe(200);
    expect((await calls()) - start).toBe(2);
    // A flush received elsewhere still reaches it at its next check.
    expect((await adminFetch('/v1/admin/cache/flush', { method: 'POST', body: { credential: 'cache-flush' } })).status).toBe(200);
    fresh.advance(4_000);
    expect((await fresh.issue('cache-flush')).status).toBe(200);
    expect((await calls()) - start).toBe(3);
  });

  it('rides out an outage with a warm cache (served_stale recorded), then fails closed past the stale window', async () => {
    const fresh = isolate();
    const version = await issuedVersion(await fresh.issue('cache-outage'));
    await secretsManager.setFaults({ errorRate: 1, secretNames: [SECRETS.cacheOutage] });

    fresh.advance(61_000);
    const callsBefore = await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheOutage });
    const stale = await fresh.issue('cache-outage');
    expect(await issuedVersion(stale)).toBe(version);
    const calls = (await secretsManager.calls({ operation: GET, secretName: SECRETS.cacheOutage })) - callsBefore;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(3);
    const staleRecords = (await ledgerRecord(undefined, version)).filter((record) => record.served_stale === true);
    expect(staleRecords).toHaveLength(1);

    fresh.advance(15 * 60_000);
    const expired = await fresh.issue('cache-outage');
    expect(expired.status).toBe(503);
    expect(await errorCode(expired)).toBe('upstream_unavailable');
  });

  it('with stale-if-error disabled, an outage after the TTL is a 503 at once', async () => {
    const fresh = isolate();
    await issuedVersion(await fresh.issue('cache-no-stale'));
    await secretsManager.setFaults({ errorRate: 1, secretNames: [SECRETS.cacheNoStale] });
    fresh.advance(61_000);
    expect(await errorCode(await fresh.issue('cache-no-stale'))).toBe('upstream_unavailable');
  });

  it('cold cache and a silent Secrets Manager: 503 within 5 s, and errors are not cached', async () => {
    const fresh = isolate();
    await secretsManager.setFaults({ hang: true, secretNames: [SECRETS.cacheCold] });
    const started = Date.now();
    const response = await fresh.issue('cache-cold');
    expect(await errorCode(response)).toBe('upstream_unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
    await secretsManager.setFaults({});
    expect((await fresh.issue('cache-cold')).status).toBe(200);
  }, 15_000);
});

