/**
 * The emulator as a plain HTTP forward proxy, for relays that cannot be given
 * other sign-in and Graph addresses but can be given an outbound HTTP proxy:
 * they keep talking to https://login.microsoftonline.com and
 * https://graph.microsoft.com, and the proxy sends those requests to the
 * emulator's own HTTPS server.
 *
 * - `CONNECT login.microsoftonline.com:443` and `CONNECT graph.microsoft.com:443`
 *   (what https-proxy-agent, curl and most clients do) are tunnelled, as raw TCP,
 *   to the emulator's HTTPS port. The client does its TLS handshake with the
 *   emulator, whose certificate names those hosts and is signed by the emulator
 *   CA: the client must trust that CA (e.g. NODE_EXTRA_CA_CERTS).
 * - Absolute-form requests (`POST https://graph.microsoft.com/v1.0/... HTTP/1.1`
 *   or `GET http://graph.microsoft.com/...`, what axios's own proxy option sends)
 *   are forwarded by the proxy over HTTPS to the emulator, and the answer is
 *   passed back.
 * - The emulator's own address (the host and port of its HTTPS origin, to which
 *   its metadata and upload URLs point) is allowed the same way.
 * - Anything else is refused with 403: the proxy never reaches the outside.
 *
 * Every CONNECT and absolute-form request is recorded as service 'proxy'; the
 * requests that reach the emulator through it are recorded as usual, with
 * `proxy` telling how they came (see proxiedVia, used by https-server.ts).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { RequestRecord } from './api.js';
import type { EmulatorContext } from './context.js';

/** Microsoft hosts the proxy sends to the emulator (the server certificate names them too). */
export const PROXIED_HOSTS = ['login.microsoftonline.com', 'graph.microsoft.com'];

export interface ForwardProxy {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

/**
 * How each connection from the proxy to the emulator's HTTPS port came, by its
 * local port (the emulator sees it as the remote port), per emulator.
 */
const routes = new WeakMap<EmulatorContext, Map<number, string>>();

/** For https-server.ts: 'CONNECT host:port' or 'forwarded https://host' when the request came through the proxy. */
export function proxiedVia(ctx: EmulatorContext, socket: net.Socket): string | undefined {
  const port = socket.remotePort;
  return port === undefined ? undefined : routes.get(ctx)?.get(port);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEndHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

export async function startForwardProxy(ctx: EmulatorContext, listenPort = 0): Promise<ForwardProxy> {
  const emulator = new URL(ctx.origin);
  const emulatorPort = Number(emulator.port);
  const byPort = new Map<number, string>();
  routes.set(ctx, byPort);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: ctx.certs.caPem });
  const sockets = new Set<net.Socket>();
  /** Kept-alive connections to the emulator that already remove their mark when they close. */
  const marked = new WeakSet<net.Socket>();

  /** The Microsoft hosts on the given port, or the emulator's own host and port. */
  const allowed = (host: string, port: number, ports: number[]): boolean => {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    if (PROXIED_HOSTS.includes(h)) return ports.includes(port);
    return port === emulatorPort && ['127.0.0.1', 'localhost', '::1'].includes(h);
  };

  const record = (r: Omit<RequestRecord, 'at' | 'service' | 'bytes'> & { bytes?: number }) => ctx.state.record({ service: 'proxy', bytes: 0, ...r });

  const server = http.createServer((req, res) => {
    const startedAt = Date.now();
    const target = req.url ?? '';
    const base = { startedAt, method: req.method ?? 'GET', path: target, authorization: req.headers.authorization !== undefined };
    let url: URL | undefined;
    try {
      url = /^https?:\/\//i.test(target) ? new URL(target) : undefined;
    } catch {
      url = undefined;
    }
    const refuse = (status: number, text: string) => {
      record({ ...base, status });
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
      res.end(text);
      req.resume();
    };
    if (!url) return refuse(400, 'This is a forward proxy: send absolute-form requests (GET http://graph.microsoft.com/...) or CONNECT.\n');
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (!allowed(url.hostname, port, [80, 443])) return refuse(403, `The emulator's proxy only reaches ${PROXIED_HOSTS.join(' and ')}.\n`);
    const via = `forwarded ${url.protocol}//${url.host}`;
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    const isIp = net.isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0;
    const up = https.request({
      host: '127.0.0.1', port: emulatorPort, method: req.method, path: `${url.pathname}${url.search}`, agent,
      headers: { ...endToEndHeaders(req.headers), host: url.host }, ...(isIp ? {} : { servername: url.hostname }),
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
      answer.pipe(res);
      answer.on('end', () => record({ ...base, status: answer.statusCode ?? 0, bytes }));
    });
    up.on('socket', (s) => {
      // Marked before the request is written, so the emulator can tell that this connection came through the proxy.
      const mark = () => {
        const local = s.localPort;
        if (local === undefined) return;
        byPort.set(local, via);
        if (marked.has(s)) return;
        marked.add(s);
        s.once('close', () => byPort.delete(local));
      };
      if (s.connecting) s.once('connect', mark);
      else mark();
    });
    up.on('error', (err) => {
      record({ ...base, status: res.headersSent ? 0 : 502, bytes });
      if (res.headersSent) res.destroy();
      else {
        const text = `The emulator did not answer: ${err.message}\n`;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      }
    });
    // A client that goes away takes the forwarded request with it.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const startedAt = Date.now();
    const target = req.url ?? '';
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    const base = { startedAt, method: 'CONNECT', path: target, authorization: false };
    const answer = (status: number, reason: string, text = '') => {
      record({ ...base, status });
      client.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    };
    if (!m || !allowed(m[1]!, Number(m[2]), [443])) {
      answer(403, 'Forbidden', `The emulator's proxy only tunnels to ${PROXIED_HOSTS.map((h) => `${h}:443`).join(' and ')}.\n`);
      return;
    }
    const upstream = net.connect(emulatorPort, '127.0.0.1');
    sockets.add(upstream);
    let localPort: number | undefined;
    upstream.once('connect', () => {
      localPort = upstream.localPort;
      if (localPort !== undefined) byPort.set(localPort, `CONNECT ${target}`);
      record({ ...base, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once('error', (err) => {
      if (localPort === undefined) answer(502, 'Bad Gateway', `The emulator did not accept the connection: ${err.message}\n`);
      else client.destroy();
    });
    upstream.once('close', () => {
      sockets.delete(upstream);
      if (localPort !== undefined) byPort.delete(localPort);
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      agent.destroy();
      await closed;
      routes.delete(ctx);
    },
  };
}
