/**
 * One real XOAUTH2 login to an Exchange Online mailbox, as the proxy makes
 * it (common/upstream-login.ts), then the server's capability list (IMAP:
 * from the login; POP3: CAPA) and LOGOUT / QUIT: nothing is read or
 * changed. Used by `doctor` (docs/doctor.md) and the setup wizard's live
 * test (config/wizard/live-test.ts), which say what the result means.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ExchangeMailboxUpstreamConfig } from '../config/schema.js';
import type { MailProtocol, UpstreamFailure, UpstreamTarget } from './common/types.js';
import { openUpstream, type UpstreamSession } from './common/upstream-login.js';
import type { TokenFacts } from './common/xoauth2.js';
import { mailboxTarget } from './exchange-endpoints.js';
import { imapUpstream } from './imap/imap-upstream.js';
import { pop3Upstream } from './pop3/pop3-upstream.js';

export type MailboxLoginResult =
  | { ok: true; server: string; tlsVersion: string | null; capabilities: string | undefined }
  | { ok: false; server: string; failure: UpstreamFailure; token: TokenFacts | undefined };

/** Logs in to the mailbox with the token `getToken` gives; `timeoutMs` for each step (the whole login gets twice that). */
export async function tryMailboxLogin(
  cfg: ExchangeMailboxUpstreamConfig, protocol: MailProtocol, mailbox: string, getToken: UpstreamTarget['getToken'], timeoutMs: number,
): Promise<MailboxLoginResult> {
  const target = mailboxTarget(cfg, protocol, getToken);
  const server = `${target.host}:${target.port}`;
  const opened = await openUpstream(target, protocol === 'imap' ? imapUpstream : pop3Upstream, mailbox, AbortSignal.timeout(timeoutMs * 2));
  if (!opened.ok) return { ok: false, server, failure: opened.failure, token: opened.token };
  const capabilities = await capabilitiesAndLogout(protocol, opened.session, timeoutMs);
  return { ok: true, server, tlsVersion: opened.session.tlsVersion, capabilities };
}

/** The capability list after login (IMAP: from the login; POP3: CAPA), then LOGOUT / QUIT. */
async function capabilitiesAndLogout(protocol: MailProtocol, s: UpstreamSession, timeoutMs: number): Promise<string | undefined> {
  const socket = s.socket;
  try {
    if (protocol === 'imap') {
      socket.write('Z LOGOUT\r\n');
      return s.capabilities;
    }
    socket.write('CAPA\r\n');
    const lines = await readUntil(socket, s.leftover, (l) => l === '.' || /^-ERR/.test(l), timeoutMs);
    socket.write('QUIT\r\n');
    if (!lines[0]?.startsWith('+OK')) return undefined;
    return lines.slice(1, -1).join(' ');
  } catch {
    return undefined;
  } finally {
    setTimeout(() => socket.destroy(), 1_000).unref();
  }
}

function readUntil(socket: TLSSocket | Socket, leftover: Buffer, last: (line: string) => boolean, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = leftover.toString('latin1');
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (err) reject(err);
      else resolve(text.split('\r\n').filter((l, i, a) => i < a.length - 1 || l !== ''));
    };
    const check = () => {
      const lines = text.split('\r\n');
      if (lines.slice(0, -1).some(last)) done();
    };
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      check();
    };
    const onClose = () => done(new Error('closed'));
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    // The login's line reader leaves the socket paused when it lets go of it.
    socket.resume();
    check();
  });
}
