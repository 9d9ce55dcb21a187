/**
 * A line-level IMAP/POP3 client over a real socket (plain or TLS), for the
 * tests that send exactly what a hostile or odd client would, and a
 * streaming IMAP fetch that hashes a large literal as it arrives (the
 * memory test's clients hold nothing).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';

export interface Wire {
  socket: Socket | TLSSocket;
  /** The next line (without CRLF); rejects on close or timeout. */
  line(timeoutMs?: number): Promise<string>;
  /** Lines up to and including the first that matches. */
  until(re: RegExp, timeoutMs?: number): Promise<string[]>;
  send(text: string | Buffer): void;
  /** Resolves when the server has closed the connection. */
  closed(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

export async function openWire(port: number, o: { tls?: boolean; ca?: string; localAddress?: string } = {}): Promise<Wire> {
  const socket: Socket | TLSSocket = await new Promise((resolve, reject) => {
    const s = o.tls
      ? tlsConnect({ host: '127.0.0.1', port, ...(o.ca ? { ca: o.ca } : {}), ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => resolve(s))
      : netConnect({ host: '127.0.0.1', port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  return wrap(socket);
}

export function wrap(socket: Socket | TLSSocket): Wire {
  let buf = '';
  let ended = false;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => {
    buf += c;
    wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    ended = true;
    wake();
  });
  const line = async (timeoutMs = 15_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = buf.indexOf('\n');
      if (i >= 0) {
        const l = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        return l;
      }
      if (ended) throw new Error(`connection closed (unread: ${JSON.stringify(buf)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (unread: ${JSON.stringify(buf.slice(0, 200))})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  return {
    socket,
    line,
    async until(re, timeoutMs) {
      const out: string[] = [];
      for (;;) {
        const l = await line(timeoutMs);
        out.push(l);
        if (re.test(l)) return out;
      }
    },
    send: (text) => void socket.write(text),
    async closed(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ended) {
        if (Date.now() > deadline) throw new Error('the server did not close the connection');
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          waiters.push(() => (clearTimeout(t), r()));
        });
      }
    },
    destroy: () => socket.destroy(),
  };
}

/**
 * Logs in over implicit TLS, selects INBOX and fetches message 1 with
 * BODY.PEEK[], hashing the literal as it streams in. Answers its size and
 * SHA-256. `login`: another login command instead of LOGIN user password
 * (e.g. AUTHENTICATE XOAUTH2 straight to the mail server, for the benchmark).
 */
export async function streamingFetch(port: number, ca: string, user: string, password: string, login?: string): Promise<{ size: number; sha256: string }> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => resolve(s));
    s.once('error', reject);
  });
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    let literal = -1;
    let step = 0;
    let size = 0;
    const hash = createHash('sha256');
    const fail = (msg: string) => {
      socket.destroy();
      reject(new Error(msg));
    };
    socket.on('error', (e) => reject(e));
    socket.on('close', () => (step < 4 ? reject(new Error(`closed at step ${step}`)) : undefined));
    const onLine = (l: string) => {
      if (step === 0 && l.startsWith('* OK')) {
        step = 1;
        socket.write(`a1 ${login ?? `LOGIN ${q(user)} ${q(password)}`}\r\n`);
      } else if (step === 1 && l.startsWith('a1 ')) {
        if (!l.startsWith('a1 OK')) return fail(l);
        step = 2;
        socket.write('a2 SELECT INBOX\r\n');
      } else if (step === 2 && l.startsWith('a2 ')) {
        if (!l.startsWith('a2 OK')) return fail(l);
        step = 3;
        socket.write('a3 FETCH 1 (BODY.PEEK[])\r\n');
      } else if (step === 3) {
        const m = /\{(\d+)\}$/.exec(l);
        if (m && l.startsWith('* 1 FETCH')) literal = Number(m[1]);
        else if (l.startsWith('a3 ')) {
          if (!l.startsWith('a3 OK')) return fail(l);
          step = 4;
          socket.end('a4 LOGOUT\r\n');
          resolve({ size, sha256: hash.digest('hex') });
        }
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (literal >= 0) {
          const take = Math.min(literal, pending.length);
          hash.update(pending.subarray(0, take));
          size += take;
          literal -= take;
          pending = pending.subarray(take);
          if (literal > 0) return;
          literal = -1;
        }
        const i = pending.indexOf(0x0a);
        if (i < 0) return;
        const l = pending.subarray(0, i).toString('latin1').replace(/\r$/, '');
        pending = pending.subarray(i + 1);
        onLine(l);
        if (literal === 0) literal = -1;
      }
    });
  });
}
