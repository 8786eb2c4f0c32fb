/**
 * `npm run drill`: fault and load drills against the broker in Miniflare (driven directly) with the local
 * Secrets Manager server, loopback only. Prints a table of drills, each with its counts and a verdict, and
 * writes it to drills/results/ (git-ignored). Exits non-zero if any drill fails.
 *
 *   DRILL_SCALE=0.1 npm run drill     smaller request counts (a smoke run)
 *   DRILL_ONLY=1,2,9 npm run drill    some drills (the leak scan covers only what ran)
 *
 * One broker (the drill bundle: src/index.ts plus the ledger switch of drills/entry.ts, 4 shards) serves
 * every drill but the restart drill, which starts its own pair on persisted state. Drills run in order,
 * so later drills see the ledger earlier ones wrote; each measures its own before/after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSecretsManagerServer, type Principal } from '../dev/secrets-manager/server.ts';
import { ROOT } from '../bench/bundle.ts';
import { buildBrokerBundle, startBroker, stopAll, type Broker, type StartBrokerOptions } from '../bench/harness.ts';
import { ownWorkerdPids } from '../bench/proc.ts';
import { BENCH_REGION } from '../bench/world.ts';
import { createDrillClient } from './client.ts';
import type { Drill, DrillContext, DrillResult } from './drill.ts';
import { LeakScanner } from './leak-scanner.ts';
import { renderMarkdown, writeReport } from './report.ts';
import { bootStorm } from './scenarios/boot-storm.ts';
import { hostileInput } from './scenarios/hostile-input.ts';
import { leakScan } from './scenarios/leak-scan.ts';
import { ledgerFailure } from './scenarios/ledger-failure.ts';
import { outage } from './scenarios/outage.ts';
import { replayStorm } from './scenarios/replay-storm.ts';
import { restart } from './scenarios/restart.ts';
import { rotation } from './scenarios/rotation.ts';
import { slowThrottled } from './scenarios/slow-throttled.ts';
import { createDrillWorld } from './world.ts';

const DRILLS: Drill[] = [bootStorm, replayStorm, outage, slowThrottled, rotation, ledgerFailure, restart, hostileInput, leakScan];
/** The issue's bound for the whole run; past the watchdog the run is stopped and fails. */
const RUN_LIMIT_MS = 5 * 60_000;
const WATCHDOG_MS = RUN_LIMIT_MS + 60_000;

const scale = Number(process.env.DRILL_SCALE ?? '1');
const only = process.env.DRILL_ONLY ? new Set(process.env.DRILL_ONLY.split(',').map(Number)) : undefined;

function log(message: string): void {
  process.stderr.write(`[drill ${((performance.now() - runStarted) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);
}

const runStarted = performance.now();

async function main(): Promise<number> {
  if (!(scale > 0 && scale <= 1)) throw new Error('DRILL_SCALE must be in (0, 1]');
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), 'token-broker-drills-'));
  const watchdog = setTimeout(() => {
    log(`watchdog: the run took over ${WATCHDOG_MS / 1000} s; stopping everything`);
    void stopAll().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();
  try {
    const world = await createDrillWorld(join(dir, 'world'));
    const rotator: Principal = {
      accessKeyId: 'AKIDDRILLROTATOR0001',
      secretAccessKey: randomBytes(20).toString('hex'),
      allow: { actions: ['GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage', 'DescribeSecret'], secrets: [world.secretOf.rotating!] },
    };
    world.canaries.add(rotator.secretAccessKey);
    const scanner = new LeakScanner(world.canaries);
    const secretsManager = await startSecretsManagerServer({ region: BENCH_REGION, principals: [world.principal, rotator], secrets: world.secrets });
    log('building the drill bundle (wrangler deploy --dry-run, entry drills/entry.ts)');
    const scriptPath = await buildBrokerBundle(world, { entry: join(ROOT, 'drills', 'entry.ts'), name: 'drill-bundle' });

    const rateLimits = await deployedRateLimits();
    let brokers = 0;
    const start = (options: Partial<StartBrokerOptions> = {}): Promise<Broker> => {
      const index = ++brokers;
      const feed = scanner.stream('log', `broker ${index} output`);
      return startBroker({
        world,
        scriptPath,
        secretsManager,
        shards: 4,
        rateLimits,
        onOutput: (chunk) => {
          const text = chunk.toString('utf8');
          feed(text);
          scanner.countItems('log', text.split('\n').length - 1);
        },
        ...options,
      });
    };
    const broker = await start();
    const client = createDrillClient(broker.url, scanner);
    const context: DrillContext = { world, broker, client, scriptPath, secretsManager, scanner, dir, scale, startBroker: start, rotator, rateLimits };

    const results: DrillResult[] = [];
    for (const drill of DRILLS) {
      if (only && !only.has(drill.id)) continue;
      log(`drill ${drill.id}: ${drill.name}`);
      const started = performance.now();
      let result: DrillResult;
      try {
        const outcome = await drill.run(context);
        result = { id: drill.id, name: drill.name, pass: outcome.checks.every((c) => c.pass), durationMs: performance.now() - started, ...outcome };
      } catch (error) {
        result = {
          id: drill.id,
          name: drill.name,
          pass: false,
          durationMs: performance.now() - started,
          counts: {},
          checks: [{ name: 'ran to the end', pass: false, detail: (error as Error).stack?.split('\n').slice(0, 4).join(' | ') ?? String(error) }],
        };
      }
      secretsManager.clearFaults();
      results.push(result);
      log(`drill ${drill.id}: ${result.pass ? 'pass' : 'FAIL'} in ${(result.durationMs / 1000).toFixed(1)} s`);
      for (const failed of result.checks.filter((c) => !c.pass)) log(`  ✗ ${failed.name}: ${failed.detail}${failed.firstFailure ? `; first: ${failed.firstFailure}` : ''}`);
    }
    client.close();
    await stopAll();
    await secretsManager.close();
    const durationMs = performance.now() - runStarted;
    const report = { startedAt, durationMs, withinLimit: durationMs < RUN_LIMIT_MS, scale, cores: cpus().length, results, leftoverWorkerd: ownWorkerdPids().length };
    const markdown = renderMarkdown(report);
    process.stdout.write(`\n${markdown}`);
    const path = writeReport(join(ROOT, 'drills', 'results'), report);
    log(`wrote ${path} (and latest.json, latest.md)`);
    return results.every((result) => result.pass) && report.withinLimit && report.leftoverWorkerd === 0 ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rate limits of wrangler.toml's top-level environment (what a deployment runs with). */
async function deployedRateLimits(): Promise<{ sandbox: number; invalidToken: number }> {
  const { experimental_readRawConfig } = await import('wrangler');
  const { rawConfig } = experimental_readRawConfig({ config: join(ROOT, 'wrangler.toml') });
  const limitOf = (name: string) => {
    const bindings = (rawConfig.ratelimits ?? []) as Array<{ name: string; simple?: { limit?: number } }>;
    const limit = bindings.find((binding) => binding.name === name)?.simple?.limit;
    if (typeof limit !== 'number') throw new Error(`wrangler.toml has no simple limit for ${name}`);
    return limit;
  };
  return { sandbox: limitOf('SANDBOX_RATE_LIMITER'), invalidToken: limitOf('INVALID_TOKEN_RATE_LIMITER') };
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`drills failed to run: ${(error as Error).stack ?? String(error)}\n`);
    await stopAll();
    process.exit(1);
  },
);
