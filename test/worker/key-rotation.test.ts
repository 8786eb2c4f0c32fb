/**
 * Remote key sets under rotation, key-set abuse and outage, with an injected clock so cooldowns and cache
 * ages pass without sleeping. The key set is served over HTTP by the test JWKS server.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { importJWK, SignJWT } from 'jose';
import { buildApp } from '../../src/index.ts';
import { mintSandboxToken } from '../../src/sdk/mint-sandbox-token.ts';
import { AUDIENCE, ISSUER, OTHER_ISSUER, REMOTE_ISSUER } from '../support/test-world.ts';
import { captureLogs, errorCode, keys, mint, requestCredential, signRaw, validClaims } from './helpers.ts';

async function jwks(update?: Record<string, unknown>): Promise<{ fetches: number }> {
  const response = await fetch(`${inject('jwksUrl')}/__control/state`, update ? { method: 'POST', body: JSON.stringify(update) } : {});
  return response.json();
}

function controlledClock() {
  let offset = 0;
  return { clock: () => new Date(Date.now() + offset), advance: (ms: number) => void (offset += ms) };
}

describe('key rotation on a remote key set', () => {
  const time = controlledClock();
  const app = buildApp(env as never, undefined, { clock: time.clock });
  const remoteToken = (privateJwk = keys().remote, kid?: string) =>
    mintSandboxToken({
      privateJwk: kid ? { ...privateJwk, kid } : privateJwk,
      issuer: REMOTE_ISSUER,
      subject: `sb-rot-${crypto.randomUUID()}`,
      audience: AUDIENCE,
      now: time.clock(),
    });
  const post = (token: string) =>
    app.fetch(new Request('https://broker.test/v1/credentials/remote-codex', { method: 'POST', headers: { Authorization: `Bearer ${token}` } }));
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(async () => {
    logs.restore();
  });

  it('accepts new-key tokens after one fetch, caps unknown-kid fetches per cooldown, serves cached keys through an outage', async () => {
    await jwks({ jwks: { keys: [publicOf(keys().remote)] }, mode: 'ok', resetFetches: true });
    expect((await post(await remoteToken())).status).toBe(200);
    expect((await jwks()).fetches).toBe(1);

    // The orchestrator rotates: old and new keys overlap in the published set.
    await jwks({ jwks: { keys: [publicOf(keys().remote), publicOf(keys().rotated)] } });
    expect((await post(await remoteToken())).status).toBe(200);
    expect((await jwks()).fetches).toBe(1);

    // A burst of random kids inside the cooldown causes no fetch at all.
    const burst = await Promise.all(Array.from({ length: 40 }, () => remoteToken(keys().stranger, crypto.randomUUID()).then(post)));
    expect(await Promise.all(burst.map(errorCode))).toEqual(Array(40).fill('unknown_key'));
    expect((await jwks()).fetches).toBe(1);

    // After the cooldown, the new key's first token triggers exactly one fetch and is accepted,
    // even when 40 unknown kids arrive at the same moment (single flight).
    time.advance(31_000);
    const [rotated, ...noise] = await Promise.all([
      remoteToken(keys().rotated).then(post),
      ...Array.from({ length: 40 }, () => remoteToken(keys().stranger, crypto.randomUUID()).then(post)),
    ]);
    expect(rotated!.status).toBe(200);
    expect(noise.every((response) => response.status === 401)).toBe(true);
    expect((await jwks()).fetches).toBe(2);

    // The endpoint goes down and the cache ages out: the last good keys keep serving.
    await jwks({ mode: 'error' });
    time.advance(11 * 60_000);
    expect((await post(await remoteToken(keys().rotated))).status).toBe(200);
    expect((await jwks()).fetches).toBe(3);
    expect(logs.lines().some((line) => line.includes('"type":"key_set_stale"'))).toBe(true);

    // The old key is withdrawn: once the set can be fetched again, old-key tokens stop working.
    await jwks({ mode: 'ok', jwks: { keys: [publicOf(keys().rotated)] } });
    time.advance(11 * 60_000);
    expect((await post(await remoteToken(keys().rotated))).status).toBe(200);
    expect(await errorCode(await post(await remoteToken(keys().remote)))).toBe('unknown_key');
  });
});

describe('key set abuse and outage', () => {
  afterEach(() => jwks({ mode: 'ok', jwks: { keys: [publicOf(keys().remote)] } }));
  const freshPost = async (token: string) =>
    buildApp(env as never).fetch(
      new Request('https://broker.test/v1/credentials/remote-codex', { method: 'POST', headers: { Authorization: `Bearer ${token}` } }),
    );
  const remote = () => mintSandboxToken({ privateJwk: keys().remote, issuer: REMOTE_ISSUER, subject: 'sb-abuse', audience: AUDIENCE });

  it('an oversized key set is refused (503 with no cached keys), not parsed', async () => {
    await jwks({ mode: 'huge' });
    const response = await freshPost(await remote());
    expect(response.status).toBe(503);
    expect(await errorCode(response)).toBe('key_set_unavailable');
  });

  it('a key-set endpoint that never answers gives 503 within the fetch timeout', async () => {
    await jwks({ mode: 'hang' });
    const started = Date.now();
    const response = await freshPost(await remote());
    expect(await errorCode(response)).toBe('key_set_unavailable');
    expect(Date.now() - started).toBeLessThan(3_500);
  });
});

describe('no cross-issuer confusion', () => {
  it("a token claiming one issuer but signed with another issuer's key is refused", async () => {
    const other = keys().other;
    const response = await requestCredential('codex', { token: await signRaw(validClaims({ iss: ISSUER }), { key: other }) });
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('unknown_key');
    const sameKid = await signRaw(validClaims({ iss: ISSUER }), { key: { ...other, kid: keys().primary.kid } });
    expect(await errorCode(await requestCredential('codex', { token: sameKid }))).toBe('invalid_signature');
  });

  it("another issuer's valid token with a matching sub never satisfies this issuer's rules", async () => {
    const token = await mint({ privateJwk: keys().other, issuer: OTHER_ISSUER, subject: 'sb-lookalike' });
    const response = await requestCredential('codex', { token });
    expect(response.status).toBe(403);
  });

  it('an admin-issuer token is not a sandbox token', async () => {
    const key = await importJWK(keys().admin, 'ES256');
    const token = await new SignJWT(validClaims({ iss: 'https://platform.test' }))
      .setProtectedHeader({ alg: 'ES256', kid: keys().admin.kid, typ: 'sandbox+jwt' })
      .sign(key);
    expect(await errorCode(await requestCredential('codex', { token }))).toBe('unknown_issuer');
  });
});

function publicOf(jwk: Record<string, unknown>) {
  const { d: _private, ...rest } = jwk;
  return rest;
}
