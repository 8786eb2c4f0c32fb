/**
 * `npm run dev`: the broker on this machine with demo data, no AWS account and no Cloudflare login.
 *
 *   1. dev signing key in .dev/ (generated on first run, kept afterwards)
 *   2. .dev/policy.json: policy/dev.json with that key's public half inlined
 *   3. the local Secrets Manager server, seeded with fake credentials (re-seeded on every start)
 *   4. the whoami stand-in (dev/whoami-stand-in.ts): a local stand-in for OpenAI's whoami endpoint, so the
 *      fake demo token can log Codex in offline
 *   5. `wrangler dev` with that policy and endpoint (its own process group; its state, and so the ledger,
 *      persists in the state dir)
 *   6. ready-to-paste commands, meant to be run from the repository root; Ctrl-C stops everything
 *
 * Options: --port (broker, default 8787; 0 picks a free one), --secrets-manager-port (default 4599; 0 = free),
 * --whoami-port (default 4598; 0 = free), --state-dir (default .dev). Prints `dev-stack ready <json>` for
 * scripts and tests.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSigningKey } from '../src/sdk/generate-signing-key.ts';
import { DEMO_SECRETS, DEV_ADMIN_AUDIENCE, DEV_ADMIN_ISSUER, DEV_AUDIENCE, DEV_BROKER_PRINCIPAL, DEV_ISSUER, DEV_REGION, DEV_ROTATOR_PRINCIPAL } from './demo-data.ts';
import { spawnGroup, waitForOutput } from './process-group.ts';
import { startSecretsManagerServer } from './secrets-manager/server.ts';
import { freePort } from './free-port.ts';
import { startWhoamiStandIn, type WhoamiStandIn } from './whoami-stand-in.ts';
import { writeWranglerConfigWithPolicy } from '../scripts/wrangler-config-with-policy.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      'secrets-manager-port': { type: 'string', default: '4599' },
      'whoami-port': { type: 'string', default: '4598' },
      'state-dir': { type: 'string', default: join(ROOT, '.dev') },
    },
    strict: true,
  });
  const stateDir = resolve(values['state-dir']);
  mkdirSync(stateDir, { recursive: true });

  const { keyPath, jwks } = await ensureKey(stateDir, 'orchestrator');
  const { keyPath: adminKeyPath, jwks: adminJwks } = await ensureKey(stateDir, 'admin');
  const policyPath = join(stateDir, 'policy.json');
  const policy = JSON.parse(readFileSync(join(ROOT, 'policy', 'dev.json'), 'utf8'));
  inlineKeys(policy.issuers[DEV_ISSUER], jwks);
  inlineKeys(policy.admin.issuers[DEV_ADMIN_ISSUER], adminJwks);
  writeFileSync(policyPath, `${JSON.stringify(policy, null, 2)}\n`);

  const secretsManager = await startSecretsManagerServer({
    port: await portOption(values['secrets-manager-port']),
    region: DEV_REGION,
    principals: [DEV_BROKER_PRINCIPAL, DEV_ROTATOR_PRINCIPAL],
    secrets: DEMO_SECRETS,
  });
  log(`local Secrets Manager on ${secretsManager.url} (demo secrets: ${DEMO_SECRETS.map((secret) => secret.name).join(', ')})`);
  let whoami: WhoamiStandIn;
  try {
    whoami = await startWhoamiStandIn({ port: await portOption(values['whoami-port']) });
  } catch (error) {
    await secretsManager.close();
    throw error;
  }
  log(`whoami stand-in on ${whoami.baseUrl} (local stand-in for OpenAI's whoami, so Codex accepts the fake demo token offline)`);

  // The audit key is generated once and kept, so fingerprints stay comparable across restarts.
  const auditKeyPath = join(stateDir, 'audit-hmac.key');
  if (!existsSync(auditKeyPath)) writeFileSync(auditKeyPath, randomBytes(32).toString('hex'), { mode: 0o600 });

  // Secrets go in an env file so wrangler shows them as "(hidden)".
  const varsPath = join(stateDir, 'dev.vars');
  writeFileSync(
    varsPath,
    [
      `AWS_ACCESS_KEY_ID=${DEV_BROKER_PRINCIPAL.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${DEV_BROKER_PRINCIPAL.secretAccessKey}`,
      `SECRETS_MANAGER_ENDPOINT=${secretsManager.url}`,
      `AWS_REGION=${DEV_REGION}`,
      `AUDIT_HMAC_KEY=${readFileSync(auditKeyPath, 'utf8').trim()}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const port = await portOption(values.port);
  const wrangler = spawnGroup(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
      'dev',
      '--config', await writeWranglerConfigWithPolicy({ root: ROOT, outDir: stateDir, policyPath }),
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(await freePort()),
      '--env-file', varsPath,
      '--persist-to', join(stateDir, 'wrangler-state'),
      '--show-interactive-dev-session=false',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' },
    },
  );
  wrangler.child.stdout!.pipe(process.stdout);
  wrangler.child.stderr!.pipe(process.stderr);

  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await wrangler.stop();
    await Promise.all([secretsManager.close(), whoami.close()]);
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  void wrangler.exited.then((code) => {
    if (!stopping) {
      log(`wrangler dev exited (${code})`);
      void stop(1);
    }
  });

  try {
    await waitForOutput(wrangler, /Ready on (http:\/\/\S+)/, 60_000);
  } catch (error) {
    log((error as Error).message);
    await stop(1);
    return;
  }
  const brokerUrl = `http://127.0.0.1:${port}`;
  const mint = `npx token-broker mint --key ${fromRoot(keyPath)} --iss ${DEV_ISSUER} --aud ${DEV_AUDIENCE} --sub sb-demo-1`;
  const adminMint =
    `npx token-broker mint --key ${fromRoot(adminKeyPath)} --iss ${DEV_ADMIN_ISSUER} --aud ${DEV_ADMIN_AUDIENCE} ` +
    `--sub you@dev --typ admin+jwt --claim role=token-broker-admin --ttl 3600`;
  const rotator = `AWS_ACCESS_KEY_ID=${DEV_ROTATOR_PRINCIPAL.accessKeyId} AWS_SECRET_ACCESS_KEY=${DEV_ROTATOR_PRINCIPAL.secretAccessKey}`;
  process.stdout.write(
    [
      '',
      `token-broker dev stack is up: broker ${brokerUrl}, Secrets Manager ${secretsManager.url}, whoami stand-in ${whoami.baseUrl}.`,
      'Ctrl-C stops all of them. Run the commands below in another terminal, from the repository root.',
      '',
      'Fetch the demo Codex access token:',
      '',
      `  curl -sS -X POST -H "Authorization: Bearer $(${mint})" ${brokerUrl}/v1/credentials/codex`,
      '',
      'Or run the sandbox boot script as a sandbox would (it pipes the token into `codex login`; the whoami',
      'stand-in lets Codex accept the fake demo token offline):',
      '',
      `  SANDBOX_TOKEN="$(${mint})" BROKER_URL=${brokerUrl} CODEX_BIN=node_modules/.bin/codex CODEX_AUTHAPI_BASE_URL=${whoami.baseUrl} CODEX_HOME=$(mktemp -d) sh examples/sandbox-boot.sh codex`,
      '',
      `The API key needs the research team claim: add --claim team=research and ask for /v1/credentials/openai-api-key.`,
      '',
      'Act as the platform team: first an admin token from the dev admin key (valid for an hour), for the',
      'commands after it:',
      '',
      `  export TOKEN_BROKER_ADMIN_TOKEN="$(${adminMint})"`,
      '',
      'Look at the audit ledger:',
      '',
      `  npx token-broker audit query --url ${brokerUrl} --all`,
      '',
      'Rotate the demo Codex token (your own AWS identity; here the local rotator key) and flush the caches:',
      '',
      `  printf %s at-DEMO-ROTATED-0001 | ${rotator} \\`,
      `    npx token-broker rotate codex --policy policy/dev.json --region ${DEV_REGION} --endpoint ${secretsManager.url} --url ${brokerUrl}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `dev-stack ready ${JSON.stringify({
      brokerUrl,
      secretsManagerUrl: secretsManager.url,
      whoamiUrl: whoami.baseUrl,
      keyPath,
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      adminKeyPath,
      adminIssuer: DEV_ADMIN_ISSUER,
      adminAudience: DEV_ADMIN_AUDIENCE,
    })}\n`,
  );
}

/**
 * A path as the printed commands name it: relative to the repository root, where they are meant to be run
 * (`npx token-broker` resolves this repository's bin there); absolute if it is outside the repository.
 */
