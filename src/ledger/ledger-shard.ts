/**
 * One ledger shard: a Durable Object with SQLite storage that holds a hash-chained audit trail and the
 * redemption counts of the tokens that map to it.
 *
 * Every state change runs synchronously from its first read to its last write (no await in between), so a
 * Durable Object runs it as one atomic step: no other request can interleave, and its SQLite writes commit
 * together. That is what makes "count the redemption and append its record" indivisible.
 *
 * Group commit: `append` and `redeem` do not write at once; each queues its step and the queue is run on
 * the next turn of the event loop, every queued step in arrival order inside one synchronous run, so the
 * attempts that arrived meanwhile share one SQLite transaction (one commit, one sync to disk) instead of
 * paying for one each. Nothing about an attempt changes: its own check, its own count, its own
 * hash-chained record, in the order the attempts arrived. And no answer leaves early: the output gate
 * holds every reply of this object, RPC results included, until the transaction that wrote its record is
 * durable; if that commit fails, the replies are never sent (the callers see an error, nothing is issued).
 */
import { DurableObject } from 'cloudflare:workers';
import type { AuditRecord } from '../audit/audit-record.ts';
import { canonicalJson, GENESIS_HASH, hashCanonicalJson, type ChainAnchor, type LedgerRecord } from './ledger-record.ts';
import type { AuditQuery, ExportPage, ExportRequest, KillSwitch, Redemption, RedeemResult, Revocation } from './ledger-types.ts';

export const MAX_QUERY_LIMIT = 500;

type Head = {
  seq: number;
  hash: string;
};

