/** Reads across all ledger shards: merged queries, streamed exports, retention. */
import type { AuditRecord } from '../audit/audit-record.ts';
import type { LedgerNamespace } from './durable-object-ledger.ts';
import { shardStub } from './durable-object-ledger.ts';
import type { LedgerRecord } from './ledger-record.ts';
import type { AuditQuery } from './ledger-types.ts';
import { comparePositions, encodeCursor } from './query-cursor.ts';

const EXPORT_PAGE_SIZE = 500;

export class LedgerReader {
  constructor(
    private readonly namespace: LedgerNamespace,
    readonly shardCount: number,
  ) {}

  /** Up to `limit` records in global (time, shard, seq) order, and a cursor if there may be more. */
  async query(query: AuditQuery): Promise<{ records: LedgerRecord[]; nextCursor: string | null }> {
    const perShard = await Promise.all(
      this.#shards().map(async (shard) => (await shardStub(this.namespace, shard).query(shard, query)) as LedgerRecord[]),
    );
    const merged = perShard.flat().sort(comparePositions);
    const records = merged.slice(0, query.limit);
    const last = records.at(-1);
    const more = merged.length > query.limit || perShard.some((page) => page.length === query.limit);
    return { records, nextCursor: last && more ? encodeCursor(last) : null };
  }

  /**
   * NDJSON: for each shard, an anchor line (where its verifiable chain starts) then its records in
   * sequence order; finally an `export_end` line with counts, so a truncated export is detectable.
   */
  exportNdjson(range: { since?: string; until?: string }): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const shards = this.#shards();
    const counts: number[] = [];
    let shardIndex = 0;
    let afterSeq: number | undefined;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (shardIndex >= shards.length) {
          controller.enqueue(encoder.encode(`${JSON.stringify({ type: 'export_end', shards: shards.length, records_per_shard: counts, ...range })}\n`));
          controller.close();
          return;
        }
        const shard = shards[shardIndex]!;
        const page = await shardStub(this.namespace, shard).exportPage(shard, {
          ...range,
          ...(afterSeq === undefined ? {} : { afterSeq }),
          limit: EXPORT_PAGE_SIZE,
        });
        const lines = [...(page.anchor ? [page.anchor] : []), ...page.records].map((line) => `${JSON.stringify(line)}\n`);
        if (lines.length > 0) controller.enqueue(encoder.encode(lines.join('')));
        counts[shardIndex] = (counts[shardIndex] ?? 0) + page.records.length;
        afterSeq = page.records.at(-1)?.seq ?? afterSeq;
        if (page.done) {
          shardIndex++;
          afterSeq = undefined;
        }
      },
    });
  }

  /** Appends a probe record to every shard: proves each one is writable right now. */
  async probe(record: AuditRecord): Promise<Array<{ shard: number; ok: boolean; seq?: number; error?: string }>> {
    return Promise.all(
      this.#shards().map(async (shard) => {
        try {
          const written = (await shardStub(this.namespace, shard).append(shard, record)) as LedgerRecord;
          return { shard, ok: true, seq: written.seq };
        } catch (error) {
          return { shard, ok: false, error: (error as Error).name };
        }
      }),
    );
  }

  async prune(before: string): Promise<{ pruned: number[] }> {
    const results = await Promise.all(this.#shards().map((shard) => shardStub(this.namespace, shard).prune(shard, before)));
    return { pruned: results.map((result) => result.pruned) };
  }

  #shards(): number[] {
    return Array.from({ length: this.shardCount }, (_, shard) => shard);
  }
}
