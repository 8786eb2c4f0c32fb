/**
 * Caller-controlled strings in audit records, through the HTTP interface: claims (`sub`, `jti`, custom
 * claims), the `User-Agent` and `CF-Connecting-IP` headers and the credential name in the path. Control
 * characters and fake JSON record fragments must stay data (one record per request, exact values, one log
 * line, a chain that verifies); over-long values are kept as `${value.slice(0, max)}…[${length} chars]`
 * (256 characters; 64 for the credential name and the client address), and the request is still answered
 * as it would be otherwise.
 */
import { exports } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../src/ledger/ledger-record.ts';
import { verifyExport } from '../../src/ledger/verify-export.ts';
import { ISSUER, AUDIENCE } from '../support/test-world.ts';
import { captureLogs, errorCode, exportAudit, keys, mint, nowSeconds, signRaw } from './helpers.ts';

/** Closes the JSON string it lands in and starts a second, "issued" record, if anything pasted it in raw. */
const FORGED_RECORD = '"}\n{"type":"audit","outcome":"issued"';
/** Everything that could end a line, a string or a C string. */
const CONTROL = '\n\r"\u0000\u2028';
const hostile = (prefix: string) => `${prefix}${CONTROL}${FORGED_RECORD}`;
/**
 * HTTP header values cannot carry CR, LF or NUL (the runtime refuses them before a request exists, see the
 * first test), so the headers get everything else: quotes, the fragment on one line, tab, ESC, DEL.
 */
const HEADER_FORGED_RECORD = '"},{"type":"audit","outcome":"issued","sub":"sb-admin"}';
const hostileHeader = (prefix: string) => `${prefix}"\t\u001b\u007f${HEADER_FORGED_RECORD}`;

/** The designed truncation (src/audit/audit-record.ts), spelled out here so a change of format is caught. */
const truncated = (value: string, max: number) => `${value.slice(0, max)}…[${value.length} chars]`;

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());

interface Outcome {
  response: Response;
  /** The error code of a non-200 answer. */
  code: string | null;
  requestId: string;
  /** Every record of the export with this request id. */
  records: LedgerRecord[];
  /** Every Workers log line that mentions this request id. */
  logLines: string[];
  exported: string;
}

let ipCounter = 0;
/** A fresh client address per request, so the per-address invalid-token limit never interferes. */
const freshIp = () => `198.51.100.${(ipCounter++ % 250) + 1}`;

async function send(path: string, headers: Record<string, string>): Promise<Outcome> {
  const response = await exports.default.fetch(`https://broker.test${path}`, {
    method: 'POST',
    headers: { 'CF-Connecting-IP': freshIp(), ...headers },
  });
  const code = response.status === 200 ? (await response.arrayBuffer(), null) : await errorCode(response);
  const requestId = response.headers.get('X-Request-Id');
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  const exported = await exportAudit();
  const records = exported
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LedgerRecord)
    .filter((entry) => entry.request_id === requestId);
  const logLines = logs.lines().filter((line) => line.includes(requestId!));
  return { response, code, requestId: requestId!, records, logLines, exported };
}

/** One record for the request, the same in the ledger and in the one-line Workers log entry; the chain verifies. */
function expectOneRecord(outcome: Outcome): LedgerRecord {
  expect(outcome.records).toHaveLength(1);
  const [record] = outcome.records as [LedgerRecord];
  expect(outcome.logLines).toHaveLength(1);
  const [line] = outcome.logLines as [string];
  expect(line).not.toMatch(/[\n\r\u0000]/);
  expect(line.startsWith('{"type":"audit"')).toBe(true);
  expect(JSON.parse(line)).toEqual(record);
  // No other line the worker wrote during the request broke a line either.
  expect(logs.lines().filter((text) => /[\n\r]/.test(text))).toEqual([]);
  expect(verifyExport(outcome.exported)).toMatchObject({ ok: true });
  return record;
}

