/**
 * The bench's results: their shape, the issue's targets, the markdown table and the JSON files
 * (bench/results/<timestamp>.json and bench/results/latest.json, git-ignored; latest.md next to them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Composition, WranglerBundle } from './bundle.ts';
import type { RepeatedLoad } from './load.ts';
import type { ProfileSummary } from './profile.ts';
import type { StartupResult } from './startup.ts';

export interface ProfileResult extends ProfileSummary {
  busyMsPerRequest: number;
  requests: number;
}

export interface BenchResults {
  meta: {
    startedAt: string;
    durationS: number;
    node: string;
    cpus: number;
    loadAverage: number[];
    quick: boolean;
    transport: string;
    runsPerScenario: number;
    headlineConcurrency: number;
  };
  transport: Record<string, { healthz: RepeatedLoad; issuance: RepeatedLoad }>;
  /** Keyed by concurrency. */
  concurrency: Record<string, { healthz: RepeatedLoad; es256: RepeatedLoad; eddsa?: RepeatedLoad }>;
  shards: Record<string, RepeatedLoad>;
  shardsConcurrency: number;
  cold: {
    firstRequestMs: number[];
    secondRequestMs: number[];
    missNeverFetchedMs: number[];
    missAfterFlushMs: number[];
    /** GetSecretValue calls each never-fetched secret cost (one per sample). */
    missCalls: number[];
    flushCalls: number[];
  };
  /** Counting entry: where an issuance's time goes, seen from the client and from inside the Worker. */
  latencyBreakdown: Array<{
    /** A concurrency, or 'first request' (fresh isolate). */
    concurrency: number | string;
    requests: number;
    clientMeanMs: number;
    clientP50Ms: number;
    /** The Worker's fetch handler, start to return (inside workerd). */
    workerMeanMs: number;
    /** Time awaiting each binding method, per request. */
    bindingMsPerRequest: Record<string, number>;
  }>;
  cost: {
    issuances: number;
    concurrency: number;
    getSecretValueCalls: number;
    ledgerRecordsAdded: number;
    redemptionsAdded: number;
    healthzRequests: number;
    ledgerRecordsAddedByHealthz: number;
    /** Cold secret, `concurrency` simultaneous first requests: GetSecretValue calls made. */
    bursts: Array<{ concurrency: number; calls: number; ok: number }>;
    bindingCallsPerIssuance: Record<string, number>;
    bindingCallsPerHealthz: Record<string, number>;
    logBytesPerIssuance: number;
  };
  crypto?: { n: number; rounds: number; microsPerCall: Record<string, number> };
  size: {
    deploy: WranglerBundle;
    deployMinified: WranglerBundle;
    composition: Composition;
  };
  startup: {
    importMs: StartupResult[];
    readyMs: { helloWorld: number[]; broker: number[] };
    profile?: ProfileSummary;
  };
  profile?: { issuance: ProfileResult; healthz: ProfileResult };
  leftoverWorkerd: number[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

const KIB = 1024;
const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));
const kib = (bytes: number) => (bytes / KIB).toFixed(1);
const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((a / b) * 100).toFixed(0)} %`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : Number.NaN;
};

export function targets(results: BenchResults): Target[] {
  const headline = results.concurrency[String(results.meta.headlineConcurrency)]!;
  const at50 = results.concurrency['50'];
  const throughputShare = headline.es256.median.rps / headline.healthz.median.rps;
  const maxBurstCalls = Math.max(...results.cost.bursts.map((burst) => burst.calls));
  const maxMissCalls = Math.max(...results.cold.missCalls, ...results.cold.flushCalls);
  const gzipMinKiB = results.size.deployMinified.gzipBytes / KIB;
  const startup = results.startup.importMs.find((entry) => entry.name === 'deploy bundle');
  return [
    {
      name: 'issuance throughput vs trivial route',
      goal: '≥ 30 % of GET /healthz',
      measured:
        `${pct(headline.es256.median.rps, headline.healthz.median.rps)} (${fmt(headline.es256.median.rps, 0)} vs ${fmt(headline.healthz.median.rps, 0)} req/s, c=${results.meta.headlineConcurrency}); ` +
        `by workerd CPU per request ${pct(headline.healthz.median.serverCpuMsPerRequest, headline.es256.median.serverCpuMsPerRequest)} (${fmt(headline.es256.median.serverCpuMsPerRequest, 2)} vs ${fmt(headline.healthz.median.serverCpuMsPerRequest, 2)} ms)`,
      met: throughputShare >= 0.3,
    },
    {
      name: 'p99 issuance latency at 50 concurrent',
      goal: '< 50 ms',
      measured: at50 ? `${fmt(at50.es256.median.p99)} ms` : 'not measured',
      met: at50 !== undefined && at50.es256.median.p99 < 50,
    },
    {
      name: 'GetSecretValue per secret per TTL per isolate',
      goal: '≤ 1, whatever the concurrency',
      measured: `warm: ${results.cost.getSecretValueCalls} per ${results.cost.issuances} issuances; cold bursts c=${results.cost.bursts.map((burst) => burst.concurrency).join('/')}: ${results.cost.bursts.map((burst) => burst.calls).join('/')} calls; each miss: ≤ ${maxMissCalls}`,
      met: results.cost.getSecretValueCalls === 0 && maxBurstCalls <= 1 && maxMissCalls <= 1,
    },
    {
      name: 'bundle size (minified, gzip)',
      goal: '< 80 KiB',
      measured: `${gzipMinKiB.toFixed(1)} KiB`,
      met: gzipMinKiB < 80,
    },
    {
      name: 'startup (global scope compile + evaluate, in workerd)',
      goal: '< 50 ms',
      measured: startup ? `${fmt(startup.medianMs, 0)} ms (median of ${startup.importMs.length})` : 'not measured',
      met: startup !== undefined && startup.medianMs < 50,
    },
  ];
}

export function renderMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  const table = (header: string[], rows: Array<Array<string | number>>) => {
    lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  const { meta } = results;
  const headline = results.concurrency[String(meta.headlineConcurrency)]!;

  lines.push(
    `## token-broker bench, ${meta.startedAt}`,
    '',
    `Miniflare driven directly (transport: ${meta.transport}), ${meta.cpus} cores, load average at start ${meta.loadAverage.map((value) => value.toFixed(1)).join(' ')}; ` +
      `each figure is the median of ${meta.runsPerScenario} interleaved runs; ratios compare with a baseline from the same run. Run took ${meta.durationS.toFixed(0)} s.`,
    '',
    '### Targets',
    '',
  );
  table(
    ['target', 'goal', 'measured', 'met'],
    targets(results).map((target) => [target.name, target.goal, target.measured, target.met ? 'yes' : '**no**']),
  );

  lines.push(`### Warm issuance vs the trivial route (c=${meta.headlineConcurrency})`, '');
  const row = (name: string, load: RepeatedLoad) => [
    name,
    fmt(load.median.rps, 0),
    fmt(load.median.p50),
    fmt(load.median.p99),
    fmt(load.median.serverCpuMsPerRequest, 2),
    pct(load.median.serverCpuShare, 1),
    fmt(load.median.clientCpuMsPerRequest, 2),
    pct(load.median.rps, headline.healthz.median.rps),
    ratio(load.median.serverCpuMsPerRequest, headline.healthz.median.serverCpuMsPerRequest),
    load.failed,
  ];
  table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'workerd CPU ms/req', 'workerd CPU busy', 'load-gen CPU ms/req', 'req/s vs /healthz', 'workerd CPU/req vs /healthz', 'non-200'],
    [row('GET /healthz (baseline)', headline.healthz), row('issue, ES256 token', headline.es256), ...(headline.eddsa ? [row('issue, EdDSA token', headline.eddsa)] : [])],
  );

  lines.push('### Latency and throughput by concurrency (ES256 issuance; /healthz at the same concurrency)', '');
  const base = results.concurrency['1'];
  table(
    ['concurrency', '/healthz req/s', '/healthz p50 ms', '/healthz p99 ms', 'issue req/s', 'issue p50 ms', 'issue p99 ms', 'issue p99 vs c=1', 'req/s vs /healthz', 'workerd CPU busy (issue)'],
    Object.entries(results.concurrency).map(([concurrency, entry]) => [
      concurrency,
      fmt(entry.healthz.median.rps, 0),
      fmt(entry.healthz.median.p50),
      fmt(entry.healthz.median.p99),
      fmt(entry.es256.median.rps, 0),
      fmt(entry.es256.median.p50),
      fmt(entry.es256.median.p99),
      base ? ratio(entry.es256.median.p99, base.es256.median.p99) : 'n/a',
      pct(entry.es256.median.rps, entry.healthz.median.rps),
      pct(entry.es256.median.serverCpuShare, 1),
    ]),
  );

  lines.push(`### Ledger shards (ES256 issuance, c=${results.shardsConcurrency})`, '');
  const oneShard = results.shards['1'];
  table(
    ['LEDGER_SHARDS', 'req/s', 'p50 ms', 'p99 ms', 'workerd CPU ms/req', 'req/s vs 1 shard'],
    Object.entries(results.shards).map(([shards, load]) => [
      shards,
      fmt(load.median.rps, 0),
      fmt(load.median.p50),
      fmt(load.median.p99),
      fmt(load.median.serverCpuMsPerRequest, 2),
      oneShard ? ratio(load.median.rps, oneShard.median.rps) : 'n/a',
    ]),
  );

  lines.push('### Cold path', '');
  const warm1 = base?.es256.median.p50 ?? Number.NaN;
  const coldRow = (name: string, samples: number[]) => [name, samples.length, fmt(median(samples)), fmt(Math.max(...samples)), ratio(median(samples), warm1)];
  table(
    ['request', 'samples', 'median ms', 'max ms', 'vs warm issuance p50 (c=1)'],
    [
      coldRow('first request after start (fresh isolate: app build, DO creation, GetSecretValue)', results.cold.firstRequestMs),
      coldRow('second request after start', results.cold.secondRequestMs),
      coldRow('cache miss: secret not fetched yet (warm isolate)', results.cold.missNeverFetchedMs),
      coldRow('cache miss: after admin cache flush', results.cold.missAfterFlushMs),
    ],
  );

  lines.push('### Cost per issuance', '');
  const { cost } = results;
  table(
    ['measure', 'value'],
    [
      [`GetSecretValue calls per 1,000 warm issuances (${cost.issuances} at c=${cost.concurrency})`, fmt((cost.getSecretValueCalls / cost.issuances) * 1000, 2)],
      ['GetSecretValue calls, cold secret, burst of c simultaneous first requests', cost.bursts.map((burst) => `c=${burst.concurrency}: ${burst.calls}`).join(', ')],
      ['GetSecretValue calls per cache miss (never fetched / after flush)', `${Math.max(...results.cold.missCalls)} / ${Math.max(...results.cold.flushCalls)}`],
      ['ledger records appended per issuance', fmt(cost.ledgerRecordsAdded / cost.issuances, 3)],
      ['redemptions counted per issuance', fmt(cost.redemptionsAdded / cost.issuances, 3)],
      [`ledger records appended by ${cost.healthzRequests} GET /healthz`, cost.ledgerRecordsAddedByHealthz],
      ['binding calls per issuance (counting entry)', formatCalls(cost.bindingCallsPerIssuance)],
      ['binding calls per GET /healthz', formatCalls(cost.bindingCallsPerHealthz) || 'none'],
      ['Worker log output per issuance (audit line to stdout)', `${fmt(cost.logBytesPerIssuance, 0)} bytes`],
    ],
  );

  if (results.latencyBreakdown.length) {
    lines.push(
      '### Where an issuance’s latency goes (counting entry: same code, binding calls timed inside workerd)',
      '',
      'Mean per request. The awaited calls do not overlap within a request, so "rest of the handler" is everything else the handler does (verification, policy, fingerprint, response; on a first request also building the app), including its own async waits: under load, waiting for the isolate’s one thread shows up there and "outside the Worker".',
      '',
    );
    const bindings = [...new Set(results.latencyBreakdown.flatMap((entry) => Object.keys(entry.bindingMsPerRequest)))].sort();
    table(
      ['concurrency', 'client mean ms', 'outside the Worker (runtime queue, transport) ms', 'Worker fetch handler ms', ...bindings.map((name) => `awaiting ${name === 'fetch' ? 'fetch (Secrets Manager)' : name} ms`), 'rest of the handler ms'],
      results.latencyBreakdown.map((entry) => {
        const awaited = bindings.reduce((total, name) => total + (entry.bindingMsPerRequest[name] ?? 0), 0);
        return [
          entry.concurrency,
          fmt(entry.clientMeanMs),
          fmt(entry.clientMeanMs - entry.workerMeanMs),
          fmt(entry.workerMeanMs),
          ...bindings.map((name) => fmt(entry.bindingMsPerRequest[name] ?? 0, 2)),
          fmt(entry.workerMeanMs - awaited, 2),
        ];
      }),
    );
  }

  if (results.crypto) {
    lines.push(`### Crypto inside workerd (µs per call, median of ${results.crypto.rounds} rounds of ${results.crypto.n})`, '');
    const issuanceCpuUs = (headline.es256.median.serverCpuMsPerRequest ?? Number.NaN) * 1000;
    table(
      ['operation', 'µs/call', 'share of one issuance’s workerd CPU'],
      Object.entries(results.crypto.microsPerCall).map(([name, micros]) => [name, fmt(micros, 0), pct(micros, issuanceCpuUs)]),
    );
  }

  if (results.profile) {
    const { issuance, healthz } = results.profile;
    lines.push(
      `### Where the broker isolate's CPU goes (V8 profile, ${issuance.requests} issuances at c=${meta.headlineConcurrency})`,
      '',
      `Busy ${fmt(issuance.busyMsPerRequest, 2)} ms of isolate CPU per issuance vs ${fmt(healthz.busyMsPerRequest, 2)} ms per GET /healthz (${ratio(issuance.busyMsPerRequest, healthz.busyMsPerRequest)}).`,
      '',
    );
    table(
      ['package / category', 'ms per issuance', 'of which in native calls', 'share'],
      issuance.byPackage.slice(0, 12).map((entry) => [entry.package, fmt(entry.ms / issuance.requests, 3), fmt(entry.nativeMs / issuance.requests, 3), pct(entry.share, 1)]),
    );
    table(
      ['top functions (self time)', 'ms per issuance', 'share'],
      issuance.topFunctions.slice(0, 12).map((entry) => [`\`${entry.fn.replaceAll('|', '\\|').replaceAll('`', "'")}\``, fmt(entry.ms / issuance.requests, 3), pct(entry.share, 1)]),
    );
  }

  lines.push('### Size', '');
  const { size } = results;
  table(
    ['bundle', 'raw KiB', 'gzip KiB', 'wrangler says'],
    [
      ['deployable, `wrangler deploy --dry-run`', kib(size.deploy.rawBytes), kib(size.deploy.gzipBytes), wranglerSays(size.deploy)],
      ['deployable, `--minify`', kib(size.deployMinified.rawBytes), kib(size.deployMinified.gzipBytes), wranglerSays(size.deployMinified)],
      ['esbuild, minified (composition below)', kib(size.composition.minified.rawBytes), kib(size.composition.minified.gzipBytes), ''],
      ...size.composition.whatIfs.map((whatIf) => [
        `what if: without ${whatIf.without}`,
        kib(whatIf.minified.rawBytes),
        kib(whatIf.minified.gzipBytes),
        `saves ${kib(whatIf.savedGzipBytes)} KiB gzip`,
      ]),
    ],
  );
  table(
    ['package (minified bytes in the bundle)', 'KiB', 'share'],
    [
      ...size.composition.packages.map((entry) => [entry.package, kib(entry.bytes), pct(entry.share, 1)]),
      ['= AWS SDK family (@aws-sdk/*, @smithy/*, @aws-crypto/*, …)', kib(size.composition.awsSdkFamilyBytes), pct(size.composition.awsSdkFamilyBytes, size.composition.minified.rawBytes)],
    ],
  );
  table(
    ['largest modules (minified)', 'KiB'],
    size.composition.topModules.slice(0, 10).map((entry) => [entry.module, kib(entry.bytes)]),
  );

  lines.push('### Startup', '');
  const hello = results.startup.importMs.find((entry) => entry.name === 'hello world');
  table(
    ['Worker module', 'compile + evaluate global scope in workerd, median ms', 'samples ms', 'vs hello world'],
    results.startup.importMs.map((entry) => [entry.name, fmt(entry.medianMs, 0), entry.importMs.map((value) => value.toFixed(0)).join(' '), hello ? `+${fmt(entry.medianMs - hello.medianMs, 0)} ms` : '']),
  );
  const ready = results.startup.readyMs;
  table(
    ['Miniflare `new` → `ready` (spawn workerd, load config)', 'median ms', 'samples'],
    [
      ['hello-world Worker', fmt(median(ready.helloWorld), 0), ready.helloWorld.map((value) => value.toFixed(0)).join(' ')],
      ['broker (deploy bundle, DOs, rate limiters)', fmt(median(ready.broker), 0), ready.broker.map((value) => value.toFixed(0)).join(' ')],
    ],
  );
  if (results.startup.profile) {
    const profile = results.startup.profile;
    table(
      [`startup CPU profile of the deploy bundle (busy ${fmt(profile.busyMs)} ms)`, 'ms', 'share'],
      profile.byPackage.slice(0, 10).map((entry) => [entry.package, fmt(entry.ms), pct(entry.share, 1)]),
    );
  }

  lines.push('### Transport (how load reaches Miniflare)', '');
  table(
    ['transport', '/healthz req/s', 'load-generator CPU ms/req (/healthz)', 'issue req/s', 'load-generator CPU ms/req (issue)'],
    Object.entries(results.transport).map(([kind, entry]) => [
      kind,
      fmt(entry.healthz.median.rps, 0),
      fmt(entry.healthz.median.clientCpuMsPerRequest, 2),
      fmt(entry.issuance.median.rps, 0),
      fmt(entry.issuance.median.clientCpuMsPerRequest, 2),
    ]),
  );
  lines.push(`workerd processes left after the run: ${results.leftoverWorkerd.length === 0 ? 'none' : results.leftoverWorkerd.join(', ')}`, '');
  return lines.join('\n');
}

function wranglerSays(bundle: WranglerBundle): string {
  return bundle.wranglerReport ? `${bundle.wranglerReport.rawKiB} / gzip ${bundle.wranglerReport.gzipKiB} KiB` : '';
}

function formatCalls(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(', ');
}

/** Writes bench/results/<timestamp>.json, latest.json and latest.md; returns the JSON path. */
export function writeResults(directory: string, results: BenchResults, markdown: string): string {
  mkdirSync(directory, { recursive: true });
  const stamp = results.meta.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify({ ...results, targets: targets(results) }, null, 2)}\n`;
  const path = join(directory, `${stamp}.json`);
  writeFileSync(path, json);
  writeFileSync(join(directory, 'latest.json'), json);
  writeFileSync(join(directory, 'latest.md'), `${markdown}\n`);
  return path;
}
