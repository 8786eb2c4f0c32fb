/**
 * Drill 2, replay storm: 200 tokens, each sent 20 times at once. Exactly 200 issuances and 3,800
 * `token_replayed`, and the ledger agrees: 4,000 records, 200 redemptions.
 */
import type { Outcome } from '../client.ts';
import { describe, tally } from '../client.ts';
import { check, mintSandboxes, scaled, type Drill } from '../drill.ts';
import { exportLedger, ledgerTotals } from '../ledger.ts';

const TOKENS = 200;
const COPIES = 20;
/** Ten tokens' worth of copies in flight at a time, so each token's 20 copies race each other. */
const CONCURRENCY = 200;

export const replayStorm: Drill = {
  id: 2,
  name: 'replay storm',
  async run(context) {
    const { broker, client } = context;
    const tokens = await mintSandboxes(context, scaled(context, TOKENS), 'sb-replay');
    // Token-major order: the pool starts all copies of one token together.
    const requests = tokens.flatMap((request) => Array.from({ length: COPIES }, (_, copy) => ({ ...request, label: `${request.label} copy ${copy + 1}` })));
    const before = await ledgerTotals(broker);
    const outcomes = await client.pool(requests, CONCURRENCY);
    const after = await ledgerTotals(broker);
    const ledger = await exportLedger(broker, context.scanner, 'replay storm export');

    const byToken = new Map<string, Outcome[]>();
    for (const outcome of outcomes) byToken.set(outcome.token!, [...(byToken.get(outcome.token!) ?? []), outcome]);
    const issued = outcomes.filter((outcome) => outcome.status === 200).length;
    const replayed = outcomes.filter((outcome) => outcome.status === 401 && outcome.code === 'token_replayed').length;
    const other = outcomes.find((outcome) => outcome.status !== 200 && !(outcome.status === 401 && outcome.code === 'token_replayed'));
    const twice = [...byToken.values()].find((copies) => copies.filter((outcome) => outcome.status === 200).length !== 1);
    const secondIssue = twice?.filter((outcome) => outcome.status === 200)[1] ?? twice?.[0];
    const records = outcomes.map((outcome) => ledger.byRequestId.get(outcome.requestId ?? '')?.[0]);
    const mismatch = outcomes.find((outcome, i) => {
      const record = records[i];
      if (!record) return true;
      return outcome.status === 200 ? record.outcome !== 'issued' : record.outcome !== 'denied' || record.reason !== 'token_replayed';
    });
    const expectedIssued = tokens.length;
    const expectedReplayed = tokens.length * (COPIES - 1);
    return {
      counts: {
        requests: outcomes.length,
        ...tally(outcomes),
        'ledger records added': after.records - before.records,
        'redemptions added': after.redemptions - before.redemptions,
      },
      checks: [
        check('exactly one issuance per token', issued === expectedIssued && !twice, `${issued} issued (expected ${expectedIssued})`, secondIssue && describe(secondIssue)),
        check('every other copy is token_replayed', replayed === expectedReplayed && !other, `${replayed} token_replayed (expected ${expectedReplayed})`, other && describe(other)),
        check(
          'ledger agrees',
          !mismatch && after.records - before.records === outcomes.length && after.redemptions - before.redemptions === expectedIssued,
          `${after.records - before.records} records, ${after.redemptions - before.redemptions} redemptions; each answer matches its record`,
          mismatch && describe(mismatch),
        ),
        check('chain verifies', ledger.verdict.ok, ledger.verdict.ok ? `${ledger.verdict.records} records` : ledger.verdict.problem),
      ],
    };
  },
};
