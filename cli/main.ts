/** `token-broker <command>`: the orchestrator's and the platform team's tools. */
import { audit } from './commands/audit.ts';
import { killSwitch, revocations, revoke } from './commands/controls.ts';
import { doctor } from './commands/doctor.ts';
import { keygen } from './commands/keygen.ts';
import { cacheFlush, rotate } from './commands/rotate.ts';
import { mint } from './commands/mint.ts';
import { policyValidate } from './commands/policy-validate.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage: token-broker <command> [options]

commands:
  keygen [--alg ES256|EdDSA] [--private-out FILE] [--jwks-out FILE] [--force]
      Generate an orchestrator signing key. The private JWK stays with the orchestrator; the public
      JWKS goes into the broker's policy. Without --private-out, prints {private_jwk, public_jwks}.
  mint --key FILE|- --iss ISSUER --sub SANDBOX_ID --aud AUDIENCE [--ttl SECONDS] [--claim NAME=VALUE]...
       [--jti ID] [--typ TYPE]
      Print a signed sandbox token (default lifetime 300 s, typ sandbox+jwt).
  policy validate FILE...
      Validate policy files offline against the schema; exit 1 naming the first bad field.
  rotate CREDENTIAL [--policy policy/policy.json] [--region R] [--endpoint URL] [--no-flush]
      Read the new value from stdin, store it as the new AWSCURRENT version (staged as AWSPENDING and read
      back first), print old and new version ids, and flush the broker's caches (with --url/TOKEN_BROKER_URL
      and an admin token). Uses your own AWS credentials (AWS_PROFILE, environment), not the broker's.

admin commands (need --url URL or TOKEN_BROKER_URL, and an admin token: --token-file FILE or
TOKEN_BROKER_ADMIN_TOKEN; mint one with: mint --key ADMIN_KEY --typ admin+jwt --claim role=...):
  audit query [--sub ID] [--credential NAME] [--version VERSION_ID] [--outcome issued|denied|admin]
              [--since ISO] [--until ISO] [--limit N] [--all]
      Print matching audit records as JSON lines, oldest first.
  audit export [--since ISO] [--until ISO] [-o FILE]
      Stream the ledger as NDJSON with its hash chains.
  audit verify [FILE|-]
      Recompute every chain of an export; exit 1 naming the first broken record.
  audit holders CREDENTIAL --version VERSION_ID
      Which sandboxes received that version of the credential, how often, and when last.
  doctor
      Check a deployed broker: reachable, policy valid, Secrets Manager reachable for each credential
      (metadata only, never a value), every ledger shard writable. Exit 1 on any problem.
  cache flush [CREDENTIAL]
      Drop cached secret values in every isolate within seconds (all credentials without a name).
  revoke (--sub SANDBOX_ID | --jti TOKEN_ID) [--iss ISSUER] (--until ISO | --for 2h) [--reason TEXT]
      Refuse a sandbox's or one token's requests (401 token_revoked) until the given time.
  revocations [list] | revocations lift ID
      Show active revocations, or lift one.
  kill-switch on CREDENTIAL [--reason TEXT] | kill-switch off CREDENTIAL | kill-switch list
      Refuse all issuance of a credential (503 credential_disabled) without a redeploy, and undo it.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`token-broker: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`token-broker: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
