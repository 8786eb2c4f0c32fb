/**
 * An issuer's key set fetched from its `jwks_uri`, with the behaviour an incident needs rather than
 * jose's default remote set:
 *  - cached, refreshed after `cacheMaxAgeMs`;
 *  - an unknown `kid` triggers at most one refetch per `cooldownMs`, so a flood of random `kid`s is not a
 *    flood of fetches (single flight: concurrent misses share one fetch);
 *  - fetched with a timeout and a size cap;
 *  - when the endpoint fails, the last good keys keep serving; only with no keys at all is it a 503.
 * Key selection and import stay with jose (createLocalJWKSet).
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { BrokerError } from '../errors.ts';
import { BodyTooLargeError, readTextCapped } from '../http/read-body.ts';

export interface RemoteKeySetOptions {
  fetch: typeof fetch;
  clock: () => Date;
  timeoutMs: number;
  cooldownMs: number;
  cacheMaxAgeMs: number;
  maxBytes: number;
  /** Told about fetch failures that are absorbed by serving cached keys. */
  onStaleServe?: (detail: string) => void;
}

/** With no keys cached, a failed fetch is retried at most this often. */
const UNCACHED_RETRY_MS = 1_000;

interface Cached {
  resolve: JWTVerifyGetKey;
  fetchedAt: number;
}

export class RemoteKeySet {
  #cached: Cached | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<Cached> | undefined;

  constructor(
    readonly uri: string,
    private readonly options: RemoteKeySetOptions,
  ) {}

  /** jose's key resolver signature. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const now = this.options.clock().getTime();
    let cached = this.#cached;
    if (!cached) {
      cached = await this.#refresh(now);
    } else if (now - cached.fetchedAt >= this.options.cacheMaxAgeMs && this.#mayFetch(now)) {
      cached = await this.#refresh(now).catch(() => cached!);
    }
    try {
      return await cached.resolve(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.#mayFetch(now)) throw error;
      // An unknown kid may be a freshly rotated key: look once, then not again until the cooldown passes.
      const refreshed = await this.#refresh(now).catch(() => cached!);
      return refreshed.resolve(header, token);
    }
  };

  /** Fetch attempts so far are visible to tests and operators through this. */
  get lastAttemptAt(): number {
    return this.#lastAttemptAt;
  }

  #mayFetch(now: number): boolean {
    return this.#inflight !== undefined || now - this.#lastAttemptAt >= this.options.cooldownMs;
  }

  #refresh(now: number): Promise<Cached> {
    if (this.#inflight) return this.#inflight;
    if (this.#cached && now - this.#lastAttemptAt < this.options.cooldownMs) return Promise.resolve(this.#cached);
    // With nothing cached and the endpoint failing, every request would otherwise be a fetch.
    if (!this.#cached && now - this.#lastAttemptAt < UNCACHED_RETRY_MS) {
      return Promise.reject(new BrokerError('key_set_unavailable', 'jwks fetch failed moments ago; not retried yet'));
    }
    this.#lastAttemptAt = now;
    this.#inflight = this.#fetchKeys()
      .then((jwks) => {
        this.#cached = { resolve: createLocalJWKSet(jwks), fetchedAt: this.options.clock().getTime() };
        return this.#cached;
      })
      .catch((error: unknown) => {
        const detail = error instanceof BrokerError ? (error.detail ?? error.code) : `jwks fetch failed: ${(error as Error).name}`;
        if (this.#cached) {
          this.options.onStaleServe?.(detail);
          return this.#cached;
        }
        throw new BrokerError('key_set_unavailable', detail, { cause: error });
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  async #fetchKeys(): Promise<JSONWebKeySet> {
    const response = await this.options.fetch(this.uri, {
      headers: { Accept: 'application/json' },
      // A redirect is not followed (workerd has no 'error' mode): it is a non-200 answer, so a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new BrokerError('key_set_unavailable', `jwks_uri answered HTTP ${response.status}`);
    }
    const text = await readCapped(response, this.options.maxBytes);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new BrokerError('key_set_unavailable', 'jwks_uri returned invalid JSON');
    }
    const keys = (document as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new BrokerError('key_set_unavailable', 'jwks_uri returned no "keys" array');
    // Only public asymmetric keys: a symmetric or private key in a published set is ignored, never used.
    const usable = keys.filter(
      (key): key is Record<string, unknown> =>
        typeof key === 'object' && key !== null && ['EC', 'OKP', 'RSA'].includes((key as { kty?: string }).kty ?? '') && !('d' in key),
    );
    return { keys: usable } as JSONWebKeySet;
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  try {
    return await readTextCapped(response, maxBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    const size = error.declaredBytes === undefined ? `exceeds ${maxBytes} bytes` : `of ${error.declaredBytes} bytes exceeds ${maxBytes}`;
    throw new BrokerError('key_set_unavailable', `jwks_uri body ${size}`);
  }
}
