/**
 * Request counts for assertions and drills. A request is counted when it has arrived (headers and body
 * read), before faults and auth, so requests that hang, are dropped or fail auth still count; its outcome is
 * filled in once known ('fault' for injected failures, 'error' for AWS errors, 'ok' otherwise).
 *
 * Counts are aggregated per (operation, secret, outcome) rather than kept per request, so long load drills
 * do not grow memory.
 */
import type { CallFilter, CallOutcome } from './types.ts';

interface Bucket {
  operation: string;
  secretName: string | undefined;
  outcome: CallOutcome | undefined;
  count: number;
}

export interface CallHandle {
  /** Sets (or, for a hung request that is later served, replaces) the outcome. */
  settle(outcome: CallOutcome): void;
}

export class CallLog {
  private buckets = new Map<string, Bucket>();
  private generation = 0;

  record(operation: string, secretName: string | undefined): CallHandle {
    const generation = this.generation;
    let current: CallOutcome | undefined;
    this.add(operation, secretName, undefined, 1);
    return {
      settle: (outcome) => {
        if (generation !== this.generation || outcome === current) return; // counted before a reset
        this.add(operation, secretName, current, -1);
        this.add(operation, secretName, outcome, 1);
        current = outcome;
      },
    };
  }

  count(filter: CallFilter = {}): number {
    let n = 0;
    for (const b of this.buckets.values()) {
      if (filter.operation !== undefined && b.operation !== filter.operation) continue;
      if (filter.secretName !== undefined && b.secretName !== filter.secretName) continue;
      if (filter.outcome !== undefined && b.outcome !== filter.outcome) continue;
      n += b.count;
    }
    return n;
  }

  reset(): void {
    this.buckets = new Map();
    this.generation++;
  }

  private add(operation: string, secretName: string | undefined, outcome: CallOutcome | undefined, delta: number): void {
    const key = JSON.stringify([operation, secretName ?? null, outcome ?? null]);
    const bucket = this.buckets.get(key) ?? { operation, secretName, outcome, count: 0 };
    bucket.count += delta;
    if (bucket.count === 0) this.buckets.delete(key);
    else this.buckets.set(key, bucket);
  }
}
