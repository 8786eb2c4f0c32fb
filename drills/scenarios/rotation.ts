/**
 * Drill 5, rotation during a boot storm: sandboxes keep booting (paced, so the storm outlasts the
 * rotation) while the platform team runs `token-broker rotate rotating` with its own AWS identity and the
 * new value on stdin. After the command returns (it flushes the broker's caches), no request gets the old
 * version; every answer's value belongs to its version id; and `token-broker audit holders` lists exactly
 * the sandboxes that were handed each version.
 */
import type { Outcome } from '../client.ts';
import { describe, tally } from '../client.ts';
import { runCli } from '../cli.ts';
import { check, mintSandboxes, scaled, sleep, type Drill } from '../drill.ts';
import { canaryValue } from '../world.ts';
import { BENCH_REGION } from '../../bench/world.ts';

const SANDBOXES = 1_500;
const RATE_PER_SECOND = 250;
const CONCURRENCY = 20;
/** The rotation starts this long into the storm. */
const ROTATE_AFTER_MS = 1_500;

export const rotation: Drill = {
  id: 5,
  name: 'rotation during a boot storm',
  async run(context) {
    const { broker, client, world, scanner } = context;
    const oldValue = world.valueOf.rotating!;
    const newValue = canaryValue('sk');
    scanner.add(newValue);
    context.world.canaries.add(newValue);

    const [warmup] = await mintSandboxes(context, 1, 'sb-rotate-warmup', 'rotating');
    const warmed = await client.send(warmup!);
    const oldVersion = warmed.versionId;
    const requests = await mintSandboxes(context, scaled(context, SANDBOXES), 'sb-rotate', 'rotating');

    // The storm lasts SANDBOXES / RATE_PER_SECOND seconds whatever the scale, so the rotation lands inside it.
    const storm = client.pool(requests, CONCURRENCY, { ratePerSecond: RATE_PER_SECOND * context.scale });
    await sleep(ROTATE_AFTER_MS);
    const rotateStartedAt = Date.now();
    const rotated = await runCli(
      broker,
      scanner,
      ['rotate', 'rotating', '--policy', world.policyPath, '--region', BENCH_REGION, '--endpoint', context.secretsManager.url],
      { stdin: newValue, env: { AWS_ACCESS_KEY_ID: context.rotator.accessKeyId, AWS_SECRET_ACCESS_KEY: context.rotator.secretAccessKey } },
    );
    const flushedAt = Date.now();
    const outcomes = await storm;
    world.valueOf.rotating = newValue;
    const newVersion = /new version (\S+)/.exec(rotated.stdout)?.[1] ?? null;

    const all = [warmed, ...outcomes];
    const failed = all.find((outcome) => outcome.status !== 200);
    const oldAfterFlush = outcomes.find((outcome) => outcome.startedAt > flushedAt && outcome.versionId !== newVersion);
    const mismatched = all.find(
      (outcome) =>
        outcome.status === 200 &&
        !((outcome.versionId === oldVersion && outcome.value === oldValue) || (outcome.versionId === newVersion && outcome.value === newValue)),
    );
    const holders = async (version: string | null) => {
      if (!version) return { subs: new Set<string>(), summary: 'no version id' };
      const run = await runCli(broker, scanner, ['audit', 'holders', 'rotating', '--version', version]);
      const subs = new Set(run.stdout.split('\n').filter(Boolean).map((line) => line.split('\t')[0]!));
      return { subs, summary: run.stderr.trim() };
    };
    const handedOut = (version: string | null) => new Set(all.filter((outcome) => outcome.status === 200 && outcome.versionId === version).map((o) => o.label));
    const [oldHolders, newHolders] = [await holders(oldVersion), await holders(newVersion)];
    const compare = (listed: Set<string>, given: Set<string>): string | undefined => {
      for (const sub of given) if (!listed.has(sub)) return `${sub} got the version but is not listed`;
      for (const sub of listed) if (!given.has(sub)) return `${sub} is listed but was not given the version`;
      return undefined;
    };
    const oldDiff = compare(oldHolders.subs, handedOut(oldVersion));
    const newDiff = compare(newHolders.subs, handedOut(newVersion));
    const startedAfter = outcomes.filter((outcome) => outcome.startedAt > flushedAt).length;
    const byVersion = (version: string | null) => all.filter((outcome: Outcome) => outcome.status === 200 && outcome.versionId === version).length;
    return {
      counts: {
        requests: all.length,
        ...tally(all),
        'old version issued': byVersion(oldVersion),
        'new version issued': byVersion(newVersion),
        'started after flush': startedAfter,
        'rotate took ms': flushedAt - rotateStartedAt,
      },
      checks: [
        check('rotate command succeeded', rotated.code === 0 && newVersion !== null && newVersion !== oldVersion, `exit ${rotated.code}; ${oldVersion} → ${newVersion}`),
        check('zero failures', !failed, `${all.length} requests`, failed && describe(failed)),
        check('after the flush, no request gets the old version', !oldAfterFlush && startedAfter > 0, `${startedAfter} requests started after the flush`, oldAfterFlush && describe(oldAfterFlush)),
        check('each value matches its version', !mismatched, 'value compared with the value stored under the version id', mismatched && describe(mismatched)),
        check('audit holders (old version) matches what was handed out', !oldDiff, oldDiff ?? oldHolders.summary),
        check('audit holders (new version) matches what was handed out', !newDiff, newDiff ?? newHolders.summary),
      ],
    };
  },
};
