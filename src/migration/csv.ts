/**
 * CSV both ways (RFC 4180): reading Microsoft's report downloads (a UTF-8
 * byte order mark, CRLF or LF line ends, quoted cells with commas, doubled
 * quotes and line breaks) into rows keyed by the header, and writing the
 * board for `authrelay migrate status --csv` and the console's export.
 */

/** Rows of a CSV text as objects keyed by the header's names. Throws on an unterminated quote. */
export function parseCsv(text: string): Record<string, string>[] {
  const records = records_(text.replace(/^\uFEFF/, ''));
  const header = records.shift();
  if (!header) return [];
  return records
    .filter((r) => !(r.length === 1 && r[0] === ''))
    .map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ''])));
}

function records_(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      cell += c;
      i += 1;
      continue;
    }
    if (c === '"' && cell === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' || c === '\n') {
      row.push(cell);
      out.push(row);
      row = [];
      cell = '';
      if (c === '\r' && text[i + 1] === '\n') i += 1;
    } else {
      cell += c;
    }
    i += 1;
  }
  if (quoted) throw new Error('the CSV ends inside a quoted cell');
  if (cell !== '' || row.length) {
    row.push(cell);
    out.push(row);
  }
  return out;
}

/** One CSV line (CRLF ended); cells with a comma, quote or line break are quoted. */
export function csvLine(cells: (string | number | null | undefined)[]): string {
  return `${cells.map((v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(',')}\r\n`;
}
