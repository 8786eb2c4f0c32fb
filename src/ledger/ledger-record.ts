/**
 * A ledger record and its hash. Records are flat JSON objects; the hash covers the record's canonical
 * JSON (keys sorted, `hash` itself excluded), which includes `shard`, `seq` and `prev_hash`. So changing,
 * inserting, deleting or reordering any record breaks the chain from that point on. Shared by the Durable
 * Object that writes records and the CLI that verifies exports.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { AuditRecord } from '../audit/audit-record.ts';

/** The `prev_hash` of a shard's first record. */
export const GENESIS_HASH = '0'.repeat(64);

export type LedgerRecord = AuditRecord & {
  shard: number;
  seq: number;
  prev_hash: string;
  hash: string;
};

/** A line of an export that is not a record: where a shard's verifiable chain starts. */
export interface ChainAnchor {
  type: 'anchor';
  shard: number;
  /** The record before the first exported one (0 = genesis). */
  seq: number;
  hash: string;
  /** `pruned`: records up to `seq` were deleted by retention; `range`: the export starts after them. */
  reason: 'genesis' | 'pruned' | 'range';
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** Synchronous on purpose: the Durable Object computes it inside one transaction, with no await. */
export function hashRecord(record: Omit<LedgerRecord, 'hash'> | LedgerRecord): string {
  const { hash: _ignored, ...rest } = record as LedgerRecord;
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(rest))));
}
