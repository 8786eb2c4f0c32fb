/**
 * Invalid configuration fails closed: every request gets 500 config_invalid, and startup logs exactly one
 * line that names the bad field (and never a secret's value).
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import policyDocument from 'token-broker-policy';
import { buildApp } from '../../src/index.ts';
import { captureLogs, mint } from './helpers.ts';

const baseEnv = env as unknown as Record<string, string>;

async function call(app: ReturnType<typeof buildApp>, path = '/v1/credentials/codex') {
  const response = await app.fetch(
    new Request(`https://broker.test${path}`, { method: path === '/healthz' ? 'GET' : 'POST', headers: { Authorization: `Bearer ${await mint()}` } }),
  );
  return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
}

describe('fail closed on invalid configuration', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(() => logs.restore());

  it.each([
    ['AWS_REGION', { AWS_REGION: undefined }],
    ['AWS_REGION', { AWS_REGION: 'mars' }],
    ['AWS_SECRET_ACCESS_KEY', { AWS_SECRET_ACCESS_KEY: '' }],
    ['SECRETS_MANAGER_ENDPOINT', { SECRETS_MANAGER_ENDPOINT: 'http://secrets.example.com' }],
    ['UPSTREAM_DEADLINE_MS', { UPSTREAM_DEADLINE_MS: '60000' }],
  ])('bad binding %s → config_invalid naming it', async (field, override) => {
    const app = buildApp({ ...baseEnv, ...override } as Record<string, string>);
    const startup = logs.lines().filter((line) => line.includes('config_invalid'));
    expect(startup).toHaveLength(1);
    expect(JSON.parse(startup[0]!)).toMatchObject({ type: 'config_invalid', field });
    expect(startup[0]).not.toContain(baseEnv.AWS_SECRET_ACCESS_KEY);

    expect(await call(app)).toEqual({ status: 500, body: { error: expect.objectContaining({ code: 'config_invalid' }) } });
    expect((await call(app, '/healthz')).status).toBe(500);
    expect(logs.audit()).toEqual([expect.objectContaining({ outcome: 'denied', reason: 'config_invalid', credential: 'codex' })]);
  });

  it('refuses a policy bundled for another environment', async () => {
    const app = buildApp({ ...baseEnv, BROKER_ENVIRONMENT: 'production' } as Record<string, string>, { ...(policyDocument as object), environment: 'staging' });
    const [line] = logs.lines();
    expect(JSON.parse(line!)).toMatchObject({ type: 'config_invalid', field: 'BROKER_ENVIRONMENT' });
    expect(JSON.parse(line!).problem).toBe('is "production" but the bundled policy is for "staging"');
    expect((await call(app)).body.error?.code).toBe('config_invalid');
    const matching = buildApp({ ...baseEnv, BROKER_ENVIRONMENT: 'staging' } as Record<string, string>, { ...(policyDocument as object), environment: 'staging' });
    expect((await call(matching, '/healthz')).status).toBe(200);
  });

  it.each([
    ['credentials.codex.secret.id', (doc: any) => (doc.credentials.codex.secret.id = '')],
    ['credentials.codex.secret.json_kye', (doc: any) => (doc.credentials.codex.secret.json_kye = 'x')],
    ['credentials.codex.kind', (doc: any) => (doc.credentials.codex.kind = 'password')],
    ['credentials.codex.allow.0', (doc: any) => delete doc.credentials.codex.allow[0].iss],
    ['credentials.codex.allow.0.iss', (doc: any) => (doc.credentials.codex.allow[0].iss = 'https://undeclared.test')],
    ['issuers.https://orchestrator.test.algorithms.0', (doc: any) => (doc.issuers['https://orchestrator.test'].algorithms = ['HS256'])],
    ['issuers.https://orchestrator.test.jwks.keys.0', (doc: any) => (doc.issuers['https://orchestrator.test'].jwks.keys[0].d = 'private')],
  ])('bad policy field %s → config_invalid naming it', async (field, mutate) => {
    const document = structuredClone(policyDocument) as any;
    mutate(document);
    const app = buildApp(baseEnv, document);
    const [line, ...rest] = logs.lines();
    expect(rest).toEqual([]);
    expect(JSON.parse(line!)).toMatchObject({ type: 'config_invalid', field });
    expect((await call(app)).body.error?.code).toBe('config_invalid');
  });
});

