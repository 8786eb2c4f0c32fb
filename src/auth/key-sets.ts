/**
 * One key resolver per issuer, created on first use and kept for the life of the isolate so that remote
 * key sets stay cached between requests.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { CompiledIssuer } from '../policy/compile.ts';
import { RemoteKeySet, type RemoteKeySetOptions } from './remote-key-set.ts';

export type KeySetOptions = Omit<RemoteKeySetOptions, 'onStaleServe'>;

export const DEFAULT_KEY_SET_OPTIONS = {
  /** Abort a key-set fetch after this long; the sandbox must get an answer well within 5 s. */
  timeoutMs: 2_000,
  /** Minimum time between refetches triggered by an unknown `kid`. */
  cooldownMs: 30_000,
  /** How long fetched keys are used before a refresh is attempted. */
  cacheMaxAgeMs: 10 * 60_000,
  /** A key set is a few KiB; refuse anything much larger. */
  maxBytes: 64 * 1024,
} as const;

export class KeySets {
  readonly #resolvers = new Map<string, JWTVerifyGetKey>();
  readonly #remote = new Map<string, RemoteKeySet>();

  constructor(
    private readonly options: KeySetOptions,
    private readonly log: (line: string) => void = (line) => console.log(line),
  ) {}

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
    if (source.type === 'inline') return createLocalJWKSet(source.jwks as unknown as JSONWebKeySet);
    const remote = new RemoteKeySet(source.uri, {
      ...this.options,
      onStaleServe: (detail) => this.log(JSON.stringify({ type: 'key_set_stale', iss: issuer.iss, detail })),
    });
    this.#remote.set(issuer.iss, remote);
    return remote.getKey;
  }
}
