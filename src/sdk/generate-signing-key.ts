/**
 * Generates an orchestrator signing key: the private JWK stays with the orchestrator, the public JWKS goes
 * into the broker's policy (inline `jwks`, or published at the issuer's `jwks_uri`).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export type SigningAlgorithm = 'ES256' | 'EdDSA';

export interface SigningKeyPair {
  privateJwk: JWK;
  publicJwks: { keys: JWK[] };
}

export async function generateSigningKey(alg: SigningAlgorithm = 'ES256'): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    privateJwk: { ...privateJwk, kid, alg, use: 'sig' },
    publicJwks: { keys: [{ ...publicJwk, kid, alg, use: 'sig' }] },
  };
}
