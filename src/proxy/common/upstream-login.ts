/**
 * The upstream login (Dovecot's login-proxy.c): a TLS connection to the
 * mailbox server and an access token, fetched at the same time; then the
 * protocol's own conversation (imap/imap-upstream.ts, pop3/pop3-upstream.ts)
 * reads the greeting and logs in with XOAUTH2 for the mailbox the policy
 * chose. On success the socket is handed over with the bytes that arrived
 * after the login reply, ready for the byte pipe; on failure the result says
 * what went wrong as a value the failure catalogue explains.
 */
import type { TLSSocket } from 'node:tls';
import { LineError, LineReader } from './line-reader.js';
import { connectUpstreamTls } from './tls.js';
import { classifyRefusal } from './failure-catalogue.js';
import { tokenFacts, xoauth2InitialResponse, type TokenFacts } from './xoauth2.js';
import { MailboxTokenError, type MailProtocol, type MailboxToken, type TokenFailureExplained, type UpstreamFailure, type UpstreamFailureKind, type UpstreamTarget } from './types.js';

/** The upstream's lines as the protocol reads them (UTF-8, CRLF removed; null when it closed). */
export interface UpstreamConversation {
  readLine(): Promise<string | null>;
  write(line: string): void;
}

export type UpstreamAuthResult =
  | { ok: true; capabilities?: string }
  | { ok: false; stage: 'greeting' | 'auth' | 'probe'; text: string; kind?: UpstreamFailureKind };

/** One protocol's side of the upstream login. */
export interface UpstreamProtocol {
  readonly protocol: MailProtocol;
  /** Greeting, XOAUTH2 with this initial response, and a check that the session can be used. */
  login(c: UpstreamConversation, initialResponse: string): Promise<UpstreamAuthResult>;
}

export interface UpstreamSession {
  socket: TLSSocket;
  /** Bytes received after the login reply (to be sent to the client first). */
  leftover: Buffer;
  /** The server's capability list after login (IMAP), when it sent one. */
  capabilities?: string;
  tlsVersion: string | null;
  token: TokenFacts | undefined;
}

export type UpstreamOpenResult =
  | { ok: true; session: UpstreamSession }
  | { ok: false; failure: UpstreamFailure; token: TokenFacts | undefined };

const MAX_UPSTREAM_LINE = 64 * 1024;

export async function openUpstream(
  target: UpstreamTarget, proto: UpstreamProtocol, mailbox: string, signal?: AbortSignal,
): Promise<UpstreamOpenResult> {
  const loginTimeoutMs = target.loginTimeoutMs ?? 30_000;
  const tokenP: Promise<MailboxToken> = target.getToken(signal).then((t) => (typeof t === 'string' ? { token: t } : t));
  const socketP = connectUpstreamTls({
    host: target.host,
    port: target.port,
    ...(target.ca ? { ca: target.ca } : {}),
    ...(target.servername ? { servername: target.servername } : {}),
    minVersion: target.minTlsVersion ?? 'TLSv1.2',
    timeoutMs: target.connectTimeoutMs ?? 15_000,
    ...(signal ? { signal } : {}),
  });
  // Both run at once; a connection that fails while the token is awaited must not be an unhandled rejection.
  socketP.catch(() => undefined);
  let token: MailboxToken;
  try {
    token = await tokenP;
  } catch (err) {
    socketP.then((s) => s.destroy(), () => undefined);
    return fail('token-failed', 'token', (err as Error).message, undefined, err instanceof MailboxTokenError ? err.explained : undefined);
  }
  const facts = tokenFacts(token.token);
  let socket: TLSSocket;
  try {
    socket = await socketP;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail('unreachable', 'connect', `${e.code ? `${e.code}: ` : ''}${e.message}`, facts);
  }
  socket.on('error', () => undefined);
  const reader = new LineReader(socket, { maxLineLength: MAX_UPSTREAM_LINE, lineTimeoutMs: loginTimeoutMs, idleTimeoutMs: loginTimeoutMs });
  const conversation: UpstreamConversation = {
    readLine: async () => {
      const line = await reader.readLine();
      return line === null ? null : line.toString('utf8');
    },
    write: (line) => {
      socket.write(`${line}\r\n`);
    },
  };
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  const initial = xoauth2InitialResponse(mailbox, token.token);
  // A server that echoes a command back must not put the token into a log line.
  const scrub = (text: string) => text.split(initial).join('[xoauth2]').split(token.token).join('[token]');
  let result: UpstreamAuthResult;
  try {
    result = await proto.login(conversation, initial);
  } catch (err) {
    socket.destroy();
    const text = err instanceof LineError ? `the server ${err.reason === 'closed' ? 'closed the connection' : 'went silent'} during the login (${err.message})` : (err as Error).message;
    return fail(err instanceof LineError && err.reason === 'too-long' ? 'protocol-error' : 'unreachable', 'auth', text, facts);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (!result.ok) {
    socket.destroy();
    const kind = result.kind ?? classifyRefusal(proto.protocol, result.text, facts);
    return fail(kind, result.stage, scrub(result.text), facts);
  }
  const leftover = reader.detach();
  return {
    ok: true,
    session: {
      socket,
      leftover,
      ...(result.capabilities ? { capabilities: result.capabilities } : {}),
      tlsVersion: socket.getProtocol(),
      token: facts,
    },
  };
}

function fail(kind: UpstreamFailureKind, stage: UpstreamFailure['stage'], text: string, token: TokenFacts | undefined, explained?: TokenFailureExplained): UpstreamOpenResult {
  return { ok: false, failure: { kind, stage, upstreamText: text, ...(explained ? { token: explained } : {}) }, token };
}
