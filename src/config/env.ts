/**
 * The Worker's bindings, validated once per isolate. Errors name the field, never its value: several of
 * these are secrets.
 */
export interface BrokerEnv {
  AWS_REGION?: string;
  SECRETS_MANAGER_ENDPOINT?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  /** Durable Object namespace of the ledger shards. */
  LEDGER?: DurableObjectNamespace<import('../ledger/ledger-shard.ts').LedgerShard>;
  /** The singleton that holds cache generations, so a flush reaches every isolate. */
  CACHE_CONTROL?: DurableObjectNamespace<import('../secrets/cache-control.ts').CacheControl>;
  /** Number of ledger shards (1-64, default 4). Change only as described in the README. */
  LEDGER_SHARDS?: string;
  /** Rate limiters (Cloudflare rate-limiting bindings); without them there is no rate limiting. */
  SANDBOX_RATE_LIMITER?: RateLimit;
  INVALID_TOKEN_RATE_LIMITER?: RateLimit;
  /** Prune audit records older than this many days on the cron trigger (unset: keep everything). */
  AUDIT_RETENTION_DAYS?: string;
  /** Secret key for value fingerprints in audit records (at least 32 characters). */
  AUDIT_HMAC_KEY?: string;
  /** The deployment this Worker is (staging, production); must match the policy's `environment` when both are set. */
  BROKER_ENVIRONMENT?: string;
  /** Upper bound for the upstream part of one request, in ms (default 4000; at most 4500 so answers stay under 5 s). */
  UPSTREAM_DEADLINE_MS?: string;
}

export interface BrokerConfig {
  aws: {
    region: string;
    endpoint: string | undefined;
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string | undefined };
  };
  upstreamDeadlineMs: number;
  environment: string | undefined;
  ledger: { namespace: DurableObjectNamespace<import('../ledger/ledger-shard.ts').LedgerShard>; shards: number };
  cacheControl: DurableObjectNamespace<import('../secrets/cache-control.ts').CacheControl>;
  auditHmacKey: string;
  auditRetentionDays: number | undefined;
}

export class ConfigInvalidError extends Error {
  override readonly name = 'ConfigInvalidError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`config invalid: ${field} ${problem}`);
  }
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const MAX_UPSTREAM_DEADLINE_MS = 4_500;

export function readConfig(env: BrokerEnv): BrokerConfig {
  const region = required(env, 'AWS_REGION');
  if (!REGION.test(region)) throw new ConfigInvalidError('AWS_REGION', 'is not an AWS region name such as us-east-1');

  const endpoint = optional(env, 'SECRETS_MANAGER_ENDPOINT');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigInvalidError('SECRETS_MANAGER_ENDPOINT', 'is not a URL');
    }
    if (url.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
      throw new ConfigInvalidError('SECRETS_MANAGER_ENDPOINT', 'must use https (http is allowed only for localhost)');
    }
  }

  const deadlineText = optional(env, 'UPSTREAM_DEADLINE_MS') ?? '4000';
  const upstreamDeadlineMs = Number(deadlineText);
  if (!Number.isInteger(upstreamDeadlineMs) || upstreamDeadlineMs < 100 || upstreamDeadlineMs > MAX_UPSTREAM_DEADLINE_MS) {
    throw new ConfigInvalidError('UPSTREAM_DEADLINE_MS', `must be an integer from 100 to ${MAX_UPSTREAM_DEADLINE_MS}`);
  }

  if (!env.LEDGER) throw new ConfigInvalidError('LEDGER', 'Durable Object binding is missing (see wrangler.toml)');
  if (!env.CACHE_CONTROL) throw new ConfigInvalidError('CACHE_CONTROL', 'Durable Object binding is missing (see wrangler.toml)');
  const shards = Number(optional(env, 'LEDGER_SHARDS') ?? '4');
  if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new ConfigInvalidError('LEDGER_SHARDS', 'must be an integer from 1 to 64');
  const auditHmacKey = required(env, 'AUDIT_HMAC_KEY');
  if (auditHmacKey.length < 32) throw new ConfigInvalidError('AUDIT_HMAC_KEY', 'must be at least 32 characters (e.g. `openssl rand -hex 32`)');

  const retentionText = optional(env, 'AUDIT_RETENTION_DAYS');
  const auditRetentionDays = retentionText === undefined ? undefined : Number(retentionText);
  if (auditRetentionDays !== undefined && (!Number.isInteger(auditRetentionDays) || auditRetentionDays < 1)) {
    throw new ConfigInvalidError('AUDIT_RETENTION_DAYS', 'must be a whole number of days, at least 1');
  }

  return {
    environment: optional(env, 'BROKER_ENVIRONMENT'),
    ledger: { namespace: env.LEDGER, shards },
    cacheControl: env.CACHE_CONTROL,
    auditHmacKey,
    auditRetentionDays,
    aws: {
      region,
      endpoint,
      credentials: {
        accessKeyId: required(env, 'AWS_ACCESS_KEY_ID'),
        secretAccessKey: required(env, 'AWS_SECRET_ACCESS_KEY'),
        sessionToken: optional(env, 'AWS_SESSION_TOKEN'),
      },
    },
    upstreamDeadlineMs,
  };
}

type TextField = { [K in keyof BrokerEnv]-?: BrokerEnv[K] extends string | undefined ? K : never }[keyof BrokerEnv];

function optional(env: BrokerEnv, field: TextField): string | undefined {
  const value = env[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ConfigInvalidError(field, 'must be a string');
  return value;
}

function required(env: BrokerEnv, field: TextField): string {
  const value = optional(env, field);
  if (value === undefined) throw new ConfigInvalidError(field, 'is missing (set it as a var or with `wrangler secret put`)');
  return value;
}
