/**
 * One jose key resolver per issuer, created on first use and kept for the life of the isolate so that
 * remote key sets stay cached between requests.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { BrokerError } from '../errors.ts';
import type { CompiledIssuer } from '../policy/compile.ts';

export interface KeySetOptions {
  fetch: typeof fetch;
  /** Abort a key-set fetch after this long; the sandbox must get an answer well within 5 s. */
  timeoutMs: number;
  /** Minimum time between refetches triggered by an unknown `kid`. */
  cooldownMs: number;
  /** How long fetched keys are trusted before a refetch. */
  cacheMaxAgeMs: number;
}

export const DEFAULT_KEY_SET_OPTIONS: Omit<KeySetOptions, 'fetch'> = {
  timeoutMs: 2_000,
  cooldownMs: 30_000,
  cacheMaxAgeMs: 10 * 60_000,
};

export class KeySets {
  readonly #resolvers = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly options: KeySetOptions) {}

  for(issuer: CompiledIssuer): JWTVerifyGetKey {
    let resolver = this.#resolvers.get(issuer.iss);
    if (!resolver) {
      resolver = this.#create(issuer);
      this.#resolvers.set(issuer.iss, resolver);
    }
    return resolver;
  }

  #create(issuer: CompiledIssuer): JWTVerifyGetKey {
    const source = issuer.keySource;
    if (source.type === 'inline') {
      return createLocalJWKSet(source.jwks as unknown as JSONWebKeySet);
    }
    const remote = createRemoteJWKSet(new URL(source.uri), {
      timeoutDuration: this.options.timeoutMs,
      cooldownDuration: this.options.cooldownMs,
      cacheMaxAge: this.options.cacheMaxAgeMs,
      [customFetch]: this.options.fetch,
    });
    // A key set we cannot fetch is our outage (503), not the caller's bad token (401).
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
        throw new BrokerError('key_set_unavailable', `jwks fetch failed: ${code ?? (error as Error).name}`, { cause: error });
      }
    };
  }
}
