/**
 * Bundles, their size, and what they are made of.
 *
 *  - `wranglerBundle`: the deployable artifact, built by `wrangler deploy --dry-run --outdir`. wrangler 4.86's
 *    `deploy` IGNORES `--alias` (it bundles with `config.alias` only: wrangler-dist/cli.js, `deploy()`,
 *    `alias: config.alias`; only `versions upload` merges the CLI alias, and its separator is `:`, not `=`),
 *    so a different policy goes in through a generated copy of wrangler.toml, like dev/dev-wrangler-config.ts.
 *  - `composition`: esbuild with a metafile, bundling like wrangler does (platform browser, conditions
 *    workerd/worker/browser, ESM, `cloudflare:*` external, keepNames as wrangler's default), minified:
 *    bytes per package, plus "what if" bundles with one package replaced by an empty stub.
 *  - `esbuildBundle`: a quick bundle of any entry (the bench probe workers).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface BundleSize {
  rawBytes: number;
  gzipBytes: number;
  /** What wrangler printed ("Total Upload: X KiB / gzip: Y KiB"), in KiB, when it is the builder. */
  wranglerReport?: { rawKiB: number; gzipKiB: number };
}

export interface WranglerBundle extends BundleSize {
  scriptPath: string;
  minify: boolean;
  buildMs: number;
}

/**
 * `wrangler deploy --dry-run --outdir` with the project's wrangler.toml. With `policyPath` (or `entry`), a
 * generated copy of the config whose only changes are the `token-broker-policy` alias (or `main`) and
 * absolute paths is used instead.
 */
export async function wranglerBundle(options: { outDir: string; minify?: boolean; policyPath?: string; entry?: string }): Promise<WranglerBundle> {
  mkdirSync(options.outDir, { recursive: true });
  const config =
    options.policyPath || options.entry ? await writeWranglerConfig(options.outDir, options.policyPath, options.entry) : join(ROOT, 'wrangler.toml');
  const distDir = join(options.outDir, options.minify ? 'dist-min' : 'dist');
  const args = [WRANGLER, 'deploy', '--dry-run', '--outdir', distDir, '--config', config, ...(options.minify ? ['--minify'] : [])];
  const started = performance.now();
  const output = await run(process.execPath, args);
  const buildMs = performance.now() - started;
  // wrangler names the output after `main` (src/index.ts → index.js).
  const scriptPath = join(distDir, options.entry ? `${basename(options.entry, extname(options.entry))}.js` : 'index.js');
  const report = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  return {
    scriptPath,
    minify: options.minify ?? false,
    buildMs,
    ...sizeOf(readFileSync(scriptPath)),
    ...(report ? { wranglerReport: { rawKiB: Number(report[1]), gzipKiB: Number(report[2]) } } : {}),
  };
}

/** `entry` replaces `main` (the drills' worker with a ledger that can be told to fail). */
async function writeWranglerConfig(dir: string, policyPath: string | undefined, entry: string | undefined): Promise<string> {
  const { experimental_readRawConfig } = await import('wrangler');
  const { rawConfig } = experimental_readRawConfig({ config: join(ROOT, 'wrangler.toml') });
  const config = {
    ...rawConfig,
    main: resolve(ROOT, entry ?? rawConfig.main!),
    alias: { ...rawConfig.alias, ...(policyPath ? { 'token-broker-policy': resolve(policyPath) } : {}) },
  };
  const path = join(dir, 'wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: ROOT,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', FORCE_COLOR: '0', NO_COLOR: '1' },
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.slice(1).join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolvePromise(`${stdout}\n${stderr}`);
      },
    );
  });
}

