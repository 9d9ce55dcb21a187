/**
 * The tables of docs/errors.md (English) and docs/ja/errors.md (Japanese),
 * rendered from the catalogue itself, so the documentation can never say
 * something the relay does not do. `node scripts/errors-doc.mjs` rewrites
 * them; test/unit/catalogue.test.ts fails when either file differs from what
 * this renders.
 */
import { CATALOGUE, type CatalogueEntry } from './catalogue.js';

/** The language of a rendering: docs/errors.md is 'en', docs/ja/errors.md is 'ja'. */
export type DocLanguage = 'en' | 'ja';

/** Where each language's errors document lives, from the repository root. */
export const ERRORS_DOCS: Readonly<Record<DocLanguage, string>> = { en: 'docs/errors.md', ja: 'docs/ja/errors.md' };

const HEAD: Readonly<Record<DocLanguage, string>> = {
  en: '| ref | example reply | action | what it means | what to do |\n|---|---|---|---|---|',
  ja: '| ref | 応答の例 | 動作 | 意味 | 対処 |\n|---|---|---|---|---|',
};

/** Each source's section: its heading in docs/errors.md (heading) and in docs/ja/errors.md (headingJa). */
export const TABLE_SOURCES = [
  { source: 'entra', heading: '## Entra ID (signing in)', headingJa: '## Entra ID (サインイン)' },
  { source: 'graph', heading: '## Microsoft Graph', headingJa: '## Microsoft Graph' },
  { source: 'smtp', heading: '## SMTP replies (SMTP AUTH, Direct Send, connector relay)', headingJa: '## SMTP の応答 (SMTP AUTH、Direct Send、コネクタ経由のリレー)' },
  { source: 'scan', heading: '## Reports and sign-in logs (the migration scan)', headingJa: '## レポートとサインイン ログ (移行スキャン)' },
  { source: 'generic', heading: '## Any SMTP server (the smtp upstream, Direct Send, SMTP OAuth)', headingJa: '## すべての SMTP サーバー (smtp アップストリーム、Direct Send、SMTP OAuth)' },
] as const;

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\s+/g, ' ').trim();
}

function example(e: CatalogueEntry, lang: DocLanguage): string {
  if (e.source === 'scan') {
    const x = e.example;
    return `${x.status}${x.code ? ` ${x.code}` : ''}${x.finding ? ` ${x.finding}` : ''} (${x.operation})`;
  }
  if (e.source === 'smtp') return e.example.length > 110 ? `${e.example.slice(0, 107)}…` : e.example;
  if (e.source === 'generic') {
    const x = e.example;
    const text = `${x.command ? `${x.command}: ` : ''}${x.response ?? ''}${x.error && !/^\d{3}/.test(x.response ?? '') ? ` (${x.error})` : ''}`;
    return text.length > 110 ? `${text.slice(0, 107)}…` : text;
  }
  if (e.source === 'graph') return `${e.example.status}${e.example.code ? ` ${e.example.code}` : ''}${e.example.operation ? ` (${e.example.operation})` : ''}`;
  const x = e.example;
  const reader = x.reader ? (lang === 'ja' ? '、IMAP/POP の読み取り' : ', reading IMAP/POP') : '';
  if (x.notSignedIn && x.aadsts === undefined) return lang === 'ja' ? `サインイン情報が保存されていない${reader}` : `no sign-in stored${reader}`;
  if (x.networkCode) return lang === 'ja' ? `${x.networkCode} (サインイン先のホストに到達できない)` : `${x.networkCode} (sign-in host not reached)`;
  return `${x.aadsts ? `AADSTS${x.aadsts}` : x.error ?? ''}${x.status ? ` (${x.status}${x.error ? ` ${x.error}` : ''}${reader})` : ''}`;
}

/** A wait as docs show it: "24 h" / "60 s", "24 時間" / "60 秒". */
function waitText(ms: number, lang: DocLanguage): string {
  const hours = ms >= 3_600_000;
  const n = hours ? ms / 3_600_000 : ms / 1000;
  if (lang === 'ja') return `${n} ${hours ? '時間' : '秒'}`;
  return `${n} ${hours ? 'h' : 's'}`;
}

function action(e: CatalogueEntry, lang: DocLanguage): string {
  if (e.source === 'scan') return lang === 'ja' ? e.ja.effect : e.effect;
  const route = e.scope === 'destination';
  const wait = e.retryAfterMs ? waitText(e.retryAfterMs, lang) : undefined;
  if (lang === 'ja') {
    if (e.action === 'fail') return '失敗';
    if (route) return `再試行 (ルートが待機${wait ? `、${wait}後` : ''})`;
    return wait ? `再試行 (${wait}後)` : '再試行';
  }
  if (e.action === 'fail') return 'fail';
  const waits = wait ? `, waits ${wait}` : '';
  return route ? `retry (route waits${waits})` : `retry${waits}`;
}

/** The entry's explanation in the language. */
function explained(e: CatalogueEntry, lang: DocLanguage): { hint: string; fix: string } {
  return lang === 'ja' ? e.ja : e;
}

export function catalogueRow(e: CatalogueEntry, lang: DocLanguage = 'en'): string {
  const { hint, fix } = explained(e, lang);
  return `| \`${e.ref}\` | ${cell(example(e, lang))} | ${cell(action(e, lang))} | ${cell(hint)} | ${cell(fix)} |`;
}

/** The table of one source, header included. */
export function catalogueTable(source: CatalogueEntry['source'], lang: DocLanguage = 'en'): string {
  return [HEAD[lang], ...CATALOGUE.filter((e) => e.source === source).map((e) => catalogueRow(e, lang))].join('\n');
}

/** docs/errors.md (or, with 'ja', docs/ja/errors.md) with each source's table replaced by the rendered one. */
export function renderErrorsDoc(current: string, lang: DocLanguage = 'en'): string {
  let out = current;
  for (const s of TABLE_SOURCES) {
    const heading = lang === 'ja' ? s.headingJa : s.heading;
    const start = out.indexOf(`${heading}\n`);
    if (start < 0) throw new Error(`${ERRORS_DOCS[lang]} has no "${heading}" section`);
    const tableStart = out.indexOf('| ref |', start);
    if (tableStart < 0) throw new Error(`${ERRORS_DOCS[lang]} has no table under "${heading}"`);
    let tableEnd = tableStart;
    while (tableEnd < out.length && out[tableEnd] === '|') {
      const nl = out.indexOf('\n', tableEnd);
      tableEnd = nl < 0 ? out.length : nl + 1;
    }
    out = `${out.slice(0, tableStart)}${catalogueTable(s.source, lang)}\n${out.slice(tableEnd)}`;
  }
  return out;
}
