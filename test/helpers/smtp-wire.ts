/**
 * A raw SMTP client over net/tls sockets for tests that need exact bytes:
 * every reply is parsed from what the server really wrote, and anything can
 * be written (bare LF, NUL, smuggling sequences, early talk).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket, type ConnectionOptions } from 'node:tls';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface Reply {
  code: number;
  /** Text of each line, without the code and separator. */
  lines: string[];
  /** The reply exactly as received, lines joined with \n (no CRLF). */
  raw: string;
}

export interface WireOptions {
  /** Bind the client socket to this local address (e.g. 127.0.0.2). */
  localAddress?: string;
  /** Start with TLS (implicit TLS listeners). */
  tls?: ConnectionOptions;
  /** Do not wait for the greeting. */
  noGreeting?: boolean;
}

export class SmtpWire {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  greeting: Reply | undefined;
  readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(public socket: Socket | TLSSocket) {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.attach(socket);
  }

  static async open(port: number, opts: WireOptions = {}): Promise<SmtpWire> {
    const base = { host: '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) };
    const socket = opts.tls
      ? tlsConnect({ ...base, rejectUnauthorized: false, ...opts.tls })
      : netConnect(base);
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const w = new SmtpWire(socket);
    if (!opts.noGreeting) w.greeting = await w.read();
    return w;
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.resolveClosed();
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Next complete reply. Rejects when the connection closes first or after timeoutMs. */
  async read(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.take();
      if (r) return r;
      if (this.closed) throw new Error(`connection closed; unparsed: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; have ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private take(): Reply | undefined {
    const lines: string[] = [];
    let pos = 0;
    for (;;) {
      const nl = this.buf.indexOf('\r\n', pos);
      if (nl === -1) return undefined;
      const line = this.buf.slice(pos, nl);
      pos = nl + 2;
      lines.push(line);
      if (!/^\d{3}-/.test(line)) break;
    }
    this.buf = this.buf.slice(pos);
    const code = Number(lines[0]!.slice(0, 3));
    return { code, lines: lines.map((l) => l.slice(4)), raw: lines.join('\n') };
  }

  /** Bytes received but not yet parsed as a reply. */
  get pending(): string {
    return this.buf;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends a command line (CRLF added) and reads the reply. */
  async cmd(line: string, timeoutMs?: number): Promise<Reply> {
    this.socket.write(Buffer.from(`${line}\r\n`, 'utf8'));
    return this.read(timeoutMs);
  }

  /** Upgrades with STARTTLS; returns the TLS socket. `inject` is written in the same packet, after STARTTLS (an attack). */
  async starttls(tls: ConnectionOptions = {}, inject = ''): Promise<TLSSocket> {
    const r = await this.cmd(`STARTTLS\r\n${inject}`.replace(/\r\n$/, ''));
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.raw}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, ...tls });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  /** Waits for the server to close the connection. */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    await Promise.race([
      this.closedPromise,
      new Promise((_r, reject) => setTimeout(() => reject(new Error('connection still open')), timeoutMs).unref()),
    ]);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** EHLO + MAIL + RCPT + DATA with an exact payload (which must end in CRLF.CRLF). */
export async function sendRaw(
  w: SmtpWire,
  from: string,
  to: string[],
  payload: string | Buffer,
): Promise<{ mail: Reply; rcpt: Reply[]; data?: Reply; end?: Reply }> {
  const mail = await w.cmd(`MAIL FROM:<${from}>`);
  const rcpt: Reply[] = [];
  for (const t of to) rcpt.push(await w.cmd(`RCPT TO:<${t}>`));
  if (mail.code !== 250 || !rcpt.some((r) => r.code === 250)) return { mail, rcpt };
  const data = await w.cmd('DATA');
  if (data.code !== 354) return { mail, rcpt, data };
  w.write(payload);
  const end = await w.read(30_000);
  return { mail, rcpt, data, end };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Splits a stored message into the Received field the relay prepended and the rest. */
export function splitReceived(stored: Buffer): { received: string; rest: Buffer } {
  const s = stored.toString('latin1');
  assertStarts(s, 'Received: ');
  let end = s.indexOf('\r\n');
  while (s[end + 2] === ' ' || s[end + 2] === '\t') end = s.indexOf('\r\n', end + 2);
  return { received: s.slice(0, end + 2), rest: stored.subarray(end + 2) };
}

function assertStarts(s: string, prefix: string): void {
  if (!s.startsWith(prefix)) throw new Error(`stored message does not start with ${prefix}: ${JSON.stringify(s.slice(0, 80))}`);
}

/** The enhanced status codes (x.y.z) at the start of a reply line's text: one is right, two is the bug. */
export function leadingEnhancedCodes(text: string): string[] {
  const codes: string[] = [];
  let rest = text;
  for (;;) {
    const m = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/.exec(rest);
    if (!m) return codes;
    codes.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
}
