/**
 * Reads the bearer token from an Authorization header (RFC 6750 §2.1). Size limits apply before anything
 * is decoded, so an oversized header costs us nothing but this length check.
 */
import { BrokerError } from '../errors.ts';

export const MAX_AUTHORIZATION_HEADER_BYTES = 8 * 1024;
/** Sandbox tokens are a few hundred bytes; anything near this is not one. */
export const MAX_TOKEN_BYTES = 4 * 1024;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function readBearerToken(header: string | null | undefined): string {
  if (header === null || header === undefined || header.trim() === '') {
    throw new BrokerError('missing_token', 'no Authorization header');
  }
  if (header.length > MAX_AUTHORIZATION_HEADER_BYTES) {
    throw new BrokerError('token_too_large', `Authorization header of ${header.length} bytes`);
  }
  const match = BEARER.exec(header);
  if (!match) {
    const scheme = header.split(' ', 1)[0]!.slice(0, 16);
    throw new BrokerError('malformed_token', /^bearer$/i.test(scheme) ? 'Bearer credentials not token68' : 'not the Bearer scheme');
  }
  return checkTokenSize(match[1]!);
}

/** For tokens that arrive outside a header (a form field): the same size rule. */
export function checkTokenSize(token: string): string {
  if (token.length === 0) throw new BrokerError('missing_token', 'empty token');
  if (token.length > MAX_TOKEN_BYTES) throw new BrokerError('token_too_large', `token of ${token.length} bytes`);
  return token;
}
