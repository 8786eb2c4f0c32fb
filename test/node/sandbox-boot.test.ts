/**
 * examples/sandbox-boot.sh against a stub broker and a fake Codex CLI: the real script, run with `sh`
 * (dash here) and the real curl, as a sandbox runs it at boot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/free-port.ts';
import { scanProcFor, type ProcHit } from '../support/node/proc-scan.ts';
import { BOOT_SCRIPT, installFakeCodex, runBootScript, type CommandResult } from '../support/node/run-command.ts';
import {
  credentialAnswer,
  errorAnswer,
  startStubBroker,
  type StubAnswer,
  type StubBroker,
  type StubBrokerOptions,
} from '../support/node/stub-broker.ts';

// Shaped like a compact JWT (the script only accepts base64url and dots) and distinctive enough to grep for.
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzYi10ZXN0LTEifQ.c2lnbmF0dXJlLXNhbmRib3gtYm9vdC10ZXN0';
const ACCESS_TOKEN = 'at-STUB-ACCESS-TOKEN-4f1c9a7e2b';
const API_KEY = 'sk-STUB-API-KEY-8d3e5b0c61';

interface FakeCodexRecord {
  argv: string[];
  stdin: string;
  env: Record<string, string>;
  leaks: { pid: number; where: string }[];
}

let dir: string;
let codexBin: string;
let recordPath: string;
const brokers: StubBroker[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-boot-test-'));
  codexBin = installFakeCodex(dir);
  recordPath = join(dir, 'codex-record.json');
});

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function broker(answers: StubAnswer[], onRequest?: StubBrokerOptions['onRequest']): Promise<StubBroker> {
  const stub = await startStubBroker({ answers, ...(onRequest ? { onRequest } : {}) });
  brokers.push(stub);
  return stub;
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    CODEX_BIN: codexBin,
    FAKE_CODEX_RECORD: recordPath,
    BOOT_BACKOFF_SECONDS: '0',
    BOOT_CONNECT_TIMEOUT: '2',
    BOOT_MAX_TIME: '5',
    ...extra,
  };
}

function codexRecord(): FakeCodexRecord {
  return JSON.parse(readFileSync(recordPath, 'utf8')) as FakeCodexRecord;
}

function describeRun(result: CommandResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('examples/sandbox-boot.sh', () => {
  it('is POSIX sh that dash parses', () => {
    execFileSync('sh', ['-n', BOOT_SCRIPT]);
    execFileSync('dash', ['-n', BOOT_SCRIPT]);
  });

  it.each([
    { kind: 'codex_access_token', value: ACCESS_TOKEN, flag: '--with-access-token', name: 'codex' },
    { kind: 'api_key', value: API_KEY, flag: '--with-api-key', name: 'openai-api-key' },
  ])('logs Codex in with a $kind: value on stdin only, right flag', async ({ kind, value, flag, name }) => {
    const tokenLeaksDuringRequest: ProcHit[] = [];
    const bootShell = `sh ${BOOT_SCRIPT} ${name}`;
    const stub = await broker([credentialAnswer(kind, value, 'v-42')], () => {
      // curl is waiting for this answer right now: no argv, and no environment but the boot shell's, holds the
      // token. The boot shell and its forked subshells keep their initial environment block, which includes
      // SANDBOX_TOKEN even after `unset` (documented in the script; hence SANDBOX_TOKEN_FILE, tested below).
      tokenLeaksDuringRequest.push(...scanProcFor(TOKEN, { ignoreEnvironOf: (_pid, command) => command === bootShell }));
    });

    const result = await runBootScript([name], {
      env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN }),
    });

    expect(result.code, describeRun(result)).toBe(0);
    expect(stub.hookErrors).toEqual([]);
    expect(stub.requests).toHaveLength(1);
    const [request] = stub.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/v1/credentials/${name}`);
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request!.headers.accept).toBe('text/plain');
    expect(tokenLeaksDuringRequest).toEqual([]);

    const record = codexRecord();
    expect(record.argv).toEqual(['login', flag]);
    expect(record.stdin).toBe(value);
    expect(record.argv.join(' ')).not.toContain(value);
    // No process (the boot shell, its subshells, Codex itself) had the value in its argv or environment.
    expect(record.leaks).toEqual([]);
    // Nothing secret was exported to Codex.
    expect(record.env.SANDBOX_TOKEN).toBeUndefined();
    expect(Object.values(record.env).join('\n')).not.toContain(value);
    expect(Object.values(record.env).join('\n')).not.toContain(TOKEN);

    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^sandbox-boot: logged in to Codex with credential ${name} \\(kind ${kind}, version v-42, issuance iss-[0-9a-f-]+\\)$`, 'm'));
    expect(result.stderr).not.toContain(value);
    expect(result.stderr).not.toContain(TOKEN);
  });

  it('reads the token from SANDBOX_TOKEN_FILE, deletes the file, and keeps the token out of every process', async () => {
    const tokenFile = join(dir, 'sandbox.jwt');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const leaks: ProcHit[] = [];
    const stub = await broker([credentialAnswer('codex_access_token', ACCESS_TOKEN)], () => {
      leaks.push(...scanProcFor(TOKEN));
    });

    const result = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN_FILE: tokenFile }) });

    expect(result.code, describeRun(result)).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
    expect(stub.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
    // With the file variant not even the boot shell's environment ever held the token.
    expect(leaks).toEqual([]);
    expect(codexRecord().stdin).toBe(ACCESS_TOKEN);
    expect(codexRecord().env.SANDBOX_TOKEN_FILE).toBeUndefined();
  });

  it('deletes SANDBOX_TOKEN_FILE also when the broker refuses', async () => {
    const tokenFile = join(dir, 'sandbox.jwt');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 }); // no trailing newline: must still be read
    const stub = await broker([errorAnswer(403, 'forbidden')]);

    const result = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN_FILE: tokenFile }) });

    expect(result.code, describeRun(result)).toBe(3);
    expect(existsSync(tokenFile)).toBe(false);
    expect(stub.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.stderr).toContain('sandbox-boot: forbidden (403)');
  });

  it('deletes SANDBOX_TOKEN_FILE also on a usage error, before any request', async () => {
    const tokenFile = join(dir, 'sandbox.jwt');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });

    const result = await runBootScript(['codex'], { env: baseEnv({ SANDBOX_TOKEN_FILE: tokenFile }) }); // no BROKER_URL

    expect(result.code, describeRun(result)).toBe(2);
    expect(existsSync(tokenFile)).toBe(false);
    expect(result.stderr).toContain('BROKER_URL is not set');
    expect(existsSync(recordPath)).toBe(false);
  });

  it('retries 503, 503 and succeeds on the third attempt', async () => {
    const stub = await broker([
      errorAnswer(503, 'upstream_unavailable'),
      errorAnswer(503, 'audit_unavailable'),
      credentialAnswer('codex_access_token', ACCESS_TOKEN),
    ]);

    const result = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN }) });

    expect(result.code, describeRun(result)).toBe(0);
    expect(stub.requests).toHaveLength(3);
    for (const request of stub.requests) expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.stderr).toContain('sandbox-boot: attempt 1/5 failed: upstream_unavailable (503); retrying in 0s');
    expect(result.stderr).toContain('sandbox-boot: attempt 2/5 failed: audit_unavailable (503); retrying in 0s');
    expect(codexRecord().stdin).toBe(ACCESS_TOKEN);
  });

  it('backs off exponentially, capped, and retries 500/502 and non-JSON error bodies too', async () => {
    const stub = await broker([
      errorAnswer(500, 'internal_error'),
      { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html>bad gateway</html>' },
      { drop: true },
      credentialAnswer('api_key', API_KEY),
    ]);

    const started = Date.now();
    const result = await runBootScript(['openai-api-key'], {
      env: baseEnv({
        BROKER_URL: stub.url,
        SANDBOX_TOKEN: TOKEN,
        BOOT_BACKOFF_SECONDS: '0.05',
        BOOT_BACKOFF_MAX_SECONDS: '0.15',
      }),
    });

    expect(result.code, describeRun(result)).toBe(0);
    expect(stub.requests).toHaveLength(4);
    expect(result.stderr).toContain('attempt 1/5 failed: internal_error (500); retrying in 0.05s');
    expect(result.stderr).toContain('attempt 2/5 failed: unexpected_response (502); retrying in 0.1s');
    expect(result.stderr).toMatch(/attempt 3\/5 failed: connection error \(curl exit 52\); retrying in 0\.15s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(codexRecord().argv).toEqual(['login', '--with-api-key']);
  });

  it.each([
    { status: 400, code: 'malformed_token' },
    { status: 401, code: 'token_expired' },
    { status: 403, code: 'forbidden' },
    { status: 429, code: 'rate_limited' },
  ])('never retries a $status: one attempt, exit 3, code on stderr', async ({ status, code }) => {
    const stub = await broker([errorAnswer(status, code), credentialAnswer('codex_access_token', ACCESS_TOKEN)]);

    const result = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN }) });

    expect(result.code, describeRun(result)).toBe(3);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.stderr).toMatch(new RegExp(`^sandbox-boot: ${code} \\(${status}\\)$`, 'm'));
    expect(result.stderr).not.toContain('retrying');
    expect(existsSync(recordPath)).toBe(false);
  });

  it('gives up after BOOT_MAX_ATTEMPTS 5xx answers with exit 4 and the last code', async () => {
    const stub = await broker([errorAnswer(503, 'upstream_unavailable')]);

    const result = await runBootScript(['codex'], {
      env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN, BOOT_MAX_ATTEMPTS: '3' }),
    });

    expect(result.code, describeRun(result)).toBe(4);
    expect(stub.requests).toHaveLength(3);
    expect(result.stderr).toMatch(/^sandbox-boot: upstream_unavailable \(503\)$/m);
    expect(existsSync(recordPath)).toBe(false);
  });

  it('retries refused connections, then fails with connection_failed', async () => {
    const port = await freePort(); // nothing listens there

    const result = await runBootScript(['codex'], {
      env: baseEnv({ BROKER_URL: `http://127.0.0.1:${port}`, SANDBOX_TOKEN: TOKEN, BOOT_MAX_ATTEMPTS: '3' }),
    });

    expect(result.code, describeRun(result)).toBe(4);
    expect(result.stderr.match(/connection error \(curl exit 7\); retrying/g)).toHaveLength(2);
    expect(result.stderr).toMatch(/^sandbox-boot: connection_failed$/m);
    expect(result.stderr).not.toContain(TOKEN);
    expect(existsSync(recordPath)).toBe(false);
  });

  it('exits 5 when codex login fails, without printing the value', async () => {
    const stub = await broker([credentialAnswer('codex_access_token', ACCESS_TOKEN)]);

    const result = await runBootScript(['codex'], {
      env: { ...baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN }), FAKE_CODEX_EXIT: '1' },
    });

    expect(result.code, describeRun(result)).toBe(5);
    expect(result.stderr).toMatch(/^sandbox-boot: codex_login_failed \(exit 1\)$/m);
    expect(result.stderr).not.toContain(ACCESS_TOKEN);
    expect(codexRecord().stdin).toBe(ACCESS_TOKEN);
  });

  it('refuses a kind it does not know, and a 200 that is not text/plain, without calling codex', async () => {
    const unknownKind = await broker([credentialAnswer('ssh_key', ACCESS_TOKEN)]);
    const notText = await broker([
      { status: 200, headers: { 'Content-Type': 'application/json', 'X-Credential-Kind': 'api_key' }, body: JSON.stringify({ value: API_KEY }) },
    ]);

    const first = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: unknownKind.url, SANDBOX_TOKEN: TOKEN }) });
    const second = await runBootScript(['codex'], { env: baseEnv({ BROKER_URL: notText.url, SANDBOX_TOKEN: TOKEN }) });

    expect(first.code, describeRun(first)).toBe(6);
    expect(first.stderr).toMatch(/^sandbox-boot: unsupported_kind \(ssh_key\)$/m);
    expect(second.code, describeRun(second)).toBe(6);
    expect(second.stderr).toContain('sandbox-boot: unexpected_response (200)');
    expect(first.stderr + second.stderr).not.toContain(ACCESS_TOKEN);
    expect(second.stderr).not.toContain(API_KEY);
    expect(existsSync(recordPath)).toBe(false);
  });

  it.each<{ what: string; args: string[]; env: Record<string, string>; message: string }>([
    { what: 'no argument', args: [], env: {}, message: 'usage:' },
    { what: 'a bad credential name', args: ['../admin'], env: {}, message: 'invalid credential name' },
    { what: 'a dot-dot credential name', args: ['..'], env: {}, message: 'invalid credential name' },
    { what: 'no token', args: ['codex'], env: { SANDBOX_TOKEN: '' }, message: 'no sandbox token' },
    { what: 'a token that is not a JWT', args: ['codex'], env: { SANDBOX_TOKEN: 'a b"c' }, message: 'not a compact JWT' },
    { what: 'a bad BROKER_URL', args: ['codex'], env: { BROKER_URL: 'ftp://x' }, message: 'must start with http' },
    { what: 'a missing CODEX_BIN', args: ['codex'], env: { CODEX_BIN: '/nonexistent/codex' }, message: 'CODEX_BIN not found' },
    { what: 'a CODEX_BIN that is no executable file', args: ['codex'], env: { CODEX_BIN: '/dev/null' }, message: 'CODEX_BIN not found' },
    { what: 'a bad BOOT_MAX_ATTEMPTS', args: ['codex'], env: { BOOT_MAX_ATTEMPTS: '0' }, message: 'BOOT_MAX_ATTEMPTS' },
  ])('exits 2 without any request on $what', async ({ args, env, message }) => {
    const stub = await broker([credentialAnswer('codex_access_token', ACCESS_TOKEN)]);

    const result = await runBootScript(args, { env: baseEnv({ BROKER_URL: stub.url, SANDBOX_TOKEN: TOKEN, ...env }) });

    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toContain(message);
    expect(stub.requests).toHaveLength(0);
  });
});
