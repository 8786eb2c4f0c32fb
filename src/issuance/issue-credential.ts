/**
 * The one issuance path, shared by every route that hands out credentials. Read it top to bottom and you
 * know every way a request can end: each step either passes or throws a BrokerError, and every ending,
 * issued or denied, leaves exactly one audit record.
 */
import { peekClaims, verifyToken } from '../auth/verify-token.ts';
import { checkTokenSize, readBearerToken } from '../auth/bearer.ts';
import type { KeySets } from '../auth/key-sets.ts';
import { auditText, newAuditRecord, type AuditRecord } from '../audit/audit-record.ts';
import type { Fingerprinter } from '../audit/fingerprint.ts';
import { BrokerError, toBrokerError } from '../errors.ts';
import { checkSandboxLimit, limitInvalidToken, refuseBlockedClient, type RateLimits } from '../limits/rate-limits.ts';
import { authorize } from '../policy/authorize.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { CREDENTIAL_NAME_PATTERN, type CredentialKind } from '../policy/schema.ts';
import { extractCredential } from '../secrets/extract-credential.ts';
import type { SecretCache } from '../secrets/secret-cache.ts';
import type { FlushWatcher } from '../secrets/flush-watcher.ts';
import type { Ledger } from '../ledger/ledger.ts';

export interface IssuanceDeps {
  policy: CompiledPolicy;
  keySets: KeySets;
  secrets: SecretCache;
  flushWatcher: FlushWatcher;
  ledger: Ledger;
  fingerprint: Fingerprinter;
  clock: () => Date;
  newId: () => string;
  rateLimits: RateLimits;
  /** Upstream calls of one request must finish within this budget (from its start) so the sandbox always gets an answer. */
  deadlineMs: number;
}

export interface IssuanceRequest {
  requestId: string;
  /** `credential.issue` (POST /v1/credentials/{name}) or `token.exchange` (POST /v1/token). */
  action: 'credential.issue' | 'token.exchange';
  credentialName: string;
  /** The Authorization header, for the credentials route. */
  authorization: string | null;
  /** The token itself, for routes that carry it in the body (RFC 8693 `subject_token`). */
  token?: string;
  clientIp: string | null;
  userAgent: string | null;
  /** Keeps work (a background cache refresh) alive after the response: the Worker's ctx.waitUntil. */
  waitUntil?: (work: Promise<unknown>) => void;
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
  const record = newAuditRecord({
    time: deps.clock(),
    requestId: request.requestId,
    action: request.action,
    credential: request.credentialName,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
  });
  const deadlineAt = deps.clock().getTime() + deps.deadlineMs;
  let recorded = false;
  try {
    refuseBlockedClient(deps.rateLimits, request.clientIp, deps.clock().getTime());
    if (!CREDENTIAL_NAME_PATTERN.test(request.credentialName)) {
      throw new BrokerError('invalid_request', 'credential name has invalid syntax');
    }

    const token = request.token !== undefined ? checkTokenSize(request.token) : readBearerToken(request.authorization);
    labelWithUnverifiedClaims(record, token);

    const { claims } = await verifyToken(token, {
      issuers: deps.policy.issuers,
      keysFor: (issuer) => deps.keySets.for(issuer),
      now: deps.clock(),
    });
    Object.assign(record, { token_verified: true, iss: auditText(claims.iss), sub: auditText(claims.sub), jti: auditText(claims.jti) });
    await checkSandboxLimit(deps.rateLimits, claims.iss, claims.sub);

    const credential = authorize(deps.policy, request.credentialName, claims);

    await deps.flushWatcher.check();
    const { version, servedStale } = await deps.secrets.get({ secretId: credential.secretId }, credential.cache, {
      deadlineAt,
      ...(request.waitUntil ? { background: request.waitUntil } : {}),
    });
    Object.assign(record, { secret_version_id: auditText(version.versionId), served_stale: servedStale });
    const value = extractCredential(version, credential.jsonKey, credential.kind);

    const issuanceId = deps.newId();
    Object.assign(record, { outcome: 'issued', issuance_id: issuanceId, value_fingerprint: await deps.fingerprint(value) });
    // Count the use and append the record in one atomic ledger step. No record, no issuance.
    const redeemed = await deps.ledger
      .redeem(record, {
        iss: claims.iss,
        sub: claims.sub,
        jti: claims.jti,
        credential: credential.name,
        maxUses: credential.maxUses,
        expiresAt: claims.exp + verifiedIssuerLeeway(deps.policy, claims.iss),
      })
      .catch((error: unknown) => {
        throw new BrokerError('audit_unavailable', 'ledger rejected the issuance', { cause: error });
      });
    if (redeemed.outcome === 'denied') {
      recorded = true;
      throw new BrokerError(redeemed.reason, redeemed.record.detail ?? undefined);
    }
    return {
      credential: credential.name,
      kind: credential.kind,
      value,
      versionId: version.versionId,
      issuedAt: new Date(redeemed.record.time),
      issuanceId,
    };
  } catch (thrown) {
    const error = await limitInvalidToken(deps.rateLimits, toBrokerError(thrown), {
      tokenVerified: record.token_verified,
      client: request.clientIp,
      now: deps.clock().getTime(),
    });
    // A ledger that cannot take the issuance will not take the denial either; the log line was written.
    if (!recorded && error.code !== 'audit_unavailable') {
      Object.assign(record, { outcome: 'denied', reason: error.code, detail: auditText(error.detail ?? null), issuance_id: null, value_fingerprint: null });
      await deps.ledger.append(record).catch((cause: unknown) => {
        throw new BrokerError('audit_unavailable', 'ledger rejected the denial record', { cause });
      });
    }
    throw error;
  }
}

function verifiedIssuerLeeway(policy: CompiledPolicy, iss: string): number {
  return policy.issuers.get(iss)?.clockLeewaySeconds ?? 0;
}

/** For denials, record what the token claimed (flagged unverified): it tells the team who is knocking. */
function labelWithUnverifiedClaims(record: AuditRecord, token: string): void {
  const claimed = peekClaims(token);
  if (!claimed) return;
  Object.assign(record, { iss: auditText(claimed.iss), sub: auditText(claimed.sub), jti: auditText(claimed.jti) });
}
