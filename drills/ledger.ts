/**
 * What the drills read back from the ledger: a full export through the admin route (the same NDJSON that
 * `token-broker audit export` writes), indexed by request id, and verified with the same pure function
 * that `token-broker audit verify` runs.
 */
import type { Broker } from '../bench/harness.ts';
import type { LedgerRecord } from '../src/ledger/ledger-record.ts';
import { verifyExport, type VerifyResult } from '../src/ledger/verify-export.ts';
import type { LeakScanner } from './leak-scanner.ts';

export interface LedgerView {
  ndjson: string;
  records: LedgerRecord[];
  /** Records of credential requests (issued or denied), by request id. */
  byRequestId: Map<string, LedgerRecord[]>;
  verdict: VerifyResult;
}

export async function exportLedger(broker: Broker, scanner: LeakScanner, where: string): Promise<LedgerView> {
  const response = await broker.dispatch('/v1/admin/audit/export', { headers: { Authorization: `Bearer ${await broker.adminToken()}` } });
  const ndjson = await response.text();
  scanner.scan('ledger-export', ndjson, where);
  if (response.status !== 200) throw new Error(`audit export (${where}): HTTP ${response.status} ${ndjson.slice(0, 200)}`);
  const records: LedgerRecord[] = [];
  const byRequestId = new Map<string, LedgerRecord[]>();
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as LedgerRecord | { type: string };
    if (entry.type !== 'audit') continue;
    const record = entry as LedgerRecord;
    records.push(record);
    const list = byRequestId.get(record.request_id) ?? [];
    list.push(record);
    byRequestId.set(record.request_id, list);
  }
  return { ndjson, records, byRequestId, verdict: verifyExport(ndjson) };
}

/** Records per shard, straight from the objects (cheaper than an export, for before/after counts). */
export async function ledgerTotals(broker: Broker): Promise<{ records: number; redemptions: number }> {
  const stats = await broker.ledgerStats();
  return stats.reduce((sum, shard) => ({ records: sum.records + shard.records, redemptions: sum.redemptions + shard.redemptions }), { records: 0, redemptions: 0 });
}

export function describeVerdict(verdict: VerifyResult): string {
  if (verdict.ok) return `chain ok: ${verdict.records} records in ${verdict.shards} shards`;
  return `chain BROKEN at line ${verdict.line} (shard ${verdict.shard}, seq ${verdict.seq}, request ${verdict.requestId}): ${verdict.problem}`;
}
