/**
 * Looks through /proc for a secret in other processes' command lines and environments: what any process
 * in a sandbox could read. Linux only; processes that vanish or deny access while being read are skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcHit {
  pid: number;
  where: 'cmdline' | 'environ';
  /** The process's command line with the secret masked, for the failure message. */
  command: string;
}

export interface ScanOptions {
  /** Skip the environment of processes for which this returns true (the command has the secret masked). */
  ignoreEnvironOf?: (pid: number, command: string) => boolean;
}

export function scanProcFor(secret: string, options: ScanOptions = {}): ProcHit[] {
  if (secret.length < 8) throw new Error('scanProcFor needs a distinctive secret (8+ characters)');
  const hits: ProcHit[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cmdline = readOrEmpty(`/proc/${pid}/cmdline`);
    const command = cmdline.split('\0').join(' ').trim().split(secret).join('<SECRET>');
    if (cmdline.includes(secret)) hits.push({ pid, where: 'cmdline', command });
    if (options.ignoreEnvironOf?.(pid, command)) continue;
    if (readOrEmpty(`/proc/${pid}/environ`).includes(secret)) hits.push({ pid, where: 'environ', command });
  }
  return hits;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot: tells a process from a later one that reuses its pid. */
  startTime: string;
  command: string;
}

/** One process from /proc/<pid>/stat, or undefined if it is gone. */
export function procInfo(pid: number): ProcInfo | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (2nd field) is in parentheses and may hold spaces: parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: fields[19] ?? '',
    command: readOrEmpty(`/proc/${pid}/cmdline`).split('\0').join(' ').trim(),
  };
}

/** `root` and every process below it, as of now. */
export function processTree(root: number): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info) all.push(info);
  }
  const tree: ProcInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const info = all.find((proc) => proc.pid === pid);
    if (info) tree.push(info);
    for (const child of all) if (child.ppid === pid) queue.push(child.pid);
  }
  return tree;
}

/** Those of `processes` that still run (same pid and start time; zombies count as gone). */
export function survivors(processes: ProcInfo[]): ProcInfo[] {
  return processes.filter((proc) => {
    const now = procInfo(proc.pid);
    if (!now || now.startTime !== proc.startTime) return false;
    const state = readOrEmpty(`/proc/${proc.pid}/stat`);
    return !/\) Z /.test(state);
  });
}

/** Every process (zombies included) whose process group is `pgid`. */
export function groupMembers(pgid: number): (ProcInfo & { state: string })[] {
  const members: (ProcInfo & { state: string })[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info?.pgid !== pgid) continue;
    const stat = readOrEmpty(`/proc/${entry}/stat`);
    members.push({ ...info, state: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?' });
  }
  return members;
}

/**
 * Waits until no process of group `pgid` exists (`kill(-pgid, 0)` fails with ESRCH); a SIGKILLed process
 * takes a moment to die and be reaped. Returns what is left after `timeoutMs` (empty when all are gone).
 */
export async function waitForGroupGone(pgid: number, timeoutMs = 5_000): Promise<(ProcInfo & { state: string })[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return [];
      throw error;
    }
    if (Date.now() >= deadline) return groupMembers(pgid);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
