/**
 * Admin routes over the audit ledger: query, export, prune. Every admin request, allowed or not, leaves
 * its own record in the ledger.
 */
import { Hono, type Context } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { auditText, type AuditRecord } from '../audit/audit-record.ts';
import { authenticateAdmin, authorizeAdmin } from '../auth/authenticate-admin.ts';
import type { KeySets } from '../auth/key-sets.ts';
import type { VerifiedToken } from '../auth/verify-token.ts';
import { BrokerError, toBrokerError } from '../errors.ts';
import { errorResponse, jsonResponse, NO_STORE_HEADERS } from '../http/responses.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerReader } from '../ledger/ledger-reader.ts';
import { decodeCursor } from '../ledger/query-cursor.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { auditExportSchema, auditPruneSchema, auditQuerySchema, parseRequest, toUtc } from './admin-schemas.ts';

export interface AdminDeps {
  policy: CompiledPolicy;
  keySets: KeySets;
  ledger: Ledger;
  ledgerReader: LedgerReader;
  clock: () => Date;
}

type AppContext = Context<{ Variables: AppVariables }>;

export function adminAuditRoutes(deps: AdminDeps): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();

  routes.get('/v1/admin/audit', (c) =>
    adminAction(c, deps, 'admin.audit.query', async () => {
      const params = parseRequest(auditQuerySchema, c.req.query());
      const { cursor, since, until, ...filters } = params;
      const result = await deps.ledgerReader.query({
        ...filters,
        ...(since ? { since: toUtc(since) } : {}),
        ...(until ? { until: toUtc(until) } : {}),
        ...(cursor ? { after: decodeCursor(cursor) } : {}),
      });
      return {
        detail: describe(params),
        response: jsonResponse({ records: result.records, next_cursor: result.nextCursor }, c.get('requestId')),
      };
    }),
  );

  routes.get('/v1/admin/audit/export', (c) =>
    adminAction(c, deps, 'admin.audit.export', async () => {
      const params = parseRequest(auditExportSchema, c.req.query());
      const range = { ...(params.since ? { since: toUtc(params.since) } : {}), ...(params.until ? { until: toUtc(params.until) } : {}) };
      return {
        detail: describe(params),
        response: new Response(deps.ledgerReader.exportNdjson(range), {
          headers: { ...NO_STORE_HEADERS, 'Content-Type': 'application/x-ndjson; charset=utf-8', 'X-Request-Id': c.get('requestId') },
        }),
      };
    }),
  );

  routes.post('/v1/admin/audit/prune', (c) =>
    adminAction(c, deps, 'admin.audit.prune', async () => {
      const body = await c.req.json().catch(() => {
        throw new BrokerError('invalid_request', 'body is not JSON');
      });
      const { before } = parseRequest(auditPruneSchema, body);
      const result = await deps.ledgerReader.prune(toUtc(before)!);
      return { detail: `before=${before} pruned=${result.pruned.join(',')}`, response: jsonResponse(result, c.get('requestId')) };
    }),
  );

  return routes;
}

/**
 * Authenticates, runs the action, and records it. A denial is recorded with its reason. A success is
 * recorded before its response is returned; if that record cannot be written, the action's result is
 * withheld (503), as with credentials.
 */
async function adminAction(
  c: AppContext,
  deps: AdminDeps,
  action: string,
  run: (admin: VerifiedToken) => Promise<{ detail: string; response: Response }>,
): Promise<Response> {
  const requestId = c.get('requestId');
  const record: AuditRecord = {
    type: 'audit',
    time: deps.clock().toISOString(),
    request_id: requestId,
    action,
    outcome: 'denied',
    reason: null,
    detail: null,
    token_verified: false,
    iss: null,
    sub: null,
    jti: null,
    credential: null,
    secret_version_id: null,
    issuance_id: null,
    value_fingerprint: null,
    client_ip: auditText(c.req.header('CF-Connecting-IP') ?? null, 64),
    user_agent: auditText(c.req.header('User-Agent') ?? null),
  };
  try {
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
    const error = toBrokerError(thrown);
    if (error.code !== 'audit_unavailable') {
      Object.assign(record, { outcome: 'denied', reason: error.code, detail: auditText(error.detail ?? null) });
      await deps.ledger.append(record).catch(() => undefined);
    }
    return errorResponse(error, requestId);
  }
}

function describe(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${String(value).slice(0, 80)}`)
    .join(' ');
}
