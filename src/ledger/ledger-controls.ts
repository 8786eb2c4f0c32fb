/**
 * Incident controls (revocations, kill switches) across all shards. A write returns only once every shard
 * holds it, so the next redemption anywhere sees it; a partial failure is an error and the (idempotent)
 * write can simply be retried.
 */
import { shardStub, type LedgerNamespace } from './durable-object-ledger.ts';
import type { KillSwitch, Revocation } from './ledger-types.ts';

export class LedgerControls {
  constructor(
    private readonly namespace: LedgerNamespace,
    private readonly shardCount: number,
  ) {}

  async putRevocation(revocation: Revocation): Promise<void> {
    await this.#everyShard((stub) => stub.putRevocation(revocation));
  }

  async deleteRevocation(id: string): Promise<boolean> {
    return (await this.#everyShard((stub) => stub.deleteRevocation(id))).some(Boolean);
  }

  async listRevocations(): Promise<Revocation[]> {
    return unionBy((await this.#everyShard((stub) => stub.listRevocations())) as Revocation[][], (revocation) => revocation.id);
  }

  async putKillSwitch(killSwitch: KillSwitch): Promise<void> {
    await this.#everyShard((stub) => stub.putKillSwitch(killSwitch));
  }

  async deleteKillSwitch(credential: string): Promise<boolean> {
    return (await this.#everyShard((stub) => stub.deleteKillSwitch(credential))).some(Boolean);
  }

  async listKillSwitches(): Promise<KillSwitch[]> {
    return unionBy((await this.#everyShard((stub) => stub.listKillSwitches())) as KillSwitch[][], (killSwitch) => killSwitch.credential);
  }

  #everyShard<T>(call: (stub: ReturnType<typeof shardStub>) => Promise<T> | T): Promise<T[]> {
    return Promise.all(Array.from({ length: this.shardCount }, (_, shard) => call(shardStub(this.namespace, shard))));
  }
}

/** Shards should agree; if a fan-out was interrupted they may not, and the union shows everything held anywhere. */
function unionBy<T>(lists: T[][], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of lists.flat()) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
