/**
 * The token-validation pipeline on its own (pure: token string + issuers + key resolver + time), for what
 * the HTTP tests cannot set up cheaply: an issuer with two keys of one algorithm, as during a rotation.
 */
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors.ts';
import { verifyToken } from '../../../src/auth/verify-token.ts';
import type { CompiledIssuer } from '../../../src/policy/compile.ts';
import { generateSigningKey } from '../../../src/sdk/generate-signing-key.ts';
import { mintSandboxToken } from '../../../src/sdk/mint-sandbox-token.ts';

const ISS = 'https://orchestrator.unit';
const AUD = 'https://broker.unit';

async function rotatingIssuer() {
  const [oldKey, newKey] = await Promise.all([generateSigningKey('ES256'), generateSigningKey('ES256')]);
  const jwks = { keys: [...oldKey.publicJwks.keys, ...newKey.publicJwks.keys] };
  const issuer: CompiledIssuer = {
    iss: ISS,
    audiences: [AUD],
    algorithms: ['ES256'],
    maxTokenLifetimeSeconds: 900,
    clockLeewaySeconds: 30,
    typ: 'sandbox+jwt',
    keySource: { type: 'inline', jwks: jwks as never },
  };
  const context = { issuers: new Map([[ISS, issuer]]), keysFor: () => createLocalJWKSet(jwks as JSONWebKeySet), now: new Date() };
  return { oldKey, newKey, context };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; detail: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return { code: (error as BrokerError).code, detail: (error as BrokerError).detail };
  }
  throw new Error('the token was accepted');
}

describe('verifyToken while an issuer has two keys of one algorithm', () => {
  it('selects the key by kid: tokens signed with either key verify', async () => {
    const { oldKey, newKey, context } = await rotatingIssuer();
    for (const key of [oldKey, newKey]) {
      const token = await mintSandboxToken({ privateJwk: key.privateJwk, issuer: ISS, audience: AUD, subject: 'sb-unit-1' });
      const { claims } = await verifyToken(token, context);
      expect(claims.sub).toBe('sb-unit-1');
    }
  });

  it('refuses a token without kid with 401 unknown_key, not a 500', async () => {
    const { newKey, context } = await rotatingIssuer();
    const { kid: _kid, ...withoutKid } = newKey.privateJwk as Record<string, unknown>;
    const token = await mintSandboxToken({ privateJwk: withoutKid as never, issuer: ISS, audience: AUD, subject: 'sb-unit-2' });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBeUndefined();
    expect(await refusal(verifyToken(token, context))).toEqual({ code: 'unknown_key', detail: 'no kid, and several keys match its alg' });
  });
});
