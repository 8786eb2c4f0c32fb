/** GET /openapi.json: built once per isolate from the schemas. */
import { Hono } from 'hono';
import type { AppVariables } from '../app-variables.ts';
import { jsonResponse } from '../http/responses.ts';
import { buildOpenApiDocument } from '../openapi/build-document.ts';

export function openApiRoutes(): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();
  let document: unknown;
  routes.get('/openapi.json', (c) => {
    document ??= buildOpenApiDocument();
    return jsonResponse(document, c.get('requestId'));
  });
  return routes;
}
