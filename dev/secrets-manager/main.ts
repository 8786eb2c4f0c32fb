/**
 * Standalone runner for the local Secrets Manager:
 *
 *   tsx dev/secrets-manager/main.ts --port 4599 --seed seed.json [--host 127.0.0.1] [--region us-east-1]
 *                                   [--account-id 000000000000] [--verbose]
 *
 * The seed file is SecretsManagerServerOptions as JSON (principals, secrets, region, ...), with
 * `secretBinary` as base64. Flags win over the file. Prints exactly one line once listening
 * ("secrets-manager listening on http://HOST:PORT"; scripts wait for it), plus one line per request with
 * --verbose (names and outcomes, never values). Stops cleanly on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSecretsManagerServer, type SecretsManagerServerOptions } from './server.ts';

const DEFAULT_PORT = 4599;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: tsx dev/secrets-manager/main.ts [--port 4599] [--seed seed.json] [--host 127.0.0.1] ' +
        '[--region us-east-1] [--account-id 000000000000] [--verbose]\n',
    );
    return;
  }

  const seed = values.seed ? readSeed(values.seed) : {};
  const port = values.port !== undefined ? Number(values.port) : (seed.port ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`);
  const principals = seed.principals ?? [];
  if (principals.length === 0) process.stderr.write('secrets-manager: warning: no principals, every request will be refused\n');

  const server = await startSecretsManagerServer({
    ...seed,
    principals,
    port,
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
    ...(values['account-id'] !== undefined ? { accountId: values['account-id'] } : {}),
    ...(values.verbose ? { log: (line: string) => process.stdout.write(`secrets-manager: ${line}\n`) } : {}),
  });
  process.stdout.write(`secrets-manager listening on ${server.url}\n`);

  const stop = (signal: NodeJS.Signals) => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    // Backstop only: close() destroys every socket, so the loop should drain immediately.
    setTimeout(() => {
      process.stderr.write(`secrets-manager: still running 3 s after ${signal}, exiting\n`);
      process.exit(1);
    }, 3000).unref();
    server.close().then(
      () => {
        process.exitCode = 0;
      },
      () => {
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function readSeed(path: string): Partial<SecretsManagerServerOptions> {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as Partial<SecretsManagerServerOptions>;
  } catch {
    // JSON.parse's message quotes the text around the error, which may be a secret value.
    throw new Error(`seed file ${path} is not valid JSON`);
  }
}

main().catch((err: unknown) => {
  // Startup errors (bad flags, seed file, port in use) are about configuration, never secret values;
  // still, print the message only, not the seed.
  process.stderr.write(`secrets-manager: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
