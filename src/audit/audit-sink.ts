import type { AuditRecord } from './audit-record.ts';

/** Where audit records go. `record` resolves only once the record is durable; a rejection means it is not. */
export interface AuditSink {
  record(record: AuditRecord): Promise<void>;
}
