/**
 * Turns raw scenario results into medians and authrelay/Postfix ratios,
 * prints them as a table, and writes them as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { toMB } from './lib/procfs.js';
import type { PhaseResult, ScenarioResult, SystemName } from './scenarios.js';

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface PhaseSummary {
  phase: string;
  system: SystemName;
  runs: number;
  ingestMsgPerSec: number | null;
  ingestRuns: number[];
  endToEndMsgPerSec: number | null;
  undelivered: number;
  peakMemoryMB: number | undefined;
  cpuMsPerMessage: number | null;
}

export interface Ratio {
  phase: string;
  authrelayOverPostfix: number | null;
  target: number | undefined;
  met: boolean | undefined;
}

/** Ingest targets from PRODUCT.md, by phase name. */
export const RATIO_TARGETS: Record<string, number> = { '20 sessions': 1.5, '1 session': 1.0 };

export function summarise(runs: ScenarioResult[]): { phases: PhaseSummary[]; ratios: Ratio[] } {
  const byKey = new Map<string, { system: SystemName; phase: string; results: PhaseResult[] }>();
  for (const run of runs) {
    for (const p of run.phases) {
      const key = `${p.name}|${run.system}`;
      const entry = byKey.get(key) ?? { system: run.system, phase: p.name, results: [] };
      entry.results.push(p);
      byKey.set(key, entry);
    }
  }
  const phases: PhaseSummary[] = [...byKey.values()].map(({ system, phase, results }) => ({
    phase,
    system,
    runs: results.length,
    ingestMsgPerSec: median(results.map((r) => r.ingestMsgPerSec)),
    ingestRuns: results.map((r) => Math.round(r.ingestMsgPerSec)),
    endToEndMsgPerSec: median(results.flatMap((r) => (r.endToEndMsgPerSec === null ? [] : [r.endToEndMsgPerSec]))),
    undelivered: results.reduce((s, r) => s + r.undelivered, 0),
    peakMemoryMB: toMB(Math.max(...results.map((r) => r.peakMemoryBytes))),
    cpuMsPerMessage: median(results.map((r) => r.cpuMsPerMessage)),
  }));
  const names = [...new Set(phases.map((p) => p.phase))];
  const ratios: Ratio[] = names.map((phase) => {
    const pf = phases.find((p) => p.phase === phase && p.system === 'postfix')?.ingestMsgPerSec;
    const ar = phases.find((p) => p.phase === phase && p.system === 'authrelay')?.ingestMsgPerSec;
    const ratio = pf && ar ? Math.round((ar / pf) * 100) / 100 : null;
    const target = RATIO_TARGETS[phase];
    return { phase, authrelayOverPostfix: ratio, target, met: ratio === null || target === undefined ? undefined : ratio >= target };
  });
  return { phases, ratios };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const num = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? '—' : v.toFixed(digits));
const verdict = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'met' : 'NOT met');

export function printPhases(phases: PhaseSummary[], ratios: Ratio[], describe: (phase: string) => string): void {
  const rows = phases.map((p) => [
    describe(p.phase),
    p.system,
    num(p.ingestMsgPerSec),
    p.ingestRuns.join(', '),
    num(p.endToEndMsgPerSec),
    String(p.undelivered),
    p.peakMemoryMB === undefined ? '—' : `${p.peakMemoryMB} MB`,
    num(p.cpuMsPerMessage, 2),
  ]);
  const header = ['load (1 msg/connection)', 'system', 'ingest msg/s', 'runs', 'end-to-end msg/s', 'undelivered', 'peak memory*', 'CPU ms/msg'];
  console.log(table(header, rows));
  console.log('');
  console.log(
    table(
      ['ratio authrelay / Postfix (ingest, median)', 'ratio', 'target', ''],
      ratios.map((r) => [r.phase, num(r.authrelayOverPostfix, 2), r.target === undefined ? '—' : `≥ ${r.target}`, verdict(r.met)]),
    ),
  );
}

export interface Check {
  what: string;
  system: SystemName;
  value: string;
  target: string;
  met: boolean | undefined;
}

export function printChecks(checks: Check[]): void {
  console.log(table(['measure', 'system', 'value', 'target', ''], checks.map((c) => [c.what, c.system, c.value, c.target, verdict(c.met)])));
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}
