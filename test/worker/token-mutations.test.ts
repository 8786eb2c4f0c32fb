/**
 * Property tests through the HTTP interface: random mutations of fresh valid tokens never get a
 * credential. Each run mints a new token (new jti) for `codex`, applies one or more mutations from
 * test/support/token-mutations.ts and sends it. The answer must be a 4xx of the status class the mutation
 * allows (401, or 403 where the token verifies but the policy refuses it), with the JSON error shape and a
 * known code, and without any secret value.
 *
 * Failures print the recipe (plain JSON) with fast-check's seed and path. To replay one, pass
 * `{ seed, path, endOnFailure: true }` to that property's `fc.assert`, or feed the printed recipe to
 * `applyMutations` directly.
 *
 * Changes that keep a token valid (scheme case, extra spaces, no `kid`, `typ` media-type spellings, …) are
 * not mutations: the generators never produce them, and the last block shows they are accepted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ERROR_TABLE, type ErrorCode } from '../../src/errors.ts';
import { ADMIN_AUDIENCE, ADMIN_ISSUER, AUDIENCE, ISSUER, OTHER_ISSUER } from '../support/test-world.ts';
import {
  applyMutations,
  baseKey,
  familyArbitraries,
  FAMILIES,
  mutationChain,
  anyMutation,
  signCompact,
  WORLD_DEFAULTS,
  type BaseKey,
  type Family,
  type Mutation,
  type MutationWorld,
} from '../support/token-mutations.ts';
import { captureLogs, keys, mint, nowSeconds, requestCredential } from './helpers.ts';

/**
 * Runs per family property, and for the mixed-family chains: ~400 requests, 25–40 s. Not more, because under
 * @cloudflare/vitest-pool-workers every `exports.default.fetch` in a file is slower than the one before
 * (a few ms at first, ~40 ms after 300 requests, ~150 ms after 600; calling the handler directly stays
 * under 1 ms): cloudflare/workers-sdk#15446. Volume belongs to the drills, which reuse the generators.
 */
const RUNS_PER_FAMILY = 45;
const MIXED_RUNS = 90;

const canaries = inject('canaries');
let cachedWorld: MutationWorld | undefined;
const world = (): MutationWorld => {
  if (cachedWorld) return cachedWorld;
  const { primary, eddsa, stranger, other, admin } = keys();
  return (cachedWorld = {
    keys: { primary, eddsa, stranger, other, admin },
    issuer: ISSUER,
    otherIssuer: OTHER_ISSUER,
    adminIssuer: ADMIN_ISSUER,
    audience: AUDIENCE,
    adminAudience: ADMIN_AUDIENCE,
    ...WORLD_DEFAULTS,
  });
};
/** A fresh valid token with its own subject, so the per-sandbox rate limit never enters the picture. */
const freshToken = (key: BaseKey = 'primary') => mint({ privateJwk: keys()[key], subject: `sb-mut-${crypto.randomUUID()}` });

/** Every request this file sends, by outcome: the audit test at the end checks the ledger against it. */
const sent = { deniedRequestIds: new Set<string>(), issued: 0 };
const histogram = new Map<string, Map<string, number>>();
const count = (label: string, code: string) => {
  const row = histogram.get(label) ?? new Map<string, number>();
  row.set(code, (row.get(code) ?? 0) + 1);
  histogram.set(label, row);
};

