/**
 * One `npm test`, two kinds of tests:
 *  - `worker`: the broker inside workerd (the same runtime as `wrangler dev`), talking over HTTP to the real
 *    local Secrets Manager server with the real AWS SDK;
 *  - `node`: CLI, dev tooling, local servers, and end-to-end runs that spawn processes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { freePort } from './dev/free-port.ts';
import { BROKER_ACCESS_KEY, createTestWorld, GENERATED_DIR, REGION, TEST_AUDIT_HMAC_KEY } from './test/support/test-world.ts';

export default defineConfig(async () => {
  const jwksPort = await freePort();
  const world = await createTestWorld({ jwksPort });
  const worldPath = join(GENERATED_DIR, 'world.json');
  writeFileSync(worldPath, JSON.stringify({ world, jwksPort }));
  process.env.TB_TEST_WORLD = worldPath;

  return {
    test: {
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
              },
            })),
          ],
          resolve: { alias: { 'token-broker-policy': world.policyPath } },
          test: {
            name: 'worker',
            // Audit lines are asserted in tests; print them only when a test fails.
            silent: 'passed-only',
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
      ],
    },
  };
});
