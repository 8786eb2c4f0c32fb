/**
 * Runs a short-lived command in its own process group and collects its output; on timeout the whole group
 * (the boot script, curl, Codex) is killed, so a hung run cannot outlive the test.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnGroup } from '../../../dev/process-group.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BOOT_SCRIPT = join(ROOT, 'examples', 'sandbox-boot.sh');
export const FAKE_CODEX = join(ROOT, 'test', 'support', 'node', 'fake-codex.mjs');

export interface CommandResult {
  /** Exit code, or the signal's name if it was killed. */
  code: number | NodeJS.Signals;
  stdout: string;
  stderr: string;
  pid: number;
}

export interface RunOptions {
  /** The child's whole environment (nothing is inherited from the test process). */
  env: Record<string, string>;
  stdin?: string;
  timeoutMs?: number;
  cwd?: string;
  /** Called once the child has been spawned, with its pid (also its process group id). */
  onSpawn?: (pid: number) => void;
}

export async function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  const group = spawnGroup(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const pid = group.child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${command}`);
  options.onSpawn?.(pid);
  let stdout = '';
  let stderr = '';
  group.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  group.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (options.stdin !== undefined) group.child.stdin!.end(options.stdin);
  const closed = new Promise<void>((done) => group.child.once('close', () => done()));
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void group.stop(1_000);
  }, timeoutMs);
  const code = await group.exited;
  await closed;
  clearTimeout(timer);
  // Sweep the group: nothing the command started may outlive it.
  await group.stop(1_000);
  if (timedOut) throw new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  return { code, stdout, stderr, pid };
}

/** Runs examples/sandbox-boot.sh with `sh` (dash on Debian), as a sandbox would. */
export function runBootScript(args: string[], options: RunOptions): Promise<CommandResult> {
  return runCommand('sh', [BOOT_SCRIPT, ...args], options);
}

/** An executable wrapper in `dir` that runs fake-codex.mjs; pass its path as CODEX_BIN. */
export function installFakeCodex(dir: string): string {
  const path = join(dir, 'codex');
  writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${FAKE_CODEX}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** True while any process of the group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
