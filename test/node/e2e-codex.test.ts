/**
 * End to end, as a user would run it: the dev stack (`tsx dev/dev-stack.ts`: local Secrets Manager +
 * `wrangler dev` with the dev policy), sandbox tokens minted with the SDK, examples/sandbox-boot.sh with the
 * real curl, and the real Codex CLI logging in against a local stand-in for OpenAI's whoami endpoint.
 * Everything lives in temp dirs (state, HOME, CODEX_HOME); the stack runs in its own process group and
 * nothing it started may survive afterAll.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_KEY, DEMO_CODEX_ACCESS_TOKEN, DEV_BROKER_PRINCIPAL, DEV_REGION } from '../../dev/demo-data.ts';
import { spawnGroup, waitForOutput, type GroupProcess } from '../../dev/process-group.ts';
import { mintSandboxToken } from '../../src/sdk/mint-sandbox-token.ts';
import { processTree, survivors, waitForGroupGone, type ProcInfo } from '../support/node/proc-scan.ts';
import { ROOT, runBootScript, runCommand, type CommandResult } from '../support/node/run-command.ts';
import { startWhoamiStandIn, WHOAMI_PATH, type WhoamiStandIn } from '../../dev/whoami-stand-in.ts';

const CODEX_BIN = join(ROOT, 'node_modules', '.bin', 'codex');
const TSX_BIN = join(ROOT, 'node_modules', '.bin', 'tsx');

interface StackInfo {
  brokerUrl: string;
  secretsManagerUrl: string;
  whoamiUrl: string;
  keyPath: string;
  issuer: string;
  audience: string;
  adminKeyPath: string;
  adminIssuer: string;
  adminAudience: string;
}

let work: string;
let home: string;
let stack: GroupProcess | undefined;
let stackLog = '';
let stackInfo: StackInfo;
/** Everything the stack printed up to its ready line: the commands it tells the user to paste. */
let printed = '';
let stackProcesses: ProcInfo[] = [];
let whoami: WhoamiStandIn;
let privateJwk: JWK;

function remember(processes: ProcInfo[]): void {
  for (const proc of processes) {
    if (!stackProcesses.some((known) => known.pid === proc.pid && known.startTime === proc.startTime)) {
      stackProcesses.push(proc);
    }
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'e2e-codex-'));
  home = join(work, 'home');
  mkdirSync(home);
  // The test's own stand-in, so tests can see what Codex sent; the stack runs its own for the printed commands.
  whoami = await startWhoamiStandIn();

  stack = spawnGroup(
    TSX_BIN,
    ['dev/dev-stack.ts', '--port', '0', '--secrets-manager-port', '0', '--whoami-port', '0', '--state-dir', join(work, 'state')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Wrangler's config and logs go to the temp HOME, not the user's.
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), FORCE_COLOR: '0', NO_COLOR: '1' },
    },
  );
  // Keep draining (and keep a tail for failure messages) for the whole run.
  const keep = (chunk: Buffer) => void (stackLog = (stackLog + chunk.toString()).slice(-20_000));
  stack.child.stdout!.on('data', keep);
  stack.child.stderr!.on('data', keep);

  const match = await waitForOutput(stack, /dev-stack ready (\{.*\})\n/, 100_000);
  stackInfo = JSON.parse(match[1]!) as StackInfo;
  printed = match.input!.slice(0, match.index);
  privateJwk = JSON.parse(readFileSync(stackInfo.keyPath, 'utf8')) as JWK;
  remember(processTree(stack.child.pid!));
}, 120_000);

afterAll(async () => {
  try {
    if (stack) {
      const pgid = stack.child.pid!;
      remember(processTree(pgid));
      await stack.stop(10_000);
      // The dev stack's own group (tsx → node dev-stack.ts) is gone: kill(-pgid, 0) fails with ESRCH...
      expect(await waitForGroupGone(pgid), stackLog.slice(-3000)).toEqual([]);
      // ...and so is everything it started, including wrangler dev and workerd in their own group.
      for (const group of new Set(stackProcesses.map((proc) => proc.pgid))) expect(await waitForGroupGone(group)).toEqual([]);
      expect(survivors(stackProcesses)).toEqual([]);
      expect(stackProcesses.some((proc) => /workerd/.test(proc.command)), 'workerd was seen in the stack').toBe(true);
    }
  } finally {
    await whoami?.close();
    rmSync(work, { recursive: true, force: true });
  }
}, 120_000);

