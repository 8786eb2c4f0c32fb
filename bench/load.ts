/**
 * Load generation: a bounded-concurrency loop over a fixed list of requests (single-use tokens cannot be
 * replayed, so every request is prepared before the clock starts), two transports, percentiles and medians.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { Broker } from './harness.ts';
import { ownCpuMs } from './proc.ts';

export interface BenchRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
}

/** Sends one request, reads the whole body, returns the status. */
export type Send = (request: BenchRequest) => Promise<number>;

export type TransportKind = 'dispatch' | 'http';

export interface Transport {
  kind: TransportKind;
  send: Send;
  close(): void;
}

/**
 * - `dispatch`: Miniflare's `dispatchFetch` (undici, through Miniflare's entry worker);
 * - `http`: plain node:http with a keep-alive agent to Miniflare's URL (same entry worker, no undici).
 */
export function createTransport(kind: TransportKind, broker: Broker, maxSockets = 256): Transport {
  if (kind === 'dispatch') {
    return {
      kind,
      send: async (request) => {
        const response = await broker.dispatch(request.path, { method: request.method, ...(request.headers ? { headers: request.headers } : {}) });
        await response.arrayBuffer();
        return response.status;
      },
      close: () => undefined,
    };
  }
  const agent = new Agent({ keepAlive: true, maxSockets });
  const { hostname, port } = broker.url;
  return {
    kind,
    send: (request) =>
      new Promise<number>((resolve, reject) => {
        const outgoing = httpRequest(
          { agent, hostname, port, method: request.method, path: request.path, headers: { ...request.headers, 'Content-Length': '0' } },
          (response) => {
            response.on('data', () => undefined);
            response.on('end', () => resolve(response.statusCode ?? 0));
            response.on('error', reject);
          },
        );
        outgoing.on('error', reject);
        outgoing.end();
      }),
    close: () => agent.destroy(),
  };
}

export interface LoadResult {
  requests: number;
  concurrency: number;
  ok: number;
  /** Status → count, for anything that was not 200 (and transport errors as "error"). */
  failures: Record<string, number>;
  durationMs: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** CPU of the server process (workerd: isolate, Durable Objects, runtime) per request, in ms. */
  serverCpuMsPerRequest?: number;
  /** Server CPU time over wall time: near 1.0, workerd's (single) JavaScript thread was saturated. */
  serverCpuShare?: number;
  /** CPU of this process (load generator, Secrets Manager server, log draining) per request, in ms. */
  clientCpuMsPerRequest: number;
}

/** Sends every request, at most `concurrency` at a time; latency is per request, body included. */
export async function runLoad(options: {
  requests: BenchRequest[];
  concurrency: number;
  send: Send;
  /** CPU time used so far by the server process, in ms (e.g. from /proc). */
  serverCpuMs?: () => number | undefined;
}): Promise<LoadResult> {
  const { requests, concurrency, send } = options;
  const serverCpuBefore = options.serverCpuMs?.();
  const clientCpuBefore = ownCpuMs();
  const latencies = new Float64Array(requests.length);
  const failures: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const started = performance.now();
      let status: number | 'error';
      try {
        status = await send(requests[index]!);
      } catch {
        status = 'error';
      }
      latencies[index] = performance.now() - started;
      if (status === 200) ok++;
      else failures[status] = (failures[status] ?? 0) + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  const durationMs = performance.now() - started;
  const clientCpuMs = ownCpuMs() - clientCpuBefore;
  const serverCpuAfter = options.serverCpuMs?.();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: requests.length,
    concurrency,
    ok,
    failures,
    durationMs,
    rps: (requests.length / durationMs) * 1000,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? 0,
    mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length),
    ...(serverCpuBefore !== undefined && serverCpuAfter !== undefined
      ? { serverCpuMsPerRequest: (serverCpuAfter - serverCpuBefore) / requests.length, serverCpuShare: (serverCpuAfter - serverCpuBefore) / durationMs }
      : {}),
    clientCpuMsPerRequest: clientCpuMs / requests.length,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

type Metric = 'rps' | 'p50' | 'p90' | 'p99' | 'max' | 'mean' | 'serverCpuMsPerRequest' | 'serverCpuShare' | 'clientCpuMsPerRequest';

export interface RepeatedLoad {
  /** Median over the runs, metric by metric. */
  median: Record<Metric, number>;
  runs: LoadResult[];
  /** Sum over runs of requests that did not answer 200. */
  failed: number;
}

/** Medians over repeated runs of one scenario (runs of different scenarios are interleaved by the caller). */
export function summarizeRuns(results: LoadResult[]): RepeatedLoad {
  const metric = (key: Metric) => median(results.map((result) => result[key] ?? Number.NaN).filter((value) => !Number.isNaN(value)));
  const metrics: Metric[] = ['rps', 'p50', 'p90', 'p99', 'max', 'mean', 'serverCpuMsPerRequest', 'serverCpuShare', 'clientCpuMsPerRequest'];
  return {
    median: Object.fromEntries(metrics.map((key) => [key, metric(key)])) as Record<Metric, number>,
    runs: results,
    failed: results.reduce((sum, result) => sum + (result.requests - result.ok), 0),
  };
}

export const healthzRequest: BenchRequest = { method: 'GET', path: '/healthz' };

export function issuanceRequest(token: string, credential: string): BenchRequest {
  return { method: 'POST', path: `/v1/credentials/${credential}`, headers: { Authorization: `Bearer ${token}` } };
}
