/**
 * One audit record per attempt. Holds who asked for what and what happened; never the token and never
 * the credential value. Caller-controlled strings are stored as data (JSON escapes control characters)
 * and truncated so that one request cannot bloat or forge the trail.
 */
import type { ErrorCode } from '../errors.ts';

/** `issued`/`denied` for credential requests; `admin` for an admin action that was carried out. */
export type AuditOutcome = 'issued' | 'denied' | 'admin';

export interface AuditRecord {
  type: 'audit';
  time: string;
  request_id: string;
  /** What was attempted: `credential.issue`, or an admin action such as `admin.audit.query`. */
  action: string;
  outcome: AuditOutcome;
  /** The error code for a denial; null when issued. */
  reason: ErrorCode | null;
  /** Operator detail for a denial (which claim, which upstream error). Never secret material. */
  detail: string | null;
  /** True when iss/sub/jti come from a verified token; false when they are what an unverified token claimed. */
  token_verified: boolean;
  iss: string | null;
  sub: string | null;
  jti: string | null;
  credential: string | null;
  secret_version_id: string | null;
  issuance_id: string | null;
  /** True when the value came from the cache past its TTL because Secrets Manager was failing. */
  served_stale: boolean;
  /** HMAC-SHA256 of the issued value under the audit key: tells auditors which value went out, without holding it. */
  value_fingerprint: string | null;
  client_ip: string | null;
  user_agent: string | null;
}

export const MAX_AUDIT_FIELD_LENGTH = 256;

/** Keeps a caller-supplied value as bounded data: strings truncated, anything else dropped. */
export function auditText(value: unknown, max = MAX_AUDIT_FIELD_LENGTH): string | null {
  if (typeof value !== 'string') return null;
  return value.length > max ? `${value.slice(0, max)}…[${value.length} chars]` : value;
}

/**
 * A record for an attempt that has not got anywhere yet: a denial with no reason and no identity. Each
 * step of the request fills in what it learns.
 */
export function newAuditRecord(start: {
  time: Date;
  requestId: string;
  action: string;
  credential?: string | null;
  clientIp: string | null;
  userAgent: string | null;
}): AuditRecord {
  return {
    type: 'audit',
    time: start.time.toISOString(),
    request_id: start.requestId,
    action: start.action,
    outcome: 'denied',
    reason: null,
    detail: null,
    token_verified: false,
    iss: null,
    sub: null,
    jti: null,
    credential: auditText(start.credential ?? null, 64),
    secret_version_id: null,
    issuance_id: null,
    served_stale: false,
    value_fingerprint: null,
    client_ip: auditText(start.clientIp, 64),
    user_agent: auditText(start.userAgent),
  };
}
