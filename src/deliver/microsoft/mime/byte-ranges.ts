/**
 * Byte-range streams over a stored message, for the passes of the Graph
 * large-message path that come after the plan (split.ts): once the plan knows
 * where each removed part lies, the draft is the message with those ranges
 * cut out, and a part's content is its body range decoded. Neither needs
 * the MIME parser again: bytes pass through at once, so each chunk read
 * from the spool is garbage a moment later (it dies young instead of
 * waiting in the old generation for a full collection, which is what the
 * parser's line-by-line pace caused: see docs/architecture.md, Memory).
 *
 *   - withoutRanges: the source minus sorted, disjoint [start, end) ranges;
 *   - rangeOf: the bytes of one range; the source is released at its end
 *     (nothing after the part is read);
 *   - Base64Decode: base64 text to bytes; everything that is not in the
 *     base64 alphabet (line breaks, padding) is skipped, so the decoded
 *     length is exactly floor(characters × 3 / 4), the size the plan counted.
 *
 * A source that turns out shorter than the ranges say fails the stream: the
 * plan and the message no longer agree, and no request may go out with a
 * wrong length.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';

export interface ByteRange {
  start: number;
  end: number;
}

/** The source without the given ranges (sorted by start, not overlapping), byte for byte otherwise. */
export function withoutRanges(source: Readable, ranges: readonly ByteRange[], expectedTotal?: number): Readable {
  let offset = 0;
  let next = 0;
  const cut = new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      const from = offset;
      const to = offset + chunk.length;
      offset = to;
      let pos = from;
      while (pos < to) {
        const r = ranges[next];
        if (!r || r.start >= to) {
          this.push(pos === from ? chunk : chunk.subarray(pos - from));
          break;
        }
        if (r.start > pos) this.push(chunk.subarray(pos - from, r.start - from));
        // A range that goes on past this chunk: nothing more of it is kept.
        if (r.end > to) break;
        pos = Math.max(pos, r.end);
        next++;
      }
      cb();
    },
    flush(cb: TransformCallback) {
      if (expectedTotal !== undefined && offset !== expectedTotal) {
        return cb(new Error(`the stored message has ${offset} bytes where the split plan counted ${expectedTotal}`));
      }
      cb();
    },
  });
  return link(source, cut);
}

/** The bytes of [start, end) of the source; the source is released as soon as the range has been read. */
export function rangeOf(source: Readable, range: ByteRange): Readable {
  let offset = 0;
  let done = false;
  const slice = new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      const from = offset;
      offset += chunk.length;
      if (done || offset <= range.start) return cb();
      const a = Math.max(range.start - from, 0);
      const b = Math.min(range.end - from, chunk.length);
      if (b > a) this.push(a === 0 && b === chunk.length ? chunk : chunk.subarray(a, b));
      if (offset >= range.end) {
        done = true;
        this.push(null);
        // The rest of the message is not needed: stop reading it.
        source.unpipe(slice);
        source.destroy();
      }
      cb();
    },
    flush(cb: TransformCallback) {
      if (!done) return cb(new Error(`the stored message ended at byte ${offset}, before the part's end at ${range.end}`));
      cb();
    },
  });
  return link(source, slice);
}

/** Pipes source into t; a read error reaches t's reader, and destroying t releases the source. */
function link(source: Readable, t: Transform): Readable {
  source.on('error', (err) => t.destroy(err));
  t.once('close', () => source.destroy());
  source.pipe(t);
  return t;
}

const ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[c.charCodeAt(0)] = 1;
/** Base64 characters decoded at once: a multiple of 4 whose text stays a small (young) string. */
const SLICE = 48 * 1024;

/**
 * Base64 text to bytes, skipping everything outside the alphabet (see the
 * file header). Its output is in object mode, each decoded piece a chunk of
 * its own: a reader that iterates the stream (the upload's segments) gets the
 * pieces one by one. In byte mode such a read returns everything buffered
 * joined into one new buffer (about 180 KB for each 256 KB read from the
 * spool), a copy that then waited in the socket's queue long enough to be
 * promoted and freed only by a full collection (docs/architecture.md, Memory).
 */
export class Base64Decode extends Transform {
  /** Alphabet characters not yet decoded (fewer than 4 between chunks). */
  private readonly pending = Buffer.allocUnsafe(SLICE);
  private fill = 0;

  constructor() {
    // Two pieces wait at most (each up to 36 KB) before the reader takes them.
    super({ readableObjectMode: true, readableHighWaterMark: 2 });
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (ALPHABET[c] === 0) continue;
      this.pending[this.fill++] = c;
      if (this.fill === SLICE) this.emit4(SLICE);
    }
    this.emit4(this.fill - (this.fill % 4));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    // 2 or 3 characters left carry 1 or 2 bytes; a single one carries none.
    if (this.fill >= 2) this.push(Buffer.from(this.pending.toString('latin1', 0, this.fill), 'base64'));
    this.fill = 0;
    cb();
  }

  /** Decodes the first n pending characters (a multiple of 4) and keeps the rest. */
  private emit4(n: number): void {
    if (n <= 0) return;
    this.push(Buffer.from(this.pending.toString('latin1', 0, n), 'base64'));
    this.pending.copy(this.pending, 0, n, this.fill);
    this.fill -= n;
  }
}
