/**
 * Drill 4, Secrets Manager slow (2 s per call) and throttling half of its calls. `uncached` has TTL 0 and
 * no stale window, so every request needs Secrets Manager (concurrent ones share a call). Every request is
 * answered within 5 s, with the credential or 503 `upstream_unavailable`, and the calls that reach Secrets
 * Manager stay within the retry budget (at most MAX_ATTEMPTS per request).
 */
import { MAX_ATTEMPTS } from '../../src/secrets/aws-secrets-manager-source.ts';
import { describe, tally } from '../client.ts';
import { check, mintSandboxes, percentile, scaled, type Drill } from '../drill.ts';

const SANDBOXES = 100;
const CONCURRENCY = 25;
const ANSWER_WITHIN_MS = 5_000;

export const slowThrottled: Drill = {
  id: 4,
  name: 'Secrets Manager slow + throttling',
  async run(context) {
    const { client, world, secretsManager } = context;
    const secret = world.secretOf.uncached!;
    const requests = await mintSandboxes(context, scaled(context, SANDBOXES), 'sb-slow', 'uncached');
    secretsManager.resetCalls();
    secretsManager.setFaults({ latencyMs: 2_000, throttleRate: 0.5, secretNames: [secret] });
    const outcomes = await client.pool(requests, CONCURRENCY);
    secretsManager.clearFaults();
    const calls = secretsManager.calls({ secretName: secret, operation: 'GetSecretValue' });
    const throttled = secretsManager.calls({ secretName: secret, operation: 'GetSecretValue', outcome: 'fault' });

    const unanswered = outcomes.find((outcome) => outcome.status === 'error' || outcome.ms > ANSWER_WITHIN_MS);
    const wrong = outcomes.find(
      (outcome) => !(outcome.status === 200 && outcome.value === world.valueOf.uncached) && !(outcome.status === 503 && outcome.code === 'upstream_unavailable'),
    );
    const budget = outcomes.length * MAX_ATTEMPTS;
    const latencies = outcomes.map((outcome) => outcome.ms);
    return {
      counts: {
        requests: outcomes.length,
        ...tally(outcomes),
        'GetSecretValue calls': calls,
        throttled,
        'calls per request': +(calls / outcomes.length).toFixed(2),
        'p50 ms': Math.round(percentile(latencies, 0.5)),
        'max ms': Math.round(Math.max(...latencies)),
      },
      checks: [
        check('every request answered within 5 s', !unanswered, `slowest ${Math.round(Math.max(...latencies))} ms`, unanswered && describe(unanswered)),
        check('credential or 503 upstream_unavailable, nothing else', !wrong, JSON.stringify(tally(outcomes)), wrong && describe(wrong)),
        check('calls within the retry budget', calls <= budget && calls > 0, `${calls} GetSecretValue calls for ${outcomes.length} requests (budget ${budget}: ${MAX_ATTEMPTS} per request)`),
      ],
    };
  },
};
