/** The drills' table (markdown, for the terminal and the README) and the JSON written next to it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillResult } from './drill.ts';

export interface DrillReport {
  startedAt: string;
  durationMs: number;
  /** The whole run took less than 5 minutes. */
  withinLimit: boolean;
  scale: number;
  cores: number;
  results: DrillResult[];
  /** workerd processes still alive after everything was stopped (must be 0). */
  leftoverWorkerd: number;
}

export function renderMarkdown(report: DrillReport): string {
  const passed = report.results.filter((result) => result.pass).length;
  const lines = [
    `## token-broker drills, ${report.startedAt}`,
    '',
    `${passed}/${report.results.length} drills passed in ${(report.durationMs / 1000).toFixed(0)} s (${report.withinLimit ? 'under' : '**over**'} the 5-minute bound; scale ${report.scale}, ${report.cores} cores, loopback only); workerd processes left afterwards: ${report.leftoverWorkerd}.`,
    '',
    '| # | drill | verdict | counts | checks | s |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of report.results) {
    const counts = Object.entries(result.counts)
      .map(([key, value]) => `${key}: ${value}`)
      .join('; ');
    const checks = result.checks.map((check) => `${check.pass ? '✓' : '✗'} ${check.name}`).join('; ');
    lines.push(`| ${result.id} | ${result.name} | ${result.pass ? 'pass' : '**FAIL**'} | ${counts} | ${checks} | ${(result.durationMs / 1000).toFixed(1)} |`);
  }
  const failures = report.results.flatMap((result) =>
    result.checks.filter((check) => !check.pass).map((check) => `- drill ${result.id} (${result.name}), ${check.name}: ${check.detail}${check.firstFailure ? `; first: ${check.firstFailure}` : ''}`),
  );
  if (failures.length) lines.push('', '### Failures', '', ...failures);
  return `${lines.join('\n')}\n`;
}

export function writeReport(dir: string, report: DrillReport): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(dir, `${stamp}.json`), json);
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, 'latest.md'), renderMarkdown(report));
  return join(dir, `${stamp}.json`);
}
