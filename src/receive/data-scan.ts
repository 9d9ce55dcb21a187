/**
 * A quicker path through smtp-server's DATA parser (SMTPStream._feedDataStream),
 * which finds the end of a message (CRLF.CRLF) and removes the dots that escape a
 * line starting with a dot.
 *
 * smtp-server checks every byte in JavaScript for a dot after an LF, and first
 * copies each chunk behind the four bytes it held back from the one before
 * (a terminator may straddle two chunks): about 1.4 ms per MB received, the
 * largest single cost of receiving large messages. Almost every chunk of a
 * message has no line starting with a dot (base64 has no dots); such a chunk is
 * recognised with one native search for "\n." over the positions smtp-server
 * would check, the boundary with the held-back bytes included, and passed on
 * as smtp-server passes it on: the same bytes held back, the same byte count,
 * the same wait for the data stream to drain. Any other chunk (a dot at the
 * start of a line, the terminator, the start of the data, a short chunk) goes
 * through smtp-server's own code unchanged, so where a message ends is decided
 * by smtp-server alone. test/receive/data-scan.test.ts compares both on random
 * messages cut at random places.
 *
 * Installed once by the receive stage, and only if SMTPStream still has the
 * shape this relies on.
 */
import { PassThrough } from 'node:stream';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

/** smtp-server's data-mode state that the quick path reads and keeps. */
interface DataModeState {
  _dataStream: PassThrough | null;
  _lastBytes: Buffer | false;
  _atDataStart: boolean;
  _countDataBytes(len: number): void;
}

export type FeedFn = (this: DataModeState, chunk: Buffer, done: () => void) => void;

const proto = SMTPStream.prototype as unknown as { _feedDataStream: FeedFn; _countDataBytes?: unknown };

/** smtp-server's own data-mode parser, as loaded. */
export const smtpServerFeed: FeedFn = proto._feedDataStream;

/** The bytes smtp-server holds back from each chunk (a terminator may straddle two). */
const HELD = 4;
/** Below this a chunk is left to smtp-server (its few bytes cost nothing to copy). */
const QUICK_MIN = 64;
const LF_DOT = Buffer.from('\n.');
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Whether smtp-server's scan of `held` followed by `chunk` would find a dot that starts a
 * line, at the positions it checks: a dot at i, 2 <= i < length - 2, after an LF.
 */
function dotAtLineStart(held: Buffer | false, chunk: Buffer): boolean {
  const h = held ? held.length : 0;
  // Positions 2 .. h, where the LF is one of the held bytes.
  for (let i = 2; i <= h; i++) {
    if (held && held[i - 1] === LF && (i < h ? held[i] : chunk[0]) === DOT) return true;
  }
  // Positions from h + 1 on: both bytes in the chunk, the LF at most at chunk.length - 4.
  const at = chunk.indexOf(LF_DOT, h >= 1 ? 0 : 1 - h);
  return at !== -1 && at <= chunk.length - 4;
}

/** The parser with the quick path in front of smtp-server's. */
export function quickFeed(original: FeedFn): FeedFn {
  return function (this: DataModeState, chunk, done) {
    const held = this._lastBytes;
    const dataStream = this._dataStream;
    if (this._atDataStart || chunk.length < QUICK_MIN || (held && held.length !== HELD) || !dataStream || dotAtLineStart(held, chunk)) {
      return original.call(this, chunk, done);
    }
    // As smtp-server does with no dot at a line start: everything but the last four bytes is passed
    // on and counted, those four are held back for the next chunk.
    const body = chunk.subarray(0, chunk.length - HELD);
    this._lastBytes = chunk.subarray(chunk.length - HELD);
    this._countDataBytes((held ? held.length : 0) + body.length);
    if (!dataStream.writable) return done();
    if (held) dataStream.write(held);
    const handled = dataStream.write(body);
    if (handled || dataStream.destroyed) return done();
    // A stream that the application destroys never drains, it only closes.
    const onDrain = (): void => {
      dataStream.removeListener('drain', onDrain);
      dataStream.removeListener('close', onDrain);
      done();
    };
    dataStream.once('drain', onDrain);
    dataStream.once('close', onDrain);
  };
}

let installed: boolean | undefined;

/**
 * Puts the quick path in front of SMTPStream's data-mode parser (once per process).
 * Returns whether it is in place: false if smtp-server's SMTPStream no longer keeps
 * the state it relies on, and then smtp-server's code runs alone.
 */
export function speedUpDataScan(): boolean {
  if (installed !== undefined) return installed;
  const probe = new SMTPStream() as unknown as Partial<DataModeState>;
  installed =
    probe._lastBytes === false &&
    probe._atDataStart === false &&
    probe._dataStream === null &&
    typeof proto._countDataBytes === 'function' &&
    smtpServerFeed.length === 2;
  if (installed) proto._feedDataStream = quickFeed(smtpServerFeed);
  return installed;
}
