/**
 * Recomputes every chain in an audit export and names the first broken record. Pure and synchronous, so
 * the CLI, tests and auditors' own tools can run exactly this.
 */
import { hashRecord, type ChainAnchor, type LedgerRecord } from './ledger-record.ts';

export type VerifyResult =
  | { ok: true; shards: number; records: number; anchors: ChainAnchor[] }
  | { ok: false; line: number; shard: number | null; seq: number | null; requestId: string | null; problem: string };

interface ExportEnd {
  type: 'export_end';
  shards: number;
  records_per_shard: number[];
}

export function verifyExport(ndjson: string): VerifyResult {
  const lines = ndjson.split('\n').filter((line) => line.trim() !== '');
  const heads = new Map<number, { seq: number; hash: string; count: number }>();
  const anchors: ChainAnchor[] = [];
  let end: ExportEnd | undefined;
  let total = 0;

  for (const [index, text] of lines.entries()) {
    const lineNumber = index + 1;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return broken(lineNumber, null, null, null, 'line is not JSON');
    }
    if (end) return broken(lineNumber, null, null, null, 'content after the export_end line');
    if (entry.type === 'anchor') {
      const anchor = entry as unknown as ChainAnchor;
      if (heads.has(anchor.shard)) return broken(lineNumber, anchor.shard, anchor.seq, null, 'second anchor for the same shard');
      heads.set(anchor.shard, { seq: anchor.seq, hash: anchor.hash, count: 0 });
      anchors.push(anchor);
      continue;
    }
    if (entry.type === 'export_end') {
      end = entry as unknown as ExportEnd;
      continue;
    }
    const record = entry as unknown as LedgerRecord;
    const requestId = typeof record.request_id === 'string' ? record.request_id : null;
    const head = heads.get(record.shard);
    if (!head) return broken(lineNumber, record.shard ?? null, record.seq ?? null, requestId, 'record before its shard anchor');
    if (record.seq !== head.seq + 1) {
      return broken(lineNumber, record.shard, record.seq, requestId, `expected seq ${head.seq + 1} (a record is missing or out of order)`);
    }
    if (record.prev_hash !== head.hash) return broken(lineNumber, record.shard, record.seq, requestId, 'prev_hash does not match the previous record');
    if (hashRecord(record) !== record.hash) return broken(lineNumber, record.shard, record.seq, requestId, 'hash does not match the record (it was altered)');
    heads.set(record.shard, { seq: record.seq, hash: record.hash, count: head.count + 1 });
    total++;
  }

  if (!end) return broken(lines.length, null, null, null, 'no export_end line (the export is truncated)');
  if (end.shards !== heads.size) return broken(lines.length, null, null, null, `export_end says ${end.shards} shards, found ${heads.size}`);
  for (const [shard, head] of heads) {
    if (end.records_per_shard[shard] !== head.count) {
      return broken(lines.length, shard, head.seq, null, `export_end says ${end.records_per_shard[shard]} records for shard ${shard}, found ${head.count} (records were deleted)`);
    }
  }
  return { ok: true, shards: heads.size, records: total, anchors };
}

function broken(line: number, shard: number | null, seq: number | null, requestId: string | null, problem: string): VerifyResult {
  return { ok: false, line, shard, seq, requestId, problem };
}
