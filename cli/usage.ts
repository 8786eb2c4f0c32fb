/**
 * The CLI's usage text, one entry per (sub)command, so `token-broker --help` prints all of them and
 * `token-broker <command> [<subcommand>] --help` (or `help <command>`) prints just the ones asked for.
 */

interface CommandUsage {
  /** The words that select the command, e.g. ['audit', 'query']. */
  path: string[];
  /** Options and arguments after the path; continuation lines are indented by the printer. */
  synopsis: string[];
  description: string[];
  /** Listed under "admin commands". */
  group?: 'admin';
  /** An admin command that needs no broker (audit verify). */
  offline?: true;
}

const COMMANDS: CommandUsage[] = [
  {
    path: ['keygen'],
    synopsis: ['[--alg ES256|EdDSA] [--private-out FILE] [--jwks-out FILE] [--force]'],
    description: [
      'Generate an orchestrator signing key. The private JWK stays with the orchestrator; the public',
      'JWKS goes into the broker\'s policy. Without --private-out, prints {private_jwk, public_jwks}.',
    ],
  },
  {
    path: ['mint'],
    synopsis: ['--key FILE|- --iss ISSUER --sub SANDBOX_ID --aud AUDIENCE [--ttl SECONDS] [--claim NAME=VALUE]...', '[--jti ID] [--typ TYPE]'],
    description: ['Print a signed sandbox token (default lifetime 300 s, typ sandbox+jwt).'],
  },
  {
    path: ['policy', 'validate'],
    synopsis: ['FILE...'],
    description: ['Validate policy files offline against the schema; exit 1 naming the first bad field.'],
  },
  {
    path: ['rotate'],
    synopsis: ['CREDENTIAL [--policy policy/policy.json] [--region R] [--endpoint URL] [--url URL] [--token-file FILE]', '[--no-flush]'],
    description: [
      'Read the new value from stdin, store it as the new AWSCURRENT version (staged as AWSPENDING and read',
      'back first), print old and new version ids, and flush the broker\'s caches (with --url/TOKEN_BROKER_URL',
      'and an admin token, checked before anything is changed). Uses your own AWS credentials (AWS_PROFILE,',
      'environment), not the broker\'s.',
    ],
  },
  {
    path: ['audit', 'query'],
    synopsis: ['[--sub ID] [--credential NAME] [--version VERSION_ID] [--outcome issued|denied|admin]', '[--since ISO] [--until ISO] [--limit N] [--all]'],
    description: ['Print matching audit records as JSON lines, oldest first.'],
    group: 'admin',
  },
  {
    path: ['audit', 'export'],
    synopsis: ['[--since ISO] [--until ISO] [-o FILE]'],
    description: ['Stream the ledger as NDJSON with its hash chains.'],
    group: 'admin',
  },
  {
    path: ['audit', 'verify'],
    synopsis: ['[FILE|-]'],
    description: ['Recompute every chain of an export; exit 1 naming the first broken record (offline: no broker needed).'],
    group: 'admin',
    offline: true,
  },
  {
    path: ['audit', 'holders'],
    synopsis: ['CREDENTIAL --version VERSION_ID'],
    description: ['Which sandboxes received that version of the credential, how often, and when last.'],
    group: 'admin',
  },
  {
    path: ['doctor'],
    synopsis: [],
    description: [
      'Check a deployed broker: reachable, policy valid, Secrets Manager reachable for each credential',
      '(metadata only, never a value), every ledger shard writable. Exit 1 on any problem.',
    ],
    group: 'admin',
  },
  {
    path: ['cache', 'flush'],
    synopsis: ['[CREDENTIAL]'],
    description: ['Drop cached secret values in every isolate within seconds (all credentials without a name).'],
    group: 'admin',
  },
  {
    path: ['revoke'],
    synopsis: ['(--sub SANDBOX_ID | --jti TOKEN_ID) [--iss ISSUER] (--until ISO | --for 2h) [--reason TEXT]'],
    description: ['Refuse a sandbox\'s or one token\'s requests (401 token_revoked) until the given time.'],
    group: 'admin',
  },
  {
    path: ['revocations'],
    synopsis: ['[list] | revocations lift ID'],
    description: ['Show active revocations, or lift one.'],
    group: 'admin',
  },
  {
    path: ['kill-switch'],
    synopsis: ['on CREDENTIAL [--reason TEXT] | kill-switch off CREDENTIAL | kill-switch list'],
    description: [
      'Refuse all issuance of a credential the policy defines (503 credential_disabled) without a redeploy,',
      'and undo it.',
    ],
    group: 'admin',
  },
];

const ADMIN_NOTE =
  'need --url URL or TOKEN_BROKER_URL, and an admin token: --token-file FILE or\nTOKEN_BROKER_ADMIN_TOKEN; mint one with: mint --key ADMIN_KEY --typ admin+jwt --claim role=...';

/** One command: `<prefix><path> <synopsis>`, continuation lines aligned after the path, then the description. */
function entry(command: CommandUsage, prefix: string, descriptionIndent: string): string {
  const [first, ...more] = command.synopsis;
  const name = command.path.join(' ');
  const lines = [`${prefix}${first === undefined ? name : `${name} ${first}`}`];
  for (const line of more) lines.push(`${' '.repeat(prefix.length + name.length + 1)}${line}`);
  for (const line of command.description) lines.push(`${descriptionIndent}${line}`);
  return `${lines.join('\n')}\n`;
}

/** Everything: `token-broker`, `token-broker --help`, and after a usage error outside any known command. */
export function fullUsage(): string {
  const section = (group: CommandUsage['group']) =>
    COMMANDS.filter((command) => command.group === group)
      .map((command) => entry(command, '  ', '      '))
      .join('');
  return [
    'usage: token-broker <command> [options]      (token-broker <command> --help: that command only)',
    '',
    'commands:',
    section(undefined),
    `admin commands (${ADMIN_NOTE}):`,
    section('admin'),
  ].join('\n');
}

/**
 * The usage of the command `words` names (`['mint', …]`, `['audit', 'query', …]`; later words are ignored),
 * or of all of a command's subcommands (`['audit']`); undefined for an unknown command.
 */
export function commandUsage(words: string[]): string | undefined {
  const family = COMMANDS.filter((command) => command.path[0] === words[0]);
  if (family.length === 0) return undefined;
  const exact = family.filter((command) => command.path.length > 1 && command.path[1] === words[1]);
  const chosen = exact.length > 0 ? exact : family;
  const text = chosen.map((command, i) => entry(command, i === 0 ? 'usage: token-broker ' : '       token-broker ', '    ')).join('');
  const needsToken = chosen.some((command) => command.group === 'admin' && !command.offline);
  return needsToken ? `${text}\nAdmin commands ${ADMIN_NOTE}\n` : text;
}

/** `--help` or `-h` among a command's arguments (before a `--` that ends the options). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}
