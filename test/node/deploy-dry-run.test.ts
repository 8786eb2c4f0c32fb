/** The deploy path, short of uploading: each environment bundles with its own policy. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCommand } from '../support/node/run-command.ts';

const out = mkdtempSync(join(tmpdir(), 'deploy-dry-run-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('wrangler deploy --dry-run per environment', () => {
  it.each([
    ['staging', 'orchestrator.staging.example.com', 'orchestrator.example.com'],
    ['production', 'orchestrator.example.com', 'orchestrator.staging.example.com'],
  ])('%s bundles its own policy and its bindings', async (environment, expected, foreign) => {
    const result = await runCommand(
      process.execPath,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/deploy.ts', environment, '--dry-run', '--outdir', join(out, environment)],
      { env: { ...process.env, FORCE_COLOR: '0' } as Record<string, string>, timeoutMs: 90_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`deploy: ${environment} with policy/`);
    expect(result.stdout).toMatch(/env\.LEDGER \(LedgerShard\)\s+Durable Object/);
    expect(result.stdout).toMatch(/env\.CACHE_CONTROL \(CacheControl\)\s+Durable Object/);
    expect(result.stdout).toContain(`env.BROKER_ENVIRONMENT ("${environment}")`);
    const bundle = readFileSync(join(out, environment, 'index.js'), 'utf8');
    expect(bundle).toContain(`https://${expected}`);
    expect(bundle).not.toContain(`https://${foreign}`);
  }, 120_000);

  it('refuses an unknown environment', async () => {
    const result = await runCommand(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/deploy.ts', 'qa'], {
      env: process.env as Record<string, string>,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: deploy.ts <production|staging>');
  });
});
