/**
 * Demo data for `npm run dev`: obviously fake credentials of both kinds, and the local AWS identity the
 * broker uses against the local Secrets Manager. Nothing here works anywhere real.
 */
import type { Principal, SeedSecret } from './secrets-manager/server.ts';

export const DEMO_CODEX_ACCESS_TOKEN = 'at-DEMO-NOT-A-REAL-TOKEN-0000000000000000';
export const DEMO_API_KEY = 'sk-DEMO-NOT-A-REAL-KEY-00000000000000000000';

export const DEMO_SECRETS: SeedSecret[] = [
  { name: 'demo/codex', description: 'Demo Codex access token (fake)', secretString: JSON.stringify({ access_token: DEMO_CODEX_ACCESS_TOKEN }) },
  { name: 'demo/openai-api-key', description: 'Demo OpenAI API key (fake)', secretString: DEMO_API_KEY },
];

export const DEV_REGION = 'us-east-1';

/** The broker's local identity: read-only on the demo secrets, as the real IAM policy is on the real ones. */
export const DEV_BROKER_PRINCIPAL: Principal = {
  accessKeyId: 'AKIDLOCALDEVBROKER00',
  secretAccessKey: 'local-dev-broker-secret-access-key',
  allow: { actions: ['GetSecretValue', 'DescribeSecret'], secrets: DEMO_SECRETS.map((secret) => secret.name) },
};

/** The platform team's local identity for `token-broker rotate`: may write the demo secrets, unlike the broker. */
export const DEV_ROTATOR_PRINCIPAL: Principal = {
  accessKeyId: 'AKIDLOCALDEVROTATOR0',
  secretAccessKey: 'local-dev-rotator-secret-access-key',
  allow: {
    actions: ['GetSecretValue', 'DescribeSecret', 'ListSecretVersionIds', 'PutSecretValue', 'UpdateSecretVersionStage'],
    secrets: DEMO_SECRETS.map((secret) => secret.name),
  },
};

export const DEV_ISSUER = 'https://dev-orchestrator.localhost';
export const DEV_AUDIENCE = 'token-broker-dev';
export const DEV_ADMIN_ISSUER = 'https://dev-platform.localhost';
export const DEV_ADMIN_AUDIENCE = 'token-broker-dev-admin';
