/** RFC 8693 token exchange: the same issuance path as /v1/credentials, in OAuth's request and error format. */
import { exports } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { adminFetch, errorCode, keys, mint, requestCredential, signRaw, validClaims } from './helpers.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const [codexCanary, apiKeyCanary] = inject('canaries');

function exchange(fields: Record<string, string> | string, contentType = 'application/x-www-form-urlencoded') {
  const body = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
  return exports.default.fetch('https://broker.test/v1/token', { method: 'POST', headers: { 'Content-Type': contentType }, body });
}

async function oauth(response: Response) {
  return { status: response.status, ...((await response.json()) as { error: string; error_code: string; error_description: string }) };
}

describe('POST /v1/token (RFC 8693)', () => {
  it('exchanges a sandbox JWT for a Codex access token named by audience', async () => {
    const response = await exchange({ grant_type: GRANT, subject_token: await mint({ subject: 'sb-exchange-1' }), subject_token_type: JWT, audience: 'codex' });
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(response.headers.get('Pragma')).toBe('no-cache');
    expect(await response.json()).toEqual({
      access_token: codexCanary,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'N_A',
    });
    const records = ((await (await adminFetch('/v1/admin/audit?sub=sb-exchange-1')).json()) as { records: Array<Record<string, unknown>> }).records;
    expect(records).toEqual([expect.objectContaining({ action: 'token.exchange', outcome: 'issued', credential: 'codex' })]);
  });

  it('names the credential by resource: a URN or the credential route URL', async () => {
    const research = { claims: { team: 'research' } };
    const byUrn = await exchange({ grant_type: GRANT, subject_token: await mint(research), subject_token_type: JWT, resource: 'urn:token-broker:credential:openai-api-key' });
    expect(await byUrn.json()).toEqual({ access_token: apiKeyCanary, issued_token_type: 'urn:token-broker:token-type:api_key', token_type: 'N_A' });
    const byUrl = await exchange({
      grant_type: GRANT,
      subject_token: await mint(research),
      subject_token_type: JWT,
      resource: 'https://broker.test/v1/credentials/openai-api-key',
      audience: 'openai-api-key',
    });
    expect(byUrl.status).toBe(200);
  });

  it('shares redemption counting with /v1/credentials', async () => {
    const token = await mint();
    expect((await exchange({ grant_type: GRANT, subject_token: token, subject_token_type: JWT, audience: 'codex' })).status).toBe(200);
    expect(await errorCode(await requestCredential('codex', { token }))).toBe('token_replayed');
    const again = await oauth(await exchange({ grant_type: GRANT, subject_token: token, subject_token_type: JWT, audience: 'codex' }));
    expect(again).toMatchObject({ status: 401, error: 'invalid_grant', error_code: 'token_replayed' });
  });

  it('refuses a body over 16 KiB without buffering it: by Content-Length, and while streaming when no length is sent', async () => {
    const token = await mint({ subject: 'sb-exchange-big' });
    const fields = new URLSearchParams({ grant_type: GRANT, subject_token: token, subject_token_type: JWT, audience: 'codex', pad: 'x'.repeat(16 * 1024) }).toString();
    const declared = await exchange(fields);
    expect(await oauth(declared)).toMatchObject({ status: 400, error: 'invalid_request', error_description: 'the body is too large' });

    // A stream of 50 MiB with no Content-Length: refused after the first chunks past the limit.
    let sent = 0;
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 50 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const streamed = await exports.default.fetch('https://broker.test/v1/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(await oauth(streamed)).toMatchObject({ status: 400, error: 'invalid_request', error_description: 'the body is too large' });
    expect(sent).toBeLessThan(1024 * 1024);
    // Nothing was issued: the token is still good.
    expect((await exchange({ grant_type: GRANT, subject_token: token, subject_token_type: JWT, audience: 'codex' })).status).toBe(200);
  });

  it('answers in RFC 6749 error format with stable broker codes and the credential route statuses', async () => {
    const token = await mint();
    const cases: Array<[Record<string, string> | string, string | undefined, Record<string, unknown>]> = [
      [{ grant_type: 'client_credentials', subject_token: token, subject_token_type: JWT, audience: 'codex' }, undefined, { status: 400, error: 'unsupported_grant_type' }],
      [{ subject_token: token, subject_token_type: JWT, audience: 'codex' }, undefined, { status: 400, error: 'invalid_request' }],
      [{ grant_type: GRANT, subject_token_type: JWT, audience: 'codex' }, undefined, { status: 400, error: 'invalid_request' }],
      [{ grant_type: GRANT, subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', audience: 'codex' }, undefined, { status: 400, error: 'invalid_request' }],
      [`grant_type=${encodeURIComponent(GRANT)}&subject_token=${token}&subject_token=${token}&subject_token_type=${encodeURIComponent(JWT)}&audience=codex`, undefined, { status: 400, error: 'invalid_request' }],
      [{ grant_type: GRANT, subject_token: token, subject_token_type: JWT }, undefined, { status: 400, error: 'invalid_request' }],
      [{ grant_type: GRANT, subject_token: token, subject_token_type: JWT, resource: 'https://elsewhere.test/x' }, undefined, { status: 400, error: 'invalid_target' }],
      [{ grant_type: GRANT, subject_token: token, subject_token_type: JWT, resource: 'urn:token-broker:credential:codex', audience: 'openai-api-key' }, undefined, { status: 400, error: 'invalid_target' }],
      [{ grant_type: GRANT, subject_token: token, subject_token_type: JWT, audience: 'codex', actor_token: token }, undefined, { status: 400, error: 'invalid_request' }],
      [JSON.stringify({ grant_type: GRANT }), 'application/json', { status: 400, error: 'invalid_request' }],
      [{ grant_type: GRANT, subject_token: await signRaw(validClaims(), { key: keys().stranger }), subject_token_type: JWT, audience: 'codex' }, undefined, { status: 401, error: 'invalid_grant', error_code: 'unknown_key' }],
      [{ grant_type: GRANT, subject_token: await mint(), subject_token_type: JWT, audience: 'openai-api-key' }, undefined, { status: 403, error: 'invalid_target', error_code: 'forbidden' }],
      [{ grant_type: GRANT, subject_token: await mint(), subject_token_type: JWT, audience: 'no-such-credential' }, undefined, { status: 403, error: 'invalid_target', error_code: 'forbidden' }],
    ];
    for (const [fields, contentType, expected] of cases) {
      const response = await exchange(fields, contentType);
      const body = await oauth(response);
      expect({ fields, ...body }).toMatchObject({ fields, ...expected });
      expect(body.error_description.length).toBeGreaterThan(5);
      expect(JSON.stringify(body)).not.toContain(codexCanary);
    }
  });
});
