/** Writes each audit record as one JSON line to the Workers log (picked up by Logpush and SIEMs). */
import type { AuditRecord } from './audit-record.ts';
import type { AuditSink } from './audit-sink.ts';

export class LogAuditSink implements AuditSink {
  constructor(private readonly write: (line: string) => void = (line) => console.log(line)) {}

  async record(record: AuditRecord): Promise<void> {
    this.write(JSON.stringify(record));
  }
}
