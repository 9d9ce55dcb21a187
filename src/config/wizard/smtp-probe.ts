/**
 * The setup wizard's look at an SMTP upstream before anything is written:
 * it connects to host:port, reads the greeting, says EHLO and notes what is
 * offered (STARTTLS, AUTH mechanisms, SIZE, 8BITMIME, SMTPUTF8), tries
 * STARTTLS, or TLS from the first byte on a port-465-style server (also when
 * a plain connection gets no greeting), and records the certificate: subject,
 * issuer, validity, whether the system's CAs (plus the given ones) trust it
 * and whether it names the host. Trust is judged the way the smtp transport
 * will judge it. Then it proposes the safest `tls` mode that works
 * (smtp-probe-proposal.ts). Nothing is sent; the session ends with QUIT.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, rootCertificates, type PeerCertificate, type TLSSocket } from 'node:tls';
import { proposeSettings, type CertificateInfo, type EhloInfo, type SmtpProbe, type TlsInfo } from './smtp-probe-proposal.js';

export interface ProbeOptions {
  host: string;
  port: number;
  /** EHLO name (the relay's host name). */
  helo: string;
  /** Extra CA certificates (PEM text) trusted besides the system's, as the upstream's `ca`. */
  ca?: string | undefined;
  /** The name the certificate must carry, when not the host. */
  servername?: string | undefined;
  /** Each step's time limit (connect, greeting, each reply). */
  timeoutMs?: number;
  /**
   * How long a plain connection may stay silent before TLS from the first
   * byte is tried instead (a server that waits for TLS says nothing).
   */
  greetingWaitMs?: number;
}

export type { CertificateInfo, EhloInfo, SmtpProbe, TlsInfo } from './smtp-probe-proposal.js';

/** Reads SMTP replies from a socket, one reply (all its lines) at a time. */
class Replies {
  private buffer = '';
  private lines: string[] = [];
  private waiting: ((reply: string[] | Error) => void) | undefined;
  private dataWaiter: (() => void) | undefined;
  private received = 0;
  private failure: Error | undefined;
  private socket: Socket;
  private readonly onData = (c: Buffer) => this.take(c.toString('latin1'));
  private readonly onEnd = (err?: Error) => this.fail(err ?? new Error('the upstream closed the connection'));

  constructor(socket: Socket, private readonly timeoutMs: number) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Stops reading (the TLS layer is about to read the socket). */
  detach(): void {
    this.socket.off('data', this.onData).off('error', this.onEnd).off('close', this.onEnd);
  }

  /** Hands reading over to the TLS socket made on top of the plain one. */
  switchTo(socket: Socket): void {
    this.detach();
    this.socket = socket;
    this.attach(socket);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  next(): Promise<string[]> {
    const ready = this.complete();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(Object.assign(new Error(`no reply within ${this.timeoutMs / 1000} seconds`), { code: 'ETIMEDOUT' })), this.timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        this.waiting = undefined;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData).on('error', this.onEnd).on('close', this.onEnd);
  }

  /** Resolves true as soon as the server has sent anything, false after `ms` of silence. */
  anything(ms: number): Promise<boolean> {
    if (this.received > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.dataWaiter = undefined;
        resolve(false);
      }, ms);
      this.dataWaiter = () => {
        clearTimeout(timer);
        this.dataWaiter = undefined;
        resolve(true);
      };
    });
  }

  private take(text: string): void {
    this.received += text.length;
    this.dataWaiter?.();
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.lines.push(this.buffer.slice(0, nl).replace(/\r$/, ''));
      this.buffer = this.buffer.slice(nl + 1);
    }
    const ready = this.waiting && this.complete();
    if (ready) this.waiting!(ready);
  }

  /** The first complete reply (lines up to one with a space, or nothing, after the code). */
  private complete(): string[] | undefined {
    const end = this.lines.findIndex((l) => !/^\d{3}-/.test(l));
    if (end < 0) return undefined;
    return this.lines.splice(0, end + 1);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.waiting?.(this.failure);
  }
}

