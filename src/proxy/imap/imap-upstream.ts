/**
 * The IMAP side of the upstream login (reference/migration-and-imap.md B.2):
 * the greeting, `AUTHENTICATE XOAUTH2` with the initial response (SASL-IR,
 * which Exchange Online offers; without it, after the server's "+"), an
 * empty line answering a failure challenge (Dovecot sends one, Exchange does
 * not), and the tagged result. When the OK carries no [CAPABILITY] code
 * (Exchange's "A01 OK AUTHENTICATE completed."), a CAPABILITY command fetches
 * the list for the client and also shows whether the mailbox is usable:
 * Exchange answers every command with "BAD User is authenticated but not
 * connected." when it is not.
 */
import type { UpstreamAuthResult, UpstreamConversation, UpstreamProtocol } from '../common/upstream-login.js';
import { decodeChallenge } from '../common/xoauth2.js';
import { greetingRefusalKind } from '../common/failure-catalogue.js';

const CAPABILITY_CODE = /\[CAPABILITY ([^\]]+)\]/i;

export const imapUpstream: UpstreamProtocol = {
  protocol: 'imap',
  async login(c: UpstreamConversation, initialResponse: string): Promise<UpstreamAuthResult> {
    const greeting = await c.readLine();
    if (greeting === null) return { ok: false, stage: 'greeting', text: 'the server closed the connection before its greeting', kind: 'unreachable' };
    if (/^\* BYE\b/i.test(greeting)) return { ok: false, stage: 'greeting', text: greeting, kind: greetingRefusalKind(greeting) };
    if (!/^\* OK\b/i.test(greeting)) return { ok: false, stage: 'greeting', text: greeting, kind: 'protocol-error' };
    const before = CAPABILITY_CODE.exec(greeting)?.[1];
    const saslIr = before === undefined || /(^| )SASL-IR( |$)/i.test(before);
    c.write(saslIr ? `A1 AUTHENTICATE XOAUTH2 ${initialResponse}` : 'A1 AUTHENTICATE XOAUTH2');
    let sent = saslIr;
    let challenge = '';
    let bye = '';
    let untagged: string | undefined;
    let capabilities: string | undefined;
    for (;;) {
      const line = await c.readLine();
      if (line === null) return closed('auth', bye, challenge);
      if (line.startsWith('+')) {
        if (!sent) {
          c.write(initialResponse);
          sent = true;
        } else {
          challenge = decodeChallenge(line.slice(1));
          c.write('');
        }
        continue;
      }
      if (/^\* CAPABILITY /i.test(line)) untagged = line.slice(13);
      else if (/^\* BYE\b/i.test(line)) bye = line;
      else if (!line.startsWith('* ')) {
        const m = /^A1 (OK|NO|BAD)\b ?(.*)$/i.exec(line);
        if (!m) return { ok: false, stage: 'auth', text: line, kind: 'protocol-error' };
        if (m[1]!.toUpperCase() !== 'OK') return { ok: false, stage: 'auth', text: challenge ? `${line} (challenge ${challenge})` : line };
        capabilities = CAPABILITY_CODE.exec(m[2]!)?.[1] ?? untagged;
        break;
      }
    }
    if (capabilities) return { ok: true, capabilities };
    // No list with the OK: ask for it (and find out whether the mailbox was opened).
    c.write('A2 CAPABILITY');
    for (;;) {
      const line = await c.readLine();
      if (line === null) return closed('probe', bye, '');
      if (/^\* CAPABILITY /i.test(line)) capabilities = line.slice(13);
      else if (/^\* BYE\b/i.test(line)) bye = line;
      else if (!line.startsWith('* ')) {
        const m = /^A2 (OK|NO|BAD)\b/i.exec(line);
        if (!m) return { ok: false, stage: 'probe', text: line, kind: 'protocol-error' };
        if (m[1]!.toUpperCase() !== 'OK') return { ok: false, stage: 'probe', text: line };
        return { ok: true, ...(capabilities ? { capabilities } : {}) };
      }
    }
  },
};

function closed(stage: 'auth' | 'probe', bye: string, challenge: string): UpstreamAuthResult {
  if (bye) return { ok: false, stage, text: bye };
  return { ok: false, stage, text: `the server closed the connection${challenge ? ` after the challenge ${challenge}` : ''}`, kind: 'unreachable' };
}
