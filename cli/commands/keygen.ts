import { existsSync, writeFileSync } from 'node:fs';
import { generateSigningKey, type SigningAlgorithm } from '../../src/sdk/generate-signing-key.ts';
import { parseOptions } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';

export async function keygen(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    alg: { type: 'string', default: 'ES256' },
    'private-out': { type: 'string' },
    'jwks-out': { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  if (values.alg !== 'ES256' && values.alg !== 'EdDSA') throw new UsageError('--alg must be ES256 or EdDSA');
  const pair = await generateSigningKey(values.alg as SigningAlgorithm);

  const privateOut = values['private-out'];
  const jwksOut = values['jwks-out'];
  if (!privateOut) {
    process.stdout.write(`${JSON.stringify({ private_jwk: pair.privateJwk, public_jwks: pair.publicJwks }, null, 2)}\n`);
    return 0;
  }
  for (const file of [privateOut, jwksOut]) {
    if (file && existsSync(file) && !values.force) throw new Error(`${file} exists (use --force to overwrite)`);
  }
  // The private key is readable by its owner only.
  writeFileSync(privateOut, `${JSON.stringify(pair.privateJwk, null, 2)}\n`, { mode: 0o600 });
  const jwks = `${JSON.stringify(pair.publicJwks, null, 2)}\n`;
  if (jwksOut) writeFileSync(jwksOut, jwks);
  else process.stdout.write(jwks);
  process.stderr.write(`wrote private key ${privateOut} (kid ${pair.privateJwk.kid})${jwksOut ? `, public key set ${jwksOut}` : ''}\n`);
  return 0;
}
