/**
 * The shape of a `doctor` report: one check per line, each with a status,
 * what was found and what to do about it, in English and Japanese (the
 * texts are in texts.ts). Checks are collected per section by a `Report`,
 * which the command renders as text in one language, or as JSON with both.
 */
import { NO_TEXT, render, type Lang, type Text } from '../core/i18n.js';
import { both, DOCTOR_TEXT as T } from './texts.js';

/** pass: fine; warn: works, but needs attention; fail: does not work; info: skipped or for information (never a problem). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'info';

export interface Check {
  /** Stable identifier, e.g. "upstream.m365.token". */
  id: string;
  /** Section title, e.g. "Upstream m365 (graph)". */
  section: Text;
  status: CheckStatus;
  /** One line saying what was checked and found. */
  title: Text;
  /** More about what was found (may be empty). */
  detail: Text;
  /** What to do (empty when nothing is to be done). */
  fix: Text;
  /** The error catalogue entry (docs/errors.md) the problem and its fix come from, when they do. */
  ref?: string;
}

export interface CheckInput {
  id: string;
  status: CheckStatus;
  title: Text;
  detail?: Text | undefined;
  fix?: Text | undefined;
  ref?: string | undefined;
}

/** Collects checks of one run, in order. */
export class Report {
  readonly checks: Check[] = [];

  /** A function that adds checks to one section. */
  section(title: Text): (c: CheckInput) => Check {
    return (c) => {
      const check: Check = {
        id: c.id, section: title, status: c.status, title: c.title, detail: c.detail ?? NO_TEXT, fix: c.fix ?? NO_TEXT, ...(c.ref ? { ref: c.ref } : {}),
      };
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

/**
 * The report for people in one language, grouped by section; `fancy` uses
 * ✓ ! ✗ (a terminal), otherwise ASCII tags.
 */
export function renderText(checks: readonly Check[], fancy: boolean, lang: Lang = 'en'): string {
  const lines: string[] = [];
  let section = '';
  for (const c of checks) {
    const title = c.section[lang];
    if (title !== section) {
      if (section) lines.push('');
      section = title;
      lines.push(section);
    }
    const sym = fancy ? SYMBOLS[c.status].fancy : SYMBOLS[c.status].ascii;
    const pad = ' '.repeat(sym.length + 1);
    lines.push(`  ${sym} ${c.title[lang]}`);
    for (const d of c.detail[lang] ? c.detail[lang].split('\n') : []) lines.push(`  ${pad}${d}`);
    if (c.fix[lang]) lines.push(`  ${pad}${render(T.fixLabel, lang)} ${c.fix[lang]}`);
  }
  const n = { pass: 0, warn: 0, fail: 0, info: 0 };
  for (const c of checks) n[c.status]++;
  const summary = both(n.warn === 1 ? T.summaryOneWarning : T.summary, n);
  const info = n.info ? both(T.summaryInfo, { info: n.info }) : NO_TEXT;
  lines.push('', `${summary[lang]}${info[lang]}`);
  return `${lines.join('\n')}\n`;
}
