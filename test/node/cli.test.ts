/** The `token-broker` CLI, run as a user runs it: a child process of bin/token-broker.js. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ROOT, runCommand } from '../support/node/run-command.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'token-broker.js');

async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [BIN, ...args], { cwd: join(import.meta.dirname, '..', '..') });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  } else {
    child.child.stdin!.end();
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('token-broker policy validate', () => {
  it('accepts every shipped policy', async () => {
    const result = await cli(['policy', 'validate', 'policy/policy.json', 'policy/staging.json', 'policy/dev.json']);
    expect(result.stdout).toBe(
      'policy/policy.json: ok (1 issuers, 2 credentials)\npolicy/staging.json: ok (1 issuers, 2 credentials)\npolicy/dev.json: ok (1 issuers, 2 credentials)\n',
    );
    expect(result.code).toBe(0);
  });

  it('names the first bad field and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-policy-'));
    const policy = JSON.parse(readFileSync('policy/policy.json', 'utf8'));
    policy.credentials.codex.secret.json_kye = 'typo';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(policy));
    writeFileSync(join(dir, 'broken.json'), '{ not json');
    const result = await cli(['policy', 'validate', join(dir, 'bad.json'), join(dir, 'broken.json')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${join(dir, 'bad.json')}: policy invalid at credentials.codex.secret.json_kye: is not a known field`);
    expect(result.stdout).toContain(`${join(dir, 'broken.json')}: not valid JSON`);
  });

  it('npm run policy:validate validates every shipped policy, and fails naming the field on a bad one', async () => {
    const env = { ...process.env } as Record<string, string>;
    const shipped = readdirSync(join(ROOT, 'policy')).filter((file) => file.endsWith('.json')).sort();
    expect(shipped).toEqual(['dev.json', 'policy.json', 'staging.json']);

    const ok = await runCommand('npm', ['run', '--silent', 'policy:validate'], { env, timeoutMs: 30_000 });
    expect(ok.code, ok.stderr).toBe(0);
    // One line per shipped policy: a script that runs nothing (the old `tsx cli/main.ts …`) prints none.
    expect(ok.stdout.trim().split('\n').sort()).toEqual(shipped.map((file) => `policy/${file}: ok (1 issuers, 2 credentials)`));

    // The same script with one more file: a policy with a typo fails the whole run, naming the field.
    const dir = mkdtempSync(join(tmpdir(), 'tb-policy-'));
    const policy = JSON.parse(readFileSync('policy/policy.json', 'utf8'));
    policy.credentials.codex.max_usse = 2;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(policy));
    const bad = await runCommand('npm', ['run', '--silent', 'policy:validate', '--', join(dir, 'bad.json')], { env, timeoutMs: 30_000 });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('policy/dev.json: ok');
    expect(bad.stdout).toContain(`${join(dir, 'bad.json')}: policy invalid at credentials.codex.max_usse`);
  });

  it('refuses an HMAC algorithm and a private key in a policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-policy-'));
    const policy = JSON.parse(readFileSync('policy/policy.json', 'utf8'));
    policy.issuers['https://orchestrator.example.com'].algorithms = ['HS256'];
    writeFileSync(join(dir, 'hmac.json'), JSON.stringify(policy));
    const result = await cli(['policy', 'validate', join(dir, 'hmac.json')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('policy invalid at issuers.https://orchestrator.example.com.algorithms.0');
  });
});

describe('token-broker keygen and mint', () => {
  it('writes a private key readable only by its owner and a public JWKS without private members', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-keys-'));
    const privateOut = join(dir, 'orchestrator.jwk.json');
    const jwksOut = join(dir, 'jwks.json');
    const result = await cli(['keygen', '--alg', 'EdDSA', '--private-out', privateOut, '--jwks-out', jwksOut]);
    expect(result.code).toBe(0);
    expect(statSync(privateOut).mode & 0o777).toBe(0o600);
    const privateJwk = JSON.parse(readFileSync(privateOut, 'utf8'));
    const jwks = JSON.parse(readFileSync(jwksOut, 'utf8'));
    expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(typeof privateJwk.d).toBe('string');
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0].d).toBeUndefined();
    expect(jwks.keys[0].kid).toBe(privateJwk.kid);

    const again = await cli(['keygen', '--private-out', privateOut]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists');
  });

  it('mints a token that verifies against the generated JWKS, with claims, typ and lifetime', async () => {
    const { stdout } = await cli(['keygen']);
    const { private_jwk, public_jwks } = JSON.parse(stdout);
    const dir = mkdtempSync(join(tmpdir(), 'tb-mint-'));
    writeFileSync(join(dir, 'key.json'), JSON.stringify(private_jwk));
    const result = await cli([
      'mint', '--key', join(dir, 'key.json'), '--iss', 'https://orch.test', '--sub', 'sb-42', '--aud', 'https://broker.test',
      '--ttl', '120', '--claim', 'team=research', '--claim', 'exp=999',
    ]);
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'sandbox+jwt', kid: private_jwk.kid });
    const { payload } = await jwtVerify(token, await importJWK(public_jwks.keys[0], 'ES256'), {
      issuer: 'https://orch.test',
      audience: 'https://broker.test',
    });
    expect(payload).toMatchObject({ sub: 'sb-42', team: 'research' });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(typeof payload.jti).toBe('string');
  });

  it('reads the key from stdin with --key -', async () => {
    const { stdout } = await cli(['keygen']);
    const { private_jwk } = JSON.parse(stdout);
    const result = await cli(['mint', '--key', '-', '--iss', 'i', '--sub', 's', '--aud', 'a'], JSON.stringify(private_jwk));
    expect(result.code).toBe(0);
    expect(decodeJwt(result.stdout.trim()).sub).toBe('s');
  });

  it('explains missing options with usage and exit 2', async () => {
    const result = await cli(['mint', '--iss', 'i']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--key is required');
    expect(result.stderr).toContain('usage: token-broker');
    expect(existsSync(BIN)).toBe(true);
  });
});

describe('token-broker <command> --help', () => {
  it('prints that command\'s usage on stdout and exits 0, without parsing its options or needing a broker', async () => {
    for (const [args, starts] of [
      [['mint', '--help'], 'usage: token-broker mint --key FILE|- --iss ISSUER'],
      [['keygen', '-h'], 'usage: token-broker keygen [--alg ES256|EdDSA]'],
      [['rotate', 'codex', '--region', 'us-east-1', '--help'], 'usage: token-broker rotate CREDENTIAL'],
      [['policy', 'validate', '--help'], 'usage: token-broker policy validate FILE...'],
      [['audit', 'query', '--sub', 'sb-1', '-h'], 'usage: token-broker audit query [--sub ID]'],
      [['kill-switch', 'on', 'codex', '--help'], 'usage: token-broker kill-switch on CREDENTIAL'],
      [['help', 'doctor'], 'usage: token-broker doctor\n'],
    ] as const) {
      const result = await cli([...args]);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(result.stdout.startsWith(starts), `${args.join(' ')}:\n${result.stdout}`).toBe(true);
      // Only the one command, not the whole list.
      expect(result.stdout).not.toContain('commands:');
    }
    const admin = await cli(['kill-switch', '--help']);
    expect(admin.stdout).toContain('TOKEN_BROKER_ADMIN_TOKEN');
  });

  it('lists every subcommand of a command group, and everything for token-broker --help', async () => {
    const audit = await cli(['audit', '--help']);
    expect(audit.code).toBe(0);
    for (const sub of ['query', 'export', 'verify', 'holders']) expect(audit.stdout).toContain(`token-broker audit ${sub}`);
    const all = await cli(['--help']);
    expect(all.code).toBe(0);
    for (const command of ['keygen', 'mint', 'policy validate', 'rotate', 'audit query', 'doctor', 'cache flush', 'revoke', 'revocations', 'kill-switch']) {
      expect(all.stdout).toContain(`\n  ${command} `.trimEnd());
    }
  });

  it('still refuses an unknown option (exit 2, that command\'s usage) and --help after --', async () => {
    const unknown = await cli(['mint', '--hepl']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--hepl'");
    expect(unknown.stderr).toContain('usage: token-broker mint');
    const afterEnd = await cli(['policy', 'validate', '--', '--help']);
    expect(afterEnd.code).toBe(1);
    expect(afterEnd.stdout).toContain('--help: ');
  });
});
