/** Shared helpers for tests that run inside workerd. */
import { exports } from 'cloudflare:workers';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { inject, vi, type MockInstance } from 'vitest';
import { mintSandboxToken } from '../../src/sdk/mint-sandbox-token.ts';
import { ADMIN_AUDIENCE, ADMIN_ISSUER, AUDIENCE, ISSUER } from '../support/test-world.ts';

export const keys = () => inject('testKeys');

/** A valid sandbox token; each call is a different sandbox unless `subject` is given (per-sandbox rate limits). */
export function mint(overrides: Partial<Parameters<typeof mintSandboxToken>[0]> = {}): Promise<string> {
  return mintSandboxToken({ privateJwk: keys().primary, issuer: ISSUER, subject: `sb-test-${crypto.randomUUID()}`, audience: AUDIENCE, ...overrides });
}

/** Signs an arbitrary payload and header: for tokens the SDK would refuse to mint. */
export async function signRaw(payload: JWTPayload, options: { key?: JWK; header?: Record<string, unknown> } = {}): Promise<string> {
  const jwk = options.key ?? keys().primary;
  const key = await importJWK(jwk, jwk.alg);
  return new SignJWT(payload).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'sandbox+jwt', ...options.header }).sign(key);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function validClaims(extra: JWTPayload = {}): JWTPayload {
  const iat = nowSeconds();
  return { iss: ISSUER, sub: `sb-test-${crypto.randomUUID()}`, aud: AUDIENCE, iat, exp: iat + 300, jti: crypto.randomUUID(), ...extra };
}

export function requestCredential(name: string, init: { token?: string; authorization?: string; accept?: string; method?: string } = {}) {
  const headers = new Headers();
  if (init.authorization !== undefined) headers.set('Authorization', init.authorization);
  else if (init.token !== undefined) headers.set('Authorization', `Bearer ${init.token}`);
  if (init.accept) headers.set('Accept', init.accept);
  return exports.default.fetch(`https://broker.test/v1/credentials/${name}`, { method: init.method ?? 'POST', headers });
}

/** Captures every console line the worker writes during a test. */
export function captureLogs(): { lines: () => string[]; audit: () => Array<Record<string, unknown>>; restore: () => void } {
  const spies: MockInstance[] = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
  const lines = () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' ')));
  return {
    lines,
    audit: () =>
      lines()
        .filter((line) => line.startsWith('{"type":"audit"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

export async function secretsManagerCalls(filter: { operation?: string; secretName?: string } = {}): Promise<number> {
  const query = new URLSearchParams(filter as Record<string, string>);
  const response = await fetch(`${inject('secretsManagerUrl')}/__control/calls?${query}`);
  return ((await response.json()) as { count: number }).count;
}

export function mintAdmin(overrides: Partial<Parameters<typeof mintSandboxToken>[0]> = {}): Promise<string> {
  return mintSandboxToken({
    privateJwk: keys().admin,
    issuer: ADMIN_ISSUER,
    subject: 'alice@platform.test',
    audience: ADMIN_AUDIENCE,
    type: 'admin+jwt',
    claims: { role: 'token-broker-admin' },
    ...overrides,
  });
}

export async function adminFetch(path: string, init: { token?: string; method?: string; body?: unknown } = {}): Promise<Response> {
  const token = init.token ?? (await mintAdmin());
  return exports.default.fetch(`https://broker.test${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
}

export async function exportAudit(query = ''): Promise<string> {
  const response = await adminFetch(`/v1/admin/audit/export${query}`);
  if (response.status !== 200) throw new Error(`export failed: ${response.status} ${await response.text()}`);
  return response.text();
}

export async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** Drives the local Secrets Manager server's control endpoints (faults, calls, new versions). */
export const secretsManager = {
  async setFaults(faults: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${inject('secretsManagerUrl')}/__control/faults`, { method: 'POST', body: JSON.stringify(faults) });
    if (!response.ok) throw new Error(`setFaults: ${response.status} ${await response.text()}`);
  },
  calls: secretsManagerCalls,
  async put(name: string, secretString: string, stages?: string[]): Promise<string> {
    const response = await fetch(`${inject('secretsManagerUrl')}/__control/secrets`, {
      method: 'POST',
      body: JSON.stringify({ name, secretString, ...(stages ? { stages } : {}) }),
    });
    return ((await response.json()) as { versionId: string }).versionId;
  },
};
