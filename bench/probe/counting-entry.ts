/**
 * Bench-only entry: the broker's own Worker (src/index.ts, unchanged), with its Durable Object namespaces and
 * rate limiters wrapped so that every call through a binding is counted by binding and method, and timed
 * (call to settle, with the runtime's clock, which advances locally); outbound `fetch` (Secrets Manager) too.
 * Used only for counts and the latency
 * breakdown; throughput is measured on the deployable bundle, not on this.
 *
 *   GET /__bench/binding-calls → {"requests": n, "requestMs": total, "calls": {"LEDGER.redeem": n, …},
 *                                 "ms": {"LEDGER.redeem": total, …}} since the last read (reading resets)
 */
import broker from '../../src/index.ts';
import type { BrokerEnv } from '../../src/config/env.ts';

export { LedgerShard, CacheControl } from '../../src/index.ts';

interface Tally {
  requests: number;
  requestMs: number;
  calls: Record<string, number>;
  ms: Record<string, number>;
}
const emptyTally = (): Tally => ({ requests: 0, requestMs: 0, calls: {}, ms: {} });
let tally = emptyTally();
const count = (key: string) => (tally.calls[key] = (tally.calls[key] ?? 0) + 1);
const addMs = (key: string, ms: number) => (tally.ms[key] = (tally.ms[key] ?? 0) + ms);

/** Times a result that is a promise (or RPC thenable) until it settles; returns it unchanged. */
function timed<T>(key: string, result: T): T {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return result;
  const then = Reflect.get(result as object, 'then') as unknown;
  if (typeof then !== 'function') return result;
  const started = performance.now();
  const settle = () => addMs(key, performance.now() - started);
  // A separate branch: the caller still sees the original outcome.
  Reflect.apply(then as (a: () => void, b: () => void) => unknown, result, [settle, settle]);
  return result;
}

/** Wraps an object so that calling any of its methods is counted as `${label}.${method}`. */
function counted<T extends object>(label: string, target: T): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const key = `${label}.${property}`;
        count(key);
        // Reflect.apply, not value.apply: on an RPC stub, `.apply` would be a remote property.
        return timed(key, Reflect.apply(value as (...a: unknown[]) => unknown, object, args));
      };
    },
  });
}

/** A namespace whose stubs count their RPC calls; id helpers are not counted (they are not calls). */
function countedNamespace<T extends object>(label: string, namespace: T): T {
  return new Proxy(namespace, {
    get(object, property) {
      const value = Reflect.get(object, property) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'get' || property === 'getByName') {
        return (...args: unknown[]) => counted(label, Reflect.apply(value as (...a: unknown[]) => object, object, args));
      }
      return (...args: unknown[]) => Reflect.apply(value as (...a: unknown[]) => unknown, object, args);
    },
  });
}

// Outbound fetch is the Secrets Manager call (the AWS SDK's fetch handler looks up the global at call time).
const originalFetch = globalThis.fetch;
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  count('fetch');
  return timed('fetch', originalFetch(...args));
}) as typeof fetch;

let wrapped: BrokerEnv | undefined;

function wrapEnv(env: BrokerEnv): BrokerEnv {
  if (wrapped) return wrapped;
  wrapped = {
    ...env,
    ...(env.LEDGER ? { LEDGER: countedNamespace('LEDGER', env.LEDGER) } : {}),
    ...(env.CACHE_CONTROL ? { CACHE_CONTROL: countedNamespace('CACHE_CONTROL', env.CACHE_CONTROL) } : {}),
    ...(env.SANDBOX_RATE_LIMITER ? { SANDBOX_RATE_LIMITER: counted('SANDBOX_RATE_LIMITER', env.SANDBOX_RATE_LIMITER) } : {}),
    ...(env.INVALID_TOKEN_RATE_LIMITER ? { INVALID_TOKEN_RATE_LIMITER: counted('INVALID_TOKEN_RATE_LIMITER', env.INVALID_TOKEN_RATE_LIMITER) } : {}),
  } as BrokerEnv;
  return wrapped;
}

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/binding-calls') {
      const snapshot = tally;
      tally = emptyTally();
      return Response.json(snapshot);
    }
    const started = performance.now();
    try {
      return await broker.fetch(request, wrapEnv(env), ctx);
    } finally {
      tally.requests++;
      tally.requestMs += performance.now() - started;
    }
  },
} satisfies ExportedHandler<BrokerEnv>;
