/**
 * Runs the broker for benchmarks and drills: the deployable bundle in Miniflare (driven directly, not through
 * `wrangler dev`), with its Durable Objects and rate limiters, talking to the local Secrets Manager server.
 *
 *   const broker = await startBroker({ shards: 4 });        // or startBroker({ world: await createBenchWorld({ dir }) })
 *   const token = await broker.mintToken();
 *   await broker.dispatch(`/v1/credentials/codex`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
 *   await broker.stop();
 *
 * Every started broker is stopped on SIGINT/SIGTERM (Miniflare also kills its workerd when the process exits),
 * so no workerd is left behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Miniflare, NoOpLog, type WorkerOptions } from 'miniflare';
import type { JWK } from 'jose';
import { startSecretsManagerServer, type RunningSecretsManagerServer } from '../dev/secrets-manager/server.ts';
import { shardStub } from '../src/ledger/durable-object-ledger.ts';
import { mintSandboxToken } from '../src/sdk/mint-sandbox-token.ts';
import { ROOT, wranglerBundle } from './bundle.ts';
import { ownWorkerdPids } from './proc.ts';
import {
  BENCH_ADMIN_AUDIENCE,
  BENCH_ADMIN_ISSUER,
  BENCH_AUDIENCE,
  BENCH_ISSUER,
  BENCH_REGION,
  createBenchWorld,
  WARM_CREDENTIAL,
  type BenchWorld,
} from './world.ts';

export const BROKER_WORKER_NAME = 'token-broker';
/** The compatibility date the Worker deploys with (wrangler.toml), so the bench runs what ships. */
export const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))?.[1] ?? '2026-04-26';

export type SandboxAlg = 'ES256' | 'EdDSA';

export interface StartBrokerOptions {
  /** Keys, policy and secrets (`createBenchWorld`); a fresh one in a temporary folder when absent. */
  world?: BenchWorld;
  /** LEDGER_SHARDS (default 4, as in wrangler.toml). */
  shards?: number;
  /** A prebuilt bundle (from `buildBrokerBundle`); built on demand otherwise. */
  scriptPath?: string;
  /** Share one Secrets Manager server between brokers; a broker stops only a server it started. */
  secretsManager?: RunningSecretsManagerServer;
  /** Rate-limit bindings; default: limits so high that a bench never meets them. */
  rateLimits?: { sandbox: number; invalidToken: number };
  /** Extra bindings (e.g. UPSTREAM_DEADLINE_MS). */
  bindings?: Record<string, string>;
  /** More workers in the same Miniflare instance (the first worker is always the broker). */
  extraWorkers?: WorkerOptions[];
  /** Open workerd's inspector (for CPU profiles). */
  inspector?: boolean;
  /** Every chunk the Worker writes to stdout/stderr (its audit log lines); default: counted and dropped. */
  onOutput?: (chunk: Buffer) => void;
  /** Keep Durable Object storage in this folder, so a new broker on the same folder sees the same ledger. */
  persistDir?: string;
}

export interface ShardStats {
  shard: number;
  records: number;
  redemptions: number;
}

export interface MintOptions {
  alg?: SandboxAlg;
  subject?: string;
  lifetimeSeconds?: number;
  claims?: Record<string, unknown>;
}

export interface Broker {
  mf: Miniflare;
  /** Miniflare's HTTP entry (for load over plain HTTP). */
  url: URL;
  /** Wall time of `new Miniflare(...)` until `ready`. */
  readyMs: number;
  /** The workerd process behind this Miniflare instance (found among this process's children), if found. */
  workerdPid: number | undefined;
  shards: number;
  world: BenchWorld;
  secretsManager: RunningSecretsManagerServer;
  /** `mf.dispatchFetch` with a path relative to the broker. */
  dispatch(path: string, init?: RequestInit): Promise<Response>;
  /** POST /v1/credentials/{credential} with the token. */
  issue(token: string, credential?: string): Promise<Response>;
  mintToken(options?: MintOptions): Promise<string>;
  /** Many fresh single-use tokens, each with its own sandbox id. */
  mintTokens(count: number, options?: MintOptions): Promise<string[]>;
  adminToken(): Promise<string>;
  /** POST /v1/admin/cache/flush (this isolate drops the entry at once). */
  flushCache(credential?: string): Promise<void>;
  /** Per-shard record and redemption counts, read from the LedgerShard objects themselves. */
  ledgerStats(): Promise<ShardStats[]>;
  /** Bytes the Worker wrote to stdout/stderr (audit log lines) so far. */
  outputBytes(): number;
  stop(): Promise<void>;
}

