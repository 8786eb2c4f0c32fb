/**
 * `wrangler dev` ignores `--alias` (wrangler 4.86 passes it only to deploy), so the dev stack runs wrangler
 * with a generated copy of wrangler.toml whose only changes are absolute paths and the dev policy alias.
 * Everything else (bindings, Durable Objects, compatibility date) stays exactly as in the real config.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export async function writeDevWranglerConfig(options: { root: string; stateDir: string; policyPath: string }): Promise<string> {
  const { experimental_readRawConfig } = await import('wrangler');
  const { rawConfig } = experimental_readRawConfig({ config: join(options.root, 'wrangler.toml') });
  const config = {
    ...rawConfig,
    main: resolve(options.root, rawConfig.main!),
    alias: { ...rawConfig.alias, 'token-broker-policy': options.policyPath },
  };
  const path = join(options.stateDir, 'wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}
