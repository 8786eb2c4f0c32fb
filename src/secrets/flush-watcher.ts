/**
 * Keeps this isolate's secret cache in step with flushes made anywhere: compares cache generations with
 * the CacheControl object at most every `intervalMs`, and flushes what changed. If the object cannot be
 * reached, requests go on (the TTL still bounds staleness) and the next request tries again.
 */
import { ALL_SECRETS } from './cache-control.ts';
import type { SecretCache } from './secret-cache.ts';

export interface GenerationSource {
  generations(): Promise<Record<string, number>>;
}

export class FlushWatcher {
  #known: Record<string, number> | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;

  constructor(
    private readonly source: GenerationSource,
    private readonly cache: SecretCache,
    private readonly clock: () => number,
    private readonly intervalMs = 3_000,
    private readonly log: (line: string) => void = (line) => console.log(line),
  ) {}

  /**
   * Flushes this isolate's cache for a flush it made itself (the admin route) and remembers the generation
   * that flush produced, so the next comparison does not flush the freshly refilled entry a second time.
   */
  flushLocally(key: string, generation: number): void {
    this.cache.flush(key === ALL_SECRETS ? undefined : key);
    if (this.#known) this.#known = { ...this.#known, [key]: Math.max(this.#known[key] ?? 0, generation) };
  }

  /** Resolves once the cache reflects every flush older than the interval. */
  check(): Promise<void> {
    if (this.clock() - this.#checkedAt < this.intervalMs) return Promise.resolve();
    this.#inflight ??= this.#compare().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async #compare(): Promise<void> {
    let current: Record<string, number>;
    try {
      current = await this.source.generations();
    } catch (error) {
      this.log(JSON.stringify({ type: 'cache_control_unavailable', detail: (error as Error).name }));
      return;
    }
    this.#checkedAt = this.clock();
    const known = this.#known;
    // The first look only learns the baseline: the cache was filled after any earlier flush anyway.
    if (!known) {
      this.#known = current;
      return;
    }
    // Generations only grow. Keep the larger of what the object says and what this isolate already
    // flushed itself (a local flush may have landed while this comparison was on its way).
    const merged = { ...known };
    for (const [key, generation] of Object.entries(current)) merged[key] = Math.max(merged[key] ?? 0, generation);
    this.#known = merged;
    const newer = (key: string) => (current[key] ?? 0) > (known[key] ?? 0);
    if (newer(ALL_SECRETS)) {
      this.cache.flush();
      return;
    }
    for (const key of Object.keys(current)) {
      if (key !== ALL_SECRETS && newer(key)) this.cache.flush(key);
    }
  }
}
