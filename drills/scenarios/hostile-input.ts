/**
 * Drill 8, hostile input at volume: 10,000 tokens from the property tests' mutation generator
 * (test/support/token-mutations.ts; each mutates a fresh valid token) plus oversized Authorization headers.
 * Zero issuances, zero 5xx, every answer in the status class its mutation allows, every attempt in the
 * ledger, and workerd's memory stays bounded.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { applyMutations, baseKey, mintBase, mutationChain, type MutatedRequest } from '../../test/support/token-mutations.ts';
import type { DrillRequest } from '../client.ts';
import { describe, tally } from '../client.ts';
import { check, scaled, type Drill } from '../drill.ts';
import { ledgerTotals } from '../ledger.ts';

const MUTATED = 10_000;
const CONCURRENCY = 50;
const SEED = 20261204;
/** Sizes of Authorization headers well past the broker's 8 KiB limit, up to what Node's client will send. */
const OVERSIZED_HEADER_BYTES = [8 * 1024 + 1, 16 * 1024, 32 * 1024, 60 * 1024];
/** workerd's resident memory may grow by at most this much over the drill (after a warm-up of 1,000). */
const RSS_GROWTH_LIMIT_MIB = 64;

export const hostileInput: Drill = {
  id: 8,
  name: 'hostile input',
  async run(context) {
    const { broker, client, world } = context;
    const count = scaled(context, MUTATED);
    const generated = await generateMutated(world.mutationWorld, count);
    const requests: DrillRequest[] = generated.map(({ request, recipe }, i) => ({
      label: `mutated #${i} ${recipe.slice(0, 160)}`,
      path: '/v1/credentials/codex',
      headers: { Authorization: request.authorization, 'CF-Connecting-IP': `198.51.100.${i % 200}` },
    }));
    for (const [i, size] of OVERSIZED_HEADER_BYTES.entries()) {
      requests.push({ label: `oversized Authorization header (${size} bytes)`, path: '/v1/credentials/codex', headers: { Authorization: `Bearer ${'a'.repeat(size - 7)}`, 'CF-Connecting-IP': `203.0.113.${i}` } });
    }
    const allowed = generated.map(({ request }) => request.statuses);

    const before = await ledgerTotals(broker);
    const rss: number[] = [];
    const sample = () => {
      const mib = workerdRssMiB(broker.workerdPid);
      if (mib !== undefined) rss.push(mib);
    };
    sample();
    let done = 0;
    const outcomes = await client.pool(requests, CONCURRENCY, {
      onOutcome: () => {
        if (++done % 500 === 0) sample();
      },
    });
    sample();
    const after = await ledgerTotals(broker);

    const issued = outcomes.find((outcome) => outcome.status === 200);
    const serverError = outcomes.find((outcome) => outcome.status === 'error' || outcome.status >= 500);
    const outOfClass = outcomes.find((outcome, i) => i < allowed.length && !allowed[i]!.includes(outcome.status as number));
    const oversized = outcomes.slice(generated.length);
    const oversizedWrong = oversized.find((outcome) => outcome.status !== 401 || outcome.code !== 'token_too_large');
    const slowOversized = Math.max(...oversized.map((outcome) => outcome.ms));
    const warm = rss[Math.min(2, rss.length - 1)] ?? 0;
    const peak = Math.max(...rss);
    return {
      counts: {
        requests: outcomes.length,
        ...tally(outcomes),
        'ledger records added': after.records - before.records,
        'redemptions added': after.redemptions - before.redemptions,
        'workerd RSS MiB (start/warm/peak/end)': rss.length ? `${rss[0]}/${warm}/${peak}/${rss.at(-1)}` : 'n/a',
      },
      checks: [
        check('zero issuances', !issued && after.redemptions === before.redemptions, `${outcomes.filter((o) => o.status === 200).length} 200s; redemptions ${before.redemptions} → ${after.redemptions}`, issued && describe(issued)),
        check('zero 5xx (and every request answered)', !serverError, 'statuses 400-499 only', serverError && describe(serverError)),
        check('each answer in the class its mutation allows', !outOfClass, '401, or 403 where the token verifies but the policy refuses it', outOfClass && describe(outOfClass)),
        check('oversized headers: 401 token_too_large, fast', !oversizedWrong && slowOversized < 1_000, `${oversized.length} requests, slowest ${Math.round(slowOversized)} ms`, oversizedWrong && describe(oversizedWrong)),
        check('every attempt recorded', after.records - before.records === outcomes.length, `${after.records - before.records} records for ${outcomes.length} requests`),
        check(
          'memory stays bounded',
          rss.length >= 2 && peak - warm <= RSS_GROWTH_LIMIT_MIB,
          rss.length ? `workerd RSS ${warm} MiB after warm-up, peak ${peak} MiB (limit +${RSS_GROWTH_LIMIT_MIB} MiB)` : 'workerd pid not found',
        ),
      ],
    };
  },
};

/** `count` mutated requests, reproducible from SEED; recipes that give back the valid token are skipped. */
async function generateMutated(world: Parameters<typeof applyMutations>[2], count: number): Promise<Array<{ request: MutatedRequest; recipe: string }>> {
  const out: Array<{ request: MutatedRequest; recipe: string }> = [];
  let seed = SEED;
  while (out.length < count) {
    const samples = fc.sample(fc.tuple(baseKey, mutationChain()), { numRuns: Math.min(1_000, (count - out.length) * 2), seed: seed++ });
    const built = await Promise.all(
      samples.map(async ([key, mutations]) => {
        const request = await applyMutations(await mintBase(world, key), mutations, world);
        return request ? { request, recipe: JSON.stringify(mutations) } : undefined;
      }),
    );
    for (const item of built) if (item && out.length < count) out.push(item);
  }
  return out;
}

function workerdRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

