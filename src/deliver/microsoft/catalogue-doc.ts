/**
 * The tables of docs/errors.md, rendered from the catalogue itself, so the
 * documentation can never say something the relay does not do.
 * `node scripts/errors-doc.mjs` rewrites them; test/unit/catalogue.test.ts
 * fails when docs/errors.md differs from what this renders.
 */
import { CATALOGUE, type CatalogueEntry } from './catalogue.js';

const HEAD = '| ref | example reply | action | what it means | what to do |\n|---|---|---|---|---|';

export const TABLE_SOURCES = [
  { source: 'entra', heading: '## Entra ID (signing in)' },
  { source: 'graph', heading: '## Microsoft Graph' },
  { source: 'smtp', heading: '## SMTP replies (SMTP AUTH, Direct Send, connector relay)' },
  { source: 'scan', heading: '## Reports and sign-in logs (the migration scan)' },
  { source: 'generic', heading: '## Any SMTP server (the smtp upstream, Direct Send, SMTP OAuth)' },
] as const;

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\s+/g, ' ').trim();
}

function example(e: CatalogueEntry): string {
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
  if (x.notSignedIn) return 'no sign-in stored';
  if (x.networkCode) return `${x.networkCode} (sign-in host not reached)`;
  return `${x.aadsts ? `AADSTS${x.aadsts}` : x.error ?? ''}${x.status ? ` (${x.status}${x.error ? ` ${x.error}` : ''})` : ''}`;
}

function action(e: CatalogueEntry): string {
  if (e.source === 'scan') return e.effect;
  if (e.action === 'fail') return 'fail';
  const wait = e.retryAfterMs ? `, waits ${e.retryAfterMs >= 3_600_000 ? `${e.retryAfterMs / 3_600_000} h` : `${e.retryAfterMs / 1000} s`}` : '';
  return e.scope === 'destination' ? `retry (route waits${wait})` : `retry${wait}`;
}

export function catalogueRow(e: CatalogueEntry): string {
  return `| \`${e.ref}\` | ${cell(example(e))} | ${action(e)} | ${cell(e.hint)} | ${cell(e.fix)} |`;
}

/** The table of one source, header included. */
export function catalogueTable(source: CatalogueEntry['source']): string {
  return [HEAD, ...CATALOGUE.filter((e) => e.source === source).map(catalogueRow)].join('\n');
}

/** docs/errors.md with each source's table replaced by the rendered one. */
export function renderErrorsDoc(current: string): string {
  let out = current;
  for (const { source, heading } of TABLE_SOURCES) {
    const start = out.indexOf(`${heading}\n`);
    if (start < 0) throw new Error(`docs/errors.md has no "${heading}" section`);
    const tableStart = out.indexOf('| ref |', start);
    let tableEnd = tableStart;
    while (tableEnd < out.length && out[tableEnd] === '|') {
      const nl = out.indexOf('\n', tableEnd);
      tableEnd = nl < 0 ? out.length : nl + 1;
    }
    out = `${out.slice(0, tableStart)}${catalogueTable(source)}\n${out.slice(tableEnd)}`;
  }
  return out;
}
