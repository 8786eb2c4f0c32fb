/**
 * Builds the broker's HTTP app from its dependencies. Nothing here reads `env`: src/index.ts turns
 * bindings into dependencies, and tests can build an app from controlled ones.
 */
import { Hono } from 'hono';
import type { AppVariables } from './app-variables.ts';
import { newAuditRecord } from './audit/audit-record.ts';
import { BrokerError, toBrokerError } from './errors.ts';
import { errorResponse } from './http/responses.ts';
import type { IssuanceDeps } from './issuance/issue-credential.ts';
import type { AdminDeps } from './routes/admin-action.ts';
import { adminAuditRoutes } from './routes/admin-audit.ts';
import { adminControlRoutes } from './routes/admin-controls.ts';
import { adminDoctorRoutes } from './routes/admin-doctor.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { tokenExchangeRoutes } from './routes/token-exchange.ts';
import { healthRoutes } from './routes/healthz.ts';
import { openApiRoutes } from './routes/openapi.ts';

export type BrokerDeps = IssuanceDeps & AdminDeps;
type BrokerApp = Hono<{ Variables: AppVariables }>;

/** Paths the broker serves; a request to one of them with another method is a 405, not a 404. */
const KNOWN_PATHS = [
  /^\/healthz$/,
  /^\/openapi\.json$/,
  /^\/v1\/credentials\/[^/]+$/,
  /^\/v1\/token$/,
  /^\/v1\/admin\/audit(\/export|\/prune)?$/,
  /^\/v1\/admin\/revocations(\/[^/]+)?$/,
  /^\/v1\/admin\/kill-switches(\/[^/]+)?$/,
  /^\/v1\/admin\/cache\/flush$/,
  /^\/v1\/admin\/doctor$/,
];

function baseApp(newId: () => string): BrokerApp {
  const app: BrokerApp = new Hono<{ Variables: AppVariables }>();
  app.use(async (c, next) => {
    c.set('requestId', newId());
    await next();
  });
  app.notFound((c) => {
    const code = KNOWN_PATHS.some((path) => path.test(c.req.path)) ? 'method_not_allowed' : 'not_found';
    return errorResponse(new BrokerError(code), c.get('requestId'));
  });
  app.onError((error, c) => {
    const brokerError = toBrokerError(error);
    console.error(JSON.stringify({ type: 'error', request_id: c.get('requestId'), code: brokerError.code, detail: brokerError.detail }));
    return errorResponse(brokerError, c.get('requestId'));
  });
  return app;
}

export function createApp(deps: BrokerDeps): BrokerApp {
  const app = baseApp(deps.newId);
  app.route('/', healthRoutes());
  app.route('/', openApiRoutes());
  app.route('/', credentialRoutes(deps));
  app.route('/', tokenExchangeRoutes(deps));
  app.route('/', adminAuditRoutes(deps));
  app.route('/', adminControlRoutes(deps));
  app.route('/', adminDoctorRoutes(deps));
  return app;
}

/**
 * The app served when configuration is invalid: every request fails closed with `config_invalid`, and
 * credential requests still leave an audit line in the log. The cause was logged once, at startup.
 */
export function createFailClosedApp(options: { newId: () => string; log: (line: string) => void; clock: () => Date }): BrokerApp {
  const app = baseApp(options.newId);
  app.all('*', async (c) => {
    const requestId = c.get('requestId');
    const credential = /^\/v1\/credentials\/([^/]+)$/.exec(c.req.path)?.[1];
    if (credential !== undefined) {
      const record = newAuditRecord({
        time: options.clock(),
        requestId,
        action: 'credential.issue',
        credential,
        clientIp: c.req.header('CF-Connecting-IP') ?? null,
        userAgent: c.req.header('User-Agent') ?? null,
      });
      Object.assign(record, { reason: 'config_invalid', detail: 'broker configuration invalid at startup' });
      // The ledger's own configuration may be what is broken, so this record goes to the log only.
      options.log(JSON.stringify(record));
    }
    return errorResponse(new BrokerError('config_invalid'), requestId);
  });
  return app;
}