export function parseEhlo(reply: string[]): EhloInfo {
  const lines = reply.slice(1).map((l) => l.slice(4).trim()).filter(Boolean);
  const has = (name: string) => lines.some((l) => l.toUpperCase().split(/\s+/)[0] === name);
  const auth = lines.find((l) => /^AUTH[\s=]/i.test(l))?.slice(5).trim().toUpperCase().split(/\s+/).filter(Boolean) ?? [];
  const size = Number(lines.find((l) => /^SIZE\b/i.test(l))?.split(/\s+/)[1]);
  return { lines, starttls: has('STARTTLS'), auth, ...(size > 0 ? { size } : {}), eightBitMime: has('8BITMIME'), smtpUtf8: has('SMTPUTF8') };
}

function certificateInfo(socket: TLSSocket, name: string): CertificateInfo | undefined {
  const cert: PeerCertificate = socket.getPeerCertificate();
  if (!cert || !Object.keys(cert).length) return undefined;
  const dn = (d: PeerCertificate['subject'] | undefined) => (d ? Object.entries(d).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ') : '');
  const identity = checkServerIdentity(name, cert);
  const trustError = socket.authorized ? undefined : String(socket.authorizationError ?? 'not trusted');
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    names: (cert.subjectaltname ?? '').split(/,\s*/).map((n) => n.replace(/^(DNS|IP Address):/, '')).filter(Boolean),
    selfSigned: dn(cert.subject) === dn(cert.issuer),
    expired: Date.parse(cert.valid_to) < Date.now(),
    trusted: socket.authorized,
    ...(trustError ? { trustError } : {}),
    hostnameMatch: !identity,
    ...(identity ? { hostnameError: identity.message } : {}),
  };
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
}

