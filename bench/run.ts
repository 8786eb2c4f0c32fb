/**
 * `npm run bench`: issuance speed, cost, size and startup of the broker, each against a baseline measured in
 * the same run. Prints a markdown table and writes bench/results/<timestamp>.json and latest.json.
 *
 * Phases (each Miniflare instance is driven directly; load goes over plain HTTP with keep-alive, the cheaper
 * transport, see the "Transport" table):
 *   1. size: wrangler dry-run bundles (plain and --minify), esbuild composition and what-ifs;
 *   2. startup: in-workerd import time of the bundle vs hello world; Miniflare ready time;
 *   3. main broker (4 shards): first request, transport check, concurrency sweep 1/10/50/200 with /healthz
 *      and ES256 (and EdDSA at the headline concurrency) interleaved, cold misses, cost counters, crypto probe;
 *   4. shards 1/4/16 at c=50, interleaved;
 *   5. binding calls per issuance (counting entry), CPU profile of the issuance path.
 *
 * BENCH_QUICK=1 runs a smaller version (smoke test).
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSecretsManagerServer, type RunningSecretsManagerServer } from '../dev/secrets-manager/server.ts';
import { composition, esbuildBundle, ROOT, wranglerBundle } from './bundle.ts';
import { buildBrokerBundle, COMPATIBILITY_DATE, startBroker, stopAll, type Broker, type SandboxAlg } from './harness.ts';
import { createTransport, healthzRequest, issuanceRequest, runLoad, summarizeRuns, type LoadResult, type Transport, type TransportKind } from './load.ts';
import { isAlive, ownWorkerdPids, processCpuMs } from './proc.ts';
import { profileWhile, summarizeProfile, webSocketAvailable } from './profile.ts';
import { renderMarkdown, writeResults, type BenchResults, type ProfileResult } from './report.ts';
import { HELLO_WORLD, helloWorldReadyMs, measureImportTimes, profileImport, readSource } from './startup.ts';
import { BENCH_REGION, createBenchWorld, WARM_CREDENTIAL } from './world.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const CONFIG = {
  runs: QUICK ? 1 : 5,
  transportRuns: QUICK ? 1 : 2,
  transport: 'http' as TransportKind,
  headlineConcurrency: 10,
  concurrency: [1, 10, 50, 200],
  /** Requests per run, by concurrency: enough for a steady state, few enough to keep the bench short. */
  issuancePerRun: (QUICK ? { 1: 50, 10: 150, 50: 200, 200: 400 } : { 1: 150, 10: 500, 50: 800, 200: 1000 }) as Record<number, number>,
  healthzPerRun: (QUICK ? { 1: 200, 10: 500, 50: 500, 200: 600 } : { 1: 500, 10: 2000, 50: 2000, 200: 2400 }) as Record<number, number>,
  warmup: QUICK ? 100 : 300,
  shards: [1, 4, 16],
  shardsConcurrency: 50,
  shardIssuancePerRun: QUICK ? 200 : 800,
  coldSamples: QUICK ? 4 : 12,
  flushSamples: QUICK ? 2 : 5,
  costIssuances: QUICK ? 300 : 1000,
  costConcurrency: 50,
  costHealthz: 500,
  startupSamples: QUICK ? 3 : 7,
  readySamples: QUICK ? 2 : 3,
  countingIssuances: QUICK ? 150 : 400,
  breakdownConcurrency: [1, 10, 50],
  profileIssuances: QUICK ? 200 : 600,
  probe: { n: QUICK ? 200 : 500, rounds: QUICK ? 3 : 7 },
};

