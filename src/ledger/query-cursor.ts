/** Opaque pagination cursors for audit queries: the (time, shard, seq) position of the last record returned. */
import { BrokerError } from '../errors.ts';
import type { QueryPosition } from './ledger-types.ts';

export function encodeCursor(position: QueryPosition): string {
  return btoa(JSON.stringify([position.time, position.shard, position.seq])).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

export function decodeCursor(cursor: string): QueryPosition {
  try {
    const [time, shard, seq] = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))) as unknown[];
    if (typeof time === 'string' && Number.isInteger(shard) && Number.isInteger(seq)) {
      return { time, shard: shard as number, seq: seq as number };
    }
  } catch {
    // fall through
  }
  throw new BrokerError('invalid_request', 'cursor is not one this broker issued');
}

/** The global order of audit records: time, then shard, then sequence within the shard. */
export function comparePositions(a: QueryPosition, b: QueryPosition): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.shard !== b.shard) return a.shard - b.shard;
  return a.seq - b.seq;
}
