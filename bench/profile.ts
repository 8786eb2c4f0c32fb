/**
 * CPU profiles from inside workerd, through its V8 inspector (the same way `wrangler check startup` does):
 * sampled while a piece of load runs, then attributed to the bundle's packages using the section comments
 * esbuild leaves in a non-minified bundle (`// node_modules/hono/dist/…`, `// src/app.ts`).
 *
 * Needs a WebSocket client: Node 20 has one behind `--experimental-websocket` (the `bench` npm script sets
 * it); without it, profiling is skipped.
 */
import { readFileSync } from 'node:fs';
import type { Miniflare } from 'miniflare';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  /** Samples per source line (1-based) inside this function. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  wallMs: number;
  /** Sampled time that was not idle: JavaScript, GC, native and "program" (compile, runtime glue). */
  busyMs: number;
  /** Busy time by package (or by V8 category for frames outside the bundle); `nativeMs` of it in native calls. */
  byPackage: Array<{ package: string; ms: number; nativeMs: number; share: number }>;
  /** Functions with the most self time. */
  topFunctions: Array<{ fn: string; package: string; ms: number; share: number }>;
}

export function webSocketAvailable(): boolean {
  return typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
}

/** Profiles `workerName` while `during` runs. */
export async function profileWhile(mf: Miniflare, workerName: string, during: () => Promise<void>, samplingIntervalUs = 200): Promise<CpuProfile> {
  const WebSocketClass = (globalThis as unknown as { WebSocket: typeof WebSocket }).WebSocket;
  const inspector = await mf.getInspectorURL();
  const socket = new WebSocketClass(new URL(`/core:user:${workerName}`, inspector).href);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('Profiler.enable');
    await call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await call('Profiler.start');
    await during();
    const result = (await call('Profiler.stop')) as { profile: CpuProfile };
    return result.profile;
  } finally {
    socket.close();
  }
}

/**
 * Attributes a profile to packages of a non-minified esbuild/wrangler bundle. Samples in native code (no
 * script URL: WebCrypto, SQLite `exec`, `console.log`, RPC) are charged to the nearest JavaScript caller's
 * package and named `native ← caller`, so "SQLite inside the ledger shard" shows up under `src/ledger/`.
 * V8's sampler runs on wall-clock ticks of the isolate thread: time blocked inside a native call (a pipe
 * write, a storage commit) counts as busy here, so busy time can exceed the process's CPU time.
 */
export function summarizeProfile(profile: CpuProfile, bundlePath: string, requests: number): ProfileSummary & { busyMsPerRequest: number } {
  const sourceLines = readFileSync(bundlePath, 'utf8').split('\n');
  const sections = bundleSections(sourceLines);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + delta);
  }
  const packageOfFrame = (node: ProfileNode) => {
    const { url, lineNumber } = node.callFrame;
    return url.endsWith('.js') && sections.length ? sectionAt(sections, lineNumber) : url;
  };
  const nameOf = (node: ProfileNode) => node.callFrame.functionName || '(anonymous)';
  // A function's first source line says what it is when its name does not (`(line) => console.log(line)`).
  const codeAt = (line: number) => (line < 0 ? 'module top level' : (sourceLines[line] ?? '').trim().replace(/\/\* @__PURE__ \*\/ /g, '').slice(0, 60));
  const packages = new Map<string, { us: number; nativeUs: number }>();
  const functions = new Map<string, { package: string; us: number }>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    let pkg: string;
    let label: string;
    let native = false;
    if (url !== '') {
      pkg = packageOfFrame(node);
      label = `${nameOf(node)} (${pkg}:${node.callFrame.lineNumber + 1}: ${codeAt(node.callFrame.lineNumber)})`;
      // A function can span sections (a module's top-level code spans the whole bundle): split by line.
      const ticks = node.positionTicks ?? [];
      const totalTicks = ticks.reduce((total, tick) => total + tick.ticks, 0);
      if (url.endsWith('.js') && sections.length && totalTicks > 0) {
        for (const tick of ticks) {
          const linePackage = sectionAt(sections, tick.line - 1);
          const entry = packages.get(linePackage) ?? { us: 0, nativeUs: 0 };
          entry.us += (us * tick.ticks) / totalTicks;
          packages.set(linePackage, entry);
        }
        const fn = functions.get(label) ?? { package: pkg, us: 0 };
        fn.us += us;
        functions.set(label, fn);
        continue;
      }
    } else if (functionName.startsWith('(') && functionName !== '(anonymous)') {
      pkg = categoryOf(functionName);
      label = functionName;
    } else {
      native = true;
      let caller = parentOf.get(id);
      while (caller !== undefined && byId.get(caller)!.callFrame.url === '') caller = parentOf.get(caller);
      const callerNode = caller === undefined ? undefined : byId.get(caller);
      pkg = callerNode ? packageOfFrame(callerNode) : '(runtime: no JavaScript caller)';
      label = `native ${nameOf(node)} ← ${callerNode ? `${nameOf(callerNode)} (${pkg}:${callerNode.callFrame.lineNumber + 1}: ${codeAt(callerNode.callFrame.lineNumber)})` : 'runtime'}`;
    }
    const entry = packages.get(pkg) ?? { us: 0, nativeUs: 0 };
    entry.us += us;
    if (native) entry.nativeUs += us;
    packages.set(pkg, entry);
    const fn = functions.get(label) ?? { package: pkg, us: 0 };
    fn.us += us;
    functions.set(label, fn);
  }
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  return {
    wallMs,
    busyMs: busyUs / 1000,
    busyMsPerRequest: busyUs / 1000 / Math.max(1, requests),
    byPackage: [...packages.entries()]
      .map(([pkg, entry]) => ({ package: pkg, ms: entry.us / 1000, nativeMs: entry.nativeUs / 1000, share: entry.us / busyUs }))
      .sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.entries()]
      .map(([fn, entry]) => ({ fn, package: entry.package, ms: entry.us / 1000, share: entry.us / busyUs }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 20),
  };
}

function categoryOf(functionName: string): string {
  if (functionName === '(garbage collector)') return '(V8 garbage collector)';
  if (functionName === '(program)') return '(V8 program: compile, runtime glue)';
  if (functionName === '(root)') return '(root)';
  return '(native/runtime built-ins)';
}

interface Section {
  line: number;
  name: string;
}

/**
 * The `// <path>` comments that start each input's code in a non-minified bundle. Paths are relative to
 * wherever the bundler ran (`node_modules/hono/dist/…`, or `../../work/main/src/app.ts` for a config elsewhere).
 */
function bundleSections(lines: string[]): Section[] {
  const sections: Section[] = [];
  for (let line = 0; line < lines.length; line++) {
    const match = /^\/\/ (\S+\.(?:[cm]?[jt]sx?|json))$/.exec(lines[line]!);
    if (match) sections.push({ line, name: sectionPackage(match[1]!) });
  }
  return sections;
}

function sectionPackage(path: string): string {
  const module = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (module) return module[1]!;
  const source = /(?:^|\/)src\/(.+)$/.exec(path);
  if (source) {
    const parts = source[1]!.split('/');
    return parts.length > 1 ? `src/${parts[0]}/` : `src/${parts[0]}`;
  }
  if (path.endsWith('.json')) return 'policy JSON';
  return path;
}

function sectionAt(sections: Section[], line: number): string {
  if (line < 0) return '(module top-level code, all packages)';
  let low = 0;
  let high = sections.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (sections[mid]!.line <= line) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found === -1 ? '(bundle prologue: esbuild helpers)' : sections[found]!.name;
}
