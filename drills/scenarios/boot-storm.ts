/**
 * Drill 1, boot storm: 2,000 sandboxes, each with its own token, fetch a credential within 60 s. Zero
 * failures; exactly one ledger record per request; `token-broker audit verify` passes afterwards.
 */
import { describe, tally } from '../client.ts';
import { cliVerify } from '../cli.ts';
import { check, mintSandboxes, percentile, scaled, type Drill } from '../drill.ts';
import { exportLedger, ledgerTotals } from '../ledger.ts';

const SANDBOXES = 2_000;
const CONCURRENCY = 50;
const WITHIN_MS = 60_000;

export const bootStorm: Drill = {
  id: 1,
  name: 'boot storm',
  async run(context) {
    const { broker, client, world } = context;
    const requests = await mintSandboxes(context, scaled(context, SANDBOXES), 'sb-boot');
    const before = await ledgerTotals(broker);
    const started = performance.now();
    const outcomes = await client.pool(requests, CONCURRENCY);
    const elapsedMs = performance.now() - started;
    const after = await ledgerTotals(broker);
    const ledger = await exportLedger(broker, context.scanner, 'boot storm export');
    const verified = await cliVerify(broker, context.scanner, context.dir, 'boot-storm');

    const failed = outcomes.find((outcome) => outcome.status !== 200);
    const wrongValue = outcomes.find((outcome) => outcome.status === 200 && outcome.value !== world.valueOf.codex);
    const notOnce = outcomes.find((outcome) => {
      const records = ledger.byRequestId.get(outcome.requestId ?? '') ?? [];
      return records.length !== 1 || records[0]!.outcome !== 'issued' || records[0]!.sub !== outcome.label;
    });
    const latencies = outcomes.map((outcome) => outcome.ms);
    return {
      counts: {
        requests: outcomes.length,
        ...tally(outcomes),
        'elapsed s': +(elapsedMs / 1000).toFixed(1),
        'p99 ms': Math.round(percentile(latencies, 0.99)),
        'ledger records added': after.records - before.records,
      },
      checks: [
        check('zero failures', !failed, `${outcomes.filter((o) => o.status === 200).length}/${outcomes.length} answered 200`, failed && describe(failed)),
        check('within 60 s', elapsedMs <= WITHIN_MS, `${(elapsedMs / 1000).toFixed(1)} s`),
        check('each got the stored value', !wrongValue, 'values compared with the seeded secret', wrongValue && describe(wrongValue)),
        check(
          'one ledger record per request',
          !notOnce && after.records - before.records === outcomes.length,
          `${after.records - before.records} records appended for ${outcomes.length} requests; each request id found once, issued, with its sandbox id`,
          notOnce && describe(notOnce),
        ),
        check('audit verify passes', verified.ok, verified.summary),
      ],
    };
  },
};
