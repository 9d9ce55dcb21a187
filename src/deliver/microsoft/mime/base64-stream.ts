/**
 * Base64 as a stream, for Graph's MIME requests (the body of a sendMail or
 * draft request is the message base64-encoded, in one line: Graph's own
 * examples use no line breaks). Bytes are encoded in multiples of three so
 * no padding appears mid-stream; memory stays at one chunk.
 */
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';

/** Length of the base64 text of n bytes. */
export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

export class Base64Encode extends Transform {
  private carry = Buffer.alloc(0);

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    const all = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = all.length - (all.length % 3);
    this.carry = Buffer.from(all.subarray(whole));
    cb(null, whole ? Buffer.from(all.subarray(0, whole).toString('base64'), 'latin1') : undefined);
  }

  override _flush(cb: TransformCallback): void {
    cb(null, this.carry.length ? Buffer.from(this.carry.toString('base64'), 'latin1') : undefined);
  }
}

/**
 * The base64 text of a stream, as one pipeline: a read error of the source
 * reaches the reader (the request fails at once instead of waiting for a
 * body that never ends), and destroying the result releases the source.
 */
export function base64Of(source: Readable): Readable {
  return pipeline(source, new Base64Encode(), () => undefined);
}