function mint(subject: string, claims: Record<string, unknown> = {}, audience?: string): Promise<string> {
  return mintSandboxToken({
    privateJwk,
    issuer: stackInfo.issuer,
    subject,
    audience: audience ?? stackInfo.audience,
    claims,
  });
}

/** An admin token from the dev stack's generated platform key, as the platform team would mint one. */
function mintAdminToken(): Promise<string> {
  return mintSandboxToken({
    privateJwk: JSON.parse(readFileSync(stackInfo.adminKeyPath, 'utf8')) as JWK,
    issuer: stackInfo.adminIssuer,
    audience: stackInfo.adminAudience,
    subject: 'platform@e2e',
    type: 'admin+jwt',
    claims: { role: 'token-broker-admin' },
  });
}

function freshCodexHome(label: string): string {
  return mkdtempSync(join(work, `codex-home-${label}-`));
}

/** The environment of one sandbox: nothing inherited from the test process but PATH. */
function sandboxEnv(codexHome: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    CODEX_HOME: codexHome,
    CODEX_AUTHAPI_BASE_URL: whoami.baseUrl,
    CODEX_BIN,
    BROKER_URL: stackInfo.brokerUrl,
    BOOT_BACKOFF_SECONDS: '0.2',
    ...extra,
  };
}

function bootScript(credential: string, env: Record<string, string>): Promise<CommandResult> {
  return runBootScript([credential], { env, timeoutMs: 60_000 });
}

function codexLoginStatus(codexHome: string): Promise<CommandResult> {
  return runCommand(CODEX_BIN, ['login', 'status'], { env: sandboxEnv(codexHome), timeoutMs: 30_000 });
}

