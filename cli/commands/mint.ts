import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { mintSandboxToken } from '../../src/sdk/mint-sandbox-token.ts';
import { parseOptions } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';

export async function mint(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    key: { type: 'string' },
    iss: { type: 'string' },
    sub: { type: 'string' },
    aud: { type: 'string' },
    ttl: { type: 'string', default: '300' },
    claim: { type: 'string', multiple: true, default: [] },
    jti: { type: 'string' },
    typ: { type: 'string' },
  });
  for (const required of ['key', 'iss', 'sub', 'aud'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`);
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new UsageError('--ttl must be a positive number of seconds');

  const claims: Record<string, string> = {};
  for (const pair of values.claim ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--claim wants NAME=VALUE, got "${pair}"`);
    claims[pair.slice(0, at)] = pair.slice(at + 1);
  }

  // `--key -` reads the key from stdin, so it need not touch the disk.
  const keyText = values.key === '-' ? readFileSync(0, 'utf8') : readFileSync(values.key!, 'utf8');
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(keyText) as JWK;
  } catch {
    throw new Error('the key file is not a JSON private JWK');
  }
  const token = await mintSandboxToken({
    privateJwk,
    issuer: values.iss!,
    subject: values.sub!,
    audience: values.aud!,
    lifetimeSeconds: ttl,
    claims,
    ...(values.jti ? { jti: values.jti } : {}),
    ...(values.typ ? { type: values.typ } : {}),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
