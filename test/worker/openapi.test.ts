/** The OpenAPI document: served, complete (every route the app serves), and in step with validation. */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/index.ts';
import { buildOpenApiDocument } from '../../src/openapi/build-document.ts';
import { adminFetch } from './helpers.ts';

type Document = { openapi: string; paths: Record<string, Record<string, { parameters?: Array<{ name: string; schema: { maximum?: number } }>; requestBody?: { content: Record<string, { schema: { required?: string[] } }> } }>> };

describe('GET /openapi.json', () => {
  it('serves the document the schemas generate now (else: npm run openapi)', async () => {
    const response = await exports.default.fetch('https://broker.test/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as Document;
    expect(document.openapi).toBe('3.1.0');
    expect(document).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('documents exactly the routes the app serves, public and admin', () => {
    const app = buildApp(env as never);
    const served = new Set(
      app.routes
        .filter((route) => route.method !== 'ALL')
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries((buildOpenApiDocument() as unknown as Document).paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)),
    );
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('says what validation enforces: required body fields and parameter bounds', async () => {
    const document = buildOpenApiDocument() as unknown as Document;
    const revocationBody = document.paths['/v1/admin/revocations']!.post!.requestBody!.content['application/json']!.schema;
    expect(revocationBody.required).toEqual(['until']);
    expect((await adminFetch('/v1/admin/revocations', { method: 'POST', body: { sub: 'sb-x' } })).status).toBe(400);

    const limit = document.paths['/v1/admin/audit']!.get!.parameters!.find((parameter) => parameter.name === 'limit')!;
    expect(limit.schema.maximum).toBe(500);
    expect((await adminFetch('/v1/admin/audit?limit=500')).status).toBe(200);
    expect((await adminFetch('/v1/admin/audit?limit=501')).status).toBe(400);

    const exchange = document.paths['/v1/token']!.post!.requestBody!.content['application/x-www-form-urlencoded']!.schema;
    expect(exchange.required).toEqual(['grant_type', 'subject_token', 'subject_token_type']);
  });
});
