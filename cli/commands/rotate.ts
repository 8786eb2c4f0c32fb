/**
 * `token-broker rotate CREDENTIAL`: puts a new value (read from stdin, never argv) into Secrets Manager
 * as the new AWSCURRENT version, the old one becoming AWSPREVIOUS, then flushes the broker's caches.
 *
 * Uses the platform team's own AWS credentials (the SDK's default chain: AWS_PROFILE, environment, SSO),
 * never the broker's. The value is staged as AWSPENDING and read back before it is promoted, so a typo in
 * a secret id or a malformed value never becomes current.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { decodeJwt } from 'jose';
import { BrokerError } from '../../src/errors.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { extractCredential } from '../../src/secrets/extract-credential.ts';
import { adminPost, adminTarget } from '../admin-client.ts';
import { parseOptions } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';

export async function rotate(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    {
      policy: { type: 'string', default: 'policy/policy.json' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      url: { type: 'string' },
      'token-file': { type: 'string' },
      'no-flush': { type: 'boolean', default: false },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('rotate takes one CREDENTIAL name; the new value comes on stdin');
  const name = positionals[0]!;
  const credential = compilePolicy(JSON.parse(readFileSync(values.policy!, 'utf8'))).credentials.get(name);
  if (!credential) throw new Error(`${values.policy} has no credential named ${name}`);
  const region = values.region ?? process.env.AWS_REGION;
  if (!region) throw new UsageError('--region (or AWS_REGION) is required');
  // Everything the flush needs is checked before Secrets Manager is touched: a missing or expired admin
  // token must fail with nothing changed, not after the new version is already AWSCURRENT.
  const flushTarget = values['no-flush'] || !(values.url ?? process.env.TOKEN_BROKER_URL) ? undefined : adminTarget(values);
  if (flushTarget) checkNotExpired(flushTarget.token);

  if (process.stdin.isTTY) process.stderr.write(`new value for ${name} (input is not echoed to argv; end with Ctrl-D):\n`);
  const value = readFileSync(0, 'utf8').trim();
  // The broker's own check, so what goes in is what the broker will accept; errors never echo the value.
  checkValue(() => extractCredential({ versionId: 'new', secretString: value, hasBinary: false }, undefined, credential.kind));

  const client = new SecretsManagerClient({ region, ...(values.endpoint ? { endpoint: values.endpoint } : {}) });
  const current = await client.send(new GetSecretValueCommand({ SecretId: credential.secretId, VersionStage: 'AWSCURRENT' }));
  const oldVersion = current.VersionId!;
  const secretString = credential.jsonKey === undefined ? value : JSON.stringify({ ...parseObject(current.SecretString), [credential.jsonKey]: value });

  const newVersion = randomUUID();
  await client.send(new PutSecretValueCommand({ SecretId: credential.secretId, SecretString: secretString, ClientRequestToken: newVersion, VersionStages: ['AWSPENDING'] }));
  const staged = await client.send(new GetSecretValueCommand({ SecretId: credential.secretId, VersionId: newVersion }));
  const readBack = checkValue(() =>
    extractCredential({ versionId: newVersion, secretString: staged.SecretString, hasBinary: false }, credential.jsonKey, credential.kind),
  );
  if (readBack !== value) throw new Error('the staged version does not read back as the new value; AWSCURRENT was not changed');
  await client.send(
    new UpdateSecretVersionStageCommand({ SecretId: credential.secretId, VersionStage: 'AWSCURRENT', MoveToVersionId: newVersion, RemoveFromVersionId: oldVersion }),
  );
  await client.send(new UpdateSecretVersionStageCommand({ SecretId: credential.secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: newVersion }));
  process.stdout.write(`rotated ${name} (secret ${credential.secretId})\n  old version ${oldVersion} (now AWSPREVIOUS)\n  new version ${newVersion} (AWSCURRENT)\n`);

  if (values['no-flush']) {
    process.stdout.write(`broker caches not flushed: sandboxes get the new version within ${credential.cache.ttlMs / 1000} s\n`);
  } else if (flushTarget) {
    try {
      await adminPost(flushTarget, '/v1/admin/cache/flush', { credential: name });
    } catch (error) {
      throw new Error(
        `${name} was rotated (new AWSCURRENT version ${newVersion}), but the cache flush failed: ${(error as Error).message}; ` +
          `caches expire within ${credential.cache.ttlMs / 1000} s, or run: token-broker cache flush ${name}`,
      );
    }
    process.stdout.write('broker caches flushed: every isolate serves the new version within seconds\n');
  } else {
    process.stdout.write(`no broker URL given: caches expire within ${credential.cache.ttlMs / 1000} s (or run: token-broker cache flush ${name})\n`);
  }
  process.stdout.write(`when nobody holds the old value any more: token-broker audit holders ${name} --version ${oldVersion}\n`);
  return 0;
}

export async function cacheFlush(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'flush') throw new UsageError('usage: cache flush [CREDENTIAL]');
  const { values, positionals } = parseOptions(rest, { url: { type: 'string' }, 'token-file': { type: 'string' } }, true);
  const response = await adminPost(adminTarget(values), '/v1/admin/cache/flush', positionals[0] ? { credential: positionals[0] } : {});
  const body = (await response.json()) as { flushed: string; generation: number };
  process.stdout.write(`flushed ${body.flushed} (generation ${body.generation}); every isolate drops it within seconds\n`);
  return 0;
}

/** A JWT whose `exp` has passed would fail the flush after the rotation; other problems are the broker's to find. */
function checkNotExpired(token: string): void {
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return;
  }
  if (exp !== undefined && exp * 1000 <= Date.now()) {
    throw new UsageError(`the admin token expired at ${new Date(exp * 1000).toISOString()}; mint a new one (nothing was changed)`);
  }
}

function checkValue(check: () => string): string {
  try {
    return check();
  } catch (error) {
    if (error instanceof BrokerError) throw new Error(`the new value is not usable: ${error.detail ?? error.code}`);
    throw error;
  }
}

function parseObject(text: string | undefined): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text ?? '{}') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
