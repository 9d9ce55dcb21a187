/**
 * Turns raw results into medians and ratios, and renders tables twice from
 * the same cells: as aligned text for the terminal and as Markdown for the
 * dated results file (bench/results/YYYY-MM-DD.md); also writes the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { maxPeak, toMB, type MemoryPeak } from './lib/procfs.js';
import type { PhaseResult, PhaseSpec, ScenarioResult, SystemName } from './scenarios.js';

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
  /** The largest peak over the repetitions (Σ VmHWM; Σ PSS for several processes). */
  memory: MemoryPeak | undefined;
  cpuMsPerMessage: number | null;
}

export interface Ratio {
  phase: string;
  authrelayOverPostfix: number | null;
  target: number | undefined;
  met: boolean | undefined;
}

/** Medians per phase and system; ratio targets come from the phase specs (PRODUCT.md). */
export function summarise(runs: ScenarioResult[], specs: PhaseSpec[]): { phases: PhaseSummary[]; ratios: Ratio[] } {
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
    memory: results.reduce<MemoryPeak | undefined>((m, r) => maxPeak(m, r.memory), undefined),
    cpuMsPerMessage: median(results.map((r) => r.cpuMsPerMessage)),
  }));
  const names = [...new Set(phases.map((p) => p.phase))];
  const ratios: Ratio[] = names.map((phase) => {
    const pf = phases.find((p) => p.phase === phase && p.system === 'postfix')?.ingestMsgPerSec;
    const ar = phases.find((p) => p.phase === phase && p.system === 'authrelay')?.ingestMsgPerSec;
    const ratio = pf && ar ? Math.round((ar / pf) * 100) / 100 : null;
    const target = specs.find((s) => s.name === phase)?.target;
    return { phase, authrelayOverPostfix: ratio, target, met: ratio === null || target === undefined ? undefined : ratio >= target };
  });
  return { phases, ratios };
}

/** A table as cells, rendered as text or Markdown. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  notes?: string[];
}

export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const mdCell = (c: string): string => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.map(mdCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${header.map((_, i) => mdCell(r[i] ?? '')).join(' | ')} |`)].join('\n');
}

export function printTable(t: Table): void {
  console.log(`${t.title}\n`);
  console.log(textTable(t.header, t.rows));
  for (const n of t.notes ?? []) console.log(`  ${n}`);
  console.log('');
}

export function markdownSection(t: Table, level = '##'): string {
  const notes = (t.notes ?? []).map((n) => `- ${n}`).join('\n');
  return `${level} ${t.title}\n\n${markdownTable(t.header, t.rows)}\n${notes ? `\n${notes}\n` : ''}`;
}

export const num = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));

/** One line of the headline table: what was measured, authrelay's figure, what it is compared with, and the PRODUCT.md target. */
export interface SummaryRow {
  area: string;
  load: string;
  authrelay: string;
  /** authrelay's peak memory in this row (memoryText), '' when none was measured. */
  authrelayMemory?: string;
  compared: string;
  /** The compared system's peak memory in this row. */
  comparedMemory?: string;
  ratio: string;
  target: string;
  /** true/false against the target; undefined when there is no target; a text when it could not be judged. */
  met: boolean | undefined | string;
}

export const verdict = (met: SummaryRow['met']): string => (typeof met === 'string' ? met : met === undefined ? '' : met ? 'met' : 'NOT met');

export function summaryTable(rows: SummaryRow[], title: string, notes: string[] = []): Table {
  return {
    title,
    header: ['area', 'load', 'authrelay', 'authrelay peak memory', 'compared with', 'its peak memory', 'ratio', 'target (PRODUCT.md)', 'verdict'],
    rows: rows.map((r) => [r.area, r.load, r.authrelay, r.authrelayMemory || '—', r.compared, r.comparedMemory || '—', r.ratio, r.target, verdict(r.met)]),
    notes,
  };
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}

export function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
