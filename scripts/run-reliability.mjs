#!/usr/bin/env node
// `npm run test:reliability`: the whole reliability suite in its full form
// (RELIABILITY_FULL=1: longer phases, more runs and more connections) — crash
// tests, upstream faults, hostile input — then its figures as a dated table in
// bench/results/reliability-YYYY-MM-DD.md. `npm test` runs the same files in
// their bounded form. Extra arguments choose test files (compiled .js paths).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = ['dist/test/reliability', 'dist/test/durability'];
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : dirs.filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.js')).map((f) => join(d, f))).sort();
const tmp = mkdtempSync(join(tmpdir(), 'authrelay-reliability-'));
const reportFile = join(tmp, 'figures.jsonl');
const started = new Date();
// The full form's phases and runs are several times longer: 20 minutes per test unless a test sets its own.
const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...files], {
  stdio: 'inherit', env: { AUTHRELAY_TEST_TIMEOUT_MS: '1200000', ...process.env, RELIABILITY_FULL: '1', RELIABILITY_REPORT: reportFile },
});
const lines = existsSync(reportFile) ? readFileSync(reportFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(tmp, { recursive: true, force: true });

const day = started.toISOString().slice(0, 10);
const out = [`# Reliability suite, ${day}`, '',
  `\`npm run test:reliability\` (full form) on Node ${process.version}, ${started.toISOString()}; test run ${r.status === 0 ? 'passed' : `FAILED (exit ${r.status})`}.`,
  `Files: ${files.map((f) => f.replace(/^dist\//, '')).join(', ')}.`, ''];
const suites = [...new Set(lines.map((l) => l.suite))];
for (const suite of suites) {
  const rows = lines.filter((l) => l.suite === suite);
  const keys = [...new Set(rows.flatMap((l) => Object.keys(l.figures)))];
  out.push(`## ${suite}`, '', `| scenario | ${keys.join(' | ')} |`, `|---|${keys.map(() => '---').join('|')}|`);
  for (const row of rows) out.push(`| ${row.scenario} | ${keys.map((k) => row.figures[k] ?? '').join(' | ')} |`);
  out.push('');
}
if (!lines.length) out.push('No figures were reported.', '');
mkdirSync('bench/results', { recursive: true });
const file = join('bench/results', `reliability-${day}.md`);
writeFileSync(file, `${out.join('\n')}\n`);
console.log(`\n${out.join('\n')}\nwritten to ${file}`);
process.exit(r.status ?? 1);
