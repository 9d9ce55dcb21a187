/**
 * What the SMTP transports (smtp, smtp-oauth, direct-send) share while a
 * stored message goes out: the body stream counted as the client reads it
 * (so a failure can tell "nothing went" from "all of it went, no answer
 * came"), a failure to read the spool told apart from an upstream failure,
 * a wait that ends when the relay shuts down, and the outcomes for both.
 */
import { Transform, type Readable } from 'node:stream';
import type { DeliveryOutcome } from '../core/outcome.js';
import type { OutboundMessage } from './transport.js';

const SHUTTING_DOWN = 'delivery interrupted: the relay is shutting down';

/**
 * How much of a stored body is read at a time for the SMTP client. A read waits
 * in the socket's queue until the upstream takes it; 256 KB reads (the spool's
 * default) lived long enough to be moved to V8's old generation, and their memory
 * then brought on a full collection every few messages. With 20 sessions × 1 MB
 * to smtp-sink, 64 KB reads cut the main process's full collections by a quarter
 * and its CPU per message by about a tenth (docs/benchmarks.md).
 */
const SMTP_READ_BYTES = 64 * 1024;

/** The stored message as the SMTP client reads it. */
export class CountedBody {
  /** What the client reads: the stored bytes, counted on their way through. */
  readonly stream: Readable;
  /** Bytes the client has read so far. */
  sent = 0;
  /** Reading the stored message failed: the spool's trouble, not the upstream's. */
  error: Error | undefined;
  private done = false;
  private readonly source: Readable;

  constructor(private readonly message: OutboundMessage) {
    this.source = message.openBody(SMTP_READ_BYTES);
    // Counts in the pipe itself: a 'data' listener would make the stream flow and the
    // bytes would be gone before the client reads them.
    const counted = new Transform({
      transform: (chunk: Buffer, _e, cb) => {
        this.sent += chunk.length;
        cb(null, chunk);
      },
    });
    counted.on('end', () => (this.done = true));
    this.source.on('error', (err) => {
      this.error = err;
      counted.destroy(err);
    });
    this.source.pipe(counted);
    this.stream = counted;
  }

  /** The whole message went out: a failure now leaves the outcome unknown. */
  get afterBody(): boolean {
    return this.done && this.sent > 0 && this.message.size > 0;
  }

  /** Releases the stored message (a file stays open until its stream ends or is destroyed). */
  close(): void {
    this.source.destroy();
    this.stream.destroy();
  }
}

/**
 * Settles like `work`, or rejects as soon as `signal` aborts (at once when it
 * already has). The work itself goes on: the caller closes what it used.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(SHUTTING_DOWN));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** The relay stopped during the attempt; once some of the message went out, the upstream may still take it. */
export function interrupted(sentSome: boolean): DeliveryOutcome {
  return {
    action: 'retry', scope: 'message', category: 'interrupted', response: SHUTTING_DOWN,
    ...(sentSome ? { possibleDuplicate: true } : {}),
    hint: 'The relay stopped while sending; the message is tried again when it runs.',
  };
}

/** The stored message could not be read while it was being sent. */
export function unreadableBody(err: Error): DeliveryOutcome {
  return {
    action: 'fail', category: 'spool', scope: 'message', response: err.message,
    hint: 'The stored message could not be read; it may have been deleted from the spool.',
  };
}
