/**
 * The infra tests (CDK assertions on the synthesized template). Runs on its own from infra/
 * (`npm test -w infra`) and as the `infra` project of the root `npm test`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    name: 'infra',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Loading aws-cdk-lib and synthesizing takes a few seconds on a 2-core machine.
    testTimeout: 60_000,
  },
});
