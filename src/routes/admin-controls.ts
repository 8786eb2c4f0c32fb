/**
 * Incident controls for the platform team: revoke a sandbox or a token until a given time, and switch off
 * issuance of one credential, without a redeploy. Each change is replicated to every ledger shard before
 * the call returns, so it is in force for the very next request, and each change is recorded.
 */
import { Hono, type Context } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { BrokerError } from '../errors.ts';
import { jsonResponse } from '../http/responses.ts';
import { readAdminJson } from './admin-body.ts';
import type { Revocation } from '../ledger/ledger-types.ts';
import { CREDENTIAL_NAME_PATTERN } from '../policy/schema.ts';
import { adminAction, type AdminDeps } from './admin-action.ts';
import { describe } from './admin-audit.ts';
import { ALL_SECRETS } from '../secrets/cache-control.ts';
import { cacheFlushSchema, killSwitchSchema, parseRequest, revocationSchema, revocationUntil } from './admin-schemas.ts';

export function adminControlRoutes(deps: AdminDeps): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();

  routes.post('/v1/admin/revocations', (c) =>
    adminAction(c, deps, 'admin.revocation.put', async (admin) => {
      const body = parseRequest(revocationSchema, await readAdminJson(c.req.raw));
      const kind = body.sub !== undefined ? 'sub' : 'jti';
      const value = (body.sub ?? body.jti)!;
      const revocation: Revocation = {
        id: revocationId(kind, body.iss, value),
        kind,
        iss: body.iss ?? null,
        value,
        until: revocationUntil(body.until, deps.clock()),
        reason: body.reason ?? null,
        created_at: deps.clock().toISOString(),
        created_by: admin.claims.sub,
      };
      await deps.controls.putRevocation(revocation);
      return {
        detail: `revoke ${describe({ [kind]: value, iss: body.iss, until: new Date(revocation.until * 1000).toISOString(), reason: body.reason })}`,
        response: jsonResponse({ revocation: present(revocation) }, c.get('requestId'), 201),
      };
    }),
  );

  routes.get('/v1/admin/revocations', (c) =>
    adminAction(c, deps, 'admin.revocation.list', async () => {
      const revocations = await deps.controls.listRevocations();
      return { detail: `${revocations.length} revocations`, response: jsonResponse({ revocations: revocations.map(present) }, c.get('requestId')) };
    }),
  );

  routes.delete('/v1/admin/revocations/:id', (c) =>
    adminAction(c, deps, 'admin.revocation.lift', async () => {
      // hono has already decoded the path parameter once; decoding again would turn a literal `%41` into `A`.
      const id = c.req.param('id');
      if (!(await deps.controls.deleteRevocation(id))) {
        throw new BrokerError('not_found', 'no such revocation', { clientMessage: 'no active revocation has this id (see GET /v1/admin/revocations)' });
      }
      return { detail: `lift ${id.slice(0, 300)}`, response: jsonResponse({ lifted: id }, c.get('requestId')) };
    }),
  );

  routes.get('/v1/admin/kill-switches', (c) =>
    adminAction(c, deps, 'admin.kill_switch.list', async () => {
      const killSwitches = await deps.controls.listKillSwitches();
      return { detail: `${killSwitches.length} kill switches`, response: jsonResponse({ kill_switches: killSwitches }, c.get('requestId')) };
    }),
  );

  routes.put('/v1/admin/kill-switches/:credential', (c) =>
    adminAction(c, deps, 'admin.kill_switch.on', async (admin) => {
      const credential = credentialParam(c);
      // A typo (`codx`) must not look like a working switch while `codex` keeps issuing. Lifting (DELETE)
      // stays possible for any name, so a switch left on a credential later removed from the policy can go.
      if (!deps.policy.credentials.has(credential)) throw notInPolicy('invalid_request', credential);
      const body = parseRequest(killSwitchSchema, await readAdminJson(c.req.raw, {}));
      const killSwitch = { credential, reason: body.reason ?? null, created_at: deps.clock().toISOString(), created_by: admin.claims.sub };
      await deps.controls.putKillSwitch(killSwitch);
      return { detail: `kill switch on for ${credential}`, response: jsonResponse({ kill_switch: killSwitch }, c.get('requestId')) };
    }),
  );

  routes.delete('/v1/admin/kill-switches/:credential', (c) =>
    adminAction(c, deps, 'admin.kill_switch.off', async () => {
      const credential = credentialParam(c);
      if (!(await deps.controls.deleteKillSwitch(credential))) {
        throw new BrokerError('not_found', 'no kill switch for this credential', { clientMessage: `no kill switch is on for credential ${credential}` });
      }
      return { detail: `kill switch off for ${credential}`, response: jsonResponse({ removed: credential }, c.get('requestId')) };
    }),
  );

  routes.post('/v1/admin/cache/flush', (c) =>
    adminAction(c, deps, 'admin.cache.flush', async () => {
      const body = parseRequest(cacheFlushSchema, await readAdminJson(c.req.raw, {}));
      let key = ALL_SECRETS;
      if (body.credential !== undefined) {
        const credential = deps.policy.credentials.get(body.credential);
        if (!credential) throw notInPolicy('not_found', body.credential);
        key = credential.secretId;
      }
      // Every isolate drops the entry at its next generation check (a few seconds); this one at once.
      const generation = await deps.cacheControl.bump(key);
      deps.flushWatcher.flushLocally(key, generation);
      return {
        detail: `flush ${body.credential ?? 'all credentials'} (generation ${generation})`,
        response: jsonResponse({ flushed: body.credential ?? 'all', generation }, c.get('requestId')),
      };
    }),
  );

  return routes;
}

type AdminContext = Context<{ Variables: AppVariables }>;

function credentialParam(c: AdminContext): string {
  const credential = c.req.param('credential') ?? '';
  if (!CREDENTIAL_NAME_PATTERN.test(credential)) throw new BrokerError('invalid_request', 'credential name has invalid syntax');
  return credential;
}

/**
 * An admin named a credential the policy does not define. Admins may learn credential names, so the
 * message says so (echoing the name only if it has a credential name's syntax); sandboxes never reach these routes.
 */
function notInPolicy(code: 'invalid_request' | 'not_found', credential: string): BrokerError {
  const problem = `credential${CREDENTIAL_NAME_PATTERN.test(credential) ? ` ${credential}` : ''} is not defined in the policy`;
  return new BrokerError(code, problem, { clientMessage: problem });
}

function present(revocation: Revocation) {
  return { ...revocation, until: new Date(revocation.until * 1000).toISOString() };
}

/**
 * One id per (kind, issuer, value), so a second revocation can only ever update the same one: `*` stands
 * for "any issuer", and the issuer and value are percent-encoded (including `*` and `:`), so no issuer or
 * value can produce another revocation's id.
 */
export function revocationId(kind: 'sub' | 'jti', iss: string | undefined, value: string): string {
  return `${kind}:${iss === undefined ? '*' : encodeIdPart(iss)}:${encodeIdPart(value)}`;
}

function encodeIdPart(text: string): string {
  let encoded = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    // A lone surrogate (possible in a JSON claim) would make encodeURIComponent throw; `%u` never occurs
    // in its output, so this spelling stays unambiguous.
    encoded += code >= 0xd800 && code <= 0xdfff ? `%u${code.toString(16).toUpperCase()}` : encodeURIComponent(char).replace(/\*/g, '%2A');
  }
  return encoded;
}
