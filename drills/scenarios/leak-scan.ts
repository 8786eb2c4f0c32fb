/**
 * Drill 9, leak scan. Every drill ran with canary secret values (one per secret, plus the broker's AWS
 * secret key, its audit key and the rotator's key). Everything the broker said outside a 200 body went
 * through the scanner as it arrived: Worker log lines, error bodies, ledger exports, admin answers and
 * CLI output. This drill adds a final export and an admin query, then requires zero hits, and checks the
 * scan itself: the canaries did go out in 200 bodies, and the scanner finds a planted one.
 */
import { runCli } from '../cli.ts';
import { check, type Drill } from '../drill.ts';
import { exportLedger } from '../ledger.ts';
import { LeakScanner } from '../leak-scanner.ts';

export const leakScan: Drill = {
  id: 9,
  name: 'leak scan',
  async run(context) {
    const { broker, scanner, world } = context;
    const ledger = await exportLedger(broker, scanner, 'final export');
    const query = await runCli(broker, scanner, ['audit', 'query', '--limit', '500']);
    const response = await broker.dispatch('/v1/admin/audit?limit=500&outcome=issued', { headers: { Authorization: `Bearer ${await broker.adminToken()}` } });
    scanner.scan('admin-body', await response.text(), 'GET /v1/admin/audit?outcome=issued');

    // The scanner must be able to fail: a planted canary, whole and split across two stream chunks.
    const canary = [...world.canaries][0]!;
    const probe = new LeakScanner(new Set([canary]));
    probe.scan('log', `{"detail":"${canary}"}`, 'planted');
    const feed = probe.stream('log', 'planted, split');
    feed(`xx${canary.slice(0, 10)}`);
    feed(`${canary.slice(10)}yy`);

    const bytes = Object.fromEntries([...scanner.bytes].map(([source, n]) => [`${source} KiB`, Math.round(n / 1024)]));
    const first = scanner.hits[0];
    return {
      counts: {
        canaries: world.canaries.size,
        ...bytes,
        'log lines': scanner.items.get('log') ?? 0,
        'error bodies': scanner.items.get('error-body') ?? 0,
        'ledger records in final export': ledger.records.length,
        'canaries handed out in 200 bodies': scanner.issuedCanaries,
        hits: scanner.hits.length,
      },
      checks: [
        check('no canary outside a 200 body', scanner.hits.length === 0, `${scanner.hits.length} hits`, first && `${first.source}: ${first.where}`),
        check('every source was scanned', ['log', 'error-body', 'ledger-export', 'cli-output', 'admin-body'].every((source) => (scanner.bytes.get(source as never) ?? 0) > 0), JSON.stringify(bytes)),
        check('canaries were handed out (the scan is not vacuous)', scanner.issuedCanaries > 0, `${scanner.issuedCanaries} 200 bodies carried a canary`),
        check('the scanner finds a planted canary', probe.hits.length === 2, `${probe.hits.length}/2 planted canaries found`),
        check('audit query CLI ran', query.code === 0, query.stderr.trim()),
      ],
    };
  },
};
