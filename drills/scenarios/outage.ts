/**
 * Drill 3, Secrets Manager outage during a boot storm.
 *  - Warm cache: `stale` (TTL 2 s, stale window 5 min) is fetched once, then Secrets Manager drops every
 *    connection for it; once the TTL is over, a storm of sandboxes must all get the credential, and every
 *    one of those issuances must be marked `served_stale` in the ledger.
 *  - Cold cache: `cold-0` was never fetched and Secrets Manager never answers for it; every request must be
 *    answered 503 `upstream_unavailable` within 5 s.
 */
import { describe, tally } from '../client.ts';
import { check, mintSandboxes, percentile, scaled, sleep, type Drill } from '../drill.ts';
import { exportLedger } from '../ledger.ts';

const WARM_SANDBOXES = 500;
const COLD_SANDBOXES = 100;
const CONCURRENCY = 50;
const ANSWER_WITHIN_MS = 5_000;

export const outage: Drill = {
  id: 3,
  name: 'Secrets Manager outage',
  async run(context) {
    const { broker, client, world, secretsManager } = context;
    const staleSecret = world.secretOf.stale!;
    const coldSecret = world.secretOf['cold-0']!;

    // Warm the cache, then take Secrets Manager away for that secret.
    const [warmup] = await mintSandboxes(context, 1, 'sb-outage-warmup', 'stale');
    const warmed = await client.send(warmup!);
    const ttlMs = 2_000;
    const warmedAt = Date.now();
    secretsManager.setFaults({ dropConnections: true, secretNames: [staleSecret, coldSecret] });
    secretsManager.resetCalls();
    const warmRequests = await mintSandboxes(context, scaled(context, WARM_SANDBOXES), 'sb-outage-warm', 'stale');
    const coldRequests = await mintSandboxes(context, scaled(context, COLD_SANDBOXES), 'sb-outage-cold', 'cold-0');
    await sleep(Math.max(0, warmedAt + ttlMs + 500 - Date.now()));

    const warmOutcomes = await client.pool(warmRequests, CONCURRENCY);
    const droppedCalls = secretsManager.calls({ secretName: staleSecret });

    // Cold cache: a Secrets Manager that accepts the connection and never answers.
    secretsManager.setFaults({ hang: true, secretNames: [coldSecret] });
    const coldOutcomes = await client.pool(coldRequests, CONCURRENCY);
    secretsManager.clearFaults();
    const ledger = await exportLedger(broker, context.scanner, 'outage export');

    const warmFailure = warmOutcomes.find((outcome) => outcome.status !== 200 || outcome.value !== world.valueOf.stale);
    const notMarked = warmOutcomes.find((outcome) => {
      const record = ledger.byRequestId.get(outcome.requestId ?? '')?.[0];
      return !record || record.outcome !== 'issued' || record.served_stale !== true;
    });
    const coldWrong = coldOutcomes.find((outcome) => outcome.status !== 503 || outcome.code !== 'upstream_unavailable');
    const coldSlow = coldOutcomes.find((outcome) => outcome.ms > ANSWER_WITHIN_MS);
    const coldMax = Math.max(...coldOutcomes.map((outcome) => outcome.ms));
    const coldNotRecorded = coldOutcomes.find((outcome) => ledger.byRequestId.get(outcome.requestId ?? '')?.[0]?.reason !== 'upstream_unavailable');
    return {
      counts: {
        'warm requests': warmOutcomes.length,
        'warm 200 (stale)': warmOutcomes.filter((outcome) => outcome.status === 200).length,
        'calls refused during outage': droppedCalls,
        'cold requests': coldOutcomes.length,
        ...Object.fromEntries(Object.entries(tally(coldOutcomes)).map(([key, count]) => [`cold ${key}`, count])),
        'cold max ms': Math.round(coldMax),
        'cold p50 ms': Math.round(percentile(coldOutcomes.map((outcome) => outcome.ms), 0.5)),
      },
      checks: [
        check('cache warmed before the outage', warmed.status === 200, `warm-up answered ${warmed.status}`),
        check('warm cache: zero failures inside the stale window', !warmFailure, `${warmOutcomes.length} requests during the outage`, warmFailure && describe(warmFailure)),
        check('every stale issuance marked served_stale', !notMarked, 'ledger record of each warm request', notMarked && describe(notMarked)),
        check('cold cache: every request 503 upstream_unavailable', !coldWrong, `${coldOutcomes.length} requests`, coldWrong && describe(coldWrong)),
        check('cold cache: answered within 5 s', !coldSlow, `slowest ${Math.round(coldMax)} ms`, coldSlow && describe(coldSlow)),
        check('cold denials recorded', !coldNotRecorded, 'ledger record with reason upstream_unavailable', coldNotRecorded && describe(coldNotRecorded)),
      ],
    };
  },
};
