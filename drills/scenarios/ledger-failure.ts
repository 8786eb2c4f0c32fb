/**
 * Drill 6, ledger failure: while every ledger shard refuses writes (drills/entry.ts), nothing is issued
 * and every request, valid token or not, gets 503 `audit_unavailable`; the ledger does not change. After
 * it recovers, the same tokens are issued (a failed attempt does not use up a token), and the chain
 * still verifies.
 */
import { describe, tally } from '../client.ts';
import { check, mintSandboxes, NAT_ADDRESS, scaled, type Drill } from '../drill.ts';
import { describeVerdict, exportLedger, ledgerTotals } from '../ledger.ts';

const SANDBOXES = 200;
const INVALID = 20;
const CONCURRENCY = 20;

export const ledgerFailure: Drill = {
  id: 6,
  name: 'ledger failure',
  async run(context) {
    const { broker, client, world } = context;
    const valid = await mintSandboxes(context, scaled(context, SANDBOXES), 'sb-ledger');
    const invalid = Array.from({ length: INVALID }, (_, i) => ({ label: `invalid token ${i}`, path: '/v1/credentials/codex', headers: { Authorization: `Bearer not.a.jwt${i}`, 'CF-Connecting-IP': NAT_ADDRESS } }));

    const before = await ledgerTotals(broker);
    const refused = await setRefusal(broker.dispatch.bind(broker), true);
    const during = await client.pool([...valid, ...invalid], CONCURRENCY);
    const whileDown = await ledgerTotals(broker);
    const recovered = await setRefusal(broker.dispatch.bind(broker), false);
    const after = await client.pool(valid, CONCURRENCY);
    const afterTotals = await ledgerTotals(broker);
    const ledger = await exportLedger(broker, context.scanner, 'ledger failure export');

    const notRefused = during.find((outcome) => outcome.status !== 503 || outcome.code !== 'audit_unavailable');
    const issuedWhileDown = during.filter((outcome) => outcome.status === 200).length;
    const notResumed = after.find((outcome) => outcome.status !== 200 || outcome.value !== world.valueOf.codex);
    const missing = after.find((outcome) => ledger.byRequestId.get(outcome.requestId ?? '')?.[0]?.outcome !== 'issued');
    return {
      counts: {
        'requests while down': during.length,
        ...Object.fromEntries(Object.entries(tally(during)).map(([key, count]) => [`down: ${key}`, count])),
        'ledger records added while down': whileDown.records - before.records,
        'retried after recovery': after.length,
        'after: 200': after.filter((outcome) => outcome.status === 200).length,
      },
      checks: [
        check('shards refused writes', refused, 'POST /__drill/ledger {"refuse": true}'),
        check('nothing issued while the ledger refuses', issuedWhileDown === 0 && !notRefused, `${issuedWhileDown} issued; all 503 audit_unavailable`, notRefused && describe(notRefused)),
        check(
          'ledger unchanged while down',
          whileDown.records === before.records && whileDown.redemptions === before.redemptions,
          `records ${before.records} → ${whileDown.records}, redemptions ${before.redemptions} → ${whileDown.redemptions}`,
        ),
        check('issuance resumes with the same tokens', recovered && !notResumed, `${after.filter((o) => o.status === 200).length}/${after.length} issued`, notResumed && describe(notResumed)),
        check('resumed issuances recorded', !missing && afterTotals.records - whileDown.records === after.length, `${afterTotals.records - whileDown.records} records added`, missing && describe(missing)),
        check('chain still verifies', ledger.verdict.ok, describeVerdict(ledger.verdict)),
      ],
    };
  },
};

async function setRefusal(dispatch: (path: string, init?: RequestInit) => Promise<Response>, refuse: boolean): Promise<boolean> {
  const response = await dispatch('/__drill/ledger', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refuse }) });
  const body = (await response.json()) as { refusing?: boolean[] };
  return response.status === 200 && Array.isArray(body.refusing) && body.refusing.every((state) => state === refuse);
}
