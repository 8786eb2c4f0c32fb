/**
 * Wrangler 4.86 ignores `--alias` on the command line (for dev and deploy alike), so the policy a build
 * bundles is chosen by writing a copy of wrangler.toml whose only changes are absolute paths and the
 * `token-broker-policy` alias. Bindings, environments, migrations and the compatibility date stay exactly
 * as in the real config. Used by `npm run dev` and by the deploy script.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export async function writeWranglerConfigWithPolicy(options: { root: string; outDir: string; policyPath: string }): Promise<string> {
  const { experimental_readRawConfig } = await import('wrangler');
  const { rawConfig } = experimental_readRawConfig({ config: join(options.root, 'wrangler.toml') });
  const config = {
    ...rawConfig,
    main: resolve(options.root, rawConfig.main!),
    alias: { ...rawConfig.alias, 'token-broker-policy': resolve(options.policyPath) },
  };
  mkdirSync(options.outDir, { recursive: true });
  const path = join(options.outDir, 'wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}
