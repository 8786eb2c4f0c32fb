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

/**
 * JSON with object keys sorted (by UTF-16 code units, which is what both `Array#sort` and `<` compare) and
 * undefined members left out. Every record's hash depends on this exact output: change it and no existing
 * chain verifies.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  let json = '';
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    json += `${json ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `{${json}}`;
}

/** Synchronous on purpose: the Durable Object computes it inside one transaction, with no await. */
export function hashRecord(record: Omit<LedgerRecord, 'hash'> | LedgerRecord): string {
  const { hash: _ignored, ...rest } = record as LedgerRecord;
  return hashCanonicalJson(canonicalJson(rest));
}

/** The hash of a record already serialised with `canonicalJson` (without its `hash`). */
export function hashCanonicalJson(json: string): string {
  return bytesToHex(sha256(utf8ToBytes(json)));
}