/** Connects in the clear (or with TLS from the first byte) and waits for the connection. */
function open(o: Required<Pick<ProbeOptions, 'host' | 'port' | 'timeoutMs'>> & ProbeOptions, implicit: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = implicit
      ? tlsConnect({ host: o.host, port: o.port, ...tlsOptions(o) })
      : netConnect({ host: o.host, port: o.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no connection within ${o.timeoutMs / 1000} seconds`), { code: 'ETIMEDOUT' }));
    }, o.timeoutMs);
    socket.once(implicit ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

function tlsOptions(o: ProbeOptions): { servername?: string; ca: string[]; rejectUnauthorized: false; minVersion: 'TLSv1' } {
  const name = o.servername ?? o.host;
  return {
    ...(/^[\d.]+$|:/.test(name) ? {} : { servername: name }),
    ca: o.ca ? [...rootCertificates, o.ca] : [...rootCertificates],
    // The probe looks at every certificate and says what is wrong with it; it sends nothing.
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
  };
}

function tlsInfo(socket: TLSSocket, o: ProbeOptions): TlsInfo {
  const cert = certificateInfo(socket, o.servername ?? o.host);
  return { ok: true, version: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown', ...(cert ? { certificate: cert } : {}) };
}

/** Greeting and EHLO on a socket; fills the probe or throws. */
async function greet(replies: Replies, helo: string, probe: SmtpProbe): Promise<EhloInfo> {
  const greeting = await replies.next();
  probe.greeting = greeting.join('\n');
  if (!/^220/.test(greeting[0] ?? '')) throw new Error(`the upstream answered ${greeting[0] ?? 'nothing'} instead of a 220 greeting`);
  replies.send(`EHLO ${helo}`);
  const ehlo = await replies.next();
  if (!/^250/.test(ehlo[0] ?? '')) throw new Error(`EHLO was refused: ${ehlo.join(' ')}`);
  return parseEhlo(ehlo);
}

/** The look at host:port; never throws (what failed is in the result). */
export async function probeSmtp(options: ProbeOptions): Promise<SmtpProbe> {
  const o = { timeoutMs: 10_000, greetingWaitMs: 5_000, ...options };
  const probe: SmtpProbe = { host: o.host, port: o.port, proposal: { downgrade: false, authMethods: [], warnings: [], ok: false } };
  const implicitFirst = o.port === 465;
  const tryPlain = async (): Promise<boolean> => {
    let socket: Socket;
    try {
      socket = await open(o, false);
    } catch (err) {
      probe.error = errorText(err);
      return false;
    }
    const replies = new Replies(socket, o.timeoutMs);
    try {
      if (!(await replies.anything(o.greetingWaitMs))) throw Object.assign(new Error(`no greeting within ${o.greetingWaitMs / 1000} seconds`), { code: 'ETIMEDOUT' });
      probe.ehlo = await greet(replies, o.helo, probe);
      probe.connected = 'plain';
      delete probe.error;
      if (probe.ehlo.starttls) {
        try {
          await startTls(socket, replies, o, probe);
        } catch (err) {
          probe.starttls = { ...probe.starttls, ok: false, error: errorText(err) };
        }
      } else {
        replies.send('QUIT');
      }
      return true;
    } catch (err) {
      if (probe.connected !== 'plain') probe.error = errorText(err);
      return probe.connected === 'plain';
    } finally {
      socket.destroy();
    }
  };
  const tryImplicit = async (): Promise<boolean> => {
    let socket: TLSSocket;
    try {
      socket = (await open(o, true)) as TLSSocket;
    } catch (err) {
      probe.implicit = { ok: false, error: errorText(err) };
      return false;
    }
    probe.implicit = tlsInfo(socket, o);
    const replies = new Replies(socket, o.timeoutMs);
    try {
      probe.ehlo = await greet(replies, o.helo, probe);
      probe.connected = 'implicit';
      delete probe.error;
      replies.send('QUIT');
      return true;
    } catch (err) {
      probe.implicit = { ...probe.implicit, ok: false, error: errorText(err) };
      return false;
    } finally {
      socket.destroy();
    }
  };
  if (implicitFirst) {
    if (!(await tryImplicit()) && !isUnreachable(probe.implicit?.error)) await tryPlain();
  } else if (!(await tryPlain()) && probe.greeting === undefined && !isUnreachable(probe.error)) {
    // A connection without a greeting: perhaps a server that waits for TLS first.
    await tryImplicit();
  }
  if (!probe.connected && !probe.error) probe.error = probe.implicit?.error ?? 'no greeting';
  probe.proposal = proposeSettings(probe);
  return probe;
}

function isUnreachable(error: string | undefined): boolean {
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(error ?? '');
}

async function startTls(plain: Socket, replies: Replies, o: ProbeOptions & { timeoutMs: number }, probe: SmtpProbe): Promise<void> {
  replies.send('STARTTLS');
  const answer = await replies.next();
  if (!/^220/.test(answer[0] ?? '')) {
    probe.starttls = { ok: false, error: `STARTTLS was refused: ${answer.join(' ')}` };
    return;
  }
  replies.detach();
  const secure = await new Promise<TLSSocket | Error>((resolve) => {
    const s = tlsConnect({ socket: plain, ...tlsOptions(o) });
    const timer = setTimeout(() => resolve(new Error(`no TLS handshake within ${o.timeoutMs / 1000} seconds`)), o.timeoutMs);
    s.once('secureConnect', () => (clearTimeout(timer), resolve(s)));
    s.once('error', (err) => (clearTimeout(timer), resolve(err)));
  });
  if (secure instanceof Error) {
    probe.starttls = { ok: false, error: errorText(secure) };
    return;
  }
  probe.starttls = tlsInfo(secure, o);
  replies.switchTo(secure);
  try {
    replies.send(`EHLO ${o.helo}`);
    const ehlo = await replies.next();
    if (/^250/.test(ehlo[0] ?? '')) probe.starttls.ehlo = parseEhlo(ehlo);
    replies.send('QUIT');
  } catch (err) {
    probe.starttls = { ...probe.starttls, error: errorText(err) };
  } finally {
    secure.destroy();
  }
}
