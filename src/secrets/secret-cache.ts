/**
 * The in-isolate cache in front of Secrets Manager, which is billed and throttled per call:
 *  - one entry per secret (always stage AWSCURRENT), fresh for the credential's TTL;
 *  - refreshed early, at a random 75–90 % of the TTL and in the background (kept alive with the request's
 *    waitUntil), so entries do not expire together and requests do not wait;
 *  - single flight: concurrent misses for one secret share one GetSecretValue;
 *  - stale-if-error: when a refresh fails for a transient reason, the last good value keeps serving for a
 *    bounded window, and the caller is told (the ledger records `served_stale`). Errors are never cached;
 *    refusals (secret deleted, access revoked) are never papered over.
 */
import { BrokerError } from '../errors.ts';
import type { SecretRef, SecretSource, SecretVersion } from './secret-source.ts';

export interface CachePolicy {
  ttlMs: number;
  /** 0 disables serving stale values. */
  staleIfErrorMs: number;
}

export interface CachedSecret {
  version: SecretVersion;
  servedStale: boolean;
}

interface Entry {
  version: SecretVersion;
  fetchedAt: number;
  /** Fraction of the TTL after which a background refresh starts. */
  refreshAt: number;
}

export interface SecretCacheOptions {
  clock: () => number;
  random?: () => number;
  /** Deadline for background refreshes, from their start. */
  refreshBudgetMs?: number;
}

export class SecretCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<SecretVersion>>();
  readonly #inflightGeneration = new Map<string, number>();
  readonly #random: () => number;
  /** Bumped by every flush: a fetch that started before a flush must not refill the cache with its result. */
  #generation = 0;

  constructor(
    private readonly source: SecretSource,
    private readonly options: SecretCacheOptions,
  ) {
    this.#random = options.random ?? Math.random;
  }

  async get(
    ref: SecretRef,
    policy: CachePolicy,
    { deadlineAt, background }: { deadlineAt: number; background?: (work: Promise<unknown>) => void },
  ): Promise<CachedSecret> {
    const now = this.options.clock();
    const entry = this.#entries.get(ref.secretId);
    if (entry) {
      const age = now - entry.fetchedAt;
      if (age < policy.ttlMs) {
        if (age >= policy.ttlMs * entry.refreshAt) this.#refreshInBackground(ref, now, background);
        return { version: entry.version, servedStale: false };
      }
      try {
        return { version: await this.#load(ref, deadlineAt), servedStale: false };
      } catch (error) {
        const transient = error instanceof BrokerError && error.code === 'upstream_unavailable';
        if (transient && age < policy.ttlMs + policy.staleIfErrorMs) return { version: entry.version, servedStale: true };
        throw error;
      }
    }
    return { version: await this.#load(ref, deadlineAt), servedStale: false };
  }

  /** The secret's current version id, straight from the source (never cached): for health checks. */
  describeCurrent(ref: SecretRef, options: { deadlineAt: number }): Promise<{ versionId: string }> {
    return this.source.describeCurrent(ref, options);
  }

  /** Drops one secret's entry, or all entries. The next request fetches afresh. */
  flush(secretId?: string): void {
    this.#generation++;
    if (secretId === undefined) this.#entries.clear();
    else this.#entries.delete(secretId);
  }

  get size(): number {
    return this.#entries.size;
  }

  #refreshInBackground(ref: SecretRef, now: number, background: ((work: Promise<unknown>) => void) | undefined): void {
    if (this.#inflight.has(ref.secretId)) return;
    const work = this.#load(ref, now + (this.options.refreshBudgetMs ?? 4_000)).catch(() => undefined);
    background?.(work);
  }

  #load(ref: SecretRef, deadlineAt: number): Promise<SecretVersion> {
    const pending = this.#inflight.get(ref.secretId);
    if (pending && this.#inflightGeneration.get(ref.secretId) === this.#generation) return pending;
    const generation = this.#generation;
    const load = this.source
      .getCurrent(ref, { deadlineAt })
      .then((version) => {
        if (generation === this.#generation) {
          this.#entries.set(ref.secretId, { version, fetchedAt: this.options.clock(), refreshAt: 0.75 + this.#random() * 0.15 });
        }
        return version;
      })
      .finally(() => {
        if (this.#inflight.get(ref.secretId) === load) this.#inflight.delete(ref.secretId);
      });
    this.#inflight.set(ref.secretId, load);
    this.#inflightGeneration.set(ref.secretId, generation);
    return load;
  }
}
