/**
 * Network probes for `doctor`: name resolution, a TCP connection, and a TLS
 * handshake (directly, or after SMTP STARTTLS) that reports the negotiated
 * version and the server certificate without sending any mail. Each probe
 * answers with facts or an error code; the checks turn them into advice.
 */
import { lookup } from 'node:dns/promises';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type PeerCertificate, type TLSSocket } from 'node:tls';
import { asIs, type Text } from '../core/i18n.js';
import type { AddCheck } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';

export interface TlsFacts {
  version: string;
  authorized: boolean;
  authorizationError?: string;
  subject: string;
  issuer: string;
  validTo: Date;
}

export class ProbeError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** The host's addresses through the system resolver (as connections use it). */
export async function resolveHost(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const found = await lookup(host, { all: true });
  return found.map((a) => a.address);
}

/** Connects and closes; resolves with the time it took. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProbeError(`no answer from ${host}:${port} within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Date.now() - started);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProbeError(err.message, err.code ?? 'ERROR'));
    });
  });
}

export interface TlsProbeOptions {
  host: string;
  port: number;
  /** Name the certificate must carry (when host is an address, or differs). */
  servername?: string | undefined;
  /** Extra CA certificates (PEM text), added to Node's roots. */
  ca?: string | undefined;
  /** 'starttls': SMTP greeting, EHLO, STARTTLS first; 'implicit': TLS from the first byte. */
  mode: 'starttls' | 'implicit';
  timeoutMs: number;
}

/** A TLS handshake; the certificate is checked (chain and name) and the result reported, never refused here. */
export async function tlsProbe(o: TlsProbeOptions): Promise<TlsFacts> {
  const plain = o.mode === 'starttls' ? await startTls(o) : undefined;
  return new Promise<TlsFacts>((resolve, reject) => {
    const name = o.servername ?? (isIP(o.host) ? undefined : o.host);
    const socket: TLSSocket = tlsConnect({
      ...(plain ? { socket: plain } : { port: o.port }),
      host: o.host,
      ...(name ? { servername: name } : {}),
      ...(o.ca ? { ca: [...rootCertificates, o.ca] } : {}),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProbeError(`TLS handshake with ${o.host}:${o.port} took longer than ${o.timeoutMs} ms`, 'ETIMEDOUT'));
    }, o.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert: PeerCertificate = socket.getPeerCertificate();
      const facts: TlsFacts = {
        version: socket.getProtocol() ?? 'unknown',
        authorized: socket.authorized,
        ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
        subject: cert.subject?.CN ? `CN=${String(cert.subject.CN)}` : 'no subject',
        issuer: cert.issuer?.CN ? `CN=${String(cert.issuer.CN)}` : (cert.issuer?.O ? `O=${String(cert.issuer.O)}` : 'unknown issuer'),
        validTo: new Date(cert.valid_to),
      };
      if (o.mode === 'starttls') socket.end('QUIT\r\n');
      else socket.end();
      socket.destroy();
      resolve(facts);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProbeError(`TLS handshake with ${o.host}:${o.port} failed: ${err.message}`, err.code ?? 'ERROR'));
    });
  });
}

/** Greeting, EHLO, STARTTLS; resolves with the plain socket ready for the TLS handshake. */
async function startTls(o: TlsProbeOptions): Promise<Socket> {
  const socket = netConnect({ host: o.host, port: o.port });
  const reader = replyReader(socket, o.timeoutMs, `${o.host}:${o.port}`);
  try {
    const greeting = await reader.next();
    if (!greeting.startsWith('220')) throw new ProbeError(`${o.host}:${o.port} greeted with "${firstLine(greeting)}", not 220`, 'EGREETING');
    socket.write('EHLO authrelay-doctor\r\n');
    const ehlo = await reader.next();
    if (!ehlo.startsWith('250')) throw new ProbeError(`EHLO was answered "${firstLine(ehlo)}"`, 'EEHLO');
    if (!/^250[ -]STARTTLS\b/im.test(ehlo)) throw new ProbeError(`${o.host}:${o.port} does not offer STARTTLS`, 'ENOSTARTTLS');
    socket.write('STARTTLS\r\n');
    const ready = await reader.next();
    if (!ready.startsWith('220')) throw new ProbeError(`STARTTLS was answered "${firstLine(ready)}"`, 'ESTARTTLS');
    reader.stop();
    return socket;
  } catch (err) {
    reader.stop();
    socket.destroy();
    throw err;
  }
}

function firstLine(s: string): string {
  return s.split(/\r?\n/)[0] ?? '';
}

