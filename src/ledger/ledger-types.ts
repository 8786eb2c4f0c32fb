/** Shapes exchanged between the Worker and the ledger shards. */
import type { ErrorCode } from '../errors.ts';
import type { ChainAnchor, LedgerRecord } from './ledger-record.ts';

export interface Redemption {
  iss: string;
  jti: string;
  credential: string;
  maxUses: number;
  /** Epoch seconds after which the token can no longer be presented (exp + leeway): the row may go then. */
  expiresAt: number;
}

export type RedeemResult =
  | { outcome: 'issued'; record: LedgerRecord }
  | { outcome: 'denied'; reason: Extract<ErrorCode, 'token_replayed'>; record: LedgerRecord };

export interface QueryPosition {
  time: string;
  shard: number;
  seq: number;
}

export interface AuditQuery {
  sub?: string;
  credential?: string;
  secret_version_id?: string;
  outcome?: string;
  since?: string;
  until?: string;
  after?: QueryPosition;
  limit: number;
}

export interface ExportRequest {
  since?: string;
  until?: string;
  afterSeq?: number;
  limit: number;
}

export interface ExportPage {
  anchor?: ChainAnchor;
  records: LedgerRecord[];
  done: boolean;
}
