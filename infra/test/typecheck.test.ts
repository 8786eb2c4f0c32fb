/**
 * infra/ has its own tsconfig (the root one excludes it), and tsx and vitest run TypeScript without checking
 * types: type-check it here so the root `npm test` catches a type error in the stack too.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { INFRA_DIR } from '../lib/app.ts';

it('type-checks (tsc --noEmit -p infra)', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', INFRA_DIR], { cwd: INFRA_DIR }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '' }),
  );
  expect(result.stdout).toBe('');
  expect(result.code).toBe(0);
}, 180_000);
