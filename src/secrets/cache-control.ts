/**
 * A singleton Durable Object that holds cache generations: one per secret, plus a global one. A flush
 * bumps a generation here; every isolate compares generations at most every few seconds and drops what
 * changed. So a flush reaches all isolates within seconds, not just the one that received the call.
 */
import { DurableObject } from 'cloudflare:workers';

export const ALL_SECRETS = '*';

export class CacheControl extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.#sql = ctx.storage.sql;
    this.#sql.exec('CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, generation INTEGER NOT NULL)');
  }

  /** Bumps the generation of one secret (or of all: `*`) and returns the new value. */
  bump(key: string): number {
    return this.#sql
      .exec<{ generation: number }>(
        'INSERT INTO generations (key, generation) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET generation = generation + 1 RETURNING generation',
        key,
      )
      .one().generation;
  }

  generations(): Record<string, number> {
    return Object.fromEntries(this.#sql.exec<{ key: string; generation: number }>('SELECT key, generation FROM generations').toArray().map((row) => [row.key, row.generation]));
  }
}
