/** GET /healthz: liveness and configuration state, without touching any upstream. */
import { Hono } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { jsonResponse } from '../http/responses.ts';

export function healthRoutes(): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();
  routes.get('/healthz', (c) => jsonResponse({ status: 'ok' }, c.get('requestId')));
  return routes;
}
