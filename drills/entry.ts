/**
 * The drills' Worker: the broker exactly as deployed (src/index.ts), plus one thing a drill needs and a
 * deployment must never have: a switch that makes every ledger shard refuse writes.
 *
 *   POST /__drill/ledger {"refuse": true | false}
 *
 * The refusal happens inside the LedgerShard objects (an exception thrown by the real Durable Object, which
 * reaches the Worker as a failed RPC), so the drill exercises the same failure path as a shard whose storage
 * fails. The switch is stored in each shard's own SQLite, so it survives the object being evicted.
 * Never bundled for deployment: wrangler.toml's `main` is src/index.ts.
 */
import broker, { CacheControl, LedgerShard as BrokerLedgerShard, pruneExpiredAudit } from '../src/index.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import type { BrokerEnv } from '../src/config/env.ts';
import { shardStub, type LedgerNamespace } from '../src/ledger/durable-object-ledger.ts';
import type { Redemption } from '../src/ledger/ledger-types.ts';

export { CacheControl, pruneExpiredAudit };

const REFUSAL = 'drill: ledger shard refusing writes';

export class LedgerShard extends BrokerLedgerShard {
  #refusing: boolean;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS drill_switch (id INTEGER PRIMARY KEY CHECK (id = 1), refusing INTEGER NOT NULL)');
    this.#refusing = ctx.storage.sql.exec<{ refusing: number }>('SELECT refusing FROM drill_switch WHERE id = 1').toArray()[0]?.refusing === 1;
  }

  drillRefuseWrites(refusing: boolean): boolean {
    this.ctx.storage.sql.exec(
      'INSERT INTO drill_switch (id, refusing) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET refusing = excluded.refusing',
      refusing ? 1 : 0,
    );
    this.#refusing = refusing;
    return refusing;
  }

  override append(shard: number, record: AuditRecord): ReturnType<BrokerLedgerShard['append']> {
    if (this.#refusing) throw new Error(REFUSAL);
    return super.append(shard, record);
  }

  override redeem(shard: number, record: AuditRecord, redemption: Redemption): ReturnType<BrokerLedgerShard['redeem']> {
    if (this.#refusing) throw new Error(REFUSAL);
    return super.redeem(shard, record, redemption);
  }
}

type DrillShardStub = { drillRefuseWrites(refusing: boolean): Promise<boolean> };

async function setLedgerRefusal(request: Request, env: BrokerEnv): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { refuse?: unknown } | null;
  if (typeof body?.refuse !== 'boolean') return Response.json({ error: 'body must be {"refuse": boolean}' }, { status: 400 });
  const namespace = env.LEDGER as unknown as LedgerNamespace;
  const shards = Number(env.LEDGER_SHARDS ?? '4');
  const states = await Promise.all(
    Array.from({ length: shards }, (_, shard) => (shardStub(namespace, shard) as unknown as DrillShardStub).drillRefuseWrites(body.refuse as boolean)),
  );
  return Response.json({ shards, refusing: states });
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__drill/ledger' && request.method === 'POST') return setLedgerRefusal(request, env);
    return broker.fetch(request, env, ctx);
  },
  scheduled: broker.scheduled,
} satisfies ExportedHandler<BrokerEnv>;
