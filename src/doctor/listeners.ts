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
import type { AddCheck } from './report.js';

const DAY = 86_400_000;

export async function checkListeners(config: Config, add: AddCheck, now: number): Promise<void> {
  for (const l of config.listeners) {
    const name = l.name ?? `${l.tls}-${l.port}`;
    await checkBind(add, `listener.${name}.bind`, name, l);
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
    add({ id, status: 'info', title: `${name}: port 0, the system chooses a free port at start` });
    return;
  }
  const code = await tryBind(l.host, l.port);
  if (code === undefined) {
    add({ id, status: 'pass', title: `${name}: ${where} can be bound` });
    return;
  }
  if (code === 'EADDRINUSE') {
    const greeting = await smtpGreeting(l);
    if (greeting?.startsWith('220')) {
      add({ id, status: 'pass', title: `${name}: a relay is listening on ${where}`, detail: `it greets with "${greeting.slice(0, 100)}"` });
    } else if (l.proxyProtocol && greeting === undefined) {
      add({
        id, status: 'info', title: `${name}: ${where} is in use; it closed the doctor's connection without a greeting`,
        detail: 'This is a proxyProtocol listener: the relay closes connections from addresses that are not in trustedProxies, so this is expected unless this host is a trusted proxy.',
      });
    } else {
      add({
        id, status: 'fail', title: `${name}: ${where} is in use by a program that does not answer SMTP`,
        detail: greeting ? `it answered "${greeting.slice(0, 100)}"` : 'it did not greet within 5 s',
        fix: `Find the program with: ss -ltnp 'sport = :${l.port}' and stop it, or give this listener another port.`,
      });
    }
    return;
  }
  add({
    id, status: 'fail', title: `${name}: ${where} cannot be bound (${code})`,
    fix: code === 'EACCES'
      ? `Ports below 1024 need privileges: run the relay with CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE), or use a port from 1024 up (e.g. 2525) and point devices at it.`
      : code === 'EADDRNOTAVAIL'
        ? `${l.host} is not an address of this machine: use one of its addresses, or 0.0.0.0 (all IPv4) or :: (all addresses).`
        : `Check the listener's host and port (${code}).`,
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
    else add({ id: 'certificate.self-signed', status: 'info', title: `${selfSigned.join(', ')}: a self-signed certificate is made in ${join(config.dataDir, 'tls')} at first start` });
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
    add({ id, status: 'fail', title: `${who}: cannot read the certificate ${file}`, detail: (err as Error).message, fix: 'Point tls.cert (or the listener\'s cert) at a readable PEM certificate file.' });
    return;
  }
  const validTo = new Date(cert.validTo);
  const detail = `${file}: ${cert.subject.replace(/\n/g, ', ')}, valid until ${validTo.toISOString().slice(0, 10)}`;
  if (keyFile) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) {
        add({ id: `${id}.key`, status: 'fail', title: `${who}: the key ${keyFile} does not belong to the certificate`, detail, fix: 'Configure the key that was made together with this certificate.' });
      }
    } catch (err) {
      add({ id: `${id}.key`, status: 'fail', title: `${who}: cannot read the key ${keyFile}`, detail: (err as Error).message, fix: 'Point tls.key (or the listener\'s key) at the readable, unencrypted PEM key of the certificate.' });
    }
  }
  const left = validTo.getTime() - now;
  const renew = generated
    ? 'The self-signed certificate is made again at the next start when it has less than 7 days left: restart the relay.'
    : 'Get a new certificate and put it in place of the old one, then restart the relay.';
  if (left <= 0) add({ id, status: 'fail', title: `${who}: the certificate expired on ${validTo.toISOString().slice(0, 10)}`, detail, fix: renew });
  else if (left < 30 * DAY) add({ id, status: 'warn', title: `${who}: the certificate expires in ${Math.ceil(left / DAY)} days`, detail, fix: renew });
  else add({ id, status: 'pass', title: `${who}: certificate valid for ${Math.floor(left / DAY)} more days`, detail });
}
