import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { captureLogs, keys, mint, requestCredential } from './helpers.ts';

const [codexCanary, apiKeyCanary] = inject('canaries');

describe('POST /v1/credentials/{name}: issuance', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(() => logs.restore());

  it('issues a Codex access token as JSON, read from the JSON key of the secret', async () => {
    const response = await requestCredential('codex', { token: await mint({ jti: 'jti-json-1', subject: 'sb-test-1' }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(response.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['credential', 'issuance_id', 'issued_at', 'kind', 'value', 'version_id']);
    expect(body.credential).toBe('codex');
    expect(body.kind).toBe('codex_access_token');
    expect(body.value).toBe(codexCanary);
    expect(body.version_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.issuance_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Date.parse(body.issued_at!) - Date.now())).toBeLessThan(10_000);

    const [record] = logs.audit();
    expect(record).toMatchObject({
      outcome: 'issued',
      reason: null,
      token_verified: true,
      iss: 'https://orchestrator.test',
      sub: 'sb-test-1',
      jti: 'jti-json-1',
      credential: 'codex',
      secret_version_id: body.version_id,
      issuance_id: body.issuance_id,
      request_id: response.headers.get('X-Request-Id'),
    });
    expect(logs.audit()).toHaveLength(1);
  });

  it('issues an API key as text/plain: the bare value and a newline, kind in a header', async () => {
    const token = await mint({ claims: { team: 'research' } });
    const response = await requestCredential('openai-api-key', { token, accept: 'text/plain' });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(response.headers.get('X-Credential-Kind')).toBe('api_key');
    expect(await response.text()).toBe(`${apiKeyCanary}\n`);
  });

  it('issues a Codex access token as text/plain and an API key as JSON', async () => {
    const text = await requestCredential('codex', { token: await mint(), accept: 'text/plain' });
    expect(await text.text()).toBe(`${codexCanary}\n`);
    expect(text.headers.get('X-Credential-Kind')).toBe('codex_access_token');

    const json = await requestCredential('openai-api-key', { token: await mint({ claims: { team: 'research' } }) });
    expect(((await json.json()) as { value: string; kind: string })).toMatchObject({ value: apiKeyCanary, kind: 'api_key' });
  });

  it('prefers JSON unless text/plain is preferred in Accept', async () => {
    const both = await requestCredential('codex', { token: await mint(), accept: 'application/json, text/plain;q=0.5' });
    expect(both.headers.get('Content-Type')).toContain('application/json');
    const textFirst = await requestCredential('codex', { token: await mint(), accept: 'text/plain, application/json;q=0.1' });
    expect(textFirst.headers.get('Content-Type')).toContain('text/plain');
  });

  it('accepts EdDSA tokens', async () => {
    const response = await requestCredential('codex', { token: await mint({ privateJwk: keys().eddsa }) });
    expect(response.status).toBe(200);
  });

  it('keeps tokens of one issuer from satisfying rules of another', async () => {
    const fromOther = await mint({ privateJwk: keys().other, issuer: 'https://other-orchestrator.test' });
    expect((await requestCredential('other-issuer-only', { token: fromOther })).status).toBe(200);
    expect((await requestCredential('codex', { token: fromOther })).status).toBe(403);
  });
});
