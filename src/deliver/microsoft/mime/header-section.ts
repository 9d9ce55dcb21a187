/**
 * The top-level header section of a stored message, read from its stream
 * without reading the body: the header bytes are held (at most 2 MiB), the
 * body is handed on as a stream that starts right after the blank line.
 * Fields keep their raw bytes (folds and 8-bit included), so every field
 * that is not edited can be written back byte for byte.
 */
import { Readable } from 'node:stream';

export interface RawField {
  /** Field name as sent (case kept). */
  name: string;
  /** The whole field: name, colon, value, continuation lines and the final line break (CRLF, or LF). */
  raw: Buffer;
}

export interface SplitMessage {
  /** Header fields, each ending in its line break (no blank separator line); the last may have none when the message has no body. */
  fields: RawField[];
  /** The blank line and the body, streamed. */
  rest: Readable;
  /** The line break the message uses: the blank line's (a bare LF from some devices), else the fields'. */
  lineBreak: '\r\n' | '\n';
}

/**
 * Largest header section read (top level and, in split.ts, every MIME part).
 * Twice what the receive stage holds back (1 MiB, checked per chunk, plus the
 * fields it adds), so every header section the relay stored can be read.
 */
export const MAX_HEADER_BYTES = 2 * 1024 * 1024;

/** The header section is larger than MAX_HEADER_BYTES: the message cannot be prepared (nothing is wrong with the spool). */
export class HeaderTooLargeError extends Error {
  override name = 'HeaderTooLargeError';
  constructor() {
    super(`the header section is larger than ${MAX_HEADER_BYTES} bytes`);
  }
}

/**
 * Reads the header section off the stream; the body is not read until `rest`
 * is consumed. Lines may end in CRLF (as the spool keeps them) or in a bare
 * LF; either way every byte is kept. On failure the source is destroyed.
 */
export async function readHeaderSection(source: Readable): Promise<SplitMessage> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let held = Buffer.alloc(0);
  let cut = -1;
  let ended = false;
  try {
    while (cut < 0) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      const from = Math.max(0, held.length - 2);
      held = held.length ? Buffer.concat([held, next.value]) : Buffer.from(next.value);
      cut = headerEnd(held, from);
      if (cut < 0 && held.length > MAX_HEADER_BYTES) throw new HeaderTooLargeError();
    }
  } catch (err) {
    source.destroy();
    throw err;
  }
  // A message that is all header (no blank line) keeps its bytes as they are.
  const head = cut < 0 ? held : held.subarray(0, cut);
  const tail = cut < 0 ? Buffer.alloc(0) : held.subarray(cut);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (tail.length) yield tail;
      if (ended) return;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      source.destroy();
    }
  }
  const fields = parseFields(head);
  const lineBreak = cut >= 0 ? (tail[0] === 0x0a ? '\n' : '\r\n') : lineBreakOf(fields);
  return { fields, rest: Readable.from(rest(), { objectMode: false }), lineBreak };
}

/**
 * End of the header fields (index just after the last field's line break), or
 * -1 while the blank line has not arrived: the first LF followed by an empty
 * line (LF, or CRLF). `from` is where the new bytes start, less two.
 */
function headerEnd(buf: Buffer, from: number): number {
  // An empty header section: the message starts with its blank line.
  if (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a)) return 0;
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a || (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a)) return i + 1;
  }
  return -1;
}

/** Splits a header section into fields: a field ends at a line break (CRLF or LF) not followed by SP or HTAB. */
export function parseFields(head: Buffer): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  while (start < head.length) {
    let end = start;
    for (;;) {
      const nl = head.indexOf(0x0a, end);
      if (nl < 0) {
        end = head.length;
        break;
      }
      end = nl + 1;
      const next = head[end];
      if (next !== 0x20 && next !== 0x09) break;
    }
    const raw = head.subarray(start, end);
    const colon = raw.indexOf(':');
    fields.push({ name: colon > 0 ? raw.subarray(0, colon).toString('latin1').trim() : '', raw });
    start = end;
  }
  return fields;
}

/** The line break the header section uses: a bare LF when its first line ends in one, else CRLF. */
export function lineBreakOf(fields: RawField[]): '\r\n' | '\n' {
  for (const f of fields) {
    const n = f.raw.length;
    if (n && f.raw[n - 1] === 0x0a) return n >= 2 && f.raw[n - 2] === 0x0d ? '\r\n' : '\n';
  }
  return '\r\n';
}

/** The field's value bytes: after the colon, without the final line break (folds kept). */
export function fieldValue(f: RawField): Buffer {
  const colon = f.raw.indexOf(':');
  let end = f.raw.length;
  if (end >= 1 && f.raw[end - 1] === 0x0a) end -= end >= 2 && f.raw[end - 2] === 0x0d ? 2 : 1;
  return f.raw.subarray(colon + 1, end);
}

/** Unfolded value as a byte string (latin1: one char per byte), trimmed. */
export function unfoldedValue(f: RawField): string {
  return fieldValue(f).toString('latin1').replace(/\r?\n(?=[ \t])/g, '').trim();
}

export function findField(fields: RawField[], name: string): RawField | undefined {
  const n = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === n);
}

/** The media type and charset of a Content-Type value (lower case). */
export function contentTypeOf(fields: RawField[]): { type: string; charset?: string } {
  const f = findField(fields, 'content-type');
  if (!f) return { type: 'text/plain' };
  const v = unfoldedValue(f);
  const type = (v.split(';')[0] ?? '').trim().toLowerCase() || 'text/plain';
  const cs = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(v);
  return cs?.[1] ? { type, charset: cs[1].toLowerCase() } : { type };
}
