/**
 * Fault injection. Applied per request after it is counted and before auth, in this order:
 * hang → drop → latency → throttle → 5xx. The randomness is injectable so rates are testable
 * (a rate of 1 always fires, 0 never; each rate draws one number only when it is non-zero).
 */
import type { Faults } from './types.ts';

export interface FaultPlan {
  hang: boolean;
  drop: boolean;
  latencyMs: number;
  throttle: boolean;
  error: boolean;
}

const NO_FAULT: FaultPlan = { hang: false, drop: false, latencyMs: 0, throttle: false, error: false };
const KNOWN_KEYS = new Set(['latencyMs', 'throttleRate', 'errorRate', 'dropConnections', 'hang', 'operations', 'secretNames']);

export class FaultInjector {
  private faults: Faults = {};
  /** Requests parked by `hang`; resolved with true when the hang is lifted, false when the server closes. */
  private readonly parked = new Set<(released: boolean) => void>();
  private readonly timers = new Map<NodeJS.Timeout, (completed: boolean) => void>();
  private closed = false;

  constructor(private readonly random: () => number) {}

  /** Replaces the whole fault set. Lifting `hang` lets parked requests continue to auth and the operation. */
  set(faults: Faults): void {
    this.faults = validateFaults(faults);
    if (!this.faults.hang) this.releaseParked(true);
  }

  current(): Faults {
    return structuredClone(this.faults);
  }

  plan(operation: string, secretName?: string): FaultPlan {
    const f = this.faults;
    if (f.operations && !f.operations.includes(operation)) return NO_FAULT;
    // Scoping faults to some secrets lets parallel tests share one server without disturbing each other.
    if (f.secretNames && (secretName === undefined || !f.secretNames.includes(secretName))) return NO_FAULT;
    return {
      hang: f.hang === true,
      drop: f.dropConnections === true,
      latencyMs: f.latencyMs ?? 0,
      throttle: this.fires(f.throttleRate),
      error: this.fires(f.errorRate),
    };
  }

  /**
   * Resolves true when the hang is lifted; false when the server shuts down or `signal` fires (the client
   * went away), so abandoned requests do not pile up during a long hang.
   */
  park(signal: AbortSignal): Promise<boolean> {
    if (this.closed || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (released: boolean) => {
        this.parked.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve(released);
      };
      const onAbort = () => done(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.parked.add(done);
    });
  }

  /** Resolves true after `ms`; false early if the server shuts down or `signal` fires. */
  delay(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.closed || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(completed);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.timers.set(timer, finish);
    });
  }

  shutdown(): void {
    this.closed = true;
    this.releaseParked(false);
    for (const finish of [...this.timers.values()]) finish(false);
  }

  private releaseParked(released: boolean): void {
    for (const done of [...this.parked]) done(released);
  }

  private fires(rate: number | undefined): boolean {
    if (!rate) return false;
    return this.random() < rate;
  }
}

/** Strict, so a typo in a drill script ("throttle: 1") fails loudly instead of silently injecting nothing. */
export function validateFaults(input: unknown): Faults {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError('faults must be an object');
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!KNOWN_KEYS.has(key)) throw new TypeError(`unknown fault "${key}"`);
  }
  const out: Faults = {};
  if (f.latencyMs !== undefined) {
    if (typeof f.latencyMs !== 'number' || !Number.isFinite(f.latencyMs) || f.latencyMs < 0) {
      throw new TypeError('latencyMs must be a number >= 0');
    }
    out.latencyMs = f.latencyMs;
  }
  for (const key of ['throttleRate', 'errorRate'] as const) {
    const rate = f[key];
    if (rate === undefined) continue;
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new TypeError(`${key} must be a number in [0, 1]`);
    out[key] = rate;
  }
  for (const key of ['dropConnections', 'hang'] as const) {
    const flag = f[key];
    if (flag === undefined) continue;
    if (typeof flag !== 'boolean') throw new TypeError(`${key} must be a boolean`);
    out[key] = flag;
  }
  if (f.secretNames !== undefined) {
    if (!Array.isArray(f.secretNames) || !f.secretNames.every((name) => typeof name === 'string')) {
      throw new TypeError('secretNames must be an array of secret names');
    }
    out.secretNames = [...(f.secretNames as string[])];
  }
  if (f.operations !== undefined) {
    if (!Array.isArray(f.operations) || !f.operations.every((op) => typeof op === 'string')) {
      throw new TypeError('operations must be an array of operation names');
    }
    out.operations = [...(f.operations as string[])];
  }
  return out;
}
