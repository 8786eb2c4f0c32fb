/**
 * The canary test: every path runs against secrets whose values are random canaries; no log line, audit
 * record or error body may contain one. Only a 200 body may carry a value.
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { adminFetch, captureLogs, exportAudit, keys, mint, requestCredential, signRaw, validClaims } from './helpers.ts';

const canaries = inject('canaries');
const containsCanary = (text: string) => canaries.some((canary) => text.includes(canary) || text.includes(canary.slice(3, 20)));

describe('canary: secret values never leak outside a 200 body', () => {
  let logs: ReturnType<typeof captureLogs>;
  const errorBodies: string[] = [];
  beforeAll(() => (logs = captureLogs()));
  afterAll(() => logs.restore());

  it('runs every path', async () => {
    const research = { claims: { team: 'research' } };
    const paths: Array<[string, Parameters<typeof requestCredential>[1]]> = [
      ['codex', { token: await mint() }],
      ['codex', { token: await mint(), accept: 'text/plain' }],
      ['openai-api-key', { token: await mint(research) }],
      ['openai-api-key', { token: await mint(research), accept: 'text/plain' }],
      ['openai-api-key', { token: await mint() }],
      ['codex', {}],
      ['codex', { authorization: 'Bearer x.y.z' }],
      ['codex', { token: await signRaw(validClaims(), { key: keys().stranger }) }],
      ['codex', { token: await signRaw(validClaims({ aud: 'nope' })) }],
      ['denied-secret', { token: await mint() }],
      ['missing-secret', { token: await mint() }],
      ['binary-secret', { token: await mint() }],
      ['not-json-secret', { token: await mint() }],
      ['missing-json-key', { token: await mint() }],
      ['wrong-format', { token: await mint() }],
      ['no-such', { token: await mint() }],
    ];
    let issued = 0;
    for (const [credential, init] of paths) {
      const response = await requestCredential(credential, init);
      const body = await response.text();
      if (response.status === 200) issued++;
      else errorBodies.push(body);
    }
    const down = buildApp({ ...(env as unknown as Record<string, string>), SECRETS_MANAGER_ENDPOINT: inject('closedPortUrl') });
    const downResponse = await down.fetch(
      new Request('https://broker.test/v1/credentials/codex', { method: 'POST', headers: { Authorization: `Bearer ${await mint()}` } }),
    );
    errorBodies.push(await downResponse.text());

    expect(issued).toBe(4);
    expect(errorBodies).toHaveLength(13);
    expect(logs.audit().length).toBe(17);
  });

  it('found no canary in any log line, audit record or error body', () => {
    const lines = logs.lines();
    expect(lines.length).toBeGreaterThanOrEqual(17);
    expect(lines.filter(containsCanary)).toEqual([]);
    expect(errorBodies.filter(containsCanary)).toEqual([]);
  });

  it('found no canary in the ledger: its query results or its export', async () => {
    const exported = await exportAudit();
    const issued = exported.split('\n').filter((line) => line.includes('"outcome":"issued"'));
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(issued.every((line) => /"value_fingerprint":"hmac-sha256:[0-9a-f]{64}"/.test(line))).toBe(true);
    expect(containsCanary(exported)).toBe(false);
    const queried = await (await adminFetch('/v1/admin/audit?limit=500')).text();
    expect(queried).toContain('"outcome":"issued"');
    expect(containsCanary(queried)).toBe(false);
  });
});