/** Reads complete SMTP replies (the last line has a space after the code). */
function replyReader(socket: Socket, timeoutMs: number, where: string): { next(): Promise<string>; stop(): void } {
  let buffer = '';
  let waiting: { resolve: (s: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  let failure: Error | undefined;
  const take = (): string | undefined => {
    const lines = buffer.split('\r\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3}(?: |$)/.test(lines[i]!)) {
        const reply = lines.slice(0, i + 1).join('\n');
        buffer = lines.slice(i + 1).join('\r\n');
        return reply;
      }
    }
    return undefined;
  };
  const settle = () => {
    if (!waiting) return;
    const reply = take();
    const w = waiting;
    if (reply !== undefined) {
      waiting = undefined;
      clearTimeout(w.timer);
      w.resolve(reply);
    } else if (failure) {
      waiting = undefined;
      clearTimeout(w.timer);
      w.reject(failure);
    }
  };
  const onData = (d: Buffer) => {
    buffer += d.toString('latin1');
    settle();
  };
  const onError = (err: NodeJS.ErrnoException) => {
    failure = new ProbeError(err.message, err.code ?? 'ERROR');
    settle();
  };
  const onEnd = () => {
    failure ??= new ProbeError(`${where} closed the connection`, 'ECONNRESET');
    settle();
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
  return {
    next: () => new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting = undefined;
        reject(new ProbeError(`${where} did not answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      waiting = { resolve, reject, timer };
      settle();
    }),
    stop: () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      if (waiting) clearTimeout(waiting.timer);
    },
  };
}

/** Advice for a connection that failed, by error code. */
export function connectFix(host: string, port: number, code: string): Text {
  switch (code) {
    case 'ECONNREFUSED':
      return both(T.connectRefused, { host, port });
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return both(T.connectBlocked, { host, port });
    default:
      return both(T.connectOther, { host, port, code });
  }
}

export interface EndpointOptions {
  id: string;
  host: string;
  port: number;
  /** Name checked on the certificate when it differs from host (e.g. the MX name while connecting to its address). */
  servername?: string | undefined;
  tls: 'starttls' | 'implicit' | 'none';
  ca?: string | undefined;
  timeoutMs: number;
  /** The upstream does not check certificates (rejectUnauthorized: false): a bad certificate is a warning. */
  certificateUnchecked?: boolean;
}

/** DNS, TCP and TLS checks of one endpoint; true when it can be reached (TLS problems included in the report). */
export async function checkEndpoint(add: AddCheck, o: EndpointOptions): Promise<boolean> {
  const where = `${o.host}:${o.port}`;
  try {
    const addresses = await resolveHost(o.host);
    add({ id: `${o.id}.dns`, status: 'pass', title: isIP(o.host) ? both(T.dnsAddress, { host: o.host }) : both(T.dnsPass, { host: o.host, addresses: addresses.join(', ') }) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    add({ id: `${o.id}.dns`, status: 'fail', title: both(T.dnsFail, { host: o.host, code }), fix: both(T.dnsFailFix, { host: o.host }) });
    return false;
  }
  try {
    const ms = await tcpConnect(o.host, o.port, o.timeoutMs);
    add({ id: `${o.id}.tcp`, status: 'pass', title: both(T.tcpPass, { where, ms }) });
  } catch (err) {
    const code = (err as ProbeError).code;
    add({ id: `${o.id}.tcp`, status: 'fail', title: both(T.tcpFail, { where, code }), detail: asIs((err as Error).message), fix: connectFix(o.host, o.port, code) });
    return false;
  }
  if (o.tls === 'none') {
    add({ id: `${o.id}.tls`, status: 'warn', title: both(T.noTls, { where }), detail: T.noTlsDetail, fix: T.noTlsFix });
    return true;
  }
  try {
    const t = await tlsProbe({ host: o.host, port: o.port, servername: o.servername, ca: o.ca, mode: o.tls, timeoutMs: o.timeoutMs });
    const detail = both(T.tlsDetail, { subject: t.subject, issuer: t.issuer, date: t.validTo.toISOString().slice(0, 10) });
    if (!t.authorized) {
      add({
        id: `${o.id}.tls`, status: o.certificateUnchecked ? 'warn' : 'fail',
        title: both(T.tlsUntrusted, { version: t.version, where, reason: t.authorizationError ?? T.unknownReason }), detail, fix: T.tlsUntrustedFix,
      });
    } else if (t.version === 'TLSv1' || t.version === 'TLSv1.1') {
      add({ id: `${o.id}.tls`, status: 'warn', title: both(T.tlsOld, { where, version: t.version }), detail, fix: T.tlsOldFix });
    } else {
      add({ id: `${o.id}.tls`, status: 'pass', title: both(T.tlsPass, { version: t.version, where }), detail });
    }
  } catch (err) {
    const code = (err as ProbeError).code;
    add({
      id: `${o.id}.tls`, status: 'fail', title: both(T.tlsFail, { where, code }), detail: asIs((err as Error).message),
      fix: code === 'ENOSTARTTLS' ? T.tlsNoStarttlsFix : both(o.tls === 'implicit' ? T.tlsCheckImplicit : T.tlsCheckStarttls, { where }),
    });
    return false;
  }
  return true;
}
