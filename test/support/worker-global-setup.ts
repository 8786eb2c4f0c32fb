/**
 * Starts the real local servers the worker tests talk to over HTTP: the Secrets-Manager-compatible server
 * (seeded with canary secrets) and an orchestrator JWKS endpoint. Both are closed on teardown, pass or fail.
 */
import { readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startSecretsManagerServer } from '../../dev/secrets-manager/server.ts';
import { startBlackholeServer } from './blackhole-server.ts';
import { freePort } from '../../dev/free-port.ts';
import { startJwksServer } from './jwks-server.ts';
import { brokerPrincipal, REGION, seedSecrets, type TestWorld } from './test-world.ts';

export default async function setup(project: TestProject) {
  const { world, jwksPort } = JSON.parse(readFileSync(process.env.TB_TEST_WORLD!, 'utf8')) as { world: TestWorld; jwksPort: number };
  const secretsManager = await startSecretsManagerServer({
    region: REGION,
    principals: [brokerPrincipal()],
    secrets: seedSecrets(world),
  });
  const jwks = await startJwksServer({ port: jwksPort, jwks: world.publicJwks.remote });
  const blackhole = await startBlackholeServer();
  project.provide('secretsManagerUrl', secretsManager.url);
  project.provide('blackholeUrl', blackhole.url);
  // Nothing listens here: a refused connection.
  project.provide('closedPortUrl', `http://127.0.0.1:${await freePort()}`);
  project.provide('jwksUrl', jwks.url);
  project.provide('testKeys', world.keys);
  project.provide('canaries', world.canaries.all);
  return async () => {
    await Promise.all([secretsManager.close(), jwks.close(), blackhole.close()]);
  };
}
