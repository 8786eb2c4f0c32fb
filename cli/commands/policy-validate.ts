import { readFileSync } from 'node:fs';
import { compilePolicy, PolicyInvalidError } from '../../src/policy/compile.ts';
import { UsageError } from '../usage-error.ts';

/** Validates policy files with the same code the Worker runs at startup. Offline: nothing is fetched. */
export async function policyValidate(files: string[]): Promise<number> {
  if (files.length === 0) throw new UsageError('policy validate needs at least one FILE');
  let failures = 0;
  for (const file of files) {
    try {
      const policy = compilePolicy(JSON.parse(readFileSync(file, 'utf8')));
      process.stdout.write(`${file}: ok (${policy.issuers.size} issuers, ${policy.credentials.size} credentials)\n`);
    } catch (error) {
      failures++;
      if (error instanceof PolicyInvalidError) process.stdout.write(`${file}: ${error.message}\n`);
      else if (error instanceof SyntaxError) process.stdout.write(`${file}: not valid JSON: ${error.message}\n`);
      else process.stdout.write(`${file}: ${(error as Error).message}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}
