/** Incident controls from the command line: revoke sandboxes or tokens, switch credentials off and on. */
import { adminDelete, adminGet, adminPost, adminPut, adminTarget } from '../admin-client.ts';
import { parseOptions } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';

const TARGET_OPTIONS = { url: { type: 'string' }, 'token-file': { type: 'string' } } as const;

export async function revoke(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    ...TARGET_OPTIONS,
    sub: { type: 'string' },
    jti: { type: 'string' },
    iss: { type: 'string' },
    until: { type: 'string' },
    for: { type: 'string' },
    reason: { type: 'string' },
  });
  if ((values.sub === undefined) === (values.jti === undefined)) throw new UsageError('give exactly one of --sub or --jti');
  if ((values.until === undefined) === (values.for === undefined)) throw new UsageError('give exactly one of --until ISO or --for DURATION (e.g. 2h)');
  const until = values.until ?? new Date(Date.now() + parseDuration(values.for!)).toISOString();
  const response = await adminPost(adminTarget(values), '/v1/admin/revocations', {
    ...(values.sub !== undefined ? { sub: values.sub } : { jti: values.jti }),
    ...(values.iss !== undefined ? { iss: values.iss } : {}),
    until,
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
  });
  const { revocation } = (await response.json()) as { revocation: { id: string; until: string } };
  process.stdout.write(`revoked ${revocation.id} until ${revocation.until}\n`);
  return 0;
}

export async function revocations(args: string[]): Promise<number> {
  const [action = 'list', ...rest] = args;
  if (action === 'list') {
    const { values } = parseOptions(rest, TARGET_OPTIONS);
    const body = (await (await adminGet(adminTarget(values), '/v1/admin/revocations')).json()) as { revocations: unknown[] };
    for (const revocation of body.revocations) process.stdout.write(`${JSON.stringify(revocation)}\n`);
    process.stderr.write(`${body.revocations.length} active revocations\n`);
    return 0;
  }
  if (action === 'lift') {
    const { values, positionals } = parseOptions(rest, TARGET_OPTIONS, true);
    if (positionals.length !== 1) throw new UsageError('revocations lift takes one revocation ID (see revocations list)');
    await adminDelete(adminTarget(values), `/v1/admin/revocations/${encodeURIComponent(positionals[0]!)}`);
    process.stdout.write(`lifted ${positionals[0]}\n`);
    return 0;
  }
  throw new UsageError(`unknown revocations action: ${action}`);
}

export async function killSwitch(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseOptions(rest, { ...TARGET_OPTIONS, reason: { type: 'string' } }, true);
  const target = adminTarget(values);
  if (action === 'list') {
    const body = (await (await adminGet(target, '/v1/admin/kill-switches')).json()) as { kill_switches: unknown[] };
    for (const item of body.kill_switches) process.stdout.write(`${JSON.stringify(item)}\n`);
    process.stderr.write(`${body.kill_switches.length} credentials switched off\n`);
    return 0;
  }
  if ((action === 'on' || action === 'off') && positionals.length === 1) {
    const path = `/v1/admin/kill-switches/${encodeURIComponent(positionals[0]!)}`;
    if (action === 'on') await adminPut(target, path, values.reason !== undefined ? { reason: values.reason } : {});
    else await adminDelete(target, path);
    process.stdout.write(`issuance of ${positionals[0]} is ${action === 'on' ? 'OFF (kill switch on)' : 'back on'}\n`);
    return 0;
  }
  throw new UsageError('usage: kill-switch on|off CREDENTIAL, or kill-switch list');
}

/** `90s`, `30m`, `2h`, `7d` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`not a duration: ${text} (use e.g. 90s, 30m, 2h, 7d)`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