const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(3)}s] ${line}\n`);
const T0 = performance.now();

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAverage = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'token-broker-bench-'));
  // Also on Ctrl-C: Miniflare's own signal hook ends the process (after killing workerd) before finally runs.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  let secretsManager: RunningSecretsManagerServer | undefined;
  const brokerPids: number[] = [];
  try {
    log(`world and bundles in ${dir}`);
    const world = await createBenchWorld({ dir: join(dir, 'world'), coldCredentials: CONFIG.coldSamples + CONFIG.flushSamples, burstCredentials: CONFIG.concurrency.length });
    const [deploy, deployMinified, benchScript] = await Promise.all([
      wranglerBundle({ outDir: join(dir, 'deploy') }),
      wranglerBundle({ outDir: join(dir, 'deploy'), minify: true }),
      buildBrokerBundle(world),
    ]);
    const bundleComposition = await composition();
    const probeScript = await esbuildBundle({ entry: join(ROOT, 'bench', 'probe', 'crypto-probe.ts'), outfile: join(dir, 'probe', 'crypto-probe.js') });
    const countingScript = await esbuildBundle({
      entry: join(ROOT, 'bench', 'probe', 'counting-entry.ts'),
      outfile: join(dir, 'counting', 'counting-entry.js'),
      alias: { 'token-broker-policy': world.policyPath },
    });
    secretsManager = await startSecretsManagerServer({ region: BENCH_REGION, principals: [world.principal], secrets: world.secrets });
    const sm = secretsManager;
    const start = async (options: Omit<Parameters<typeof startBroker>[0], 'world' | 'secretsManager'> = {}) => {
      const broker = await startBroker({ world, secretsManager: sm, scriptPath: benchScript, ...options });
      if (broker.workerdPid !== undefined) brokerPids.push(broker.workerdPid);
      return broker;
    };

    // --- Startup -------------------------------------------------------------------------------------
    log('startup: in-workerd import times');
    const importMs = await measureImportTimes({
      dir: join(dir, 'startup'),
      samples: CONFIG.startupSamples,
      variants: [
        { name: 'deploy bundle', source: readSource(deploy.scriptPath) },
        { name: 'deploy bundle, minified', source: readSource(deployMinified.scriptPath) },
        { name: 'hello world', source: HELLO_WORLD },
      ],
    });
    const startupProfile = await profileImport({ source: readSource(deploy.scriptPath), bundlePath: deploy.scriptPath, dir: join(dir, 'startup-profile') });
    log('startup: Miniflare ready times, first requests');
    const ready = { helloWorld: [] as number[], broker: [] as number[] };
    const cold = { firstRequestMs: [] as number[], secondRequestMs: [] as number[], missNeverFetchedMs: [] as number[], missAfterFlushMs: [] as number[], missCalls: [] as number[], flushCalls: [] as number[] };
    for (let sample = 0; sample < CONFIG.readySamples; sample++) {
      ready.helloWorld.push(await helloWorldReadyMs(join(dir, 'hello')));
      const broker = await start();
      try {
        ready.broker.push(broker.readyMs);
        await firstRequests(broker, cold);
      } finally {
        await broker.stop();
      }
    }

    // --- Main broker: sweep, cold path, cost, crypto ---------------------------------------------------
    log('main broker (4 shards)');
    const main = await start({
      shards: 4,
      extraWorkers: [{ name: 'bench-probe', modules: true, scriptPath: probeScript, modulesRoot: join(dir, 'probe'), compatibilityDate: COMPATIBILITY_DATE }],
    });
    const transports: Transport[] = [];
    try {
      await firstRequests(main, cold);
      const transport = createTransport(CONFIG.transport, main);
      transports.push(transport);
      await warmUp(main, transport);

      log('transport check: dispatchFetch vs node:http');
      const transportResults: BenchResults['transport'] = {};
      const dispatch = createTransport('dispatch', main);
      transports.push(dispatch);
      const transportRuns: Record<string, { healthz: LoadResult[]; issuance: LoadResult[] }> = { dispatch: { healthz: [], issuance: [] }, http: { healthz: [], issuance: [] } };
      for (let run = 0; run < CONFIG.transportRuns; run++) {
        for (const candidate of [dispatch, transport]) {
          transportRuns[candidate.kind]!.healthz.push(await load(main, candidate, healthzRequests(800), 10));
          transportRuns[candidate.kind]!.issuance.push(await load(main, candidate, await issuances(main, 250), 10));
        }
      }
      for (const [kind, runs] of Object.entries(transportRuns)) transportResults[kind] = { healthz: summarizeRuns(runs.healthz), issuance: summarizeRuns(runs.issuance) };

      log(`concurrency sweep ${CONFIG.concurrency.join('/')}, ${CONFIG.runs} interleaved runs`);
      const sweep: Record<number, { healthz: LoadResult[]; es256: LoadResult[]; eddsa: LoadResult[] }> = {};
      for (let run = 0; run < CONFIG.runs; run++) {
        for (const concurrency of CONFIG.concurrency) {
          const entry = (sweep[concurrency] ??= { healthz: [], es256: [], eddsa: [] });
          const count = CONFIG.issuancePerRun[concurrency]!;
          entry.healthz.push(await load(main, transport, healthzRequests(CONFIG.healthzPerRun[concurrency]!), concurrency));
          entry.es256.push(await load(main, transport, await issuances(main, count, 'ES256'), concurrency));
          if (concurrency === CONFIG.headlineConcurrency) entry.eddsa.push(await load(main, transport, await issuances(main, count, 'EdDSA'), concurrency));
        }
        log(`  run ${run + 1}/${CONFIG.runs} done`);
      }
      const concurrencyResults: BenchResults['concurrency'] = {};
      for (const [concurrency, entry] of Object.entries(sweep)) {
        concurrencyResults[concurrency] = {
          healthz: summarizeRuns(entry.healthz),
          es256: summarizeRuns(entry.es256),
          ...(entry.eddsa.length ? { eddsa: summarizeRuns(entry.eddsa) } : {}),
        };
      }

      log('cold path: cache misses');
      const missCredentials = world.coldCredentials.slice(0, CONFIG.coldSamples);
      for (const credential of missCredentials) {
        const token = await main.mintToken();
        const before = sm.calls({ operation: 'GetSecretValue', secretName: world.secretOf[credential] });
        cold.missNeverFetchedMs.push(await timed(transport, issuanceRequest(token, credential)));
        cold.missCalls.push(sm.calls({ operation: 'GetSecretValue', secretName: world.secretOf[credential] }) - before);
      }
      for (const credential of world.coldCredentials.slice(CONFIG.coldSamples)) {
        // Warm this credential, flush it through the admin API, then time the next request.
        await timed(transport, issuanceRequest(await main.mintToken(), credential));
        await main.flushCache(credential);
        const token = await main.mintToken();
        const before = sm.calls({ operation: 'GetSecretValue', secretName: world.secretOf[credential] });
        cold.missAfterFlushMs.push(await timed(transport, issuanceRequest(token, credential)));
        cold.flushCalls.push(sm.calls({ operation: 'GetSecretValue', secretName: world.secretOf[credential] }) - before);
      }

      log('cost: GetSecretValue and ledger writes per issuance; single-flight bursts');
      const statsBefore = await main.ledgerStats();
      sm.resetCalls();
      const outputBefore = main.outputBytes();
      const costRun = await load(main, transport, await issuances(main, CONFIG.costIssuances), CONFIG.costConcurrency);
      const logBytes = main.outputBytes() - outputBefore;
      const getSecretValueCalls = sm.calls({ operation: 'GetSecretValue' });
      const statsAfter = await main.ledgerStats();
      await load(main, transport, healthzRequests(CONFIG.costHealthz), 10);
      const statsAfterHealthz = await main.ledgerStats();
      const bursts: BenchResults['cost']['bursts'] = [];
      for (const [index, concurrency] of CONFIG.concurrency.entries()) {
        const credential = world.burstCredentials[index]!;
        const secretName = world.secretOf[credential]!;
        const tokens = await main.mintTokens(concurrency);
        const before = sm.calls({ operation: 'GetSecretValue', secretName });
        const burst = await runLoad({ requests: tokens.map((token) => issuanceRequest(token, credential)), concurrency, send: transport.send });
        bursts.push({ concurrency, calls: sm.calls({ operation: 'GetSecretValue', secretName }) - before, ok: burst.ok });
      }

      log('crypto probe inside workerd');
      const probe = await main.mf.getWorker('bench-probe');
      const probeResponse = await probe.fetch('http://probe/', {
        method: 'POST',
        body: JSON.stringify({ ...CONFIG.probe, policy: world.policy, tokens: { ES256: await main.mintToken(), EdDSA: await main.mintToken({ alg: 'EdDSA' }) } }),
      });
      const crypto = (await probeResponse.json()) as NonNullable<BenchResults['crypto']>;

      // --- Shards ------------------------------------------------------------------------------------
      log(`shards ${CONFIG.shards.join('/')} at c=${CONFIG.shardsConcurrency}`);
      const shardBrokers = new Map<number, { broker: Broker; transport: Transport }>([[4, { broker: main, transport }]]);
      const shardRuns: Record<number, LoadResult[]> = {};
      try {
        for (const shards of CONFIG.shards) {
          if (shardBrokers.has(shards)) continue;
          const broker = await start({ shards });
          const shardTransport = createTransport(CONFIG.transport, broker);
          transports.push(shardTransport);
          shardBrokers.set(shards, { broker, transport: shardTransport });
          await firstRequests(broker, cold);
          await warmUp(broker, shardTransport);
        }
        for (let run = 0; run < CONFIG.runs; run++) {
          for (const shards of CONFIG.shards) {
            const { broker, transport: shardTransport } = shardBrokers.get(shards)!;
            (shardRuns[shards] ??= []).push(await load(broker, shardTransport, await issuances(broker, CONFIG.shardIssuancePerRun), CONFIG.shardsConcurrency));
          }
        }
      } finally {
        for (const [shards, { broker }] of shardBrokers) if (shards !== 4) await broker.stop();
      }
      const shardResults = Object.fromEntries(Object.entries(shardRuns).map(([shards, runs]) => [shards, summarizeRuns(runs)]));
      await main.stop();

      // --- Binding calls per issuance, and where the latency goes -----------------------------------
      log('binding calls per issuance and latency breakdown (counting entry)');
      const counting = await start({ scriptPath: countingScript });
      const latencyBreakdown: BenchResults['latencyBreakdown'] = [];
      const totalCalls: Record<string, number> = {};
      let countedIssuances = 0;
      let bindingCallsPerHealthz: Record<string, number>;
      try {
        const countingTransport = createTransport(CONFIG.transport, counting);
        transports.push(countingTransport);
        const firstRun = await load(counting, countingTransport, await issuances(counting, 1), 1);
        const first = await readTally(counting);
        latencyBreakdown.push({
          concurrency: 'first request',
          requests: first.requests,
          clientMeanMs: firstRun.mean,
          clientP50Ms: firstRun.p50,
          workerMeanMs: first.requestMs / first.requests,
          bindingMsPerRequest: perRequest(first.ms, first.requests),
        });
        await warmUp(counting, countingTransport);
        await readTally(counting);
        for (const concurrency of CONFIG.breakdownConcurrency) {
          const count = concurrency === 1 ? Math.ceil(CONFIG.countingIssuances / 3) : CONFIG.countingIssuances;
          const run = await load(counting, countingTransport, await issuances(counting, count), concurrency);
          const tally = await readTally(counting);
          for (const [name, calls] of Object.entries(tally.calls)) totalCalls[name] = (totalCalls[name] ?? 0) + calls;
          countedIssuances += tally.requests;
          latencyBreakdown.push({
            concurrency,
            requests: tally.requests,
            clientMeanMs: run.mean,
            clientP50Ms: run.p50,
            workerMeanMs: tally.requestMs / tally.requests,
            bindingMsPerRequest: perRequest(tally.ms, tally.requests),
          });
        }
        await load(counting, countingTransport, healthzRequests(CONFIG.countingIssuances), CONFIG.headlineConcurrency);
        bindingCallsPerHealthz = perRequest((await readTally(counting)).calls, CONFIG.countingIssuances);
      } finally {
        await counting.stop();
      }
      const bindingCallsPerIssuance = perRequest(totalCalls, countedIssuances);

      // --- CPU profile of the issuance path ----------------------------------------------------------
      let profile: BenchResults['profile'];
      if (webSocketAvailable()) {
        log('CPU profile of the issuance path');
        const profiled = await start({ inspector: true });
        try {
          const profiledTransport = createTransport(CONFIG.transport, profiled);
          transports.push(profiledTransport);
          await warmUp(profiled, profiledTransport);
          const profileOf = async (requests: ReturnType<typeof healthzRequests>): Promise<ProfileResult> => {
            const cpuProfile = await profileWhile(profiled.mf, 'token-broker', async () => {
              await runLoad({ requests, concurrency: CONFIG.headlineConcurrency, send: profiledTransport.send });
            });
            return { ...summarizeProfile(cpuProfile, benchScript, requests.length), requests: requests.length };
          };
          profile = {
            issuance: await profileOf(await issuances(profiled, CONFIG.profileIssuances)),
            healthz: await profileOf(healthzRequests(CONFIG.profileIssuances * 3)),
          };
        } finally {
          await profiled.stop();
        }
      } else {
        log('no WebSocket client (run with node --experimental-websocket): CPU profiles skipped');
      }

      const results: BenchResults = {
        meta: {
          startedAt,
          durationS: (performance.now() - T0) / 1000,
          node: process.version,
          cpus: cpus().length,
          loadAverage,
          quick: QUICK,
          transport: CONFIG.transport === 'http' ? 'node:http keep-alive to Miniflare’s URL' : 'Miniflare dispatchFetch',
          runsPerScenario: CONFIG.runs,
          headlineConcurrency: CONFIG.headlineConcurrency,
        },
        transport: transportResults,
        concurrency: concurrencyResults,
        shards: shardResults,
        shardsConcurrency: CONFIG.shardsConcurrency,
        cold,
        latencyBreakdown,
        cost: {
          issuances: costRun.requests,
          concurrency: CONFIG.costConcurrency,
          getSecretValueCalls,
          ledgerRecordsAdded: sum(statsAfter, 'records') - sum(statsBefore, 'records'),
          redemptionsAdded: sum(statsAfter, 'redemptions') - sum(statsBefore, 'redemptions'),
          healthzRequests: CONFIG.costHealthz,
          ledgerRecordsAddedByHealthz: sum(statsAfterHealthz, 'records') - sum(statsAfter, 'records'),
          bursts,
          bindingCallsPerIssuance,
          bindingCallsPerHealthz,
          logBytesPerIssuance: logBytes / costRun.requests,
        },
        crypto,
        size: { deploy, deployMinified, composition: bundleComposition },
        startup: { importMs, readyMs: ready, ...(startupProfile ? { profile: startupProfile } : {}) },
        ...(profile ? { profile } : {}),
        leftoverWorkerd: [],
      };
      const failed = [costRun, ...Object.values(sweep).flatMap((entry) => [...entry.es256, ...entry.eddsa, ...entry.healthz])].reduce((total, run) => total + run.requests - run.ok, 0);
      if (failed > 0) log(`WARNING: ${failed} measured requests did not answer 200 (see "non-200" and the JSON)`);

      for (const candidate of transports) candidate.close();
      await stopAll();
      results.leftoverWorkerd = [...ownWorkerdPids(), ...brokerPids.filter(isAlive)];
      results.meta.durationS = (performance.now() - T0) / 1000;

      const markdown = renderMarkdown(results);
      const path = writeResults(join(ROOT, 'bench', 'results'), results, markdown);
      process.stdout.write(`${markdown}\n`);
      log(`wrote ${path} (and latest.json, latest.md)`);
    } finally {
      for (const candidate of transports) candidate.close();
    }
  } finally {
    await stopAll();
    await secretsManager?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function healthzRequests(count: number) {
  return Array.from({ length: count }, () => healthzRequest);
}

async function issuances(broker: Broker, count: number, alg: SandboxAlg = 'ES256') {
  return (await broker.mintTokens(count, { alg })).map((token) => issuanceRequest(token, WARM_CREDENTIAL));
}

function load(broker: Broker, transport: Transport, requests: ReturnType<typeof healthzRequests>, concurrency: number): Promise<LoadResult> {
  const pid = broker.workerdPid;
  return runLoad({ requests, concurrency, send: transport.send, ...(pid !== undefined ? { serverCpuMs: () => processCpuMs(pid) } : {}) });
}

async function warmUp(broker: Broker, transport: Transport): Promise<void> {
  await runLoad({ requests: healthzRequests(CONFIG.warmup), concurrency: 10, send: transport.send });
  await runLoad({ requests: await issuances(broker, CONFIG.warmup), concurrency: 10, send: transport.send });
  await runLoad({ requests: await issuances(broker, Math.ceil(CONFIG.warmup / 3), 'EdDSA'), concurrency: 10, send: transport.send });
}

/** Latency of one request on an otherwise idle broker; throws unless it answers 200. */
async function timed(transport: Transport, request: ReturnType<typeof issuanceRequest>): Promise<number> {
  const started = performance.now();
  const status = await transport.send(request);
  const elapsed = performance.now() - started;
  if (status !== 200) throw new Error(`${request.method} ${request.path}: HTTP ${status}`);
  return elapsed;
}

/** The first two issuances of a fresh instance (fresh isolate: empty cache, Durable Objects not yet created). */
async function firstRequests(broker: Broker, cold: BenchResults['cold']): Promise<void> {
  const transport = createTransport(CONFIG.transport, broker);
  try {
    const [first, second] = await broker.mintTokens(2);
    cold.firstRequestMs.push(await timed(transport, issuanceRequest(first!, WARM_CREDENTIAL)));
    cold.secondRequestMs.push(await timed(transport, issuanceRequest(second!, WARM_CREDENTIAL)));
  } finally {
    transport.close();
  }
}

interface Tally {
  requests: number;
  requestMs: number;
  calls: Record<string, number>;
  ms: Record<string, number>;
}

async function readTally(broker: Broker): Promise<Tally> {
  const response = await broker.dispatch('/__bench/binding-calls');
  return (await response.json()) as Tally;
}

function perRequest(calls: Record<string, number>, requests: number): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).map(([name, count]) => [name, count / requests]));
}

function sum(stats: Array<{ records: number; redemptions: number }>, key: 'records' | 'redemptions'): number {
  return stats.reduce((total, shard) => total + shard[key], 0);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    await stopAll();
    process.exit(1);
  },
);
