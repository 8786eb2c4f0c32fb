/**
 * Admin routes over the audit ledger: query, export, prune. Every admin request, allowed or not, leaves
 * its own record in the ledger.
 */
import { Hono } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { BrokerError } from '../errors.ts';
import { jsonResponse, NO_STORE_HEADERS } from '../http/responses.ts';
import { decodeCursor } from '../ledger/query-cursor.ts';
import { readAdminJson } from './admin-body.ts';
import { adminAction, type AdminDeps } from './admin-action.ts';
import { auditExportSchema, auditPruneSchema, auditQuerySchema, parseRequest, toUtc } from './admin-schemas.ts';

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
      const body = await readAdminJson(c.req.raw);
      const { before } = parseRequest(auditPruneSchema, body);
      const result = await deps.ledgerReader.prune(toUtc(before)!);
      return { detail: `before=${before} pruned=${result.pruned.join(',')}`, response: jsonResponse(result, c.get('requestId')) };
    }),
  );

  return routes;
}

export function describe(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${String(value).slice(0, 80)}`)
    .join(' ');
}
