/**
 * A quicker path through nodemailer's DataStream, the transform every message
 * sent over SMTP goes through (dots at the start of a line doubled, bare CR
 * and bare LF made CRLF, so that no message can end its DATA early).
 *
 * nodemailer checks each byte in JavaScript: about 2.5 ms per MB on its own
 * and the largest single cost of relaying large messages (docs/benchmarks.md,
 * "Where a message's work goes"). Almost every chunk the relay sends needs no
 * change: the spool keeps what devices sent, CRLF lines, and base64 has no
 * dots. Such a chunk is recognised with native searches (one per line end)
 * and passed on as it is, with nodemailer's counters kept as its own code
 * keeps them; any other chunk (a dot at the start of a line, a bare CR or LF,
 * a CR that ends a chunk) goes through nodemailer's own code unchanged. The
 * bytes on the wire are the same either way: test/deliver/data-stream.test.ts
 * compares both on random messages cut at random places.
 *
 * Installed once, by the modules that send over nodemailer's SMTP client, and
 * only if DataStream still has the shape this relies on.
 */
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** nodemailer's per-stream state that its transform keeps. */
interface DataStreamState {
  lastByte: number | false;
  inByteCount: number;
  outByteCount: number;
  push(chunk: Buffer): boolean;
}

type TransformFn = (this: DataStreamState, chunk: Buffer | string, encoding: BufferEncoding, done: (err?: Error | null) => void) => void;

/** nodemailer's own transform, as loaded. */
export const nodemailerTransform = DataStream.prototype._transform as unknown as TransformFn;

/** True when a chunk needs no change: every LF follows a CR, every CR is followed by an LF, no line starts with a dot. */
function unchanged(chunk: Buffer, last: number | false): boolean {
  // A CR that ended the previous chunk, or a dot that starts the stream or a line: nodemailer decides.
  if (last === CR) return false;
  if (chunk[0] === DOT && (last === LF || last === false)) return false;
  for (let p = chunk.indexOf(LF); p !== -1; p = chunk.indexOf(LF, p + 1)) {
    if ((p === 0 ? last : chunk[p - 1]) !== CR || chunk[p + 1] === DOT) return false;
  }
  // A CR in the last byte is decided with the next chunk (its lastByte is then CR).
  const end = chunk.length - 1;
  for (let p = chunk.indexOf(CR); p !== -1 && p < end; p = chunk.indexOf(CR, p + 2)) {
    if (chunk[p + 1] !== LF) return false;
  }
  return true;
}

/** The transform with the quick path in front of nodemailer's. */
export function quickTransform(original: TransformFn): TransformFn {
  return function (this: DataStreamState, chunk, encoding, done) {
    if (typeof chunk === 'string' || !chunk?.length || !unchanged(chunk, this.lastByte)) return original.call(this, chunk, encoding, done);
    this.inByteCount += chunk.length;
    this.outByteCount += chunk.length;
    this.push(chunk);
    this.lastByte = chunk[chunk.length - 1]!;
    done();
  };
}

let installed: boolean | undefined;

/**
 * Puts the quick path in front of DataStream's transform (once per process).
 * Returns whether it is in place: false if nodemailer's DataStream no longer
 * keeps the state it relies on, and then nodemailer's code runs alone.
 */
export function speedUpDataStream(): boolean {
  if (installed !== undefined) return installed;
  const probe = new DataStream() as unknown as Partial<DataStreamState>;
  installed = probe.lastByte === false && probe.inByteCount === 0 && probe.outByteCount === 0 && nodemailerTransform.length === 3;
  if (installed) (DataStream.prototype as unknown as { _transform: TransformFn })._transform = quickTransform(nodemailerTransform);
  return installed;
}
