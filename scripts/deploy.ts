/**
 * `npm run deploy:staging` / `npm run deploy:production` (extra arguments go to `wrangler deploy`, e.g.
 * `-- --dry-run --outdir dist`): validates the environment's policy, bundles it, and deploys.
 *
 *   production → policy/policy.json      staging → policy/staging.json
 *
 * The policy names its environment and the Worker checks it against BROKER_ENVIRONMENT at startup, so a
 * policy can never go live in the wrong environment, even through a plain `wrangler deploy`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/policy/compile.ts';
import { writeWranglerConfigWithPolicy } from './wrangler-config-with-policy.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POLICIES: Record<string, string> = { production: 'policy/policy.json', staging: 'policy/staging.json' };

async function main(): Promise<number> {
  const [environment, ...wranglerArgs] = process.argv.slice(2);
  const policyFile = environment ? POLICIES[environment] : undefined;
  if (!environment || !policyFile) {
    process.stderr.write(`usage: deploy.ts <${Object.keys(POLICIES).join('|')}> [wrangler deploy options]\n`);
    return 2;
  }
  const policyPath = join(ROOT, policyFile);
  const document = JSON.parse(readFileSync(policyPath, 'utf8')) as { environment?: string };
  compilePolicy(document);
  if (document.environment !== environment) {
    process.stderr.write(`deploy: ${policyFile} says environment "${document.environment}", not "${environment}"\n`);
    return 1;
  }
  const config = await writeWranglerConfigWithPolicy({ root: ROOT, outDir: join(ROOT, '.wrangler', 'deploy', environment), policyPath });
  process.stdout.write(`deploy: ${environment} with ${policyFile}\n`);
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'deploy', '--config', config, '--env', environment, ...wranglerArgs], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  return result.status ?? 1;
}

process.exitCode = await main();
