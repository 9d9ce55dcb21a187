/**
 * The POP3 side of the upstream login (reference/migration-and-imap.md B.2):
 * the +OK greeting, `AUTH XOAUTH2`, the initial response after the server's
 * "+" (Exchange's documented two-line form, which Dovecot takes too), an
 * empty line answering a failure challenge, then +OK or -ERR. A NOOP then
 * checks that the mailbox was opened (Exchange refuses every command of a
 * session that is "authenticated but not connected").
 */
import type { UpstreamAuthResult, UpstreamConversation, UpstreamProtocol } from '../common/upstream-login.js';
import { decodeChallenge } from '../common/xoauth2.js';
import { greetingRefusalKind } from '../common/failure-catalogue.js';

export const pop3Upstream: UpstreamProtocol = {
  protocol: 'pop3',
  async login(c: UpstreamConversation, initialResponse: string): Promise<UpstreamAuthResult> {
    const greeting = await c.readLine();
    if (greeting === null) return { ok: false, stage: 'greeting', text: 'the server closed the connection before its greeting', kind: 'unreachable' };
    if (/^-ERR\b/i.test(greeting)) return { ok: false, stage: 'greeting', text: greeting, kind: greetingRefusalKind(greeting) };
    if (!/^\+OK\b/i.test(greeting)) return { ok: false, stage: 'greeting', text: greeting, kind: 'protocol-error' };
    c.write('AUTH XOAUTH2');
    let sent = false;
    let challenge = '';
    for (;;) {
      const line = await c.readLine();
      if (line === null) return { ok: false, stage: 'auth', text: `the server closed the connection${challenge ? ` after the challenge ${challenge}` : ''}`, kind: 'unreachable' };
      if (/^\+OK\b/i.test(line)) break;
      if (/^-ERR\b/i.test(line)) return { ok: false, stage: 'auth', text: challenge ? `${line} (challenge ${challenge})` : line };
      if (!line.startsWith('+')) return { ok: false, stage: 'auth', text: line, kind: 'protocol-error' };
      if (!sent) {
        c.write(initialResponse);
        sent = true;
      } else {
        challenge = decodeChallenge(line.slice(1));
        c.write('');
      }
    }
    c.write('NOOP');
    const probe = await c.readLine();
    if (probe === null) return { ok: false, stage: 'probe', text: 'the server closed the connection after the login', kind: 'unreachable' };
    if (/^\+OK\b/i.test(probe)) return { ok: true };
    if (/^-ERR\b/i.test(probe)) return { ok: false, stage: 'probe', text: probe };
    return { ok: false, stage: 'probe', text: probe, kind: 'protocol-error' };
  },
};
