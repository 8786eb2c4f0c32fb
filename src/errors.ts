/**
 * The broker's one error type. Every way a request can fail maps to exactly one code; each code maps to
 * one HTTP status and one generic client message in the table below. Details that could help an attacker
 * (which claim failed, what the upstream said) go to the audit record, never to the client.
 */

export const ERROR_TABLE = {
  // 400: the request itself is malformed (independent of the token)
  invalid_request: { status: 400, message: 'The request is malformed.' },
  not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'Method not allowed on this route.' },
  // 401: every token problem
  missing_token: { status: 401, message: 'A bearer token is required.' },
  malformed_token: { status: 401, message: 'The bearer token is not a well-formed JWT.' },
  token_too_large: { status: 401, message: 'The bearer token exceeds the maximum size.' },
  unsupported_algorithm: { status: 401, message: 'The token is signed with an algorithm this issuer does not allow.' },
  forbidden_header: { status: 401, message: 'The token header carries a parameter that is not accepted.' },
  unknown_issuer: { status: 401, message: 'The token issuer is not trusted.' },
  unknown_key: { status: 401, message: 'The token was signed with a key the issuer does not publish.' },
  invalid_signature: { status: 401, message: 'The token signature is invalid.' },
  invalid_type: { status: 401, message: 'The token type (typ header) is not accepted.' },
  invalid_audience: { status: 401, message: 'The token audience does not match this broker.' },
  token_expired: { status: 401, message: 'The token has expired.' },
  token_not_yet_valid: { status: 401, message: 'The token is not valid yet.' },
  token_lifetime_too_long: { status: 401, message: "The token lifetime exceeds the issuer's maximum." },
  missing_claim: { status: 401, message: 'The token lacks a required claim.' },
  invalid_claim: { status: 401, message: 'A token claim has an invalid value.' },
  token_replayed: { status: 401, message: 'The token has already been used for this credential.' },
  token_revoked: { status: 401, message: 'The token has been revoked.' },
  // 403: valid token, but the policy does not grant this credential (or it does not exist: same answer)
  forbidden: { status: 403, message: 'The token does not grant access to this credential.' },
  // 429
  rate_limited: { status: 429, message: 'Too many requests.' },
  // 500: our own configuration or bug
  config_invalid: { status: 500, message: 'The broker configuration is invalid.' },
  internal_error: { status: 500, message: 'Internal error.' },
  // 502: the upstream answered, but not with a usable credential
  upstream_error: { status: 502, message: 'The secret store refused the request.' },
  secret_format: { status: 502, message: 'The stored secret does not have the expected format.' },
  // 503: an upstream is unreachable or too slow, or issuance is switched off
  upstream_unavailable: { status: 503, message: 'The secret store is unavailable. Retry later.' },
  key_set_unavailable: { status: 503, message: "The issuer's key set is unavailable. Retry later." },
  credential_disabled: { status: 503, message: 'Issuance of this credential is disabled.' },
  audit_unavailable: { status: 503, message: 'The audit ledger is unavailable. Retry later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export const ERROR_CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

export function statusOf(code: ErrorCode): number {
  return ERROR_TABLE[code].status;
}

export function isTokenError(code: ErrorCode): boolean {
  return ERROR_TABLE[code].status === 401;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: ErrorCode;
  /** Internal detail for the audit record and operator log. Never sent to the client; never holds secrets. */
  readonly detail: string | undefined;

  /**
   * `clientMessage` replaces the generic message, for admin routes only: their callers are authenticated
   * admins, who may learn policy names (never secret values). Sandbox-facing errors keep the table's text.
   */
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; clientMessage?: string }) {
    super(options?.clientMessage ?? ERROR_TABLE[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return statusOf(this.code);
  }
}

/** Anything that is not a BrokerError is a bug or an unexpected failure: a 500, never a misleading 4xx. */
export function toBrokerError(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  const detail = error instanceof Error ? `${error.name}` : typeof error;
  return new BrokerError('internal_error', `unexpected ${detail}`, { cause: error });
}