describe('control characters in caller-controlled strings cannot forge records', () => {
  it('the runtime refuses CR, LF and NUL in a header value, so only claims and the path can carry them', () => {
    for (const character of ['\n', '\r', '\u0000']) {
      expect(() => new Headers({ 'User-Agent': `agent${character}x` })).toThrow(TypeError);
    }
  });

  it('a verified token with them in sub, jti and a custom claim, and hostile User-Agent and client address: issued, one exact record', async () => {
    const sub = hostile('sb-hostile-');
    const jti = hostile(`jti-${crypto.randomUUID()}-`);
    const userAgent = hostileHeader('agent/1.0 ');
    const clientIp = `203.0.113.7${HEADER_FORGED_RECORD}`.slice(0, 64);
    const token = await mint({ subject: sub, jti, claims: { team: hostile('research') } });

    const outcome = await send('/v1/credentials/codex', { Authorization: `Bearer ${token}`, 'User-Agent': userAgent, 'CF-Connecting-IP': clientIp });

    expect(outcome.response.status).toBe(200);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({
      outcome: 'issued',
      reason: null,
      token_verified: true,
      iss: ISSUER,
      sub,
      jti,
      credential: 'codex',
      client_ip: clientIp,
      user_agent: userAgent,
    });
    // Nothing else in the export claims to be an issuance to this sandbox.
    const issuedToSub = outcome.exported.split('\n').filter((line) => line !== '' && (JSON.parse(line) as { sub?: unknown }).sub === sub);
    expect(issuedToSub).toHaveLength(1);
  });

  it('the same claims in a token that does not verify: denied, recorded as what it claimed (unverified)', async () => {
    const sub = hostile('sb-liar-');
    const jti = hostile(`jti-${crypto.randomUUID()}-`);
    const iat = nowSeconds();
    const token = await signRaw({ iss: ISSUER, sub, aud: AUDIENCE, iat, exp: iat + 300, jti }, { key: keys().stranger });

    const outcome = await send('/v1/credentials/codex', { Authorization: `Bearer ${token}`, 'User-Agent': hostileHeader('liar ') });

    expect([outcome.response.status, outcome.code]).toEqual([401, 'unknown_key']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({
      outcome: 'denied',
      reason: 'unknown_key',
      token_verified: false,
      iss: ISSUER,
      sub,
      jti,
      credential: 'codex',
      user_agent: hostileHeader('liar '),
      issuance_id: null,
      value_fingerprint: null,
    });
  });

  it('a custom claim that only starts like the required value (then NUL, newline, a fragment) does not satisfy the rule', async () => {
    const sub = `sb-team-${crypto.randomUUID()}`;
    const token = await mint({ subject: sub, claims: { team: `research\u0000${CONTROL}${FORGED_RECORD}` } });

    const outcome = await send('/v1/credentials/openai-api-key', { Authorization: `Bearer ${token}` });

    expect([outcome.response.status, outcome.code]).toEqual([403, 'forbidden']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ outcome: 'denied', reason: 'forbidden', token_verified: true, sub, credential: 'openai-api-key' });
  });

  it('a credential name with them (percent-encoded in the path): 400 invalid_request, the name recorded exactly', async () => {
    const name = hostile('codex');
    expect(name.length).toBeLessThanOrEqual(64);

    const outcome = await send(`/v1/credentials/${encodeURIComponent(name)}`, { Authorization: `Bearer ${await mint()}` });

    expect([outcome.response.status, outcome.code]).toEqual([400, 'invalid_request']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ outcome: 'denied', reason: 'invalid_request', credential: name, issuance_id: null });
  });
});

