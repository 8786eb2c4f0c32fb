/**
 * Drill 8, hostile input at volume: 10,000 tokens from the property tests' mutation generator
 * (test/support/token-mutations.ts; each mutates a fresh valid token) plus oversized Authorization headers.
 * Each comes from its own address, so all of them reach the verifier; then 1,000 come from one address,
 * which the invalid-token limit (wrangler.toml) cuts off. Zero issuances, zero 5xx, every answer in the
 * status class its mutation allows, every attempt in the ledger, and workerd's memory stays bounded.
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
const FLOOD = 1_000;
const FLOOD_ADDRESS = '203.0.113.66';

export const hostileInput: Drill = {
  id: 8,
  name: 'hostile input',
  async run(context) {
    const { broker, client, world } = context;
    const count = scaled(context, MUTATED);
    const generated = await generateMutated(world.mutationWorld, count);
    // Each mutated token from its own address (the worst case: a botnet), so every one reaches the verifier.
    const requests: DrillRequest[] = generated.map(({ request, recipe }, i) => ({
      label: `mutated #${i} ${recipe.slice(0, 160)}`,
      path: '/v1/credentials/codex',
      headers: { Authorization: request.authorization, 'CF-Connecting-IP': `2001:db8::${(i + 1).toString(16)}` },
    }));
    for (const [i, size] of OVERSIZED_HEADER_BYTES.entries()) {
      requests.push({
        label: `oversized Authorization header (${size} bytes)`,
        path: '/v1/credentials/codex',
        headers: { Authorization: `Bearer ${'a'.repeat(size - 7)}`, 'CF-Connecting-IP': `2001:db8:1::${i + 1}` },
      });
    }
    // Then one address sends many: past the invalid-token limit it is refused before any token work.
    const flood: DrillRequest[] = generated.slice(0, scaled(context, FLOOD)).map(({ request }, i) => ({
      label: `flood #${i} from ${FLOOD_ADDRESS}`,
      path: '/v1/credentials/codex',
      headers: { Authorization: request.authorization, 'CF-Connecting-IP': FLOOD_ADDRESS },
    }));
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
    const floodOutcomes = await client.pool(flood, CONCURRENCY);
    const after = await ledgerTotals(broker);
    const limit = context.rateLimits.invalidToken;

    const everything = [...outcomes, ...floodOutcomes];
    const issued = everything.find((outcome) => outcome.status === 200);
    const serverError = everything.find((outcome) => outcome.status === 'error' || outcome.status >= 500);
    const floodLimited = floodOutcomes.filter((outcome) => outcome.status === 429);
    const floodBadLimit = floodLimited.find((outcome) => outcome.code !== 'rate_limited' || outcome.retryAfter !== '60');
    const floodPassed = floodOutcomes.length - floodLimited.length;
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
        'flood from one address': floodOutcomes.length,
        'flood: 429 rate_limited': floodLimited.length,
        'ledger records added': after.records - before.records,
        'redemptions added': after.redemptions - before.redemptions,
        'workerd RSS MiB (start/warm/peak/end)': rss.length ? `${rss[0]}/${warm}/${peak}/${rss.at(-1)}` : 'n/a',
      },
      checks: [
        check('zero issuances', !issued && after.redemptions === before.redemptions, `${everything.filter((o) => o.status === 200).length} 200s; redemptions ${before.redemptions} → ${after.redemptions}`, issued && describe(issued)),
        check('zero 5xx (and every request answered)', !serverError, 'statuses 400-499 only', serverError && describe(serverError)),
        check('each answer in the class its mutation allows', !outOfClass, '401, or 403 where the token verifies but the policy refuses it', outOfClass && describe(outOfClass)),
        check('oversized headers: 401 token_too_large, fast', !oversizedWrong && slowOversized < 1_000, `${oversized.length} requests, slowest ${Math.round(slowOversized)} ms`, oversizedWrong && describe(oversizedWrong)),
        check(
          'one address is cut off at the invalid-token limit',
          floodPassed > 0 && floodPassed <= limit && !floodBadLimit && floodLimited.length === floodOutcomes.length - floodPassed,
          `${floodPassed} answered before the limit (${limit} per 60 s), ${floodLimited.length} refused 429 rate_limited with Retry-After: 60`,
          floodBadLimit && describe(floodBadLimit),
        ),
        check('every attempt recorded', after.records - before.records === everything.length, `${after.records - before.records} records for ${everything.length} requests`),
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

