/** `token-broker audit query|export|verify`: the platform team's view of the ledger. */
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { verifyExport } from '../../src/ledger/verify-export.ts';
import { adminGet, adminTarget } from '../admin-client.ts';
import { parseOptions } from '../parse-options.ts';
import { UsageError } from '../usage-error.ts';

const TARGET_OPTIONS = { url: { type: 'string' }, 'token-file': { type: 'string' } } as const;

export async function audit(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'query':
      return auditQuery(rest);
    case 'export':
      return auditExport(rest);
    case 'verify':
      return auditVerify(rest);
    case 'holders':
      return auditHolders(rest);
    default:
      throw new UsageError(`unknown audit subcommand: ${subcommand ?? '(none)'}`);
  }
}

async function auditQuery(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    ...TARGET_OPTIONS,
    sub: { type: 'string' },
    credential: { type: 'string' },
    version: { type: 'string' },
    outcome: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string', default: '100' },
    all: { type: 'boolean', default: false },
  });
  const target = adminTarget(values);
  let cursor: string | undefined;
  let count = 0;
  do {
    const response = await adminGet(target, '/v1/admin/audit', {
      sub: values.sub,
      credential: values.credential,
      secret_version_id: values.version,
      outcome: values.outcome,
      since: values.since,
      until: values.until,
      limit: values.limit,
      cursor,
    });
    const page = (await response.json()) as { records: unknown[]; next_cursor: string | null };
    for (const record of page.records) process.stdout.write(`${JSON.stringify(record)}\n`);
    count += page.records.length;
    cursor = page.next_cursor ?? undefined;
  } while (values.all && cursor);
  process.stderr.write(`${count} records${cursor ? `; more with --all (next cursor ${cursor})` : ''}\n`);
  return 0;
}

async function auditExport(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { ...TARGET_OPTIONS, since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string', short: 'o' } });
  const response = await adminGet(adminTarget(values), '/v1/admin/audit/export', { since: values.since, until: values.until });
  const body = Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream);
  await pipeline(body, values.out ? createWriteStream(values.out) : process.stdout, { end: Boolean(values.out) });
  return 0;
}

/** Which sandboxes received one version of a credential, and when last: tells when an old value can be revoked. */
async function auditHolders(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, { ...TARGET_OPTIONS, version: { type: 'string' } }, true);
  if (positionals.length !== 1 || !values.version) throw new UsageError('usage: audit holders CREDENTIAL --version VERSION_ID');
  const target = adminTarget(values);
  const holders = new Map<string, { count: number; last: string }>();
  let cursor: string | undefined;
  do {
    const response = await adminGet(target, '/v1/admin/audit', {
      credential: positionals[0],
      secret_version_id: values.version,
      outcome: 'issued',
      limit: '500',
      cursor,
    });
    const page = (await response.json()) as { records: Array<{ sub: string | null; time: string }>; next_cursor: string | null };
    for (const record of page.records) {
      const sub = record.sub ?? '(unknown)';
      const holder = holders.get(sub) ?? { count: 0, last: record.time };
      holders.set(sub, { count: holder.count + 1, last: record.time > holder.last ? record.time : holder.last });
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  const sorted = [...holders.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [sub, holder] of sorted) process.stdout.write(`${sub}\t${holder.count}\t${holder.last}\n`);
  const last = sorted.reduce((latest, [, holder]) => (holder.last > latest ? holder.last : latest), '');
  process.stderr.write(
    sorted.length === 0
      ? `no sandbox received ${positionals[0]} version ${values.version}\n`
      : `${sorted.length} sandboxes received ${positionals[0]} version ${values.version}; last issued ${last}\n`,
  );
  return 0;
}

async function auditVerify(args: string[]): Promise<number> {
  const { positionals } = parseOptions(args, {}, true);
  if (positionals.length > 1) throw new UsageError('audit verify takes one FILE (or - for stdin)');
  const file = positionals[0] ?? '-';
  const result = verifyExport(readFileSync(file === '-' ? 0 : file, 'utf8'));
  if (!result.ok) {
    const where = result.shard === null ? '' : ` shard ${result.shard}${result.seq === null ? '' : ` seq ${result.seq}`}`;
    process.stdout.write(`BROKEN at line ${result.line}${where}${result.requestId ? ` (request ${result.requestId})` : ''}: ${result.problem}\n`);
    return 1;
  }
  const starts = result.anchors.map((anchor) => `shard ${anchor.shard} from ${anchor.reason}${anchor.seq ? ` after seq ${anchor.seq}` : ''}`);
  process.stdout.write(`ok: ${result.records} records in ${result.shards} shards verified (${starts.join('; ')})\n`);
  return 0;
}
