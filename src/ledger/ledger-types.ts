/** Shapes exchanged between the Worker and the ledger shards. */
import type { ErrorCode } from '../errors.ts';
import type { ChainAnchor, LedgerRecord } from './ledger-record.ts';

export interface Redemption {
  iss: string;
  sub: string;
  jti: string;
  credential: string;
  maxUses: number;
  /** Epoch seconds after which the token can no longer be presented (exp + leeway): the row may go then. */
  expiresAt: number;
}

export type RedeemResult =
  | { outcome: 'issued'; record: LedgerRecord }
  | { outcome: 'denied'; reason: Extract<ErrorCode, 'token_replayed' | 'token_revoked' | 'credential_disabled' | 'token_expired'>; record: LedgerRecord };

/** A revoked sandbox (`sub`) or token (`jti`), optionally limited to one issuer, until a time. */
export type Revocation = {
  /** Deterministic (`kind:iss:value`), so replicating it to every shard is idempotent. */
  id: string;
  kind: 'sub' | 'jti';
  iss: string | null;
  value: string;
  /** Epoch seconds. */
  until: number;
  reason: string | null;
  created_at: string;
  created_by: string | null;
};

/** A credential whose issuance is switched off until the switch is removed. */
export type KillSwitch = {
  credential: string;
  reason: string | null;
  created_at: string;
  created_by: string | null;
};

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
