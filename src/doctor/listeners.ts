/**
 * Listener checks for `doctor`: can each listener's address and port be
 * bound (or does a relay already answer SMTP there), and are the
 * certificates the listeners use valid (expiry, key match).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Config, ListenerConfig } from '../config/schema.js';
import { asIs } from '../core/i18n.js';
import type { AddCheck } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';
import { checkReaderListener, readerGreeting } from './readers.js';
import { READER_TEXT as R } from './reader-texts.js';

const DAY = 86_400_000;

export async function checkListeners(config: Config, add: AddCheck, now: number): Promise<void> {
  for (const l of config.listeners) {
    const name = l.name ?? `${l.tls}-${l.port}`;
    await checkBind(add, `listener.${name}.bind`, name, l);
    if (l.protocol !== 'smtp') await checkReaderListener(add, `listener.${name}`, name, l, config);
  }
  await checkCertificates(config, add, now);
}

function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

async function checkBind(add: AddCheck, id: string, name: string, l: ListenerConfig): Promise<void> {
  const where = `${l.host}:${l.port}`;
  if (l.port === 0) {
    add({ id, status: 'info', title: both(T.bindPortZero, { name }) });
    return;
  }
  const code = await tryBind(l.host, l.port);
  if (code === undefined) {
    add({ id, status: 'pass', title: both(T.bindPass, { name, where }) });
    return;
  }
  if (code === 'EADDRINUSE' && l.protocol !== 'smtp') {
    const protocol = l.protocol === 'imap' ? 'IMAP' : 'POP3';
    const r = await readerGreeting(l);
    if (r && /authrelay/i.test(r.greeting)) {
      const tls = r.tls ? both(R.bindReaderTls, { version: r.tls.version, subject: r.tls.subject }) : '';
      add({ id, status: 'pass', title: both(R.bindReader, { name, protocol, where }), detail: both(R.bindReaderDetail, { greeting: r.greeting.slice(0, 100), tls }) });
    } else if (l.proxyProtocol && r === undefined) {
      add({ id, status: 'info', title: both(T.bindProxy, { name, where }), detail: T.bindProxyDetail });
    } else {
      add({
        id, status: 'fail', title: both(R.bindReaderForeign, { name, protocol, where }),
        detail: r ? both(T.bindForeignAnswered, { greeting: r.greeting.slice(0, 100) }) : T.bindForeignSilent, fix: both(T.bindForeignFix, { port: l.port }),
      });
    }
    return;
  }
  if (code === 'EADDRINUSE') {
    const greeting = await smtpGreeting(l);
    if (greeting?.startsWith('220')) {
      add({ id, status: 'pass', title: both(T.bindRelay, { name, where }), detail: both(T.bindRelayDetail, { greeting: greeting.slice(0, 100) }) });
    } else if (l.proxyProtocol && greeting === undefined) {
      add({ id, status: 'info', title: both(T.bindProxy, { name, where }), detail: T.bindProxyDetail });
    } else {
      add({
        id, status: 'fail', title: both(T.bindForeign, { name, where }),
        detail: greeting ? both(T.bindForeignAnswered, { greeting: greeting.slice(0, 100) }) : T.bindForeignSilent,
        fix: both(T.bindForeignFix, { port: l.port }),
      });
    }
    return;
  }
  add({
    id, status: 'fail', title: both(T.bindFailed, { name, where, code }),
    fix: code === 'EACCES' ? T.bindFixPrivileged : code === 'EADDRNOTAVAIL' ? both(T.bindFixNotLocal, { host: l.host }) : both(T.bindFixOther, { code }),
  });
}

/**
 * The first line a server on the listener's port sends (after TLS for implicit
 * listeners), if any. A proxyProtocol listener is sent `PROXY UNKNOWN` first
 * (before TLS), which a relay that trusts this host answers as from this host.
 */
function smtpGreeting(l: ListenerConfig): Promise<string | undefined> {
  const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
  return new Promise((resolve) => {
    let socket: Socket | TLSSocket = netConnect({ host, port: l.port });
    let text = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(text ? text.split(/\r?\n/)[0] : undefined), 5_000);
    const read = (s: Socket | TLSSocket) => {
      socket = s;
      s.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\n')) {
          s.write('QUIT\r\n');
          done(text.split(/\r?\n/)[0]);
        }
      });
      s.on('error', () => done(undefined));
      s.on('end', () => done(text ? text.split(/\r?\n/)[0] : undefined));
    };
    const raw = socket;
    raw.on('error', () => done(undefined));
    raw.once('connect', () => {
      const start = () => read(l.tls === 'implicit' ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw);
      // The PROXY header goes first, before any TLS byte.
      if (l.proxyProtocol) raw.write('PROXY UNKNOWN\r\n', start);
      else start();
    });
  });
}

async function checkCertificates(config: Config, add: AddCheck, now: number): Promise<void> {
  const pairs = new Map<string, { key: string | undefined; listeners: string[] }>();
  const selfSigned: string[] = [];
  const generatedFile = join(config.dataDir, 'tls', 'self-signed.crt');
  for (const l of config.listeners) {
    if (l.tls === 'none') continue;
    const name = l.name ?? `${l.tls}-${l.port}`;
    const cert = l.cert ?? config.tls.cert;
    const key = l.key ?? config.tls.key;
    if (!cert || !key) {
      selfSigned.push(name);
      continue;
    }
    const entry = pairs.get(cert) ?? { key, listeners: [] };
    entry.listeners.push(name);
    pairs.set(cert, entry);
  }
  if (selfSigned.length) {
    if (existsSync(generatedFile)) pairs.set(generatedFile, { key: join(config.dataDir, 'tls', 'self-signed.key'), listeners: selfSigned });
    else add({ id: 'certificate.self-signed', status: 'info', title: both(T.selfSignedLater, { listeners: selfSigned.join(', '), dir: join(config.dataDir, 'tls') }) });
  }
  for (const [file, { key, listeners }] of pairs) certificateCheck(add, file, key, listeners, file === generatedFile, now);
}

function certificateCheck(add: AddCheck, file: string, keyFile: string | undefined, listeners: string[], generated: boolean, now: number): void {
  const id = `certificate.${listeners[0]}`;
  const who = listeners.join(', ');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file));
  } catch (err) {
    add({ id, status: 'fail', title: both(T.certUnreadable, { who, file }), detail: asIs((err as Error).message), fix: T.certUnreadableFix });
    return;
  }
  const validTo = new Date(cert.validTo);
  const date = validTo.toISOString().slice(0, 10);
  const detail = both(T.certDetail, { file, subject: cert.subject.replace(/\n/g, ', '), date });
  if (keyFile) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) {
        add({ id: `${id}.key`, status: 'fail', title: both(T.keyMismatch, { who, file: keyFile }), detail, fix: T.keyMismatchFix });
      }
    } catch (err) {
      add({ id: `${id}.key`, status: 'fail', title: both(T.keyUnreadable, { who, file: keyFile }), detail: asIs((err as Error).message), fix: T.keyUnreadableFix });
    }
  }
  const left = validTo.getTime() - now;
  const renew = generated ? T.renewSelfSigned : T.renewOwn;
  if (left <= 0) add({ id, status: 'fail', title: both(T.certExpired, { who, date }), detail, fix: renew });
  else if (left < 30 * DAY) add({ id, status: 'warn', title: both(T.certExpires, { who, days: Math.ceil(left / DAY) }), detail, fix: renew });
  else add({ id, status: 'pass', title: both(T.certValid, { who, days: Math.floor(left / DAY) }), detail });
}
