/**
 * `token-broker rotate` against the local Secrets Manager server (in this process): everything the cache
 * flush needs (broker URL, admin token) is checked before Secrets Manager is touched, so a missing or
 * expired admin token fails with the secret unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CODEX_ACCESS_TOKEN, DEMO_SECRETS, DEV_REGION, DEV_ROTATOR_PRINCIPAL } from '../../dev/demo-data.ts';
import type { RunningSecretsManagerServer } from '../../dev/secrets-manager/server.ts';
import { ROOT, runCommand } from '../support/node/run-command.ts';
import { errorAnswer, startStubBroker, type StubBroker } from '../support/node/stub-broker.ts';
import { ADMIN, clientFor, startServer } from './secrets-manager/helpers.ts';

const BIN = join(ROOT, 'bin', 'token-broker.js');
const NEW_VALUE = 'at-ROTATE-TEST-NEW-VALUE-0001';

let home: string;
let server: RunningSecretsManagerServer;
const brokers: StubBroker[] = [];

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'tb-rotate-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

async function startSecrets(): Promise<void> {
  server = await startServer({ region: DEV_REGION, principals: [ADMIN, DEV_ROTATOR_PRINCIPAL], secrets: DEMO_SECRETS });
}

/** What AWSCURRENT of demo/codex is now, read with a separate identity. */
async function current(): Promise<{ versionId: string; secretString: string }> {
  const result = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'demo/codex', VersionStage: 'AWSCURRENT' }));
  return { versionId: result.VersionId!, secretString: result.SecretString! };
}

function rotate(args: string[], env: Record<string, string> = {}) {
  return runCommand(
    process.execPath,
    [BIN, 'rotate', 'codex', '--policy', 'policy/dev.json', '--region', DEV_REGION, '--endpoint', server.url, ...args],
    {
      // Nothing from the developer's environment (no TOKEN_BROKER_*, no ~/.aws): the rotator's keys only.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        AWS_ACCESS_KEY_ID: DEV_ROTATOR_PRINCIPAL.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DEV_ROTATOR_PRINCIPAL.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
      stdin: `${NEW_VALUE}\n`,
      timeoutMs: 30_000,
    },
  );
}

/** A well-formed JWT whose exp has passed (the CLI checks only exp; the broker would check the rest). */
function expiredToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'token-broker-admin' })
    .setProtectedHeader({ alg: 'HS256', typ: 'admin+jwt' })
    .setIssuedAt(now - 600)
    .setExpirationTime(now - 300)
    .sign(new Uint8Array(32));
}

describe('token-broker rotate checks the flush target before changing anything', () => {
  it('with --url but no admin token: exit 2, no Secrets Manager call, AWSCURRENT unchanged', async () => {
    await startSecrets();
    const before = await current();
    const callsBefore = server.calls();

    const result = await rotate(['--url', 'http://127.0.0.1:9']);

    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('an admin token is required: --token-file FILE or TOKEN_BROKER_ADMIN_TOKEN');
    expect(result.stdout).toBe('');
    expect(server.calls() - callsBefore).toBe(0);
    expect(await current()).toEqual(before);
    expect(JSON.parse(before.secretString)).toEqual({ access_token: DEMO_CODEX_ACCESS_TOKEN });
    expect(result.stdout + result.stderr).not.toContain(NEW_VALUE);
  });

  it('with TOKEN_BROKER_URL and an expired admin token: exit 2 naming the expiry, AWSCURRENT unchanged', async () => {
    await startSecrets();
    const before = await current();
    const callsBefore = server.calls();

    const result = await rotate([], { TOKEN_BROKER_URL: 'http://127.0.0.1:9', TOKEN_BROKER_ADMIN_TOKEN: await expiredToken() });

    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/the admin token expired at \S+; mint a new one \(nothing was changed\)/);
    expect(server.calls() - callsBefore).toBe(0);
    expect(await current()).toEqual(before);
  });

  it('with --no-flush needs no admin token and rotates', async () => {
    await startSecrets();
    const before = await current();

    const result = await rotate(['--url', 'http://127.0.0.1:9', '--no-flush']);

    expect(result.code, result.stderr).toBe(0);
    const after = await current();
    expect(after.versionId).not.toBe(before.versionId);
    expect(JSON.parse(after.secretString)).toEqual({ access_token: NEW_VALUE });
    expect(result.stdout).toContain(`old version ${before.versionId} (now AWSPREVIOUS)`);
    expect(result.stdout).toContain('broker caches not flushed');
    expect(result.stdout + result.stderr).not.toContain(NEW_VALUE);
  });

  it('says plainly that the rotation happened when only the flush fails afterwards', async () => {
    await startSecrets();
    const before = await current();
    const broker = await startStubBroker({ answers: [errorAnswer(401, 'invalid_signature')] });
    brokers.push(broker);

    const result = await rotate(['--url', broker.url], { TOKEN_BROKER_ADMIN_TOKEN: 'not-checked-locally' });

    expect(result.code).toBe(1);
    const after = await current();
    expect(after.versionId).not.toBe(before.versionId);
    expect(result.stderr).toContain(`codex was rotated (new AWSCURRENT version ${after.versionId}), but the cache flush failed: broker answered 401 invalid_signature`);
    expect(result.stderr).toContain('token-broker cache flush codex');
    expect(broker.requests.map((request) => [request.method, request.url, request.headers.authorization])).toEqual([
      ['POST', '/v1/admin/cache/flush', 'Bearer not-checked-locally'],
    ]);
    expect(result.stdout + result.stderr).not.toContain(NEW_VALUE);
  });
});