const live = new Set<() => Promise<void>>();
let signalsInstalled = false;

/** Stops every broker (and Secrets Manager server) still running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((stop) => stop()));
}

function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${live.size} broker(s)\n`);
      void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

const bundles = new Map<string, Promise<string>>();

/** The deployable bundle (wrangler deploy --dry-run) with the world's policy; built once per world. */
export function buildBrokerBundle(world: BenchWorld, options: { entry?: string; name?: string } = {}): Promise<string> {
  const outDir = join(world.dir, options.name ?? 'bundle');
  let bundle = bundles.get(outDir);
  if (!bundle) {
    bundle = wranglerBundle({ outDir, policyPath: world.policyPath, ...(options.entry ? { entry: options.entry } : {}) }).then((built) => built.scriptPath);
    bundles.set(outDir, bundle);
  }
  return bundle;
}

export function brokerWorkerOptions(options: {
  world: BenchWorld;
  scriptPath: string;
  secretsManagerUrl: string;
  shards: number;
  rateLimits?: { sandbox: number; invalidToken: number };
  bindings?: Record<string, string>;
}): WorkerOptions {
  const limits = options.rateLimits ?? { sandbox: 1_000_000, invalidToken: 1_000_000 };
  return {
    name: BROKER_WORKER_NAME,
    modules: true,
    scriptPath: options.scriptPath,
    // Module names are relative to this; the default (cwd) breaks for a bundle outside the project.
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      AWS_REGION: BENCH_REGION,
      SECRETS_MANAGER_ENDPOINT: options.secretsManagerUrl,
      AWS_ACCESS_KEY_ID: options.world.principal.accessKeyId,
      AWS_SECRET_ACCESS_KEY: options.world.principal.secretAccessKey,
      AUDIT_HMAC_KEY: options.world.auditHmacKey,
      LEDGER_SHARDS: String(options.shards),
      ...options.bindings,
    },
    durableObjects: {
      LEDGER: { className: 'LedgerShard', useSQLite: true },
      CACHE_CONTROL: { className: 'CacheControl', useSQLite: true },
    },
    ratelimits: {
      SANDBOX_RATE_LIMITER: { simple: { limit: limits.sandbox, period: 60 } },
      INVALID_TOKEN_RATE_LIMITER: { simple: { limit: limits.invalidToken, period: 60 } },
    },
  };
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  installSignalHandlers();
  const ownWorldDir = options.world ? undefined : mkdtempSync(join(tmpdir(), 'token-broker-world-'));
  const world = options.world ?? (await createBenchWorld({ dir: ownWorldDir! }));
  const shards = options.shards ?? 4;
  const scriptPath = options.scriptPath ?? (await buildBrokerBundle(world));
  const ownsSecretsManager = options.secretsManager === undefined;
  const secretsManager =
    options.secretsManager ?? (await startSecretsManagerServer({ region: BENCH_REGION, principals: [world.principal], secrets: world.secrets }));

  let outputBytes = 0;
  /** The start of the Worker's output, to explain a runtime that fails to start. */
  let outputHead = '';
  const onOutput = options.onOutput ?? (() => undefined);
  const workerdBefore = new Set(ownWorkerdPids());
  const started = performance.now();
  let mf: Miniflare | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      live.delete(stop);
      try {
        await mf?.dispose();
      } finally {
        if (ownsSecretsManager) await secretsManager.close();
        if (ownWorldDir) rmSync(ownWorldDir, { recursive: true, force: true });
      }
    })();
    return stopped;
  };
  live.add(stop);
  let url: URL;
  try {
    mf = new Miniflare({
      cf: false,
      log: new NoOpLog(),
      ...(options.inspector ? { inspectorPort: 0 } : {}),
      ...(options.persistDir ? { durableObjectsPersist: options.persistDir } : {}),
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        for (const stream of [stdout, stderr]) {
          stream.on('data', (chunk: Buffer) => {
            outputBytes += chunk.length;
            if (outputHead.length < 8192) outputHead += chunk.toString('utf8');
            onOutput(chunk);
          });
        }
      },
      workers: [
        brokerWorkerOptions({ world, scriptPath, secretsManagerUrl: secretsManager.url, shards, ...pick(options, 'rateLimits', 'bindings') }),
        ...(options.extraWorkers ?? []),
      ],
    });
    url = await mf.ready;
  } catch (error) {
    await stop().catch(() => undefined); // dispose() rethrows the start failure
    throw new Error(`broker failed to start: ${(error as Error).message}\n${outputHead.slice(0, 8192)}`, { cause: error });
  }
  const readyMs = performance.now() - started;
  const newWorkerd = ownWorkerdPids().filter((pid) => !workerdBefore.has(pid));
  const workerdPid = newWorkerd.length === 1 ? newWorkerd[0] : undefined;
  const origin = url.origin;
  const running = mf;

  const mint = (mintOptions: MintOptions = {}, n = 0): Promise<string> => {
    const alg = mintOptions.alg ?? 'ES256';
    return mintSandboxToken({
      privateJwk: alg === 'ES256' ? world.keys.es256 : world.keys.eddsa,
      issuer: BENCH_ISSUER,
      audience: BENCH_AUDIENCE,
      subject: mintOptions.subject ?? `sb-bench-${n}-${crypto.randomUUID().slice(0, 8)}`,
      lifetimeSeconds: mintOptions.lifetimeSeconds ?? 600,
      ...(mintOptions.claims ? { claims: mintOptions.claims } : {}),
    });
  };
  const dispatch = (path: string, init?: RequestInit): Promise<Response> =>
    running.dispatchFetch(`${origin}${path}`, init as never) as unknown as Promise<Response>;
  const adminToken = () =>
    mintSandboxToken({
      privateJwk: world.keys.admin as JWK,
      issuer: BENCH_ADMIN_ISSUER,
      audience: BENCH_ADMIN_AUDIENCE,
      subject: 'bench@localhost',
      type: 'admin+jwt',
      claims: { role: 'token-broker-admin' },
      lifetimeSeconds: 600,
    });

  return {
    mf: running,
    url,
    readyMs,
    workerdPid,
    shards,
    world,
    secretsManager,
    dispatch,
    issue: (token, credential = WARM_CREDENTIAL) =>
      dispatch(`/v1/credentials/${credential}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }),
    mintToken: (mintOptions) => mint(mintOptions),
    mintTokens: async (count, mintOptions) => {
      const tokens: string[] = [];
      for (let i = 0; i < count; i += 256) {
        tokens.push(...(await Promise.all(Array.from({ length: Math.min(256, count - i) }, (_, j) => mint(mintOptions, i + j)))));
      }
      return tokens;
    },
    adminToken,
    flushCache: async (credential) => {
      const response = await dispatch('/v1/admin/cache/flush', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await adminToken()}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(credential === undefined ? {} : { credential }),
      });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`cache flush: HTTP ${response.status} ${body}`);
    },
    ledgerStats: async () => {
      const namespace = (await running.getDurableObjectNamespace('LEDGER', BROKER_WORKER_NAME)) as unknown as Parameters<typeof shardStub>[0];
      return Promise.all(
        Array.from({ length: shards }, async (_, shard) => {
          const stats = (await shardStub(namespace, shard).stats()) as { records: number; redemptions: number };
          return { shard, records: stats.records, redemptions: stats.redemptions };
        }),
      );
    },
    outputBytes: () => outputBytes,
    stop,
  };
}

function pick<T extends object, K extends keyof T>(object: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]])) as Pick<T, K>;
}
