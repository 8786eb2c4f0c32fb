/**
 * Isolate startup, two ways:
 *
 *  1. Inside workerd (what Cloudflare's startup limit is about: compiling and evaluating the Worker's global
 *     scope): one Miniflare instance holds several tiny Workers, each its own isolate, whose first request
 *     `import()`s a copy of a bundle and times it with the runtime's clock (as `wrangler check startup`
 *     does, which profiles the same import). Variants: the deployable bundle, its minified build, and a
 *     hello-world module as the baseline. Samples are interleaved across variants.
 *  2. Wall time until Miniflare is `ready` (workerd spawned, config loaded, sockets listening) for a
 *     hello-world Worker and for the broker as `startBroker` runs it: noisier, and mostly process start.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare, NoOpLog, type WorkerOptions } from 'miniflare';
import { COMPATIBILITY_DATE } from './harness.ts';
import { median } from './load.ts';
import { profileWhile, summarizeProfile, webSocketAvailable, type ProfileSummary } from './profile.ts';

export const HELLO_WORLD = `export default { fetch() { return new Response('hello'); } };\n`;

const ENTRY = `
export default {
  async fetch() {
    const started = performance.now();
    await import('./bundle.js');
    const importMs = performance.now() - started;
    return Response.json({ importMs });
  },
};
`;

export interface StartupVariant {
  name: string;
  /** ES module source of the Worker's main module. */
  source: string;
}

export interface StartupResult {
  name: string;
  importMs: number[];
  medianMs: number;
}

/** Median in-workerd import time (compile + evaluate the global scope) per variant. */
export async function measureImportTimes(options: { variants: StartupVariant[]; samples: number; dir: string }): Promise<StartupResult[]> {
  mkdirSync(options.dir, { recursive: true });
  const workers: WorkerOptions[] = [];
  const order: Array<{ variant: StartupVariant; worker: string }> = [];
  for (let sample = 0; sample < options.samples; sample++) {
    for (const [index, variant] of options.variants.entries()) {
      const worker = `startup-${index}-${sample}`;
      order.push({ variant, worker });
      workers.push({
        name: worker,
        compatibilityDate: COMPATIBILITY_DATE,
        modulesRoot: options.dir,
        modules: [
          { type: 'ESModule', path: join(options.dir, 'entry.mjs'), contents: ENTRY },
          { type: 'ESModule', path: join(options.dir, 'bundle.js'), contents: variant.source },
        ],
      });
    }
  }
  const mf = new Miniflare({ cf: false, log: new NoOpLog(), handleRuntimeStdio: drain, workers });
  try {
    await mf.ready;
    const times = new Map<string, number[]>();
    for (const { variant, worker } of order) {
      const fetcher = await mf.getWorker(worker);
      const response = await fetcher.fetch('http://startup/');
      const { importMs } = (await response.json()) as { importMs: number };
      times.set(variant.name, [...(times.get(variant.name) ?? []), importMs]);
    }
    return options.variants.map((variant) => {
      const samples = times.get(variant.name) ?? [];
      return { name: variant.name, importMs: samples, medianMs: median(samples) };
    });
  } finally {
    await mf.dispose();
  }
}

/** Wall time from `new Miniflare` to `ready` for a hello-world Worker. */
export async function helloWorldReadyMs(dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const mf = new Miniflare({
    cf: false,
    log: new NoOpLog(),
    handleRuntimeStdio: drain,
    modules: [{ type: 'ESModule', path: join(dir, 'hello.mjs'), contents: HELLO_WORLD }],
    modulesRoot: dir,
    compatibilityDate: COMPATIBILITY_DATE,
  });
  try {
    await mf.ready;
    return performance.now() - started;
  } finally {
    await mf.dispose();
  }
}

export function readSource(path: string): string {
  return readFileSync(path, 'utf8');
}

function drain(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream): void {
  stdout.resume();
  stderr.resume();
}

/** A CPU profile of one import of `source` (the module at `bundlePath`) in a fresh isolate, by package. */
export async function profileImport(options: { source: string; bundlePath: string; dir: string }): Promise<ProfileSummary | undefined> {
  if (!webSocketAvailable()) return undefined;
  mkdirSync(options.dir, { recursive: true });
  const mf = new Miniflare({
    cf: false,
    log: new NoOpLog(),
    handleRuntimeStdio: drain,
    inspectorPort: 0,
    name: 'startup-profile',
    compatibilityDate: COMPATIBILITY_DATE,
    modulesRoot: options.dir,
    modules: [
      { type: 'ESModule', path: join(options.dir, 'entry.mjs'), contents: ENTRY },
      { type: 'ESModule', path: join(options.dir, 'bundle.js'), contents: options.source },
    ],
  });
  try {
    await mf.ready;
    const profile = await profileWhile(
      mf,
      'startup-profile',
      async () => {
        await (await mf.dispatchFetch('http://startup/')).arrayBuffer();
      },
      100,
    );
    return summarizeProfile(profile, options.bundlePath, 1);
  } finally {
    await mf.dispose();
  }
}
