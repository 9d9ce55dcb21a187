/**
 * The shape of a `doctor` report: one check per line, each with a status,
 * what was found and what to do about it. Checks are collected per section
 * by a `Report`, which the command renders as text or JSON.
 */

/** pass: fine; warn: works, but needs attention; fail: does not work; info: skipped or for information (never a problem). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'info';

export interface Check {
  /** Stable identifier, e.g. "upstream.m365.token". */
  id: string;
  /** Section title, e.g. "Upstream m365 (graph)". */
  section: string;
  status: CheckStatus;
  /** One line saying what was checked and found. */
  title: string;
  /** More about what was found (may be empty). */
  detail: string;
  /** What to do (empty when nothing is to be done). */
  fix: string;
}

export interface CheckInput {
  id: string;
  status: CheckStatus;
  title: string;
  detail?: string | undefined;
  fix?: string | undefined;
}

/** Collects checks of one run, in order. */
export class Report {
  readonly checks: Check[] = [];

  /** A function that adds checks to one section. */
  section(title: string): (c: CheckInput) => Check {
    return (c) => {
      const check: Check = { id: c.id, section: title, status: c.status, title: c.title, detail: c.detail ?? '', fix: c.fix ?? '' };
      this.checks.push(check);
      return check;
    };
  }

  counts(): Record<CheckStatus, number> {
    const out: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, info: 0 };
    for (const c of this.checks) out[c.status]++;
    return out;
  }

  /** 1 when any check failed, else 0 (warnings do not fail the run). */
  exitCode(): number {
    return this.checks.some((c) => c.status === 'fail') ? 1 : 0;
  }
}

export type AddCheck = (c: CheckInput) => Check;

const SYMBOLS: Record<CheckStatus, { fancy: string; ascii: string }> = {
  pass: { fancy: '✓', ascii: '[ok]  ' },
  warn: { fancy: '!', ascii: '[warn]' },
  fail: { fancy: '✗', ascii: '[FAIL]' },
  info: { fancy: '·', ascii: '[info]' },
};

/** The report for people, grouped by section; `fancy` uses ✓ ! ✗ (a terminal), otherwise ASCII tags. */
export function renderText(checks: readonly Check[], fancy: boolean): string {
  const lines: string[] = [];
  let section = '';
  for (const c of checks) {
    if (c.section !== section) {
      if (section) lines.push('');
      section = c.section;
      lines.push(section);
    }
    const sym = fancy ? SYMBOLS[c.status].fancy : SYMBOLS[c.status].ascii;
    const pad = ' '.repeat(sym.length + 1);
    lines.push(`  ${sym} ${c.title}`);
    for (const d of c.detail ? c.detail.split('\n') : []) lines.push(`  ${pad}${d}`);
    if (c.fix) lines.push(`  ${pad}fix: ${c.fix}`);
  }
  const n = { pass: 0, warn: 0, fail: 0, info: 0 };
  for (const c of checks) n[c.status]++;
  lines.push('', `${n.pass} passed, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.fail} failed${n.info ? `, ${n.info} for information` : ''}`);
  return `${lines.join('\n')}\n`;
}
