/**
 * One `npm test`, two kinds of tests:
 *  - `worker`: the broker inside workerd (the same runtime as `wrangler dev`), talking over HTTP to the real
 *    local Secrets Manager server with the real AWS SDK;
 *  - `node`: CLI, dev tooling, local servers, and end-to-end runs that spawn processes.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { freePort } from './dev/free-port.ts';
import { BROKER_ACCESS_KEY, createTestWorld, GENERATED_ROOT, generatedDirFor, REGION, TEST_AUDIT_HMAC_KEY, TEST_INVALID_TOKEN_RATE_LIMIT, TEST_SANDBOX_RATE_LIMIT, type TestWorld } from './test/support/test-world.ts';

/** Folders of earlier runs whose process is gone. */
function removeStaleRuns(): void {
  if (!existsSync(GENERATED_ROOT)) return;
  for (const entry of readdirSync(GENERATED_ROOT)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(GENERATED_ROOT, entry), { recursive: true, force: true });
    }
  }
}

export default defineConfig(async () => {
  // Vitest may evaluate this config more than once per run: generate the world once, so the policy the
  // worker bundles and the keys the tests sign with always belong together.
  const dir = generatedDirFor(process.pid);
  const worldPath = join(dir, 'world.json');
  if (process.env.TB_TEST_WORLD !== worldPath || !existsSync(worldPath)) {
    removeStaleRuns();
    const jwksPort = await freePort();
    writeFileSync(worldPath, JSON.stringify({ world: await createTestWorld({ jwksPort, dir }), jwksPort }));
    process.env.TB_TEST_WORLD = worldPath;
  }
  const { world } = JSON.parse(readFileSync(worldPath, 'utf8')) as { world: TestWorld };

  return {
    test: {
      // Audit lines are asserted in tests; print console output only for failing tests.
      silent: 'passed-only' as const,
      projects: [
        {
          plugins: [
            cloudflareTest(async ({ inject }) => ({
              main: './src/index.ts',
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  AWS_REGION: REGION,
                  SECRETS_MANAGER_ENDPOINT: inject('secretsManagerUrl'),
                  AWS_ACCESS_KEY_ID: BROKER_ACCESS_KEY.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: BROKER_ACCESS_KEY.secretAccessKey,
                  AUDIT_HMAC_KEY: TEST_AUDIT_HMAC_KEY,
                },
                // Concurrency tests send 50 requests for one sandbox; the rate-limit tests go past these.
                ratelimits: {
                  SANDBOX_RATE_LIMITER: { simple: { limit: TEST_SANDBOX_RATE_LIMIT, period: 60 } },
                  INVALID_TOKEN_RATE_LIMITER: { simple: { limit: TEST_INVALID_TOKEN_RATE_LIMIT, period: 60 } },
                },
              },
            })),
          ],
          resolve: { alias: { 'token-broker-policy': world.policyPath } },
          test: {
            name: 'worker',
            include: ['test/worker/**/*.test.ts'],
            globalSetup: ['test/support/worker-global-setup.ts'],
            // The first request of a file pays for module load inside workerd.
            testTimeout: 15_000,
          },
        },
        {
          test: {
            name: 'node',
            environment: 'node',
            // The AWS SDK warns about Node 20 on first use; noise only.
            env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
            include: ['test/node/**/*.test.ts'],
            testTimeout: 60_000,
            hookTimeout: 120_000,
          },
        },
        // infra/ (AWS CDK): its own npm workspace and vitest config (project 'infra', root infra/).
        './infra/vitest.config.ts',
      ],
    },
  };
});
