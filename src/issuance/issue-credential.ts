/**
 * The one issuance path, shared by every route that hands out credentials. Read it top to bottom and you
 * know every way a request can end: each step either passes or throws a BrokerError, and every ending,
 * issued or denied, leaves exactly one audit record.
 */
import { peekClaims, verifySandboxToken } from '../auth/verify-sandbox-token.ts';
import { readBearerToken } from '../auth/bearer.ts';
import type { KeySets } from '../auth/key-sets.ts';
import { auditText, type AuditRecord } from '../audit/audit-record.ts';
import type { AuditSink } from '../audit/audit-sink.ts';
import { BrokerError, toBrokerError } from '../errors.ts';
import { authorize } from '../policy/authorize.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { CREDENTIAL_NAME_PATTERN, type CredentialKind } from '../policy/schema.ts';
import { extractCredential } from '../secrets/extract-credential.ts';
import type { SecretSource } from '../secrets/secret-source.ts';

export interface IssuanceDeps {
  policy: CompiledPolicy;
  keySets: KeySets;
  secrets: SecretSource;
  audit: AuditSink;
  clock: () => Date;
  newId: () => string;
  /** Upstream calls of one request must finish within this budget (from its start) so the sandbox always gets an answer. */
  deadlineMs: number;
}

export interface IssuanceRequest {
  requestId: string;
  credentialName: string;
  authorization: string | null;
  clientIp: string | null;
  userAgent: string | null;
}

export interface Issuance {
  credential: string;
  kind: CredentialKind;
  value: string;
  versionId: string;
  issuedAt: Date;
  issuanceId: string;
}

export async function issueCredential(request: IssuanceRequest, deps: IssuanceDeps): Promise<Issuance> {
  const record = newAuditRecord(request, deps.clock());
  const deadline = AbortSignal.timeout(deps.deadlineMs);
  try {
    if (!CREDENTIAL_NAME_PATTERN.test(request.credentialName)) {
      throw new BrokerError('invalid_request', 'credential name has invalid syntax');
    }

    const token = readBearerToken(request.authorization);
    labelWithUnverifiedClaims(record, token);

    const { claims } = await verifySandboxToken(token, {
      policy: deps.policy,
      keysFor: (issuer) => deps.keySets.for(issuer),
      now: deps.clock(),
    });
    Object.assign(record, { token_verified: true, iss: auditText(claims.iss), sub: auditText(claims.sub), jti: auditText(claims.jti) });

    const credential = authorize(deps.policy, request.credentialName, claims);

    const version = await deps.secrets.getCurrent(
      { secretId: credential.secretId },
      { signal: deadline },
    );
    record.secret_version_id = auditText(version.versionId);
    const value = extractCredential(version, credential.jsonKey, credential.kind);

    const issuedAt = deps.clock();
    const issuanceId = deps.newId();
    Object.assign(record, { outcome: 'issued', time: issuedAt.toISOString(), issuance_id: issuanceId });
    // No issuance without its record: if the record cannot be written, nothing is handed out.
    await deps.audit.record(record).catch((error: unknown) => {
      throw new BrokerError('audit_unavailable', 'audit sink rejected the issuance record', { cause: error });
    });
    return { credential: credential.name, kind: credential.kind, value, versionId: version.versionId, issuedAt, issuanceId };
  } catch (thrown) {
    const error = toBrokerError(thrown);
    Object.assign(record, { outcome: 'denied', reason: error.code, detail: auditText(error.detail ?? null), issuance_id: null });
    if (error.code !== 'audit_unavailable') {
      await deps.audit.record(record).catch(() => {
        throw new BrokerError('audit_unavailable', 'audit sink rejected the denial record');
      });
    }
    throw error;
  }
}

function newAuditRecord(request: IssuanceRequest, now: Date): AuditRecord {
  return {
    type: 'audit',
    time: now.toISOString(),
    request_id: request.requestId,
    outcome: 'denied',
    reason: null,
    detail: null,
    token_verified: false,
    iss: null,
    sub: null,
    jti: null,
    credential: auditText(request.credentialName, 64),
    secret_version_id: null,
    issuance_id: null,
    client_ip: auditText(request.clientIp, 64),
    user_agent: auditText(request.userAgent),
  };
}

/** For denials, record what the token claimed (flagged unverified): it tells the team who is knocking. */
function labelWithUnverifiedClaims(record: AuditRecord, token: string): void {
  const claimed = peekClaims(token);
  if (!claimed) return;
  Object.assign(record, { iss: auditText(claimed.iss), sub: auditText(claimed.sub), jti: auditText(claimed.jti) });
}