describe('over-long caller-controlled strings are truncated, and the request is still answered as it would be', () => {
  it('sub and jti over 256 characters: 401 invalid_claim, recorded as their first 256 characters and their length', async () => {
    const sub = `sb-long-${'s'.repeat(292)}`;
    const jti = `${crypto.randomUUID()}${'j'.repeat(364)}`;
    expect([sub.length, jti.length]).toEqual([300, 400]);

    const outcome = await send('/v1/credentials/codex', { Authorization: `Bearer ${await mint({ subject: sub, jti })}` });

    expect([outcome.response.status, outcome.code]).toEqual([401, 'invalid_claim']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({
      outcome: 'denied',
      reason: 'invalid_claim',
      token_verified: false,
      sub: truncated(sub, 256),
      jti: truncated(jti, 256),
    });
    expect(record.sub).toBe(`${sub.slice(0, 256)}…[300 chars]`);
  });

  it('a sub cut in the middle of a surrogate pair still gives a record that round-trips and verifies', async () => {
    const sub = `sb-${'\u{1F600}'.repeat(150)}`;
    expect(sub.length).toBe(303);

    const outcome = await send('/v1/credentials/codex', { Authorization: `Bearer ${await mint({ subject: sub })}` });

    expect([outcome.response.status, outcome.code]).toEqual([401, 'invalid_claim']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ reason: 'invalid_claim', token_verified: false, sub: truncated(sub, 256) });
  });

  it('sub, jti, User-Agent of exactly 256 and a client address of exactly 64 characters: issued, recorded whole', async () => {
    const sub = `sb-edge-${'e'.repeat(248)}`;
    const jti = `${crypto.randomUUID()}${'k'.repeat(220)}`;
    const userAgent = `agent/${'u'.repeat(250)}`;
    const clientIp = `2001:db8::${'f'.repeat(54)}`;
    expect([sub.length, jti.length, userAgent.length, clientIp.length]).toEqual([256, 256, 256, 64]);

    const outcome = await send('/v1/credentials/codex', {
      Authorization: `Bearer ${await mint({ subject: sub, jti })}`,
      'User-Agent': userAgent,
      'CF-Connecting-IP': clientIp,
    });

    expect(outcome.response.status).toBe(200);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ outcome: 'issued', token_verified: true, sub, jti, user_agent: userAgent, client_ip: clientIp });
  });

  it('a User-Agent over 256 and a client address over 64 characters: still issued, both recorded truncated', async () => {
    const userAgent = `agent/${'a'.repeat(994)}`;
    const clientIp = `203.0.113.${'9'.repeat(90)}`;
    const token = await mint();

    const outcome = await send('/v1/credentials/codex', { Authorization: `Bearer ${token}`, 'User-Agent': userAgent, 'CF-Connecting-IP': clientIp });

    expect(outcome.response.status).toBe(200);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({
      outcome: 'issued',
      user_agent: truncated(userAgent, 256),
      client_ip: truncated(clientIp, 64),
    });
    expect(record.user_agent).toBe(`${userAgent.slice(0, 256)}…[1000 chars]`);
    expect(record.client_ip).toBe(`${clientIp.slice(0, 64)}…[100 chars]`);
  });

  it('a credential name over 64 characters: 400 invalid_request, recorded as its first 64 characters and its length', async () => {
    const name = `codex-${'n'.repeat(94)}`;

    const outcome = await send(`/v1/credentials/${name}`, { Authorization: `Bearer ${await mint()}` });

    expect([outcome.response.status, outcome.code]).toEqual([400, 'invalid_request']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ outcome: 'denied', reason: 'invalid_request', credential: `${name.slice(0, 64)}…[100 chars]` });
  });

  it('a well-formed credential name of exactly 64 characters that the policy lacks: 403 forbidden, recorded whole', async () => {
    const name = `codex-${'m'.repeat(58)}`;
    expect(name.length).toBe(64);

    const outcome = await send(`/v1/credentials/${name}`, { Authorization: `Bearer ${await mint()}` });

    expect([outcome.response.status, outcome.code]).toEqual([403, 'forbidden']);
    const record = expectOneRecord(outcome);
    expect(record).toMatchObject({ outcome: 'denied', reason: 'forbidden', token_verified: true, credential: name });
  });
});
