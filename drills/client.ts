/**
 * The drills' HTTP client: plain node:http with keep-alive to Miniflare's URL (the cheap transport, see
 * bench/README.md), a bounded-concurrency pool, and one `Outcome` per request that says exactly what came
 * back. Every body that is not a 200 goes through the leak scanner; a 200 body is the one place a secret
 * value belongs, and is kept only in memory to compare against what the drill expects.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { LeakScanner } from './leak-scanner.ts';

export interface DrillRequest {
  /** Who sent it (the sandbox id, or a description); named when the request breaks a drill. */
  label: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** The token it carried (to count per-token outcomes); never printed. */
  token?: string;
}

export interface Outcome {
  /** Position in the drill's request list. */
  index: number;
  label: string;
  /** HTTP status, or `error` when no answer came (connection refused, reset). */
  status: number | 'error';
  /** `error.code` of an error body. */
  code: string | null;
  requestId: string | null;
  versionId: string | null;
  issuanceId: string | null;
  /** The credential value of a 200; compared, never printed. */
  value: string | null;
  retryAfter: string | null;
  /** Wall-clock start and end (ms since the epoch), and the latency in ms. */
  startedAt: number;
  endedAt: number;
  ms: number;
  /** Transport error message, when status is `error`. */
  transportError?: string;
  token?: string;
}

export interface PoolOptions {
  onOutcome?: (outcome: Outcome) => void;
  ratePerSecond?: number;
  stop?: () => boolean;
}

export interface DrillClient {
  send(request: DrillRequest, index?: number): Promise<Outcome>;
  /**
   * Sends the requests in order, at most `concurrency` at a time (and, with `ratePerSecond`, request i not
   * before i / rate seconds after the start). `stop` ends the run early: requests not yet started are not
   * sent. Outcomes in request order, for the requests that were sent.
   */
  pool(requests: DrillRequest[], concurrency: number, options?: PoolOptions): Promise<Outcome[]>;
  close(): void;
}

export function createDrillClient(base: URL, scanner: LeakScanner, options: { maxSockets?: number; timeoutMs?: number } = {}): DrillClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const timeoutMs = options.timeoutMs ?? 30_000;

  const send = (request: DrillRequest, index = 0): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      const startedAt = Date.now();
      const started = performance.now();
      const done = (fields: Partial<Outcome> & Pick<Outcome, 'status'>) =>
        resolve({
          index,
          label: request.label,
          code: null,
          requestId: null,
          versionId: null,
          issuanceId: null,
          value: null,
          retryAfter: null,
          startedAt,
          endedAt: Date.now(),
          ms: performance.now() - started,
          ...(request.token ? { token: request.token } : {}),
          ...fields,
        });
      const outgoing = httpRequest(
        {
          agent,
          hostname: base.hostname,
          port: base.port,
          method: request.method ?? 'POST',
          path: request.path,
          headers: { 'Content-Length': '0', ...request.headers },
          timeout: timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => done({ status: 'error', transportError: error.message }));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            const header = (name: string) => {
              const value = response.headers[name];
              return typeof value === 'string' ? value : null;
            };
            let code: string | null = null;
            let value: string | null = null;
            if (status === 200) {
              value = parseValue(text, header('content-type'));
              scanner.issued(value);
            } else {
              scanner.scan('error-body', text, `${request.label} → HTTP ${status}`);
              code = parseErrorCode(text);
            }
            done({
              status,
              code,
              value,
              requestId: header('x-request-id'),
              versionId: header('x-credential-version-id'),
              issuanceId: header('x-issuance-id'),
              retryAfter: header('retry-after'),
            });
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', (error) => done({ status: 'error', transportError: error.message }));
      outgoing.end();
    });

  return {
    send,
    async pool(requests, concurrency, poolOptions = {}) {
      const outcomes: Outcome[] = new Array(requests.length);
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < requests.length && !poolOptions.stop?.()) {
          const index = next++;
          if (poolOptions.ratePerSecond) {
            const wait = started + (index * 1000) / poolOptions.ratePerSecond - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            if (poolOptions.stop?.()) break;
          }
          const outcome = await send(requests[index]!, index);
          outcomes[index] = outcome;
          poolOptions.onOutcome?.(outcome);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, requests.length)) }, worker));
      return outcomes.filter((outcome): outcome is Outcome => outcome !== undefined);
    },
    close: () => agent.destroy(),
  };
}

function parseErrorCode(text: string): string | null {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

function parseValue(text: string, contentType: string | null): string | null {
  if (contentType?.startsWith('text/plain')) return text.replace(/\n$/, '');
  try {
    const value = (JSON.parse(text) as { value?: unknown }).value;
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** Outcomes grouped by status (and code), e.g. `{ "200": 1990, "503 upstream_unavailable": 10 }`. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.status === 200 ? '200' : `${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** How to name a request that broke a drill. */
export function describe(outcome: Outcome): string {
  const answer =
    outcome.status === 'error' ? `no answer (${outcome.transportError})` : `HTTP ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`;
  return `request #${outcome.index} (${outcome.label}${outcome.requestId ? `, request id ${outcome.requestId}` : ''}): ${answer} after ${Math.round(outcome.ms)} ms`;
}
