/**
 * The standalone runner: `tsx dev/secrets-manager/main.ts --port 0 --seed FILE` prints one line when
 * listening, serves the seeded secrets, and exits 0 on SIGINT / SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN, clientFor, rejection } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CANARY = 'CANARY-runner-81d2';

const dir = mkdtempSync(join(tmpdir(), 'sm-main-'));
const seedPath = join(dir, 'seed.json');
writeFileSync(
  seedPath,
  JSON.stringify({
    region: 'eu-central-1',
    principals: [ADMIN],
    secrets: [
      { name: 'demo/api-key', secretString: `${CANARY}-string` },
      { name: 'demo/blob', secretBinary: Buffer.from(`${CANARY}-binary`).toString('base64') },
    ],
  }),
);

const children: ChildProcess[] = [];
afterEach(() => {
  // Only reached when a test failed before the runner stopped: take tsx's node child down with it.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Runner {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startRunner(args: string[]): Promise<Runner> {
  const child = spawn(TSX, ['dev/secrets-manager/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, for the cleanup above
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not start: ${stdout} ${stderr}`)), 10_000);
    const check = () => {
      const m = /^secrets-manager listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exit.then(() => reject(new Error(`runner exited early: ${stdout} ${stderr}`)));
  });
  return { child, url, output: () => stdout + stderr, exit };
}

describe('main.ts runner', () => {
  it('serves the seed file, prints only the listening line, and exits 0 on SIGINT', async () => {
    const runner = await startRunner(['--port', '0', '--seed', seedPath]);
    const client = clientFor({ url: runner.url }, ADMIN, { region: 'eu-central-1' });
    const str = await client.send(new GetSecretValueCommand({ SecretId: 'demo/api-key' }));
    expect(str.SecretString).toBe(`${CANARY}-string`);
    expect(str.ARN).toMatch(/^arn:aws:secretsmanager:eu-central-1:000000000000:secret:demo\/api-key-/);
    const bin = await client.send(new GetSecretValueCommand({ SecretId: 'demo/blob' }));
    expect(Buffer.from(bin.SecretBinary!).toString()).toBe(`${CANARY}-binary`);
    client.destroy(); // close the keep-alive socket before the signal

    runner.child.kill('SIGINT');
    expect(await runner.exit).toEqual({ code: 0, signal: null });
    expect(runner.output()).toBe(`secrets-manager listening on ${runner.url}\n`);
  });

  it('logs requests with --verbose (names only) and exits 0 on SIGTERM even with a connection open', async () => {
    const runner = await startRunner(['--port', '0', '--seed', seedPath, '--region', 'us-east-1', '--verbose']);
    const client = clientFor({ url: runner.url }, ADMIN, { region: 'us-east-1' });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'demo/api-key' }))).SecretString).toBe(`${CANARY}-string`);
    expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: 'demo/none' })))).name).toBe(
      'ResourceNotFoundException',
    );
    // Hang the next request through the control endpoint, so shutdown has to cut an open request.
    await fetch(`${runner.url}/__control/faults`, { method: 'POST', body: '{"hang":true}' });
    const hanging = rejection(client.send(new GetSecretValueCommand({ SecretId: 'demo/api-key' })));

    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    runner.child.kill('SIGTERM');
    expect(await runner.exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - t).toBeLessThan(2000);
    expect((await hanging).$metadata?.httpStatusCode).toBeUndefined();

    const out = runner.output();
    expect(out).toContain('secrets-manager: POST GetSecretValue secret=demo/api-key 200 ok');
    expect(out).toContain('secrets-manager: POST GetSecretValue secret=demo/none 400 ResourceNotFoundException');
    expect(out).toContain('fault:hang');
    expect(out).not.toContain(CANARY);
  });

  it('refuses a malformed seed file without quoting it', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, `{"secrets":[{"name":"x","secretString":"${CANARY}-bad"`);
    const child = spawn(TSX, ['dev/secrets-manager/main.ts', '--port', '0', '--seed', bad], { cwd: ROOT, detached: true });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain(`seed file ${bad} is not valid JSON`);
    expect(output).not.toContain(CANARY);
  });
});
