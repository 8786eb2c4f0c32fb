/**
 * Ledger backed by LedgerShard Durable Objects. Attempts with the same token go to the same shard; each
 * record, once durable, is also written as one JSON line to the Workers log for Logpush and SIEMs.
 */
import type { AuditRecord } from '../audit/audit-record.ts';
import type { Ledger } from './ledger.ts';
import type { LedgerRecord } from './ledger-record.ts';
import type { LedgerShard } from './ledger-shard.ts';
import type { RedeemResult, Redemption } from './ledger-types.ts';
import { shardFor, tokenShardKey } from './shard-for.ts';

export type LedgerNamespace = DurableObjectNamespace<LedgerShard>;

/**
 * Shard ids by namespace, computed once per isolate (idFromName hashes the name each time). Ids are plain
 * values and safe to keep; stubs are made fresh per call, because a stub that saw an error stays broken.
 */
const shardIds = new WeakMap<LedgerNamespace, DurableObjectId[]>();

export function shardStub(namespace: LedgerNamespace, shard: number): DurableObjectStub<LedgerShard> {
  let ids = shardIds.get(namespace);
  if (!ids) shardIds.set(namespace, (ids = []));
  return namespace.get((ids[shard] ??= namespace.idFromName(`ledger-shard-${shard}`)));
}

export class DurableObjectLedger implements Ledger {
  constructor(
    private readonly namespace: LedgerNamespace,
    private readonly shardCount: number,
    private readonly log: (line: string) => void = (line) => console.log(line),
  ) {}

  async append(record: AuditRecord): Promise<LedgerRecord> {
    const key = record.iss !== null && record.jti !== null ? tokenShardKey(record.iss, record.jti) : record.request_id;
    const shard = shardFor(key, this.shardCount);
    return this.#logged(record, () => shardStub(this.namespace, shard).append(shard, record));
  }

  async redeem(record: AuditRecord, redemption: Redemption): Promise<RedeemResult> {
    const shard = shardFor(tokenShardKey(redemption.iss, redemption.jti), this.shardCount);
    let result: RedeemResult | undefined;
    await this.#logged(record, async () => {
      result = (await shardStub(this.namespace, shard).redeem(shard, record, redemption)) as RedeemResult;
      return result.record;
    });
    return result!;
  }

  async #logged(record: AuditRecord, write: () => Promise<LedgerRecord>): Promise<LedgerRecord> {
    try {
      const written = (await write()) as LedgerRecord;
      this.log(JSON.stringify(written));
      return written;
    } catch (error) {
      // The record still reaches the log, marked as not in the ledger.
      this.log(JSON.stringify({ ...record, ledger: 'unavailable' }));
      throw error;
    }
  }
}
