/** Request schemas of the admin routes: they validate requests (and, later, describe them in OpenAPI). */
import * as z from 'zod/mini';
import { BrokerError } from '../errors.ts';

const text = z.string().check(z.minLength(1), z.maxLength(256));
const instant = z.iso.datetime({ offset: true });

export const auditQuerySchema = z.strictObject({
  sub: z.optional(text),
  credential: z.optional(text),
  secret_version_id: z.optional(text),
  outcome: z.optional(z.enum(['issued', 'denied', 'admin'])),
  since: z.optional(instant),
  until: z.optional(instant),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(500)), 100),
  cursor: z.optional(z.string().check(z.maxLength(512))),
});

export const auditExportSchema = z.strictObject({
  since: z.optional(instant),
  until: z.optional(instant),
});

export const auditPruneSchema = z.strictObject({
  before: instant,
});

const MAX_REVOCATION_SECONDS = 366 * 86_400;

export const revocationSchema = z
  .strictObject({
    sub: z.optional(text),
    jti: z.optional(text),
    /** Limit the revocation to one issuer's tokens; default: any issuer. */
    iss: z.optional(text),
    until: instant,
    reason: z.optional(z.string().check(z.maxLength(256))),
  })
  .check(
    z.refine((body) => (body.sub === undefined) !== (body.jti === undefined), { message: 'give exactly one of "sub" or "jti"', path: ['sub'] }),
  );

export const cacheFlushSchema = z.strictObject({
  /** Flush one credential's secret; omit to flush everything. */
  credential: z.optional(text),
});

export const killSwitchSchema = z.strictObject({
  reason: z.optional(z.string().check(z.maxLength(256))),
});

/** A revocation's `until`: in the future, at most a year ahead. */
export function revocationUntil(untilText: string, now: Date): number {
  const until = Math.floor(new Date(untilText).getTime() / 1000);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (until <= nowSeconds) throw new BrokerError('invalid_request', 'parameter until: must be in the future');
  if (until - nowSeconds > MAX_REVOCATION_SECONDS) throw new BrokerError('invalid_request', 'parameter until: at most 366 days ahead');
  return until;
}

/** Parses query parameters or a JSON body; a bad request names the parameter (not a secret) in the audit detail. */
export function parseRequest<T>(schema: z.ZodMiniType<T>, input: unknown): T {
  const parsed = z.safeParse(schema, input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.');
    throw new BrokerError('invalid_request', `parameter ${String(field).slice(0, 64)}: ${issue.message}`);
  }
  return parsed.data;
}

/** ISO timestamps compare correctly as strings only in one form: normalise to UTC `…Z`. */
export function toUtc(instantText: string | undefined): string | undefined {
  return instantText === undefined ? undefined : new Date(instantText).toISOString();
}