export class LedgerShard extends DurableObject {
  readonly #sql: SqlStorage;
  #head: Head;
  /**
   * Incident controls mirrored in memory: this object is their only writer, so the copies stay exact, and
   * every redemption checks them without a query.
   */
  readonly #killSwitches = new Set<string>();
  readonly #revocations = new Map<string, Revocation>();
  /** When the alarm is set for (ms), so that most redemptions need not ask storage. */
  #alarmAt: number | null | undefined;
  /** Steps waiting for the next write turn (see the group commit note above), in arrival order. */
  #queued: QueuedStep[] = [];

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        outcome TEXT NOT NULL,
        sub TEXT,
        jti TEXT,
        credential TEXT,
        secret_version_id TEXT,
        body TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS records_time ON records (time, seq);
      CREATE INDEX IF NOT EXISTS records_sub ON records (sub, time);
      CREATE INDEX IF NOT EXISTS records_credential ON records (credential, time);
      CREATE INDEX IF NOT EXISTS records_version ON records (secret_version_id, time);
      CREATE TABLE IF NOT EXISTS redemptions (
        iss TEXT NOT NULL,
        jti TEXT NOT NULL,
        credential TEXT NOT NULL,
        uses INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (iss, jti, credential)
      );
      CREATE INDEX IF NOT EXISTS redemptions_expiry ON redemptions (expires_at);
      CREATE TABLE IF NOT EXISTS revocations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('sub', 'jti')),
        iss TEXT,
        value TEXT NOT NULL,
        until INTEGER NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT
      );
      CREATE INDEX IF NOT EXISTS revocations_value ON revocations (kind, value);
      CREATE TABLE IF NOT EXISTS kill_switches (
        credential TEXT PRIMARY KEY,
        reason TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT
      );
      CREATE TABLE IF NOT EXISTS anchor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        pruned_at TEXT NOT NULL
      );
    `);
    this.#head = this.#readHead();
    for (const { credential } of this.#sql.exec<{ credential: string }>('SELECT credential FROM kill_switches')) this.#killSwitches.add(credential);
    for (const revocation of this.#sql.exec<Revocation>('SELECT id, kind, iss, value, until, reason, created_at, created_by FROM revocations')) {
      this.#revocations.set(revocation.id, revocation);
    }
  }

  /** Appends one record (a denial, or any attempt that redeems nothing). Resolves with the record written. */
  append(shard: number, record: AuditRecord): Promise<LedgerRecord> {
    return this.#enqueue(() => this.#append(shard, record));
  }

  /**
   * Counts one use of the token for the credential and appends the issuance record, or, if the token has
   * no uses left, appends a `token_replayed` denial instead. Both in one atomic step.
   */
  redeem(shard: number, record: AuditRecord, redemption: Redemption): Promise<RedeemResult> {
    return this.#enqueue(() => this.#redeem(shard, record, redemption));
  }

  /** Queues a write step; the first step of a turn schedules the run that writes them all. */
  #enqueue<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queued = this.#queued.push({ step, resolve: resolve as (value: unknown) => void, reject });
      // A timer, not a microtask: other calls to this object that are already waiting get delivered first.
      if (queued === 1) setTimeout(() => this.#runQueued(), 0);
    });
  }

  /** Runs every queued step, synchronously and in order: their writes share one implicit transaction. */
  #runQueued(): void {
    const steps = this.#queued;
    this.#queued = [];
    for (const { step, resolve, reject } of steps) {
      try {
        resolve(step());
      } catch (error) {
        reject(error);
      }
    }
  }

  #redeem(shard: number, record: AuditRecord, redemption: Redemption): RedeemResult {
    const refusal = this.#refusal(redemption);
    if (refusal) {
      const denied = this.#append(shard, { ...record, outcome: 'denied', ...refusal, issuance_id: null, value_fingerprint: null });
      return { outcome: 'denied', reason: refusal.reason, record: denied };
    }
    // One statement counts the use if one is left: a new row starts at 1, an existing row grows only while
    // below max_uses; no row back means no use was left.
    const counted = this.#sql
      .exec<{ uses: number }>(
        `INSERT INTO redemptions (iss, jti, credential, uses, expires_at) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (iss, jti, credential) DO UPDATE SET uses = uses + 1 WHERE uses < ?
         RETURNING uses`,
        redemption.iss,
        redemption.jti,
        redemption.credential,
        redemption.expiresAt,
        redemption.maxUses,
      )
      .toArray()[0];
    if (!counted) {
      const denied = this.#append(shard, {
        ...record,
        outcome: 'denied',
        reason: 'token_replayed',
        detail: `all ${redemption.maxUses} uses taken`,
        issuance_id: null,
        value_fingerprint: null,
      });
      return { outcome: 'denied', reason: 'token_replayed', record: denied };
    }
    const issued = this.#append(shard, record);
    this.#scheduleExpiry(redemption.expiresAt);
    return { outcome: 'issued', record: issued };
  }

  /**
   * Incident controls, replicated to every shard so that the redemption step checks them atomically.
   * Writes are idempotent (keyed by revocation id / credential), so a retried fan-out converges.
   */
  putRevocation(revocation: Revocation): void {
    this.#sql.exec(
      `INSERT INTO revocations (id, kind, iss, value, until, reason, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at, created_by = excluded.created_by`,
      revocation.id,
      revocation.kind,
      revocation.iss,
      revocation.value,
      revocation.until,
      revocation.reason,
      revocation.created_at,
      revocation.created_by,
    );
    this.#revocations.set(revocation.id, { ...revocation });
    this.#scheduleExpiry(revocation.until);
  }

  deleteRevocation(id: string): boolean {
    this.#revocations.delete(id);
    return this.#sql.exec('DELETE FROM revocations WHERE id = ?', id).rowsWritten > 0;
  }

  listRevocations(): Revocation[] {
    const now = Math.floor(Date.now() / 1000);
    return [...this.#revocations.values()].filter((revocation) => revocation.until > now).sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  }

  putKillSwitch(killSwitch: KillSwitch): void {
    this.#sql.exec(
      `INSERT INTO kill_switches (credential, reason, created_at, created_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (credential) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, created_by = excluded.created_by`,
      killSwitch.credential,
      killSwitch.reason,
      killSwitch.created_at,
      killSwitch.created_by,
    );
    this.#killSwitches.add(killSwitch.credential);
  }

  deleteKillSwitch(credential: string): boolean {
    this.#killSwitches.delete(credential);
    return this.#sql.exec('DELETE FROM kill_switches WHERE credential = ?', credential).rowsWritten > 0;
  }

  listKillSwitches(): KillSwitch[] {
    return this.#sql.exec<KillSwitch>('SELECT credential, reason, created_at, created_by FROM kill_switches ORDER BY credential').toArray();
  }

  /** Records matching the filter, in (time, seq) order, after the cursor position. */
  query(shard: number, query: AuditQuery): LedgerRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const field of ['sub', 'credential', 'secret_version_id', 'outcome'] as const) {
      const value = query[field];
      if (value !== undefined) {
        where.push(`${field} = ?`);
        params.push(value);
      }
    }
    if (query.since !== undefined) {
      where.push('time >= ?');
      params.push(query.since);
    }
    if (query.until !== undefined) {
      where.push('time < ?');
      params.push(query.until);
    }
    if (query.after) {
      // Keyset pagination across shards: the global order is (time, shard, seq).
      const { time, shard: afterShard, seq } = query.after;
      if (shard < afterShard) where.push('time > ?'), params.push(time);
      else if (shard === afterShard) where.push('(time > ? OR (time = ? AND seq > ?))'), params.push(time, time, seq);
      else where.push('time >= ?'), params.push(time);
    }
    const limit = Math.min(Math.max(1, query.limit), MAX_QUERY_LIMIT);
    const rows = this.#sql
      .exec<{ body: string; hash: string }>(
        `SELECT body, hash FROM records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, seq LIMIT ?`,
        ...params,
        limit,
      )
      .toArray();
    return rows.map(toLedgerRecord);
  }

  /** A page of the chain in seq order, for exports. The first page says where its chain starts. */
  exportPage(shard: number, request: ExportRequest): ExportPage {
    const params: (string | number)[] = [request.afterSeq ?? -1];
    let where = 'seq > ?';
    if (request.since !== undefined) (where += ' AND time >= ?'), params.push(request.since);
    if (request.until !== undefined) (where += ' AND time < ?'), params.push(request.until);
    const limit = Math.min(Math.max(1, request.limit), MAX_QUERY_LIMIT);
    const records = this.#sql
      .exec<{ body: string; hash: string }>(`SELECT body, hash FROM records WHERE ${where} ORDER BY seq LIMIT ?`, ...params, limit)
      .toArray()
      .map(toLedgerRecord);
    const page: ExportPage = { records, done: records.length < limit };
    if (request.afterSeq === undefined) page.anchor = this.#anchorBefore(shard, records[0]);
    return page;
  }

  /**
   * Deletes records older than `before` and keeps the hash of the last deleted one as the shard's anchor,
   * so the records that remain still verify from there.
   */
  prune(shard: number, before: string): { pruned: number; anchor: ChainAnchor } {
    const last = this.#sql
      .exec<{ seq: number; hash: string }>('SELECT seq, hash FROM records WHERE time < ? ORDER BY seq DESC LIMIT 1', before)
      .toArray()[0];
    if (!last) return { pruned: 0, anchor: this.#anchorBefore(shard, undefined) };
    const { rowsWritten } = this.#sql.exec('DELETE FROM records WHERE seq <= ?', last.seq);
    this.#sql.exec(
      'INSERT INTO anchor (id, seq, hash, pruned_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at',
      last.seq,
      last.hash,
      new Date().toISOString(),
    );
    return { pruned: rowsWritten, anchor: { type: 'anchor', shard, seq: last.seq, hash: last.hash, reason: 'pruned' } };
  }

  /** How many redemptions are held, and the chain head: for tests and operators. */
  stats(): { records: number; redemptions: number; head: Head } {
    const records = this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM records').one().n;
    const redemptions = this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM redemptions').one().n;
    return { records, redemptions, head: { ...this.#head } };
  }

  /** Forgets redemptions of expired tokens (they can no longer be presented) and lapsed revocations. */
  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.#sql.exec('DELETE FROM redemptions WHERE expires_at <= ?', now);
    this.#sql.exec('DELETE FROM revocations WHERE until <= ?', now);
    for (const [id, revocation] of this.#revocations) if (revocation.until <= now) this.#revocations.delete(id);
    const next = this.#sql
      .exec<{ at: number | null }>('SELECT min(at) AS at FROM (SELECT min(expires_at) AS at FROM redemptions UNION ALL SELECT min(until) FROM revocations)')
      .one().at;
    this.#alarmAt = next === null ? null : next * 1000;
    if (next !== null) await this.ctx.storage.setAlarm(next * 1000);
  }

  /** Why this redemption must not happen, if it must not: a kill switch, an expired token, a revoked sandbox or token. */
  #refusal(redemption: Redemption): { reason: 'credential_disabled' | 'token_revoked' | 'token_expired'; detail: string } | undefined {
    if (this.#killSwitches.has(redemption.credential)) return { reason: 'credential_disabled', detail: 'kill switch on' };
    const now = Math.floor(Date.now() / 1000);
    // The alarm forgets redemptions once expiresAt has passed; a token verified just before that but
    // redeemed after it (a slow upstream in between) would otherwise start a fresh count.
    if (redemption.expiresAt <= now) return { reason: 'token_expired', detail: 'expired before its redemption was recorded' };
    if (this.#revocations.size === 0) return undefined;
    for (const revocation of this.#revocations.values()) {
      if (revocation.until <= now || (revocation.iss !== null && revocation.iss !== redemption.iss)) continue;
      const value = revocation.kind === 'jti' ? redemption.jti : redemption.sub;
      if (revocation.value === value) return { reason: 'token_revoked', detail: `revocation ${revocation.id}` };
    }
    return undefined;
  }


  #append(shard: number, record: AuditRecord): LedgerRecord {
    const unsigned = { ...record, time: new Date().toISOString(), shard, seq: this.#head.seq + 1, prev_hash: this.#head.hash };
    // One serialisation for both the stored body and the hash (hashRecord would serialise it again).
    const body = canonicalJson(unsigned);
    const hash = hashCanonicalJson(body);
    this.#sql.exec(
      'INSERT INTO records (seq, time, outcome, sub, jti, credential, secret_version_id, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      unsigned.seq,
      unsigned.time,
      unsigned.outcome,
      unsigned.sub,
      unsigned.jti,
      unsigned.credential,
      unsigned.secret_version_id,
      body,
      hash,
    );
    this.#head = { seq: unsigned.seq, hash };
    return { ...unsigned, hash };
  }

  #readHead(): Head {
    const last = this.#sql.exec<Head>('SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1').toArray()[0];
    if (last) return last;
    const anchor = this.#sql.exec<Head>('SELECT seq, hash FROM anchor WHERE id = 1').toArray()[0];
    return anchor ?? { seq: 0, hash: GENESIS_HASH };
  }

  #anchorBefore(shard: number, first: LedgerRecord | undefined): ChainAnchor {
    const pruned = this.#sql.exec<Head>('SELECT seq, hash FROM anchor WHERE id = 1').toArray()[0];
    if (!first) {
      return pruned ? { type: 'anchor', shard, ...pruned, reason: 'pruned' } : { type: 'anchor', shard, seq: 0, hash: GENESIS_HASH, reason: 'genesis' };
    }
    const seq = first.seq - 1;
    const reason = seq === 0 ? 'genesis' : pruned && pruned.seq === seq ? 'pruned' : 'range';
    return { type: 'anchor', shard, seq, hash: first.prev_hash, reason };
  }

  #scheduleExpiry(expiresAt: number): void {
    const at = expiresAt * 1000;
    if (this.#alarmAt !== undefined && this.#alarmAt !== null && this.#alarmAt <= at) return;
    // setAlarm is a storage write the output gate holds the response for; no await needed for atomicity.
    void this.ctx.storage.getAlarm().then((current) => {
      if (current !== null && current <= at) {
        this.#alarmAt = current;
        return;
      }
      this.#alarmAt = at;
      return this.ctx.storage.setAlarm(at);
    });
  }

}

interface QueuedStep {
  step: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

function toLedgerRecord(row: { body: string; hash: string }): LedgerRecord {
  return { ...(JSON.parse(row.body) as Omit<LedgerRecord, 'hash'>), hash: row.hash };
}
