/**
 * The one HTTP(S) client for upstream calls (Entra sign-in, Graph). Built on
 * node:https with a keep-alive agent; an extra CA bundle and an outbound
 * HTTP(S) proxy (CONNECT tunnel, https-proxy-agent) apply to every request
 * made through it. Bodies can be buffers or streams; responses are read
 * whole (Graph and Entra answers are small JSON documents).
 *
 * A failed request tells whether the request body had been sent in full
 * before the failure (`bodySent`), so callers can tell a request that never
 * reached the server from one whose outcome is unknown.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';

export interface HttpClientOptions {
  /** Extra trusted CA certificates (PEM text), added to Node's defaults. */
  ca?: string;
  /** Outbound proxy URL, e.g. http://proxy.local:8080. */
  proxy?: string;
  /** Sockets per origin at once (default 16). */
  maxSockets?: number;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Length of a streamed body, sent as Content-Length (otherwise chunked). */
  contentLength?: number;
  signal?: AbortSignal;
  /** Longest time for the whole exchange. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json<T = unknown>(): T | undefined;
}

export class HttpError extends Error {
  constructor(
    message: string,
    /** ECONNREFUSED, ECONNRESET, ETIMEDOUT, ABORTED, CERT_..., ... */
    readonly code: string,
    /** The whole request body was written before the failure: the server may have acted on it. */
    readonly bodySent: boolean,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly plainAgent: http.Agent;
  /** TLS options for the tunnelled connection: https-proxy-agent takes them from each request, not from the agent. */
  private readonly tunnelTls: { secureContext?: SecureContext };

  constructor(readonly options: HttpClientOptions = {}) {
    // Node's bundled roots stay trusted; the extra CA adds to them. One secure context for every
    // connection: given as `ca`, the ~140 certificates would be parsed again for each new connection,
    // and the https agent would join their text (about 200 KB) into its pool key on every request.
    const tls = options.ca ? { secureContext: createSecureContext({ ca: [...rootCertificates, options.ca] }) } : {};
    const maxSockets = options.maxSockets ?? 16;
    this.tunnelTls = options.proxy ? tls : {};
    if (options.proxy) {
      this.agent = new HttpsProxyAgent(options.proxy, { ...tls, keepAlive: true, maxSockets });
      this.plainAgent = this.agent;
    } else {
      this.agent = new https.Agent({ ...tls, keepAlive: true, maxSockets });
      this.plainAgent = new http.Agent({ keepAlive: true, maxSockets });
    }
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const lib = isHttps ? https : http;
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) headers['content-length'] = String(Buffer.byteLength(req.body));
    else if (req.body && req.contentLength !== undefined) headers['content-length'] = String(req.contentLength);
    return new Promise<HttpResponse>((resolve, reject) => {
      let bodySent = req.body === undefined;
      let settled = false;
      const fail = (code: string, message: string) => {
        if (settled) return;
        settled = true;
        cleanup();
        r.destroy();
        reject(new HttpError(message, code, bodySent));
      };
      const r = lib.request(url, { method: req.method, headers, agent: isHttps ? this.agent : this.plainAgent, ...(isHttps ? this.tunnelTls : {}) }, (res) => {
        bodySent = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ECONNRESET', `response from ${url.host} broke off: ${err.message}`));
        res.on('aborted', () => fail('ECONNRESET', `response from ${url.host} broke off`));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json<T>() {
              if (body.length === 0) return undefined;
              try {
                return JSON.parse(body.toString('utf8')) as T;
              } catch {
                return undefined;
              }
            },
          });
        });
      });
      const timer = req.timeoutMs ? setTimeout(() => fail('ETIMEDOUT', `${url.host} did not answer within ${req.timeoutMs} ms`), req.timeoutMs) : undefined;
      const onAbort = () => fail('ABORTED', 'request aborted');
      req.signal?.addEventListener('abort', onAbort, { once: true });
      function cleanup() {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      }
      // Nagle's algorithm off: a body written in several pieces (a streamed MIME body) would otherwise
      // hold its last piece until the server acknowledges the first, and servers delay that
      // acknowledgement (40 ms on Linux, 200 ms on Windows): a wait on every request. The agent's
      // noDelay option does not reach TLS sockets on Node.js 20, so it is set on each socket here.
      r.on('socket', (socket) => socket.setNoDelay(true));
      r.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERROR', `${req.method} ${url.host}${url.pathname}: ${err.message}`));
      if (req.signal?.aborted) return onAbort();
      const body = req.body;
      if (body === undefined) r.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) r.end(body, () => (bodySent = true));
      else {
        body.on('error', (err) => fail('EBODY', `reading the request body failed: ${err.message}`));
        body.on('end', () => r.once('finish', () => (bodySent = true)));
        body.pipe(r);
      }
    });
  }

  close(): void {
    this.agent.destroy();
    if (this.plainAgent !== this.agent) this.plainAgent.destroy();
  }
}

/** The value of Retry-After in milliseconds (seconds or an HTTP date), if present. */
export function retryAfterMs(headers: http.IncomingHttpHeaders, now = Date.now()): number | undefined {
  const v = headers['retry-after'];
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

