/**
 * Lines (and IMAP literal bytes) from a socket before the byte pipe starts:
 * the client's commands before login, the upstream's greeting and XOAUTH2
 * replies. Bounded: a line longer than maxLineLength is an error, and the
 * socket is paused while that much is waiting unread.
 *
 * Deadlines, as receive/line-deadline.ts does for SMTP (Postfix's
 * smtpd_per_record_deadline): a line (or a literal) must be complete within
 * lineTimeoutMs of its first byte, so a client trickling a byte every few
 * seconds cannot hold a slot; waiting for a line that has not begun may last
 * idleTimeoutMs. Time the peer spends waiting for us does not count: the
 * clocks run only while a read is pending.
 *
 * detach() stops reading and hands back what arrived but was not read: the
 * bytes a client sent after its login command go to the upstream first, the
 * bytes after STARTTLS are dropped (command injection).
 */
import type { Duplex } from 'node:stream';

export interface LineReaderOptions {
  maxLineLength: number;
  lineTimeoutMs: number;
  idleTimeoutMs: number;
}

export class LineError extends Error {
  constructor(message: string, readonly reason: 'too-long' | 'line-timeout' | 'idle-timeout' | 'closed') {
    super(message);
    this.name = 'LineError';
  }
}

type Want = { kind: 'line' } | { kind: 'bytes'; n: number };

export class LineReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: LineError | undefined;
  private pending: { want: Want; resolve: (b: Buffer | null) => void; reject: (e: LineError) => void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lineStarted = false;
  private detached = false;
  private readonly onData = (chunk: Buffer) => this.push(chunk);
  private readonly onEnd = () => this.finish();
  private readonly onError = (err: Error) => this.finish(new LineError(`connection error: ${err.message}`, 'closed'));

  constructor(private readonly socket: Duplex, private readonly opts: LineReaderOptions) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** The next line without its CRLF (a bare LF ends a line too); null when the peer closed. */
  readLine(): Promise<Buffer | null> {
    return this.request({ kind: 'line' });
  }

  /** Exactly n bytes (an IMAP literal); null when the peer closed first. */
  readBytes(n: number): Promise<Buffer | null> {
    return this.request({ kind: 'bytes', n });
  }

  /** Stops reading; answers the bytes received and not read. The socket is left paused; a read still waiting gets null. */
  detach(): Buffer {
    this.detached = true;
    this.clearTimer();
    const waiting = this.pending;
    this.pending = undefined;
    waiting?.resolve(null);
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onEnd);
    this.socket.removeListener('error', this.onError);
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private request(want: Want): Promise<Buffer | null> {
    if (this.pending) return Promise.reject(new Error('LineReader: one read at a time'));
    if (this.detached) return Promise.reject(new Error('LineReader: detached'));
    return new Promise((resolve, reject) => {
      this.pending = { want, resolve, reject };
      this.lineStarted = false;
      this.serve();
    });
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Never hold more than one line (or literal) and a little: the peer waits for us.
    if (this.buffered > this.opts.maxLineLength + 4096) this.socket.pause();
    this.serve();
  }

  private finish(failure?: LineError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.serve();
  }

  private serve(): void {
    const p = this.pending;
    if (!p) return;
    const got = p.want.kind === 'line' ? this.takeLine() : this.takeBytes(p.want.n);
    if (got instanceof LineError) return this.settle(() => p.reject(got));
    if (got) return this.settle(() => p.resolve(got));
    if (this.ended) {
      const failure = this.failure;
      return this.settle(() => (failure ? p.reject(failure) : p.resolve(null)));
    }
    if (this.buffered > 0 && !this.lineStarted) {
      this.lineStarted = true;
      this.arm(this.opts.lineTimeoutMs, 'line-timeout');
    } else if (!this.timer) {
      this.arm(this.buffered > 0 ? this.opts.lineTimeoutMs : this.opts.idleTimeoutMs, this.buffered > 0 ? 'line-timeout' : 'idle-timeout');
    }
    this.socket.resume();
  }

  private settle(f: () => void): void {
    this.pending = undefined;
    this.clearTimer();
    f();
  }

  private arm(ms: number, reason: 'line-timeout' | 'idle-timeout'): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const p = this.pending;
      if (!p) return;
      const what = reason === 'idle-timeout' ? `nothing arrived within ${ms} ms` : `a line was not complete within ${ms} ms of its first byte`;
      this.settle(() => p.reject(new LineError(what, reason)));
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private takeLine(): Buffer | LineError | undefined {
    let scanned = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      const lf = this.chunks[i]!.indexOf(0x0a);
      if (lf === -1) {
        scanned += this.chunks[i]!.length;
        if (scanned > this.opts.maxLineLength) return new LineError(`a line longer than ${this.opts.maxLineLength} bytes`, 'too-long');
        continue;
      }
      if (scanned + lf > this.opts.maxLineLength) return new LineError(`a line longer than ${this.opts.maxLineLength} bytes`, 'too-long');
      const line = this.take(scanned + lf + 1);
      const end = line.length >= 2 && line[line.length - 2] === 0x0d ? line.length - 2 : line.length - 1;
      return line.subarray(0, end);
    }
    return undefined;
  }

  private takeBytes(n: number): Buffer | undefined {
    return this.buffered >= n ? this.take(n) : undefined;
  }

  /** Removes and answers the first n buffered bytes. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
