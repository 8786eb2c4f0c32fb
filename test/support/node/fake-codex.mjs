#!/usr/bin/env node
/**
 * Stand-in for the Codex CLI in tests of examples/sandbox-boot.sh. Reads stdin to the end, then writes one
 * JSON record to $FAKE_CODEX_RECORD: its argv, what came on stdin, its environment, and every process whose
 * command line or environment holds the stdin value at that moment (the boot script is still running then).
 * Exits with $FAKE_CODEX_EXIT (default 0).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const stdin = Buffer.concat(chunks).toString('utf8');

const leaks = [];
if (stdin.length >= 8) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const where of ['cmdline', 'environ']) {
      let text = '';
      try {
        text = readFileSync(`/proc/${entry}/${where}`, 'latin1');
      } catch {
        continue;
      }
      if (text.includes(stdin)) leaks.push({ pid: Number(entry), where });
    }
  }
}

const record = { argv: process.argv.slice(2), stdin, env: process.env, leaks, pid: process.pid };
writeFileSync(process.env.FAKE_CODEX_RECORD ?? '/dev/null', JSON.stringify(record));
process.stderr.write(`fake-codex: ${process.argv.slice(2).join(' ')} (${stdin.length} bytes on stdin)\n`);
process.exit(Number(process.env.FAKE_CODEX_EXIT ?? 0));
