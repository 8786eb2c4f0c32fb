/**
 * Drill 7, restart: a broker with persisted local state (Durable Object storage on disk) is stopped in the
 * middle of a boot storm, with requests in flight, and started again on the same state. Then every token
 * of the storm is presented again. No answered request's ledger record is lost, no token is issued twice
 * across the restart, and the chain verifies.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Outcome } from '../client.ts';
import { createDrillClient, describe, tally } from '../client.ts';
import { cliVerify } from '../cli.ts';
import { check, mintSandboxes, scaled, sleep, type Drill } from '../drill.ts';
import { exportLedger } from '../ledger.ts';

const SANDBOXES = 1_200;
const RATE_PER_SECOND = 300;
const CONCURRENCY = 40;
/** The broker is stopped this long into the storm. */
const STOP_AFTER_MS = 1_500;

export const restart: Drill = {
  id: 7,
  name: 'restart mid-storm',
  async run(context) {
    const persistDir = mkdtempSync(join(context.dir, 'restart-state-'));
    const requests = await mintSandboxes(context, scaled(context, SANDBOXES), 'sb-restart');

    const first = await context.startBroker({ persistDir });
    const firstClient = createDrillClient(first.url, context.scanner, { timeoutMs: 10_000 });
    let stopping = false;
    const storm = firstClient.pool(requests, CONCURRENCY, { ratePerSecond: RATE_PER_SECOND * context.scale, stop: () => stopping });
    await sleep(STOP_AFTER_MS);
    stopping = true;
    const stopStarted = performance.now();
    await first.stop();
    const stopMs = performance.now() - stopStarted;
    const before = await storm;
    firstClient.close();

    const second = await context.startBroker({ persistDir });
    const secondClient = createDrillClient(second.url, context.scanner);
    let after: Outcome[];
    try {
      after = await secondClient.pool(requests, CONCURRENCY);
    } finally {
      secondClient.close();
    }
    const ledger = await exportLedger(second, context.scanner, 'restart export');
    const verified = await cliVerify(second, context.scanner, context.dir, 'restart');
    await second.stop();

    const answered = before.filter((outcome) => outcome.status !== 'error');
    const cutOff = before.filter((outcome) => outcome.status === 'error');
    const lost = answered.find((outcome) => !ledger.byRequestId.has(outcome.requestId ?? ''));
    const issuedBefore = new Set(before.filter((outcome) => outcome.status === 200).map((outcome) => outcome.token));
    const issuedTwice = after.find((outcome) => outcome.status === 200 && issuedBefore.has(outcome.token));
    const issuedRecords = new Map<string, number>();
    for (const record of ledger.records) {
      if (record.outcome === 'issued' && record.jti) issuedRecords.set(record.jti, (issuedRecords.get(record.jti) ?? 0) + 1);
    }
    const doubleRecord = [...issuedRecords.entries()].find(([, count]) => count > 1);
    const afterWrong = after.find((outcome) => !(outcome.status === 200 || (outcome.status === 401 && outcome.code === 'token_replayed')));
    // A replay after the restart of a token nobody saw issued: its issuance must be in the ledger (the answer
    // was cut off on the way out), or the broker refused a token that was never used.
    const unexplained = after.find((outcome) => {
      if (outcome.status !== 401 || issuedBefore.has(outcome.token)) return false;
      const sub = outcome.label;
      return !ledger.records.some((record) => record.outcome === 'issued' && record.sub === sub);
    });
    const issuedButLost = after.filter((outcome) => outcome.status === 401 && !issuedBefore.has(outcome.token)).length;
    return {
      counts: {
        'sent before stop': before.length,
        'answered before stop': answered.length,
        'cut off by the stop': cutOff.length,
        'stop took ms': Math.round(stopMs),
        'presented after restart': after.length,
        ...Object.fromEntries(Object.entries(tally(after)).map(([key, count]) => [`after: ${key}`, count])),
        'issued, answer cut off': issuedButLost,
      },
      checks: [
        check('stopped with requests in flight', cutOff.length > 0 || answered.length < requests.length, `${cutOff.length} requests cut off, ${requests.length - before.length} not yet sent`),
        check('no answered request lost from the ledger', !lost, `${answered.length} answered before the stop, each found after the restart`, lost && describe(lost)),
        check('no token issued twice across the restart', !issuedTwice && !doubleRecord, doubleRecord ? `jti ${doubleRecord[0]} has ${doubleRecord[1]} issued records` : 'per token: at most one 200 and one issued record', issuedTwice && describe(issuedTwice)),
        check('after the restart: issued or token_replayed', !afterWrong, JSON.stringify(tally(after)), afterWrong && describe(afterWrong)),
        check('every replay is explained by an issued record', !unexplained, `${issuedButLost} tokens issued before the stop whose answer was cut off`, unexplained && describe(unexplained)),
        check('audit verify passes after the restart', verified.ok, verified.summary),
      ],
    };
  },
};
