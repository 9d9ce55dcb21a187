/**
 * The message's header section, kept as the bytes the device sent. Fields
 * can be read, replaced, added or removed; everything not touched is written
 * back byte for byte. Only the header section is held in memory; the body
 * streams past (see header-stage.ts).
 */

export interface HeaderField {
  /** Field name as sent (case kept). */
  name: string;
  /** The whole field: name, colon, value, continuation lines, and the final CRLF. */
  raw: Buffer;
}

export class HeaderBlock {
  constructor(public fields: HeaderField[]) {}

  /** Parses a header section (without the blank separator line). Lines end in CRLF. */
  static parse(buf: Buffer): HeaderBlock {
    const fields: HeaderField[] = [];
    let start = 0;
    while (start < buf.length) {
      // find end of this field: a CRLF not followed by SP or HTAB
      let end = start;
      for (;;) {
        const nl = buf.indexOf('\r\n', end);
        if (nl === -1) {
          end = buf.length;
          break;
        }
        end = nl + 2;
        const next = buf[end];
        if (next !== 0x20 && next !== 0x09) break;
      }
      const raw = buf.subarray(start, end);
      const colon = raw.indexOf(':');
      const name = colon > 0 ? raw.subarray(0, colon).toString('latin1').trim() : '';
      fields.push({ name, raw });
      start = end;
    }
    return new HeaderBlock(fields);
  }

  get(name: string): HeaderField | undefined {
    const n = name.toLowerCase();
    return this.fields.find((f) => f.name.toLowerCase() === n);
  }

  /** The unfolded value of the first field with this name, decoded as UTF-8 (or Latin-1 when not valid UTF-8). */
  value(name: string): string | undefined {
    const f = this.get(name);
    if (!f) return undefined;
    const colon = f.raw.indexOf(':');
    const v = f.raw.subarray(colon + 1);
    return decodeText(v).replace(/\r\n([ \t])/g, '$1').trim();
  }

  /** Replaces the first field with this name, or appends it. A Buffer value is written as it is (8-bit kept). */
  set(name: string, value: string | Buffer): void {
    const raw = Buffer.concat([Buffer.from(`${name}: `), typeof value === 'string' ? Buffer.from(value, 'utf8') : value, Buffer.from('\r\n')]);
    const i = this.fields.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
    if (i >= 0) this.fields[i] = { name, raw };
    else this.fields.push({ name, raw });
  }

  prepend(name: string, value: string): void {
    this.fields.unshift({ name, raw: Buffer.from(`${name}: ${value}\r\n`, 'utf8') });
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.fields.map((f) => f.raw));
  }
}

function decodeText(buf: Buffer): string {
  const s = buf.toString('utf8');
  return s.includes('\uFFFD') ? buf.toString('latin1') : s;
}

/**
 * The address inside a header value such as `"Scanner" <scan@x.y>` or
 * `scan@x.y (Scanner)`. Quoted strings count as a placeholder local part, so
 * `"a@allowed.example"@other.example` is seen as an address at other.example.
 * Linear in the length of the value (a device may send a very long header).
 */
export function addressInHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const plain = value.replace(/"(?:[^"\\]|\\.)*"/g, 'q');
  const angle = /<([^<>\s@]*@[^<>\s]*)>/.exec(plain);
  if (angle) return angle[1];
  for (const token of plain.split(/[\s<>"(),;:]+/)) {
    const at = token.indexOf('@');
    if (at > 0 && at < token.length - 1) return token;
  }
  return undefined;
}

/**
 * Every mailbox address in a header value (`a@b, "Name, Inc" <c@d>` → a@b, c@d).
 * Quoted strings and comments are skipped, so a display name that looks like
 * an address is not taken for one.
 */
export function addressesInHeader(value: string): string[] {
  const plain = value.replace(/"(?:[^"\\]|\\.)*"/g, 'q').replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const out: string[] = [];
  for (const part of plain.split(',')) {
    const a = addressInHeader(part);
    if (a) out.push(a);
  }
  return out;
}

/** The display-name part of a From value, if any (`"Scanner 3F" <a@b>` → `"Scanner 3F"`). */
export function displayNameInHeader(value: string): string | undefined {
  const i = value.indexOf('<');
  if (i <= 0) return undefined;
  const name = value.slice(0, i).trim();
  return name || undefined;
}

/**
 * The display-name bytes of a raw From value as the device sent them (raw
 * 8-bit such as Shift_JIS kept; `value()` text cannot be re-encoded safely),
 * trimmed. Undefined when there is none or it contains an @.
 */
export function displayNameBytes(rawValue: Buffer): Buffer | undefined {
  const lt = rawValue.lastIndexOf('<');
  if (lt <= 0) return undefined;
  let start = 0;
  let end = lt;
  const ws = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
  while (start < end && ws(rawValue[start])) start++;
  while (end > start && ws(rawValue[end - 1])) end--;
  const name = rawValue.subarray(start, end);
  return name.length && !name.includes('@') ? name : undefined;
}
