/**
 * Runs the real `token-broker` CLI (bin/token-broker.js) against a drill's broker, in its own process
 * group (killed on timeout), with the admin token in the environment, never argv. Its output goes through
 * the leak scanner.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../bench/bundle.ts';
import type { Broker } from '../bench/harness.ts';
import { runCommand, type CommandResult } from '../test/support/node/run-command.ts';
import type { LeakScanner } from './leak-scanner.ts';

export interface CliRun extends CommandResult {
  args: string[];
}

export async function runCli(
  broker: Broker,
  scanner: LeakScanner,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const result = await runCommand(process.execPath, [join(ROOT, 'bin', 'token-broker.js'), ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      TOKEN_BROKER_URL: broker.url.origin,
      TOKEN_BROKER_ADMIN_TOKEN: await broker.adminToken(),
      ...options.env,
    },
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  const where = `token-broker ${args[0]} ${args[1] ?? ''}`.trim();
  scanner.scan('cli-output', result.stdout, `${where} (stdout)`);
  scanner.scan('cli-output', result.stderr, `${where} (stderr)`);
  return { ...result, args };
}

/** `token-broker audit export -o FILE` then `token-broker audit verify FILE`: the auditor's own check. */
export async function cliVerify(broker: Broker, scanner: LeakScanner, dir: string, name: string): Promise<{ ok: boolean; summary: string }> {
  const file = join(dir, `${name}.ndjson`);
  writeFileSync(file, '');
  const exported = await runCli(broker, scanner, ['audit', 'export', '-o', file]);
  if (exported.code !== 0) return { ok: false, summary: `audit export exited ${exported.code}: ${exported.stderr.trim().slice(0, 300)}` };
  scanner.scan('ledger-export', readFileSync(file, 'utf8'), `${name}.ndjson (token-broker audit export)`);
  const verified = await runCli(broker, scanner, ['audit', 'verify', file]);
  return { ok: verified.code === 0, summary: verified.stdout.trim() || verified.stderr.trim() };
}
