/**
 * Secrets Manager failures, with the real AWS SDK talking HTTP to the local server (or to a closed port,
 * or to a server that accepts and never answers).
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { captureLogs, mint, requestCredential } from './helpers.ts';

async function errorOf(response: Response) {
  return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
}

describe('Secrets Manager refusals and bad secrets', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(() => logs.restore());

  it.each([
    ['missing-secret', 502, 'upstream_error', 'ResourceNotFoundException'],
    ['denied-secret', 502, 'upstream_error', 'AccessDeniedException'],
    ['binary-secret', 502, 'secret_format', 'secret is binary'],
    ['not-json-secret', 502, 'secret_format', 'not JSON'],
    ['missing-json-key', 502, 'secret_format', 'json_key not present'],
    ['wrong-format', 502, 'secret_format', 'does not start with "at-"'],
  ])('%s → %i %s', async (credential, status, code, detail) => {
    const response = await requestCredential(credential, { token: await mint() });
    expect(await errorOf(response)).toEqual({ status, code });
    const [record] = logs.audit();
    expect(record).toMatchObject({ outcome: 'denied', reason: code, credential, issuance_id: null });
    expect(String(record!.detail)).toContain(detail);
  });
});

describe('Secrets Manager unreachable', () => {
  const appWithEndpoint = (endpoint: string) => buildApp({ ...(env as Record<string, string>), SECRETS_MANAGER_ENDPOINT: endpoint });
  const post = async (app: ReturnType<typeof buildApp>) =>
    app.fetch(
      new Request('https://broker.test/v1/credentials/codex', { method: 'POST', headers: { Authorization: `Bearer ${await mint()}` } }),
    );

  it('server down (connection refused) → 503 upstream_unavailable, fast', async () => {
    const started = Date.now();
    const response = await post(appWithEndpoint(inject('closedPortUrl')));
    expect(await errorOf(response)).toEqual({ status: 503, code: 'upstream_unavailable' });
    expect(response.headers.get('Retry-After')).toBe('1');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('server that accepts and never answers → 503 upstream_unavailable within 5 s', async () => {
    const started = Date.now();
    const response = await post(appWithEndpoint(inject('blackholeUrl')));
    const elapsed = Date.now() - started;
    expect(await errorOf(response)).toEqual({ status: 503, code: 'upstream_unavailable' });
    expect(elapsed).toBeLessThan(5_000);
    expect(elapsed).toBeGreaterThanOrEqual(3_500);
  }, 10_000);
});
