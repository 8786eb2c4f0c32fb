/** Response builders shared by all routes: one error shape, and never-cache headers on everything. */
import { BrokerError } from '../errors.ts';
import { RATE_LIMIT_PERIOD_SECONDS } from '../limits/rate-limits.ts';

export const NO_STORE_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export function errorResponse(error: BrokerError, requestId: string): Response {
  const headers = new Headers({ ...NO_STORE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId });
  if (error.status === 401) {
    headers.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${error.code}"`);
  }
  if (error.status === 503) headers.set('Retry-After', '1');
  if (error.status === 429) headers.set('Retry-After', String(RATE_LIMIT_PERIOD_SECONDS));
  return new Response(JSON.stringify({ error: { code: error.code, message: error.message, request_id: requestId } }), {
    status: error.status,
    headers,
  });
}

export function jsonResponse(body: unknown, requestId: string, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...NO_STORE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId, ...extra },
  });
}

export function textResponse(body: string, requestId: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status: 200,
    headers: { ...NO_STORE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Request-Id': requestId, ...extra },
  });
}
