/**
 * GET /openapi.json. The document is generated from the request schemas by `npm run openapi` (a test checks
 * it is current) and bundled as JSON, which keeps zod's JSON Schema generator out of the Worker.
 */
import { Hono } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { jsonResponse } from '../http/responses.ts';
import document from '../openapi/openapi.json';

export function openApiRoutes(): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();
  routes.get('/openapi.json', (c) => jsonResponse(document, c.get('requestId')));
  return routes;
}
