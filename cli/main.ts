/** `token-broker <command>`: the orchestrator's and the platform team's tools. */
import { audit } from './commands/audit.ts';
import { killSwitch, revocations, revoke } from './commands/controls.ts';
import { doctor } from './commands/doctor.ts';
import { keygen } from './commands/keygen.ts';
import { cacheFlush, rotate } from './commands/rotate.ts';
import { mint } from './commands/mint.ts';
import { policyValidate } from './commands/policy-validate.ts';
import { UsageError } from './usage-error.ts';
import { commandUsage, fullUsage, wantsHelp } from './usage.ts';

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `token-broker <command> [<subcommand>] --help`: that command's usage, before any option is parsed.
  const usage = command === undefined ? undefined : commandUsage(argv);
  if (usage !== undefined && wantsHelp(rest)) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    switch (command) {
      case 'keygen':
        return await keygen(rest);
      case 'mint':
        return await mint(rest);
      case 'audit':
        return await audit(rest);
      case 'revoke':
        return await revoke(rest);
      case 'revocations':
        return await revocations(rest);
      case 'kill-switch':
        return await killSwitch(rest);
      case 'rotate':
        return await rotate(rest);
      case 'cache':
        return await cacheFlush(rest);
      case 'doctor':
        return await doctor(rest);
      case 'policy':
        if (rest[0] === 'validate') return await policyValidate(rest.slice(1));
        throw new UsageError(`unknown policy subcommand: ${rest[0] ?? '(none)'}`);
      case 'help':
      case '--help':
      case '-h': {
        // `token-broker help mint` is `token-broker mint --help`.
        const asked = rest.length > 0 ? commandUsage(rest) : fullUsage();
        if (asked === undefined) throw new UsageError(`unknown command: ${rest[0]}`);
        process.stdout.write(asked);
        return 0;
      }
      case undefined:
        process.stdout.write(fullUsage());
        return 2;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`token-broker: ${error.message}\n\n${usage ?? fullUsage()}`);
      return 2;
    }
    process.stderr.write(`token-broker: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
