/**
 * TLS for the proxy's two sides. Client side: one SecureContext per listener
 * (the caller makes it with proxyTlsContext, so TLS 1.0/1.1 and
 * OpenSSL's @SECLEVEL=0 stay scoped to a legacy listener, as
 * receive/tls.ts does for SMTP), applied to an accepted socket for implicit
 * TLS or after STARTTLS/STLS. Upstream side: a TLS client connection to the
 * mailbox server with the system's CAs or a given bundle.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { createSecureContext, connect as tlsConnect, TLSSocket, type SecureContext, type SecureVersion } from 'node:tls';

export interface ProxyTlsSettings {
  key: string | Buffer;
  cert: string | Buffer;
  /** Oldest version accepted; TLSv1 or TLSv1.1 makes this a legacy listener. */
  minVersion: SecureVersion;
}

/** The listener's SecureContext. OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) above security level 0. */
export function proxyTlsContext(s: ProxyTlsSettings): SecureContext {
  const legacy = s.minVersion === 'TLSv1' || s.minVersion === 'TLSv1.1';
  return createSecureContext({
    key: s.key,
    cert: s.cert,
    minVersion: s.minVersion,
    ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    honorCipherOrder: true,
  });
}

/** Server-side TLS on an accepted socket (implicit TLS, or after the STARTTLS reply). Rejects on a failed or late handshake. */
export function acceptTls(socket: Socket, context: SecureContext, timeoutMs: number): Promise<TLSSocket> {
  const tls = new TLSSocket(socket, { isServer: true, secureContext: context, requestCert: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the TLS handshake did not finish within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    const fail = (err: Error) => {
      clearTimeout(timer);
      tls.removeListener('secure', ok);
      tls.destroy();
      reject(err);
    };
    const ok = () => {
      clearTimeout(timer);
      tls.removeListener('error', fail);
      tls.on('error', () => undefined);
      resolve(tls);
    };
    tls.once('secure', ok);
    tls.once('error', fail);
  });
}

export interface UpstreamTlsOptions {
  host: string;
  port: number;
  ca?: string | Buffer;
  servername?: string;
  minVersion: SecureVersion;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * One client SecureContext per CA bundle and version floor: a context made
 * for every connection (what tls.connect does with a `ca` option) costs
 * megabytes of native memory each (its own certificate store).
 */
const upstreamContexts = new Map<string, SecureContext>();

function upstreamContext(ca: string | Buffer | undefined, minVersion: SecureVersion): SecureContext {
  const key = `${minVersion}\n${ca === undefined ? '' : ca.toString()}`;
  let context = upstreamContexts.get(key);
  if (!context) {
    context = createSecureContext({ ...(ca ? { ca } : {}), minVersion });
    upstreamContexts.set(key, context);
  }
  return context;
}

/** A verified TLS connection to the mailbox server; rejects with the network or certificate error. */
export function connectUpstreamTls(o: UpstreamTlsOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const raw: Socket = netConnect({ host: o.host, port: o.port });
    raw.setNoDelay(true);
    const servername = o.servername ?? (isIP(o.host) ? undefined : o.host);
    // host is what the certificate is checked against when there is no server name (an IP address).
    const tls = tlsConnect({
      socket: raw,
      host: o.host,
      ...(servername ? { servername } : {}),
      secureContext: upstreamContext(o.ca, o.minVersion),
    });
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        tls.destroy();
        raw.destroy();
        reject(err);
      } else {
        tls.removeListener('error', finish);
        resolve(tls);
      }
    };
    const onAbort = () => finish(new Error('the login was abandoned'));
    const timer = setTimeout(() => finish(Object.assign(new Error(`no TLS connection to ${o.host}:${o.port} within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })), o.timeoutMs);
    timer.unref();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    tls.once('secureConnect', () => finish());
    tls.once('error', finish);
    raw.once('error', finish);
  });
}
