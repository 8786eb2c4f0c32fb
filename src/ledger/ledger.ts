/** The Worker's view of the ledger: where every attempt is recorded and every redemption counted. */
import type { AuditRecord } from '../audit/audit-record.ts';
import type { LedgerRecord } from './ledger-record.ts';
import type { RedeemResult, Redemption } from './ledger-types.ts';

export interface Ledger {
  /** Appends a record; resolves once it is durable. Rejects if it cannot be written. */
  append(record: AuditRecord): Promise<LedgerRecord>;
  /** Atomically counts one use and appends the issuance record, or appends a `token_replayed` denial. */
  redeem(record: AuditRecord, redemption: Redemption): Promise<RedeemResult>;
}
