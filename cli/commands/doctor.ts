/** `token-broker doctor`: checks a deployed broker end to end, without fetching any credential value. */
import { adminTarget } from '../admin-client.ts';
import { parseOptions } from '../parse-options.ts';

interface DoctorReport {
  ok: boolean;
  policy: { issuers: number; credentials: number; admin_issuers: number };
  credentials: Record<string, { ok: boolean; secret: string; current_version_id?: string; error?: string }>;
  ledger: { shards: Array<{ shard: number; ok: boolean; seq?: number; error?: string }> };
  cache_control: { ok: boolean; error?: string };
}

export async function doctor(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { url: { type: 'string' }, 'token-file': { type: 'string' } });
  const target = adminTarget(values);
  const line = (ok: boolean, text: string) => process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${text}\n`);

  let health: Response;
  try {
    health = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    line(false, `broker unreachable at ${target.url}: ${(error as Error).message}`);
    return 1;
  }
  if (health.status !== 200) {
    const body = (await health.json().catch(() => ({}))) as { error?: { code?: string } };
    line(false, `broker at ${target.url} answers /healthz with ${health.status} ${body.error?.code ?? ''}`.trim());
    return 1;
  }
  line(true, `broker reachable at ${target.url}; configuration and policy valid`);

  const response = await fetch(`${target.url}/v1/admin/doctor`, { headers: { Authorization: `Bearer ${target.token}` }, signal: AbortSignal.timeout(20_000) });
  if (response.status !== 200 && response.status !== 503) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    line(false, `admin doctor route answered ${response.status} ${body.error?.code ?? ''} (check the admin token)`.trim());
    return 1;
  }
  const report = (await response.json()) as DoctorReport;
  line(true, `policy: ${report.policy.issuers} issuers, ${report.policy.credentials} credentials, ${report.policy.admin_issuers} admin issuers`);
  for (const [name, check] of Object.entries(report.credentials)) {
    line(check.ok, `credential ${name}: secret ${check.secret} ${check.ok ? `reachable, AWSCURRENT ${check.current_version_id}` : `not usable (${check.error})`}`);
  }
  const shards = report.ledger.shards;
  const failed = shards.filter((shard) => !shard.ok);
  line(failed.length === 0, `ledger: ${shards.length - failed.length} of ${shards.length} shards writable${failed.length ? ` (failing: ${failed.map((shard) => shard.shard).join(', ')})` : ''}`);
  line(report.cache_control.ok, `cache control: ${report.cache_control.ok ? 'reachable' : `unreachable (${report.cache_control.error})`}`);
  process.stdout.write(report.ok ? 'broker healthy\n' : 'broker has problems (see FAIL lines)\n');
  return report.ok ? 0 : 1;
}
