/**
 * POST /v1/token: RFC 8693 token exchange. The sandbox JWT is the `subject_token`, the credential is named
 * by `audience` (its name) or `resource` (its URN or route URL). After the form is understood, this is the
 * same issuance path as POST /v1/credentials/{name}: same policy, same redemption count, same ledger.
 *
 * Errors use RFC 6749's shape (`error`, `error_description`) plus the broker's stable `error_code`, with
 * the same HTTP statuses as the credentials route, so one retry rule (retry 5xx, never 4xx) covers both.
 */
import { Hono, type Context } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { BrokerError, toBrokerError, type ErrorCode } from '../errors.ts';
import { BodyTooLargeError, readTextCapped } from '../http/read-body.ts';
import { NO_STORE_HEADERS } from '../http/responses.ts';
import { issueCredential, type IssuanceDeps } from '../issuance/issue-credential.ts';
import { waitUntilOf } from './wait-until.ts';
import {
  ACCESS_TOKEN_TYPE,
  API_KEY_TOKEN_TYPE,
  CREDENTIAL_URN_PREFIX,
  JWT_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  tokenExchangeSchema,
} from './token-exchange-schema.ts';
import * as z from 'zod/mini';

const MAX_FORM_BYTES = 16 * 1024;

/** Form-level problems RFC 8693/6749 name themselves; always 400. */
class OAuthFormError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'unsupported_grant_type' | 'invalid_target',
    readonly description: string,
  ) {
    super(description);
  }
}

export function tokenExchangeRoutes(deps: IssuanceDeps): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();

  routes.post('/v1/token', async (c) => {
    const requestId = c.get('requestId');
    let form: Awaited<ReturnType<typeof readForm>>;
    try {
      form = await readForm(c);
    } catch (error) {
      if (error instanceof OAuthFormError) return oauthError(400, error.error, error.description, 'invalid_request', requestId);
      throw error;
    }
    try {
      const issuance = await issueCredential(
        {
          requestId,
          action: 'token.exchange',
          credentialName: form.credential,
          authorization: null,
          token: form.subjectToken,
          clientIp: c.req.header('CF-Connecting-IP') ?? null,
          userAgent: c.req.header('User-Agent') ?? null,
          waitUntil: waitUntilOf(c),
        },
        deps,
      );
      return new Response(
        JSON.stringify({
          access_token: issuance.value,
          issued_token_type: issuance.kind === 'codex_access_token' ? ACCESS_TOKEN_TYPE : API_KEY_TOKEN_TYPE,
          token_type: 'N_A',
        }),
        {
          headers: {
            ...NO_STORE_HEADERS,
            'Content-Type': 'application/json; charset=utf-8',
            'X-Request-Id': requestId,
            'X-Credential-Kind': issuance.kind,
            'X-Credential-Version-Id': issuance.versionId,
            'X-Issuance-Id': issuance.issuanceId,
          },
        },
      );
    } catch (thrown) {
      const error = toBrokerError(thrown);
      return oauthError(error.status, oauthCodeFor(error.code), error.message, error.code, requestId);
    }
  });

  return routes;
}

async function readForm(c: Context<{ Variables: AppVariables }>) {
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new OAuthFormError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  const text = await readTextCapped(c.req.raw, MAX_FORM_BYTES).catch((error: unknown) => {
    if (error instanceof BodyTooLargeError) throw new OAuthFormError('invalid_request', 'the body is too large');
    throw error;
  });
  const params = new URLSearchParams(text);
  const fields: Record<string, string> = {};
  for (const [name, value] of params) {
    // RFC 6749 §3.2: a parameter must not appear twice.
    if (Object.hasOwn(fields, name)) throw new OAuthFormError('invalid_request', `parameter ${name.slice(0, 64)} is repeated`);
    fields[name] = value;
  }
  if (fields.grant_type === undefined) throw new OAuthFormError('invalid_request', 'grant_type is required');
  if (fields.grant_type !== TOKEN_EXCHANGE_GRANT) throw new OAuthFormError('unsupported_grant_type', 'only token exchange is supported');
  const parsed = z.safeParse(tokenExchangeSchema, fields);
  if (!parsed.success) {
    throw new OAuthFormError('invalid_request', `parameter ${String(parsed.error.issues[0]!.path[0] ?? '')}: ${parsed.error.issues[0]!.message}`);
  }
  const form = parsed.data;
  if (form.subject_token_type !== JWT_TOKEN_TYPE) throw new OAuthFormError('invalid_request', `subject_token_type must be ${JWT_TOKEN_TYPE}`);
  if (fields.actor_token !== undefined) throw new OAuthFormError('invalid_request', 'delegation (actor_token) is not supported');
  if (form.requested_token_type !== undefined && ![ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE].includes(form.requested_token_type)) {
    throw new OAuthFormError('invalid_target', 'requested_token_type is not one this broker issues');
  }
  const fromResource = form.resource === undefined ? undefined : credentialFromResource(form.resource, c.req.url);
  if (form.resource !== undefined && fromResource === undefined) throw new OAuthFormError('invalid_target', 'resource does not name a credential');
  if (fromResource !== undefined && form.audience !== undefined && fromResource !== form.audience) {
    throw new OAuthFormError('invalid_target', 'resource and audience name different credentials');
  }
  const credential = fromResource ?? form.audience;
  if (credential === undefined) throw new OAuthFormError('invalid_request', 'name the credential with audience or resource');
  return { credential, subjectToken: form.subject_token };
}

/** `urn:token-broker:credential:codex`, or this broker's `…/v1/credentials/codex` URL. */
function credentialFromResource(resource: string, requestUrl: string): string | undefined {
  if (resource.startsWith(CREDENTIAL_URN_PREFIX)) return resource.slice(CREDENTIAL_URN_PREFIX.length);
  try {
    const url = new URL(resource);
    const match = /^\/v1\/credentials\/([^/]+)$/.exec(url.pathname);
    return match && url.origin === new URL(requestUrl).origin ? decodeURIComponent(match[1]!) : undefined;
  } catch {
    return undefined;
  }
}

function oauthCodeFor(code: ErrorCode): string {
  if (code === 'invalid_request') return 'invalid_request';
  if (code === 'forbidden') return 'invalid_target';
  if (code === 'rate_limited') return 'slow_down';
  const status = new BrokerError(code).status;
  if (status === 401) return 'invalid_grant';
  if (status === 503) return 'temporarily_unavailable';
  return 'server_error';
}

function oauthError(status: number, error: string, description: string, code: ErrorCode, requestId: string): Response {
  const headers: Record<string, string> = { ...NO_STORE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId };
  if (status === 503) headers['Retry-After'] = '1';
  if (status === 429) headers['Retry-After'] = '60';
  return new Response(JSON.stringify({ error, error_description: description, error_code: code, request_id: requestId }), { status, headers });
}