function fromRoot(path: string): string {
  const rel = relative(ROOT, path);
  const shown = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** A signing key kept in the state dir across runs: generated on first run only. */
async function ensureKey(stateDir: string, name: string): Promise<{ keyPath: string; jwks: unknown }> {
  const keyPath = join(stateDir, `${name}.private.jwk.json`);
  const jwksPath = join(stateDir, `${name}.jwks.json`);
  if (!existsSync(keyPath)) {
    const pair = await generateSigningKey('ES256');
    writeFileSync(keyPath, `${JSON.stringify(pair.privateJwk, null, 2)}\n`, { mode: 0o600 });
    writeFileSync(jwksPath, `${JSON.stringify(pair.publicJwks, null, 2)}\n`);
    log(`generated dev ${name} signing key ${fromRoot(keyPath)}`);
  }
  return { keyPath, jwks: JSON.parse(readFileSync(jwksPath, 'utf8')) };
}

/** The dev policy names a placeholder jwks_uri; locally the generated public key is inlined instead. */
function inlineKeys(issuer: Record<string, unknown>, jwks: unknown): void {
  delete issuer.jwks_uri;
  issuer.jwks = jwks;
}

async function portOption(value: string): Promise<number> {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${value}`);
  return port === 0 ? freePort() : port;
}

function log(message: string): void {
  process.stdout.write(`dev-stack: ${message}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`dev-stack: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
