/**
 * The frame of every admin request: authenticate (admin issuer), authorize (admin rule), run, record.
 */
import type { Context } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { auditText, newAuditRecord } from '../audit/audit-record.ts';
import { authenticateAdmin, authorizeAdmin } from '../auth/authenticate-admin.ts';
import type { KeySets } from '../auth/key-sets.ts';
import type { VerifiedToken } from '../auth/verify-token.ts';
import { BrokerError, toBrokerError } from '../errors.ts';
import { errorResponse } from '../http/responses.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerControls } from '../ledger/ledger-controls.ts';
import type { LedgerReader } from '../ledger/ledger-reader.ts';
import { limitInvalidToken, refuseBlockedClient, type RateLimits } from '../limits/rate-limits.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { CacheControlClient } from '../secrets/cache-control-client.ts';
import type { FlushWatcher } from '../secrets/flush-watcher.ts';
import type { SecretCache } from '../secrets/secret-cache.ts';

export interface AdminDeps {
  policy: CompiledPolicy;
  keySets: KeySets;
  ledger: Ledger;
  ledgerReader: LedgerReader;
  controls: LedgerControls;
  cacheControl: CacheControlClient;
  secrets: SecretCache;
  flushWatcher: FlushWatcher;
  clock: () => Date;
  rateLimits: RateLimits;
}

type AppContext = Context<{ Variables: AppVariables }>;

/**
 * Authenticates, runs the action, and records it. A denial is recorded with its reason. A success is
 * recorded before its response is returned; if that record cannot be written, the action's result is
 * withheld (503), as with credentials.
 */
export async function adminAction(
  c: AppContext,
  deps: AdminDeps,
  action: string,
  run: (admin: VerifiedToken) => Promise<{ detail: string; response: Response }>,
): Promise<Response> {
  const requestId = c.get('requestId');
  const clientIp = c.req.header('CF-Connecting-IP') ?? null;
  const record = newAuditRecord({ time: deps.clock(), requestId, action, clientIp, userAgent: c.req.header('User-Agent') ?? null });
  try {
    // The same address limit as the credential routes: admin routes verify signatures and write records
    // too, so they must not be a way around it.
    refuseBlockedClient(deps.rateLimits, clientIp, deps.clock().getTime());
    const admin = await authenticateAdmin(
      { authorization: c.req.header('Authorization') ?? null, accessAssertion: c.req.header('Cf-Access-Jwt-Assertion') ?? null },
      { policy: deps.policy, keysFor: (issuer) => deps.keySets.for(issuer), now: deps.clock() },
    );
    Object.assign(record, { token_verified: true, iss: auditText(admin.claims.iss), sub: auditText(admin.claims.sub), jti: auditText(admin.claims.jti) });
    authorizeAdmin(deps.policy, admin);
    const { detail, response } = await run(admin);
    Object.assign(record, { outcome: 'admin', detail: auditText(detail, 512) });
    try {
      await deps.ledger.append(record);
    } catch (cause) {
      await response.body?.cancel();
      throw new BrokerError('audit_unavailable', 'ledger rejected the admin record', { cause });
    }
    return response;
  } catch (thrown) {
    const error = await limitInvalidToken(deps.rateLimits, toBrokerError(thrown), {
      tokenVerified: record.token_verified,
      client: clientIp,
      now: deps.clock().getTime(),
    });
    if (error.code !== 'audit_unavailable') {
      Object.assign(record, { outcome: 'denied', reason: error.code, detail: auditText(error.detail ?? null) });
      await deps.ledger.append(record).catch(() => undefined);
    }
    return errorResponse(error, requestId);
  }
}

