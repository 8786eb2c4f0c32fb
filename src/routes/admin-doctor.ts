/**
 * GET /v1/admin/doctor: is this deployment healthy? Policy loaded, Secrets Manager reachable for each
 * credential (DescribeSecret: version ids only, never a value), every ledger shard writable, and the cache
 * control object reachable. `token-broker doctor` calls it.
 */
import { Hono } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { auditText, newAuditRecord } from '../audit/audit-record.ts';
import { toBrokerError } from '../errors.ts';
import { jsonResponse } from '../http/responses.ts';
import { adminAction, type AdminDeps } from './admin-action.ts';

export function adminDoctorRoutes(deps: AdminDeps & { deadlineMs: number }): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();
  routes.get('/v1/admin/doctor', (c) =>
    adminAction(c, deps, 'admin.doctor', async (admin) => {
      const deadlineAt = deps.clock().getTime() + deps.deadlineMs;
      const credentials = Object.fromEntries(
        await Promise.all(
          [...deps.policy.credentials.values()].map(async (credential) => {
            try {
              const { versionId } = await deps.secrets.describeCurrent({ secretId: credential.secretId }, { deadlineAt });
              return [credential.name, { ok: true, secret: credential.secretId, current_version_id: versionId }] as const;
            } catch (error) {
              return [credential.name, { ok: false, secret: credential.secretId, error: toBrokerError(error).code }] as const;
            }
          }),
        ),
      );
      const probe = newAuditRecord({ time: deps.clock(), requestId: c.get('requestId'), action: 'admin.doctor.probe', clientIp: null, userAgent: null });
      Object.assign(probe, {
        outcome: 'admin',
        detail: 'ledger write probe',
        token_verified: true,
        iss: auditText(admin.claims.iss),
        sub: auditText(admin.claims.sub),
        jti: auditText(admin.claims.jti),
      });
      const ledger = await deps.ledgerReader.probe(probe);
      const cacheControl = await deps.cacheControl.generations().then(
        () => ({ ok: true }),
        (error: unknown) => ({ ok: false, error: (error as Error).name }),
      );
      const ok = Object.values(credentials).every((check) => (check as { ok: boolean }).ok) && ledger.every((shard) => shard.ok) && cacheControl.ok;
      const report = {
        ok,
        policy: {
          issuers: deps.policy.issuers.size,
          credentials: deps.policy.credentials.size,
          admin_issuers: deps.policy.admin?.issuers.size ?? 0,
        },
        credentials,
        ledger: { shards: ledger },
        cache_control: cacheControl,
      };
      return { detail: `doctor ${ok ? 'ok' : 'problems found'}`, response: jsonResponse(report, c.get('requestId'), ok ? 200 : 503) };
    }),
  );
  return routes;
}
