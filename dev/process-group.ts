/**
 * Child processes that own their process group, so stopping one also stops everything it spawned
 * (wrangler dev → workerd). Stop is SIGTERM to the group, then SIGKILL if it lingers.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface GroupProcess {
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once the leader has exited. */
  exited: Promise<number | NodeJS.Signals>;
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<GroupProcess>();

/** Last resort if our own process exits without stopping its children (e.g. an uncaught error). */
process.once('exit', () => {
  for (const group of live) signalGroup(group.child, 'SIGKILL');
});

export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 0));
    child.once('error', () => resolve(1));
  });
  const group: GroupProcess = {
    child,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The leader may be gone while grandchildren linger: sweep the group.
      signalGroup(child, 'SIGKILL');
      live.delete(group);
    },
  };
  live.add(group);
  void exited.then(() => undefined);
  return group;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Waits until `pattern` appears on the child's stdout or stderr; rejects if it exits or time runs out. */
export function waitForOutput(group: GroupProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output so far:\n${seen.slice(-2000)}`));
    }, timeoutMs);
    const onExit = () => {
      cleanup();
      reject(new Error(`process exited before ${pattern}; output:\n${seen.slice(-2000)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      group.child.stdout?.off('data', onData);
      group.child.stderr?.off('data', onData);
      group.child.off('exit', onExit);
    };
    group.child.stdout?.on('data', onData);
    group.child.stderr?.on('data', onData);
    group.child.once('exit', onExit);
  });
}
