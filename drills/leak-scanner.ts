/**
 * Looks for canary values in everything the broker says outside a 200 body: log lines, error bodies,
 * ledger exports, CLI output. Streams are scanned as they arrive (with a carry-over, so a canary split
 * across two chunks is still found); nothing is kept but counts and the first hit of each source.
 */
export type LeakSource = 'log' | 'error-body' | 'ledger-export' | 'cli-output' | 'admin-body';

export interface LeakHit {
  source: LeakSource;
  where: string;
}

export class LeakScanner {
  readonly bytes = new Map<LeakSource, number>();
  readonly items = new Map<LeakSource, number>();
  readonly hits: LeakHit[] = [];
  /** 200 bodies that carried a canary, where it belongs: shows the canaries were really handed out. */
  issuedCanaries = 0;
  readonly #longest: number;

  constructor(private readonly canaries: Set<string>) {
    this.#longest = Math.max(...[...canaries].map((canary) => canary.length));
  }

  /** A canary added later (a rotated value) is looked for from then on. */
  add(canary: string): void {
    this.canaries.add(canary);
  }

  scan(source: LeakSource, text: string, where: string): void {
    this.bytes.set(source, (this.bytes.get(source) ?? 0) + text.length);
    this.items.set(source, (this.items.get(source) ?? 0) + 1);
    for (const canary of this.canaries) {
      if (text.includes(canary)) this.hits.push({ source, where });
    }
  }

  /** A scanner for one stream: chunks are joined with the tail of the previous one. */
  stream(source: LeakSource, where: string): (chunk: string) => void {
    let carry = '';
    return (chunk) => {
      const text = carry + chunk;
      this.bytes.set(source, (this.bytes.get(source) ?? 0) + chunk.length);
      for (const canary of this.canaries) {
        if (text.includes(canary)) this.hits.push({ source, where });
      }
      carry = text.slice(-(Math.max(this.#longest, ...[...this.canaries].map((c) => c.length)) - 1));
    };
  }

  /** A value from a 200 body: counted if it is a canary (the positive control of the scan). */
  issued(value: string | null): void {
    if (value !== null && this.canaries.has(value)) this.issuedCanaries++;
  }

  /** Counts a log line (for the report); the bytes were scanned by `stream`. */
  countItems(source: LeakSource, count: number): void {
    this.items.set(source, (this.items.get(source) ?? 0) + count);
  }
}