/** One property run: fresh token, mutate, send, check the refusal. */
async function refused(label: string, key: BaseKey, mutations: Mutation[]): Promise<void> {
  const token = await freshToken(key);
  const request = await applyMutations({ token, key }, mutations, world());
  fc.pre(request !== undefined);
  const response = await requestCredential('codex', { authorization: request.authorization });
  const text = await response.text();
  const requestId = response.headers.get('X-Request-Id');
  if (response.status === 200) sent.issued++;
  else if (requestId) sent.deniedRequestIds.add(requestId);

  expect(response.status, `issued a credential for ${JSON.stringify(mutations)}`).not.toBe(200);
  expect([400, 401, 403, 429]).toContain(response.status);
  // The status class the mutation allows; 429 (a rate limit) is a refusal whatever the token.
  expect([...request.statuses, 429], `status ${response.status} (${text.slice(0, 200)}) for ${JSON.stringify(mutations)}`).toContain(response.status);
  expect(canaries.some((canary) => text.includes(canary))).toBe(false);
  expect(response.headers.get('Cache-Control')).toBe('no-store');
  const body = JSON.parse(text) as { error: { code: ErrorCode; message: string; request_id: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(ERROR_TABLE)).toContain(body.error.code);
  expect(ERROR_TABLE[body.error.code].status).toBe(response.status);
  expect(body.error.message).toBe(ERROR_TABLE[body.error.code].message);
  expect(body.error.request_id).toBe(requestId);
  if (response.status === 401) {
    expect(response.headers.get('WWW-Authenticate')).toBe(`Bearer error="invalid_token", error_description="${body.error.code}"`);
  }
  count(label, body.error.code);
}

let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(() => {
  logs.restore();
  // Visible with `--silent=false`: which codes each family ran into.
  for (const [label, row] of histogram) {
    console.log(`${label}: ${[...row].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code}=${n}`).join(' ')}`);
  }
});

describe('mutated tokens never get a credential', () => {
  it.each(FAMILIES)('family %s (1–2 mutations)', async (family: Family) => {
    await fc.assert(
      fc.asyncProperty(baseKey, mutationChain(familyArbitraries[family], 2), (key, mutations) => refused(family, key, mutations)),
      { numRuns: RUNS_PER_FAMILY },
    );
  }, 60_000);

  it('chains across families (1–3 mutations)', async () => {
    await fc.assert(
      fc.asyncProperty(baseKey, mutationChain(anyMutation, 3), (key, mutations) => refused('mixed', key, mutations)),
      { numRuns: MIXED_RUNS },
    );
  }, 60_000);
});

describe('equivalent forms of a valid token are accepted (not mutations)', () => {
  async function accepted(authorization: string): Promise<void> {
    const response = await requestCredential('codex', { authorization });
    const body = (await response.json()) as { value?: string; issuance_id?: string; error?: unknown };
    expect(response.status, `${authorization.slice(0, 40)}…: ${JSON.stringify(body.error)}`).toBe(200);
    expect(body.value).toBe(canaries.find((canary) => canary.startsWith('at-')));
    expect(body.issuance_id).toEqual(expect.any(String));
    sent.issued++;
  }
  async function denied(authorization: string, code: string): Promise<void> {
    const response = await requestCredential('codex', { authorization });
    const body = (await response.json()) as { error: { code: string; request_id: string } };
    expect(response.status).toBe(401);
    expect(body.error.code).toBe(code);
    sent.deniedRequestIds.add(body.error.request_id);
  }
  const resign = async (key: BaseKey, edit: (header: Record<string, unknown>, claims: Record<string, unknown>) => void) => {
    const [header, payload] = (await freshToken(key)).split('.').slice(0, 2).map((part) => JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>);
    edit(header!, payload!);
    return signCompact(JSON.stringify(header), JSON.stringify(payload), keys()[key]);
  };

  it('scheme in any case, extra spaces after it, whitespace around the header value', async () => {
    for (const form of ['bearer %', 'BEARER %', 'BeArEr %', 'Bearer   %', 'Bearer %   ', '  Bearer %', 'Bearer %\t', '\tBearer %']) {
      await accepted(form.replace('%', await freshToken()));
    }
  });

  it('re-signed by the issuer without kid, with typ as a full or differently cased media type, with extra parameters and claims', async () => {
    for (const key of ['primary', 'eddsa'] as const) {
      await accepted(`Bearer ${await resign(key, (header) => delete header.kid)}`);
    }
    for (const typ of ['application/sandbox+jwt', 'SANDBOX+JWT', 'Application/Sandbox+Jwt']) {
      await accepted(`Bearer ${await resign('primary', (header) => (header.typ = typ))}`);
    }
    await accepted(
      `Bearer ${await resign('eddsa', (header, claims) => {
        Object.assign(header, { 'x-note': 1, cty: 'text' });
        Object.assign(claims, { team: 'x', extra: [1] });
      })}`,
    );
    await accepted(`Bearer ${await resign('primary', (_, claims) => (claims.aud = ['https://someone-else.test', AUDIENCE]))}`);
    // A UTF-8 byte-order mark before the header JSON: jose decodes with TextDecoder, which drops one BOM.
    const [, payload] = (await freshToken('primary')).split('.');
    const header = JSON.stringify({ alg: 'ES256', typ: 'sandbox+jwt', kid: keys().primary.kid });
    const bom = await signCompact(`\ufeff${header}`, new TextDecoder().decode(Uint8Array.from(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0))), keys().primary);
    await accepted(`Bearer ${bom}`);
  });

  it('times at the edges: nbf past or within leeway, exp within leeway, lifetime exactly the maximum', async () => {
    const now = nowSeconds();
    await accepted(`Bearer ${await resign('primary', (_, claims) => (claims.nbf = now - 100))}`);
    await accepted(`Bearer ${await resign('primary', (_, claims) => (claims.nbf = now + 10))}`);
    await accepted(`Bearer ${await resign('primary', (_, claims) => Object.assign(claims, { iat: now - 310, exp: now - 10 }))}`);
    await accepted(`Bearer ${await resign('eddsa', (_, claims) => Object.assign(claims, { iat: now, exp: now + 900 }))}`);
  });

  it('the largest token within 4 KiB is accepted; one character more is token_too_large', async () => {
    const sized = async (fill: number) => resign('primary', (_, claims) => (claims.pad = 'p'.repeat(fill)));
    let fill = 3000;
    while ((await sized(fill + 1)).length <= WORLD_DEFAULTS.maxTokenBytes) fill++;
    while ((await sized(fill)).length > WORLD_DEFAULTS.maxTokenBytes) fill--;
    const largest = await sized(fill);
    const over = await sized(fill + 1);
    expect(largest.length).toBeGreaterThan(WORLD_DEFAULTS.maxTokenBytes - 3);
    expect(over.length).toBeGreaterThan(WORLD_DEFAULTS.maxTokenBytes);
    await accepted(`Bearer ${largest}`);
    await denied(`Bearer ${over}`, 'token_too_large');
  });

  it('an ECDSA signature (r, n − s) is the same signature: accepted once, then a replay like the original', async () => {
    // ECDSA signatures are malleable; WebCrypto does not insist on low s. Harmless here: single use is keyed
    // by (iss, jti, credential), not by the token string, so the twin cannot be redeemed a second time.
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const original = await freshToken();
    const [header, payload, signature] = original.split('.') as [string, string, string];
    const raw = Uint8Array.from(atob(signature.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0));
    const s = BigInt(`0x${[...raw.slice(32)].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`);
    const twinS = (n - s).toString(16).padStart(64, '0');
    const twin = new Uint8Array([...raw.slice(0, 32), ...twinS.match(/../g)!.map((hex) => parseInt(hex, 16))]);
    const twinToken = `${header}.${payload}.${btoa(String.fromCharCode(...twin)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
    expect(twinToken).not.toBe(original);
    await accepted(`Bearer ${twinToken}`);
    await denied(`Bearer ${original}`, 'token_replayed');
  });

  it('CR/LF inside the token cannot even be sent: the runtime refuses the header value', () => {
    for (const value of ['Bearer a\nb', 'Bearer a\r\nb', 'Bearer a\rb', 'Bearer a\u0000b']) {
      expect(() => new Headers({ Authorization: value })).toThrow(TypeError);
    }
  });
});

describe('the ledger saw it the same way', () => {
  it('every denial of this file has one denied audit record without issuance_id; issued records equal the 200s', () => {
    const records = logs.audit().filter((record) => record.action === 'credential.issue');
    const byRequest = new Map<string, Array<Record<string, unknown>>>();
    for (const record of records) byRequest.set(String(record.request_id), [...(byRequest.get(String(record.request_id)) ?? []), record]);

    expect(sent.deniedRequestIds.size).toBeGreaterThan(FAMILIES.length * RUNS_PER_FAMILY * 0.8);
    for (const requestId of sent.deniedRequestIds) {
      const mine = byRequest.get(requestId) ?? [];
      expect(mine, requestId).toHaveLength(1);
      expect(mine[0]).toMatchObject({ outcome: 'denied', issuance_id: null, value_fingerprint: null });
    }
    const issued = records.filter((record) => record.outcome === 'issued');
    expect(issued).toHaveLength(sent.issued);
    expect(issued.every((record) => typeof record.issuance_id === 'string')).toBe(true);
    expect(records.filter((record) => record.outcome === 'denied').every((record) => record.issuance_id === null)).toBe(true);
    expect(records).toHaveLength(sent.deniedRequestIds.size + sent.issued);
  });
});

