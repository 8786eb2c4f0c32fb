/** The Worker's handle on the CacheControl singleton: read generations, bump one. */
import type { CacheControl } from './cache-control.ts';
import type { GenerationSource } from './flush-watcher.ts';

export interface CacheControlClient extends GenerationSource {
  bump(key: string): Promise<number>;
}

export function cacheControlClient(namespace: DurableObjectNamespace<CacheControl>): CacheControlClient {
  const stub = () => namespace.get(namespace.idFromName('cache-control'));
  return {
    generations: async () => (await stub().generations()) as Record<string, number>,
    bump: async (key) => (await stub().bump(key)) as number,
  };
}
