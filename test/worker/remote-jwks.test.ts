/** Issuers whose keys live at a `jwks_uri`: fetched over HTTP with jose's remote key set, then cached. */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { REMOTE_ISSUER } from '../support/test-world.ts';
import { keys, mint } from './helpers.ts';

async function jwksControl(update?: Record<string, unknown>): Promise<{ fetches: number; mode: string }> {
  const response = await fetch(`${inject('jwksUrl')}/__control/state`, update ? { method: 'POST', body: JSON.stringify(update) } : {});
  return response.json();
}

const freshApp = () => buildApp(env as unknown as Record<string, string>);
const post = async (app: ReturnType<typeof buildApp>, token: string) =>
  app.fetch(new Request('https://broker.test/v1/credentials/remote-codex', { method: 'POST', headers: { Authorization: `Bearer ${token}` } }));

describe('remote key sets (jwks_uri)', () => {
  afterEach(() => jwksControl({ mode: 'ok' }));

  it('fetches the key set once and serves later tokens from the cache', async () => {
    await jwksControl({ resetFetches: true });
    const app = freshApp();
    for (let i = 0; i < 3; i++) {
      const response = await post(app, await mint({ privateJwk: keys().remote, issuer: REMOTE_ISSUER }));
      expect(response.status).toBe(200);
    }
    expect((await jwksControl()).fetches).toBe(1);
  });

  it('answers 503 key_set_unavailable when the key set cannot be fetched and none is cached', async () => {
    await jwksControl({ mode: 'error' });
    const response = await post(freshApp(), await mint({ privateJwk: keys().remote, issuer: REMOTE_ISSUER }));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('key_set_unavailable');
  });

  it('refuses a token signed by a key the remote set does not publish', async () => {
    const response = await post(freshApp(), await mint({ privateJwk: keys().stranger, issuer: REMOTE_ISSUER }));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_key');
  });
});