export function sizeOf(bytes: Uint8Array): BundleSize {
  return { rawBytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
}

/** Options that make esbuild bundle the way wrangler does for a module Worker. */
function workerBuildOptions(entry: string, alias: Record<string, string>) {
  return {
    entryPoints: [entry],
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    target: 'es2022',
    external: ['cloudflare:*'],
    keepNames: true,
    alias,
    logLevel: 'silent' as const,
    absWorkingDir: ROOT,
  };
}

/** Bundles an entry (e.g. a bench probe worker) to one ESM file. */
export async function esbuildBundle(options: { entry: string; outfile: string; alias?: Record<string, string>; minify?: boolean }): Promise<string> {
  await build({ ...workerBuildOptions(options.entry, options.alias ?? {}), outfile: options.outfile, minify: options.minify ?? false, write: true });
  return options.outfile;
}

export interface PackageShare {
  package: string;
  bytes: number;
  share: number;
}

export interface WhatIf {
  /** Which package (or package family) was replaced by an empty stub. */
  without: string;
  minified: BundleSize;
  /** Saved against the full minified bundle. */
  savedGzipBytes: number;
}

export interface Composition {
  minified: BundleSize;
  packages: PackageShare[];
  /** The largest inputs (files, or submodules of a package), for finer cuts than a whole package. */
  topModules: Array<{ module: string; bytes: number }>;
  /** The AWS SDK and everything only it pulls in (@aws-sdk/*, @smithy/*, @aws-crypto/*, tslib, …). */
  awsSdkFamilyBytes: number;
  whatIfs: WhatIf[];
}

/**
 * Minified composition of src/index.ts with the deployable policy (policy/policy.json), and measured
 * what-ifs: the same bundle with a package replaced by an empty module, to show what cutting it would save.
 */
export async function composition(options: { policyPath?: string } = {}): Promise<Composition> {
  const alias = { 'token-broker-policy': resolve(options.policyPath ?? join(ROOT, 'policy', 'policy.json')) };
  const full = await minifiedBuild(alias, []);
  const packages = perPackage(full.metafile);
  const topModules = perModule(full.metafile).slice(0, 15);
  const awsSdkFamilyBytes = packages.filter((entry) => isAwsSdkFamily(entry.package)).reduce((sum, entry) => sum + entry.bytes, 0);

  const stubs: Array<{ without: string; filter: RegExp }> = [
    { without: '@aws-sdk/client-secrets-manager (and all it pulls in)', filter: /^@aws-sdk\/client-secrets-manager$/ },
    { without: 'zod', filter: /^zod(\/.*)?$/ },
    { without: 'hono', filter: /^hono(\/.*)?$/ },
    { without: '@noble/hashes', filter: /^@noble\/hashes(\/.*)?$/ },
  ];
  const whatIfs: WhatIf[] = [];
  for (const stub of stubs) {
    const { size } = await minifiedBuild(alias, [stub.filter]);
    whatIfs.push({ without: stub.without, minified: size, savedGzipBytes: full.size.gzipBytes - size.gzipBytes });
  }
  return { minified: full.size, packages, topModules, awsSdkFamilyBytes, whatIfs };
}

async function minifiedBuild(alias: Record<string, string>, stubbed: RegExp[]): Promise<{ size: BundleSize; metafile: Metafile }> {
  const result = await build({
    ...workerBuildOptions(join(ROOT, 'src', 'index.ts'), alias),
    minify: true,
    metafile: true,
    write: false,
    outfile: join(ROOT, 'bench', 'results', 'composition.js'),
    plugins: stubbed.length ? [stubPlugin(stubbed)] : [],
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'))!;
  return { size: sizeOf(js.contents), metafile: result.metafile };
}

/** Replaces matching imports with a module whose every named import is a no-op (enough to bundle, not to run). */
function stubPlugin(filters: RegExp[]): Plugin {
  return {
    name: 'bench-stub',
    setup(pluginBuild) {
      for (const filter of filters) {
        pluginBuild.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'bench-stub' }));
      }
      pluginBuild.onLoad({ filter: /.*/, namespace: 'bench-stub' }, () => ({
        // CommonJS, so that any named import of it bundles (it becomes a property read at run time).
        contents: 'const stub = new Proxy(function () {}, { get: () => stub, apply: () => stub, construct: () => stub }); module.exports = stub;',
        loader: 'js',
      }));
    },
  };
}

function perPackage(metafile: Metafile): PackageShare[] {
  const output = Object.values(metafile.outputs).find((entry) => entry.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0]!;
  const bytes = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = packageOf(path);
    bytes.set(name, (bytes.get(name) ?? 0) + input.bytesInOutput);
  }
  const total = output.bytes;
  const rows = [...bytes.entries()].map(([name, size]) => ({ package: name, bytes: size, share: size / total }));
  const accounted = rows.reduce((sum, row) => sum + row.bytes, 0);
  rows.push({ package: '(esbuild runtime, glue)', bytes: total - accounted, share: (total - accounted) / total });
  return rows.sort((a, b) => b.bytes - a.bytes);
}

/** Bytes per package submodule (e.g. `@smithy/core/submodules/schema`) or per source folder. */
function perModule(metafile: Metafile): Array<{ module: string; bytes: number }> {
  const output = Object.values(metafile.outputs).find((entry) => entry.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0]!;
  const bytes = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const submodule = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist-es\/|dist\/esm\/|dist\/|esm\/)?(?:submodules\/)?([^/]+)?/.exec(path);
    const name = submodule ? `${submodule[1]}/${submodule[2] ?? ''}` : path.replace(/^(src\/[^/]+)\/.*$/, '$1/');
    bytes.set(name, (bytes.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...bytes.entries()].map(([module, size]) => ({ module, bytes: size })).sort((a, b) => b.bytes - a.bytes);
}

function packageOf(path: string): string {
  const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1]!;
  if (path.startsWith('src/')) return 'token-broker (src/)';
  if (path.endsWith('.json')) return 'policy JSON';
  return path;
}

function isAwsSdkFamily(name: string): boolean {
  return /^@(aws-sdk|smithy|aws-crypto|aws)\//.test(name) || ['tslib', 'fast-xml-parser', 'strnum', 'uuid', 'bowser'].includes(name);
}
