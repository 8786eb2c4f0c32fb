/** Shapes of the broker's responses, for the OpenAPI document. */
import * as z from 'zod/mini';
import { ERROR_CODES } from '../errors.ts';

export const errorResponseSchema = z.object({
  error: z.object({ code: z.enum(ERROR_CODES as [string, ...string[]]), message: z.string(), request_id: z.string() }),
});

export const credentialResponseSchema = z.object({
  credential: z.string(),
  kind: z.enum(['codex_access_token', 'api_key']),
  value: z.string(),
  version_id: z.string(),
  issued_at: z.iso.datetime(),
  issuance_id: z.string(),
});

export const auditRecordSchema = z.looseObject({
  type: z.literal('audit'),
  shard: z.int(),
  seq: z.int(),
  time: z.iso.datetime(),
  request_id: z.string(),
  action: z.string(),
  outcome: z.enum(['issued', 'denied', 'admin']),
  reason: z.nullable(z.enum(ERROR_CODES as [string, ...string[]])),
  detail: z.nullable(z.string()),
  token_verified: z.boolean(),
  iss: z.nullable(z.string()),
  sub: z.nullable(z.string()),
  jti: z.nullable(z.string()),
  credential: z.nullable(z.string()),
  secret_version_id: z.nullable(z.string()),
  issuance_id: z.nullable(z.string()),
  served_stale: z.boolean(),
  value_fingerprint: z.nullable(z.string()),
  client_ip: z.nullable(z.string()),
  user_agent: z.nullable(z.string()),
  prev_hash: z.string(),
  hash: z.string(),
});

export const auditQueryResponseSchema = z.object({ records: z.array(auditRecordSchema), next_cursor: z.nullable(z.string()) });

export const revocationSchemaOut = z.object({
  id: z.string(),
  kind: z.enum(['sub', 'jti']),
  iss: z.nullable(z.string()),
  value: z.string(),
  until: z.iso.datetime(),
  reason: z.nullable(z.string()),
  created_at: z.iso.datetime(),
  created_by: z.nullable(z.string()),
});

export const killSwitchSchemaOut = z.object({
  credential: z.string(),
  reason: z.nullable(z.string()),
  created_at: z.iso.datetime(),
  created_by: z.nullable(z.string()),
});

export const healthSchema = z.object({ status: z.literal('ok') });
