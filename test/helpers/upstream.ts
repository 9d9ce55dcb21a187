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
  close(): Promise<void>;
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
}

export async function startUpstream(opts: { auth?: { user: string; pass: string }; secure?: boolean; key?: string; cert?: string } = {}): Promise<TestUpstream> {
  let count = 0;
  const up: TestUpstream = {
    port: 0,
    received: [],
    fault: undefined,
    dropAfterData: false,
    ...(opts.auth ? { auth: opts.auth } : {}),
    close: () => new Promise((r) => server.close(() => r())),
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
    onAuth(auth, _s, cb) {
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
        const f = up.fault?.(n, 'data', '');
        if (f) {
          const e = new Error(f.message) as Error & { responseCode: number };
          e.responseCode = f.code;
          return cb(e);
        }
        up.received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks), session });
        cb(null, `2.0.0 Ok: queued as UP${n}`);
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.server.address();
  up.port = typeof addr === 'object' && addr ? addr.port : 0;
  return up;
}