function describeRun(result: CommandResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndev stack log (tail):\n${stackLog.slice(-3000)}`;
}

/**
 * A developer's shell in another terminal: their environment minus anything this broker, Codex or AWS would
 * read, so a printed command passes only if it carries everything it needs.
 */
function pasteEnv(extra: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && !/^(CODEX_|TOKEN_BROKER_|SANDBOX_TOKEN|BROKER_URL$|AWS_)/.test(entry[0]),
  );
  return { ...Object.fromEntries(inherited), HOME: home, XDG_CONFIG_HOME: join(home, '.config'), npm_config_update_notifier: 'false', ...extra };
}

/** Runs pasted lines with sh at the repository root (its own process group, swept afterwards). */
function paste(lines: string, env: Record<string, string>): Promise<CommandResult> {
  return runCommand('sh', ['-c', `set -e\n${lines}`], { env, cwd: ROOT, timeoutMs: 90_000 });
}

/** What the local Secrets Manager holds, read the way the broker reads it. */
async function storedSecret(secretId: string): Promise<string> {
  const client = new SecretsManagerClient({
    region: DEV_REGION,
    endpoint: stackInfo.secretsManagerUrl,
    credentials: { accessKeyId: DEV_BROKER_PRINCIPAL.accessKeyId, secretAccessKey: DEV_BROKER_PRINCIPAL.secretAccessKey },
  });
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return result.SecretString!;
  } finally {
    client.destroy();
  }
}

describe('sandbox boot with the real Codex CLI against the dev stack', () => {
  it('logs Codex in with the workspace access token stored in Secrets Manager', async () => {
    const stored = (JSON.parse(await storedSecret('demo/codex')) as { access_token: string }).access_token;
    expect(stored).toBe(DEMO_CODEX_ACCESS_TOKEN);
    const token = await mint('sb-e2e-1');
    const codexHome = freshCodexHome('codex');
    const before = whoami.requests.length;

    const boot = await bootScript('codex', sandboxEnv(codexHome, { SANDBOX_TOKEN: token }));

    expect(boot.code, describeRun(boot)).toBe(0);
    expect(boot.stderr).toMatch(/^sandbox-boot: logged in to Codex with credential codex \(kind codex_access_token, version \S+, issuance \S+\)$/m);
    expect(boot.stdout + boot.stderr).not.toContain(stored);
    // `codex login --with-access-token` checked the token with the whoami endpoint: exactly the stored value.
    expect(whoami.requests.slice(before)).toEqual([{ method: 'GET', path: WHOAMI_PATH, authorization: `Bearer ${stored}` }]);

    const status = await codexLoginStatus(codexHome);
    expect(status.code, describeRun(status)).toBe(0);
    expect(status.stdout + status.stderr).toContain('Logged in using personal access token');
    expect(whoami.requests.slice(before).map((request) => request.authorization)).toEqual([`Bearer ${stored}`, `Bearer ${stored}`]);
    const auth = JSON.parse(readFileSync(join(codexHome, 'auth.json'), 'utf8')) as Record<string, unknown>;
    expect(auth.personal_access_token).toBe(stored);

    // The same token once more: tokens are single-use, so the broker refuses and the script stops on the
    // 401 without retrying and without touching Codex.
    const againHome = freshCodexHome('codex-again');
    const again = await bootScript('codex', sandboxEnv(againHome, { SANDBOX_TOKEN: token }));
    expect(again.code, describeRun(again)).toBe(3);
    expect(again.stderr).toMatch(/^sandbox-boot: token_replayed \(401\)$/m);
    expect(again.stderr).not.toContain('retrying');
    expect(existsSync(join(againHome, 'auth.json'))).toBe(false);
  });

  it('the boot command the dev stack prints works as pasted from the repository root (CODEX_BIN, the stack\'s whoami stand-in)', async () => {
    const line = printed.split('\n').find((text) => text.startsWith('  SANDBOX_TOKEN='));
    expect(line, printed).toBeDefined();
    expect(line).toContain(' CODEX_BIN=node_modules/.bin/codex ');
    expect(line).toContain(` CODEX_AUTHAPI_BASE_URL=${stackInfo.whoamiUrl} `);
    expect(stackInfo.whoamiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/accounts$/);
    expect(stackInfo.whoamiUrl).not.toBe(whoami.baseUrl);
    // `CODEX_HOME=$(mktemp -d)` as printed; a TMPDIR of our own tells us which directory it made.
    const tmp = mkdtempSync(join(work, 'paste-tmp-'));
    const before = whoami.requests.length;

    const boot = await paste(line!.trim(), pasteEnv({ TMPDIR: tmp }));

    expect(boot.code, describeRun(boot)).toBe(0);
    expect(boot.stderr).toMatch(/^sandbox-boot: logged in to Codex with credential codex \(kind codex_access_token, version \S+, issuance \S+\)$/m);
    expect(boot.stdout + boot.stderr).not.toContain(DEMO_CODEX_ACCESS_TOKEN);
    const made = readdirSync(tmp).filter((name) => name.startsWith('tmp.'));
    expect(made).toHaveLength(1);
    const status = await runCommand(CODEX_BIN, ['login', 'status'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: join(tmp, made[0]!), CODEX_AUTHAPI_BASE_URL: stackInfo.whoamiUrl },
      timeoutMs: 30_000,
    });
    expect(status.code, describeRun(status)).toBe(0);
    expect(status.stdout + status.stderr).toContain('Logged in using personal access token');
    // Codex checked the token with the stack's stand-in, not with this test's.
    expect(whoami.requests.length).toBe(before);
  });

  it('logs Codex in with the API key for a research sandbox, token handed over in a file', async () => {
    const stored = await storedSecret('demo/openai-api-key');
    expect(stored).toBe(DEMO_API_KEY);
    const tokenFile = join(work, 'sandbox-research.jwt');
    writeFileSync(tokenFile, `${await mint('sb-e2e-2', { team: 'research' })}\n`, { mode: 0o600 });
    const codexHome = freshCodexHome('api-key');
    const before = whoami.requests.length;

    const boot = await bootScript('openai-api-key', sandboxEnv(codexHome, { SANDBOX_TOKEN_FILE: tokenFile }));

    expect(boot.code, describeRun(boot)).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
    expect(boot.stderr).toMatch(/^sandbox-boot: logged in to Codex with credential openai-api-key \(kind api_key, version \S+, issuance \S+\)$/m);
    expect(boot.stdout + boot.stderr).not.toContain(stored);

    const status = await codexLoginStatus(codexHome);
    expect(status.code, describeRun(status)).toBe(0);
    expect(status.stdout + status.stderr).toContain('API key configured');
    const auth = JSON.parse(readFileSync(join(codexHome, 'auth.json'), 'utf8')) as Record<string, unknown>;
    expect(auth.OPENAI_API_KEY).toBe(stored);
    // An API key login needs no network: the whoami stand-in heard nothing.
    expect(whoami.requests.length).toBe(before);
  });

  it('stops on the broker\'s refusal without retrying and leaves Codex logged out', async () => {
    const noTeam = await mint('sb-e2e-3'); // the API key needs team=research
    const wrongAudience = await mint('sb-e2e-4', {}, 'some-other-broker');
    const homeA = freshCodexHome('denied-a');
    const homeB = freshCodexHome('denied-b');

    const forbidden = await bootScript('openai-api-key', sandboxEnv(homeA, { SANDBOX_TOKEN: noTeam }));
    const unauthorized = await bootScript('codex', sandboxEnv(homeB, { SANDBOX_TOKEN: wrongAudience }));

    expect(forbidden.code, describeRun(forbidden)).toBe(3);
    expect(forbidden.stderr).toMatch(/^sandbox-boot: forbidden \(403\)$/m);
    expect(unauthorized.code, describeRun(unauthorized)).toBe(3);
    expect(unauthorized.stderr).toMatch(/^sandbox-boot: invalid_audience \(401\)$/m);
    for (const result of [forbidden, unauthorized]) expect(result.stderr).not.toContain('retrying');
    expect(existsSync(join(homeA, 'auth.json'))).toBe(false);
    expect(existsSync(join(homeB, 'auth.json'))).toBe(false);
  });
});

describe('the platform team audits the dev stack with the CLI', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    runCommand(process.execPath, [join(ROOT, 'bin', 'token-broker.js'), ...args], { env: { ...process.env, ...env } as Record<string, string>, timeoutMs: 30_000 });

  it('queries, exports and verifies the ledger; a tampered or shortened export fails verification, naming the record', async () => {
    const subject = 'sb-e2e-audit';
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${stackInfo.brokerUrl}/v1/credentials/codex`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await mint(subject)}` },
      });
      expect(response.status).toBe(200);
    }
    const adminToken = await mintAdminToken();
    const env = { TOKEN_BROKER_URL: stackInfo.brokerUrl, TOKEN_BROKER_ADMIN_TOKEN: adminToken };

    const query = await cli(['audit', 'query', '--sub', subject, '--limit', '2', '--all'], env);
    expect(query.code, query.stderr).toBe(0);
    const records = query.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => [record.sub, record.outcome, record.credential])).toEqual(Array(3).fill([subject, 'issued', 'codex']));
    expect(query.stderr).toContain('3 records');

    const exportFile = join(work, 'audit.ndjson');
    const exported = await cli(['audit', 'export', '-o', exportFile], env);
    expect(exported.code, exported.stderr).toBe(0);
    const text = readFileSync(exportFile, 'utf8');
    expect(text).not.toContain(DEMO_CODEX_ACCESS_TOKEN);
    expect(text).not.toContain(DEMO_API_KEY);

    const verified = await cli(['audit', 'verify', exportFile], env);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/^ok: \d+ records in 4 shards verified/);

    const lines = text.trimEnd().split('\n');
    const index = lines.findIndex((line) => line.includes(`"sub":"${subject}"`));
    const target = JSON.parse(lines[index]!) as { shard: number; seq: number; request_id: string };
    const tampered = [...lines];
    tampered[index] = lines[index]!.replace('"outcome":"issued"', '"outcome":"denied"');
    writeFileSync(join(work, 'tampered.ndjson'), `${tampered.join('\n')}\n`);
    const broken = await cli(['audit', 'verify', join(work, 'tampered.ndjson')], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe(`BROKEN at line ${index + 1} shard ${target.shard} seq ${target.seq} (request ${target.request_id}): hash does not match the record (it was altered)\n`);

    const without = lines.filter((_, i) => i !== index);
    writeFileSync(join(work, 'deleted.ndjson'), `${without.join('\n')}\n`);
    const gap = await cli(['audit', 'verify', join(work, 'deleted.ndjson')], env);
    expect(gap.code).toBe(1);
    expect(gap.stdout).toContain(`shard ${target.shard}`);
  }, 60_000);

  it('revokes a sandbox and flips a kill switch from the CLI; the broker obeys at once', async () => {
    const adminToken = await mintAdminToken();
    const env = { TOKEN_BROKER_URL: stackInfo.brokerUrl, TOKEN_BROKER_ADMIN_TOKEN: adminToken };
    const fetchCodex = async (subject: string) => {
      const response = await fetch(`${stackInfo.brokerUrl}/v1/credentials/codex`, { method: 'POST', headers: { Authorization: `Bearer ${await mint(subject)}` } });
      return response.status === 200 ? 'issued' : ((await response.json()) as { error: { code: string } }).error.code;
    };

    const revoked = await cli(['revoke', '--sub', 'sb-e2e-bad', '--for', '1h', '--reason', 'e2e'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked sub:\*:sb-e2e-bad until \d{4}-/);
    expect(await fetchCodex('sb-e2e-bad')).toBe('token_revoked');
    const listed = await cli(['revocations', 'list'], env);
    expect(listed.stdout).toContain('"id":"sub:*:sb-e2e-bad"');
    expect((await cli(['revocations', 'lift', 'sub:*:sb-e2e-bad'], env)).code).toBe(0);
    expect(await fetchCodex('sb-e2e-bad')).toBe('issued');

    expect((await cli(['kill-switch', 'on', 'codex', '--reason', 'e2e drill'], env)).stdout).toBe('issuance of codex is OFF (kill switch on)\n');
    expect(await fetchCodex('sb-e2e-kill')).toBe('credential_disabled');
    expect((await cli(['kill-switch', 'off', 'codex'], env)).code).toBe(0);
    expect(await fetchCodex('sb-e2e-kill')).toBe('issued');

    // A typo is refused by the broker, naming the problem, and nothing is switched off.
    const typo = await cli(['kill-switch', 'on', 'codx'], env);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(/^token-broker: broker answered 400 invalid_request: credential codx is not defined in the policy \(request \S+\)$/m);
    const switches = await cli(['kill-switch', 'list'], env);
    expect(switches.stderr).toContain('0 credentials switched off');
    expect(await fetchCodex('sb-e2e-kill-typo')).toBe('issued');

    const noToken = await cli(['kill-switch', 'list'], { TOKEN_BROKER_URL: stackInfo.brokerUrl, TOKEN_BROKER_ADMIN_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('an admin token is required');
  }, 60_000);

  it('rotates a credential with the CLI; audit holders names exactly the sandboxes that got the old version', async () => {
    const adminToken = await mintAdminToken();
    const env = { TOKEN_BROKER_URL: stackInfo.brokerUrl, TOKEN_BROKER_ADMIN_TOKEN: adminToken };
    const issue = async (subject: string) => {
      const response = await fetch(`${stackInfo.brokerUrl}/v1/credentials/openai-api-key`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await mint(subject, { team: 'research' })}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { value: string; version_id: string };
    };
    const holders = async (version: string) => {
      const result = await cli(['audit', 'holders', 'openai-api-key', '--version', version], env);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim() === '' ? [] : result.stdout.trim().split('\n').map((line) => line.split('\t')[0]!);
    };

    const first = await issue('sb-holder-1');
    const oldVersion = first.version_id;
    const earlier = (await holders(oldVersion)).filter((sub) => !sub.startsWith('sb-holder-'));
    await issue('sb-holder-2');

    const rotator = {
      ...env,
      AWS_ACCESS_KEY_ID: 'AKIDLOCALDEVROTATOR0',
      AWS_SECRET_ACCESS_KEY: 'local-dev-rotator-secret-access-key',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const rotateArgs = ['rotate', 'openai-api-key', '--policy', 'policy/dev.json', '--region', 'us-east-1', '--endpoint', stackInfo.secretsManagerUrl];
    const refused = await runCommand(process.execPath, [join(ROOT, 'bin', 'token-broker.js'), ...rotateArgs], {
      env: { ...process.env, ...rotator } as Record<string, string>,
      stdin: 'not a key with spaces',
      timeoutMs: 30_000,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the new value is not usable');
    expect(refused.stderr).not.toContain('not a key with spaces');

    const rotated = await runCommand(process.execPath, [join(ROOT, 'bin', 'token-broker.js'), ...rotateArgs], {
      env: { ...process.env, ...rotator } as Record<string, string>,
      stdin: 'sk-ROTATED-E2E-0001\n',
      timeoutMs: 30_000,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const [, printedOld, printedNew] = /old version (\S+) \(now AWSPREVIOUS\)\n {2}new version (\S+) \(AWSCURRENT\)/.exec(rotated.stdout) ?? [];
    expect(printedOld).toBe(oldVersion);
    expect(rotated.stdout).toContain('broker caches flushed');

    // After the flush (dev stack: one isolate, flushed directly), sandboxes get the new version.
    const after = await issue('sb-holder-3');
    expect(after).toEqual({ ...after, value: 'sk-ROTATED-E2E-0001', version_id: printedNew });
    expect((await holders(oldVersion)).sort()).toEqual([...earlier, 'sb-holder-1', 'sb-holder-2'].sort());
    expect(await holders(printedNew!)).toEqual(['sb-holder-3']);
  }, 90_000);

  it('doctor checks the running broker without revealing any value', async () => {
    const adminToken = await mintAdminToken();
    const result = await cli(['doctor'], { TOKEN_BROKER_URL: stackInfo.brokerUrl, TOKEN_BROKER_ADMIN_TOKEN: adminToken });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok {3}broker reachable at http:\/\/127\.0\.0\.1:\d+; configuration and policy valid$/m);
    expect(result.stdout).toMatch(/^ok {3}credential codex: secret demo\/codex reachable, AWSCURRENT \S+$/m);
    expect(result.stdout).toContain('ok   ledger: 4 of 4 shards writable');
    expect(result.stdout).toContain('broker healthy');
    expect(result.stdout).not.toContain(DEMO_CODEX_ACCESS_TOKEN);
    const unreachable = await cli(['doctor'], { TOKEN_BROKER_URL: 'http://127.0.0.1:9', TOKEN_BROKER_ADMIN_TOKEN: adminToken });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toContain('FAIL broker unreachable at http://127.0.0.1:9');
  }, 60_000);
});

describe('the platform-team commands the dev stack prints work as pasted, in order, from the repository root', () => {
  it('exports the admin token on its own line; audit query and rotate (with its cache flush) then succeed', async () => {
    const from = printed.indexOf('Act as the platform team');
    expect(from, printed).toBeGreaterThan(-1);
    const commands = printed
      .slice(from)
      .split('\n')
      .filter((text) => text.startsWith('  '))
      .map((text) => text.slice(2))
      .join('\n');
    expect(commands).toMatch(/^export TOKEN_BROKER_ADMIN_TOKEN="\$\(npx token-broker mint --key \S+ .*--typ admin\+jwt .*\)"$/m);
    expect(commands).toMatch(/^npx token-broker audit query /m);
    expect(commands).toMatch(/^printf %s at-DEMO-ROTATED-0001 \| .*\\\n {2}npx token-broker rotate codex /m);

    const result = await paste(commands, pasteEnv());

    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stderr).toMatch(/^\d+ records/m);
    expect(result.stdout).toMatch(/^rotated codex \(secret demo\/codex\)$/m);
    expect(result.stdout).toContain('broker caches flushed: every isolate serves the new version within seconds');
    expect(JSON.parse(await storedSecret('demo/codex'))).toEqual({ access_token: 'at-DEMO-ROTATED-0001' });
    const response = await fetch(`${stackInfo.brokerUrl}/v1/credentials/codex`, { method: 'POST', headers: { Authorization: `Bearer ${await mint('sb-e2e-pasted')}` } });
    expect(((await response.json()) as { value: string }).value).toBe('at-DEMO-ROTATED-0001');
  }, 120_000);
});
