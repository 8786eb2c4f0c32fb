/**
 * The OpenAPI 3.1 document, generated from the zod schemas that validate requests (and describe
 * responses). Nothing here is written by hand beside a schema: change a schema, and the document follows.
 */
import * as z from 'zod/mini';
import { CREDENTIAL_NAME_PATTERN } from '../policy/schema.ts';
import {
  auditExportSchema,
  auditPruneSchema,
  auditQuerySchema,
  cacheFlushSchema,
  killSwitchSchema,
  revocationSchema,
} from '../routes/admin-schemas.ts';
import { tokenExchangeResponseSchema, tokenExchangeSchema } from '../routes/token-exchange-schema.ts';
import {
  auditQueryResponseSchema,
  credentialResponseSchema,
  errorResponseSchema,
  healthSchema,
  killSwitchSchemaOut,
  revocationSchemaOut,
} from './response-schemas.ts';

type Json = Record<string, unknown>;

function schema(zodSchema: z.ZodMiniType, io: 'input' | 'output' = 'input'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(zodSchema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

/** Query parameters, one per property of an object schema. */
function queryParameters(objectSchema: z.ZodMiniType): Json[] {
  const { properties = {}, required = [] } = schema(objectSchema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: required.includes(name), schema: property }));
}

const json = (body: Json) => ({ content: { 'application/json': { schema: body } } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: 'Error; `error.code` says why (see the README table)', ...json({ $ref: '#/components/schemas/Error' }) }]));
const admin = { security: [{ adminBearer: [] }, { cloudflareAccess: [] }] };
const adminErrors = errors(400, 401, 403, 429, 500, 503);
const body = (objectSchema: z.ZodMiniType) => ({ required: true, ...json(schema(objectSchema)) });

export function buildOpenApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'token-broker',
      version: '1',
      description: 'Credential broker for AI-agent sandboxes: a sandbox JWT in, a Codex access token or API key out.',
    },
    components: {
      securitySchemes: {
        sandboxBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ sandbox+jwt)' },
        adminBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT from an admin issuer' },
        cloudflareAccess: { type: 'apiKey', in: 'header', name: 'Cf-Access-Jwt-Assertion' },
      },
      schemas: {
        Error: schema(errorResponseSchema, 'output'),
        Credential: schema(credentialResponseSchema, 'output'),
        AuditPage: schema(auditQueryResponseSchema, 'output'),
        Revocation: schema(revocationSchemaOut, 'output'),
        KillSwitch: schema(killSwitchSchemaOut, 'output'),
      },
    },
    paths: {
      '/healthz': {
        get: { summary: 'Liveness; touches no upstream', responses: { '200': { description: 'OK', ...json(schema(healthSchema, 'output')) }, ...errors(500) } },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/v1/credentials/{name}': {
        post: {
          summary: 'Issue a credential to a sandbox',
          security: [{ sandboxBearer: [] }],
          parameters: [
            { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: CREDENTIAL_NAME_PATTERN.source } },
            { name: 'Accept', in: 'header', required: false, schema: { type: 'string', enum: ['application/json', 'text/plain'] } },
          ],
          responses: {
            '200': {
              description: 'Issued. JSON, or with Accept: text/plain the bare value and a newline.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Credential' } }, 'text/plain': { schema: { type: 'string' } } },
            },
            ...errors(400, 401, 403, 429, 500, 502, 503),
          },
        },
      },
      '/v1/token': {
        post: {
          summary: 'RFC 8693 token exchange: the same issuance as /v1/credentials/{name}',
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: schema(tokenExchangeSchema) } } },
          responses: {
            '200': { description: 'Issued', ...json(schema(tokenExchangeResponseSchema, 'output')) },
            ...Object.fromEntries(
              [400, 401, 403, 429, 500, 502, 503].map((status) => [
                String(status),
                { description: 'RFC 6749 error: error, error_description, error_code (the broker code), request_id' },
              ]),
            ),
          },
        },
      },
      '/v1/admin/audit': {
        get: {
          summary: 'Query the audit ledger',
          ...admin,
          parameters: queryParameters(auditQuerySchema),
          responses: { '200': { description: 'A page of records', ...json({ $ref: '#/components/schemas/AuditPage' }) }, ...adminErrors },
        },
      },
      '/v1/admin/audit/export': {
        get: {
          summary: 'Export the ledger as NDJSON with its hash chains',
          ...admin,
          parameters: queryParameters(auditExportSchema),
          responses: { '200': { description: 'NDJSON: anchor lines, records, an export_end line', content: { 'application/x-ndjson': {} } }, ...adminErrors },
        },
      },
      '/v1/admin/audit/prune': {
        post: { summary: 'Prune records older than a time', ...admin, requestBody: body(auditPruneSchema), responses: { '200': { description: 'Pruned counts per shard' }, ...adminErrors } },
      },
      '/v1/admin/revocations': {
        get: { summary: 'Active revocations', ...admin, responses: { '200': { description: 'Revocations', ...json({ type: 'object', properties: { revocations: { type: 'array', items: { $ref: '#/components/schemas/Revocation' } } } }) }, ...adminErrors } },
        post: { summary: 'Revoke a sandbox (sub) or a token (jti) until a time', ...admin, requestBody: body(revocationSchema), responses: { '201': { description: 'Revoked', ...json({ type: 'object', properties: { revocation: { $ref: '#/components/schemas/Revocation' } } }) }, ...adminErrors } },
      },
      '/v1/admin/revocations/{id}': {
        delete: { summary: 'Lift a revocation', ...admin, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Lifted' }, ...errors(404), ...adminErrors } },
      },
      '/v1/admin/kill-switches': {
        get: { summary: 'Credentials whose issuance is switched off', ...admin, responses: { '200': { description: 'Kill switches', ...json({ type: 'object', properties: { kill_switches: { type: 'array', items: { $ref: '#/components/schemas/KillSwitch' } } } }) }, ...adminErrors } },
      },
      '/v1/admin/kill-switches/{credential}': {
        put: {
          summary: 'Switch issuance of a credential off',
          ...admin,
          parameters: [{ name: 'credential', in: 'path', required: true, schema: { type: 'string', pattern: CREDENTIAL_NAME_PATTERN.source } }],
          requestBody: { required: false, ...json(schema(killSwitchSchema)) },
          responses: { '200': { description: 'Switched off', ...json({ type: 'object', properties: { kill_switch: { $ref: '#/components/schemas/KillSwitch' } } }) }, ...adminErrors },
        },
        delete: {
          summary: 'Switch issuance back on',
          ...admin,
          parameters: [{ name: 'credential', in: 'path', required: true, schema: { type: 'string', pattern: CREDENTIAL_NAME_PATTERN.source } }],
          responses: { '200': { description: 'Switched on' }, ...errors(404), ...adminErrors },
        },
      },
      '/v1/admin/cache/flush': {
        post: { summary: "Flush cached secret values in every isolate (one credential's, or all)", ...admin, requestBody: { required: false, ...json(schema(cacheFlushSchema)) }, responses: { '200': { description: 'Flushed' }, ...errors(404), ...adminErrors } },
      },
      '/v1/admin/doctor': {
        get: { summary: 'Health of this deployment: credentials reachable (metadata only), shards writable', ...admin, responses: { '200': { description: 'Healthy' }, ...adminErrors } },
      },
    },
  };
}
