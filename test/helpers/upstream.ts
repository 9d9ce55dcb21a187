/**
 * A real SMTP server (smtp-server) used as the relay's upstream in tests.
 * It records every message with its envelope and exact bytes, and can be
 * told to answer with faults.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  data: Buffer;
  session: SMTPServerSession;
  /** The MAIL FROM parameters (BODY, SIZE, SMTPUTF8...) and the EHLO name, as they were for this message. */
  mailArgs: Record<string, unknown>;
  helo: string;
}

export type FaultPlan = (n: number, stage: 'rcpt' | 'data', arg: string) => { code: number; message: string } | undefined;

export interface TestUpstream {
  port: number;
  received: Received[];
  /** Set to inject replies: return a reply to refuse, undefined to accept. */
  fault: FaultPlan | undefined;
  /** When true, the connection is destroyed after the whole message arrived, before any reply. */
  dropAfterData: boolean;
  auth?: { user: string; pass: string };
  /** Connections accepted so far. */
  connections: number;
  /** When set, the reply to DATA waits this long (a slow upstream). */
  dataDelayMs: number;
  /** AUTH mechanisms clients used, in order. */
  authMethods: string[];
  close(): Promise<void>;
  /** Drops every open connection at once and stops listening (an upstream that dies). */
  kill(): Promise<void>;
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
}

export async function startUpstream(opts: { auth?: { user: string; pass: string }; secure?: boolean; key?: string; cert?: string; port?: number } = {}): Promise<TestUpstream> {
  let count = 0;
  const up: TestUpstream = {
    port: 0,
    received: [],
    fault: undefined,
    dropAfterData: false,
    connections: 0,
    dataDelayMs: 0,
    authMethods: [],
    ...(opts.auth ? { auth: opts.auth } : {}),
    close: () => new Promise((r) => server.close(() => r())),
    kill: () => new Promise((r) => {
      server.server.close(() => r());
      for (const c of server.connections as Set<{ _socket: { destroy(): void } }>) c._socket.destroy();
    }),
    waitForCount: async (n, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (up.received.length < n) {
        if (Date.now() > deadline) throw new Error(`upstream got ${up.received.length} messages, expected ${n}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    hideSTARTTLS: !opts.key,
    ...(opts.key ? { key: opts.key, cert: opts.cert } : {}),
    secure: opts.secure ?? false,
    onConnect(_s, cb) {
      up.connections++;
      cb();
    },
    onAuth(auth, _s, cb) {
      up.authMethods.push(auth.method);
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      const e = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
      e.responseCode = 535;
      cb(e);
    },
    onRcptTo(address, _s, cb) {
      const f = up.fault?.(count, 'rcpt', address.address);
      if (f) {
        const e = new Error(f.message) as Error & { responseCode: number };
        e.responseCode = f.code;
        return cb(e);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const n = count++;
        if (up.dropAfterData) {
          // pretend to crash after the message arrived: no reply at all
          for (const c of server.connections as Set<{ id: string; _socket: { destroy(): void } }>) if (c.id === session.id) c._socket.destroy();
          return;
        }
        const reply = () => {
          const f = up.fault?.(n, 'data', '');
          if (f) {
            const e = new Error(f.message) as Error & { responseCode: number };
            e.responseCode = f.code;
            return cb(e);
          }
          up.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks), session,
            mailArgs: { ...(session.envelope.mailFrom ? session.envelope.mailFrom.args || {} : {}) }, helo: session.hostNameAppearsAs,
          });
          cb(null, `2.0.0 Ok: queued as UP${n}`);
        };
        if (up.dataDelayMs > 0) setTimeout(reply, up.dataDelayMs).unref();
        else reply();
      });
    },
  });
  // TLS handshakes that a client aborts (e.g. it refuses the certificate) are reported here; they are not test failures.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.server.address();
  up.port = typeof addr === 'object' && addr ? addr.port : 0;
  return up;
}
