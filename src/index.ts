/**
 * Worker entry point: turns bindings into dependencies once per isolate, validating configuration up
 * front. Invalid configuration is logged once, naming the bad field, and every request then fails closed.
 */
import policyDocument from 'token-broker-policy';
import { createApp, createFailClosedApp } from './app.ts';
import { KeySets, DEFAULT_KEY_SET_OPTIONS } from './auth/key-sets.ts';
import { createFingerprinter } from './audit/fingerprint.ts';
import { DurableObjectLedger } from './ledger/durable-object-ledger.ts';
import { BlockedClients } from './limits/rate-limits.ts';
import { LedgerControls } from './ledger/ledger-controls.ts';
import { LedgerReader } from './ledger/ledger-reader.ts';
import { ConfigInvalidError, readConfig, type BrokerEnv } from './config/env.ts';
import { compilePolicy, PolicyInvalidError } from './policy/compile.ts';
import { AwsSecretsManagerSource } from './secrets/aws-secrets-manager-source.ts';
import { cacheControlClient } from './secrets/cache-control-client.ts';
import { FlushWatcher } from './secrets/flush-watcher.ts';
import { SecretCache } from './secrets/secret-cache.ts';

type App = ReturnType<typeof createApp>;

const systemClock = () => new Date();
const newId = () => crypto.randomUUID();

let app: App | undefined;
/** Per isolate, like the app itself. */
const blockedClients = new BlockedClients();

export interface BuildOverrides {
  /** Tests move time forward (cache ages, cooldowns) without sleeping. */
  clock?: () => Date;
}

export function buildApp(env: BrokerEnv, document: unknown = policyDocument, overrides: BuildOverrides = {}): App {
  const clock = overrides.clock ?? systemClock;
  // `log` is looked up per call so that tests can observe it.
  const log = (line: string) => console.log(line);
  try {
    const config = readConfig(env);
    const policy = compilePolicy(document);
    if (config.environment !== undefined && policy.environment !== undefined && config.environment !== policy.environment) {
      throw new ConfigInvalidError('BROKER_ENVIRONMENT', `is "${config.environment}" but the bundled policy is for "${policy.environment}"`);
    }
    const secrets = new SecretCache(new AwsSecretsManagerSource(config.aws), { clock: () => clock().getTime() });
    const cacheControl = cacheControlClient(config.cacheControl);
    return createApp({
      policy,
      keySets: new KeySets({ ...DEFAULT_KEY_SET_OPTIONS, fetch: (input, init) => fetch(input, init), clock }, log),
      secrets,
      flushWatcher: new FlushWatcher(cacheControl, secrets, () => clock().getTime()),
      cacheControl,
      ledger: new DurableObjectLedger(config.ledger.namespace, config.ledger.shards, log),
      ledgerReader: new LedgerReader(config.ledger.namespace, config.ledger.shards),
      controls: new LedgerControls(config.ledger.namespace, config.ledger.shards),
      fingerprint: createFingerprinter(config.auditHmacKey),
      clock,
      newId,
      deadlineMs: config.upstreamDeadlineMs,
      rateLimits: { sandbox: env.SANDBOX_RATE_LIMITER, invalidToken: env.INVALID_TOKEN_RATE_LIMITER, blockedClients },
    });
  } catch (error) {
    if (!(error instanceof ConfigInvalidError || error instanceof PolicyInvalidError)) throw error;
    console.error(JSON.stringify({ type: 'config_invalid', field: error.field, problem: error.problem, message: error.message }));
    return createFailClosedApp({ newId, log, clock });
  }
}

export { LedgerShard } from './ledger/ledger-shard.ts';
export { CacheControl } from './secrets/cache-control.ts';

/** Retention: prunes ledger records older than AUDIT_RETENTION_DAYS (when set) on the cron trigger. */
export async function pruneExpiredAudit(env: BrokerEnv, now: Date): Promise<{ pruned: number[] } | undefined> {
  const config = readConfig(env);
  if (config.auditRetentionDays === undefined) return undefined;
  const before = new Date(now.getTime() - config.auditRetentionDays * 86_400_000).toISOString();
  const result = await new LedgerReader(config.ledger.namespace, config.ledger.shards).prune(before);
  console.log(JSON.stringify({ type: 'retention', before, pruned: result.pruned }));
  return result;
}

export default {
  fetch(request, env, ctx) {
    app ??= buildApp(env);
    return app.fetch(request, env, ctx);
  },
  async scheduled(controller, env) {
    await pruneExpiredAudit(env, new Date(controller.scheduledTime));
  },
} satisfies ExportedHandler<BrokerEnv>;
