/** The orchestrator-side API: generate a signing key, mint sandbox tokens. */
export { generateSigningKey, type SigningAlgorithm, type SigningKeyPair } from './generate-signing-key.ts';
export { mintSandboxToken, SANDBOX_TOKEN_TYPE, type MintOptions } from './mint-sandbox-token.ts';
