/**
 * The top-level header section of a stored message, read from its stream
 * without reading the body: the header bytes are held (at most 1 MB), the
 * body is handed on as a stream that starts right after the blank line.
 * Fields keep their raw bytes (folds and 8-bit included), so every field
 * that is not edited can be written back byte for byte.
 */
import { Readable } from 'node:stream';

export interface RawField {
  /** Field name as sent (case kept). */
  name: string;
  /** The whole field: name, colon, value, continuation lines and the final CRLF. */
  raw: Buffer;
}

export interface SplitMessage {
  /** Header fields, each ending in CRLF (no blank separator line). */
  fields: RawField[];
  /** The blank line and the body, streamed. */
  rest: Readable;
}

export const MAX_HEADER_BYTES = 1024 * 1024;

/** Reads the header section off the stream; the body is not read until `rest` is consumed. */
export async function readHeaderSection(source: Readable): Promise<SplitMessage> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let held = Buffer.alloc(0);
  let cut = -1;
  let ended = false;
  while (cut < 0) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    const from = Math.max(0, held.length - 3);
    held = held.length ? Buffer.concat([held, next.value]) : Buffer.from(next.value);
    cut = headerEnd(held, from);
    if (cut < 0 && held.length > MAX_HEADER_BYTES) throw new Error(`the header section is larger than ${MAX_HEADER_BYTES} bytes`);
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
  return { fields: parseFields(head), rest: Readable.from(rest(), { objectMode: false }) };
}

/** End of the header fields (index just after the last field's CRLF), or -1 while the blank line has not arrived. */
function headerEnd(buf: Buffer, from: number): number {
  if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) return 0;
  const i = buf.indexOf('\r\n\r\n', from);
  return i < 0 ? -1 : i + 2;
}

/** Splits a header section into fields: a field ends at a CRLF not followed by SP or HTAB. */
export function parseFields(head: Buffer): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  while (start < head.length) {
    let end = start;
    for (;;) {
      const nl = head.indexOf('\r\n', end);
      if (nl < 0) {
        end = head.length;
        break;
      }
      end = nl + 2;
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

/** The field's value bytes: after the colon, without the final CRLF (folds kept). */
export function fieldValue(f: RawField): Buffer {
  const colon = f.raw.indexOf(':');
  let end = f.raw.length;
  if (end >= 2 && f.raw[end - 2] === 0x0d && f.raw[end - 1] === 0x0a) end -= 2;
  return f.raw.subarray(colon + 1, end);
}

/** Unfolded value as a byte string (latin1: one char per byte), trimmed. */
export function unfoldedValue(f: RawField): string {
  return fieldValue(f).toString('latin1').replace(/\r\n(?=[ \t])/g, '').trim();
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
