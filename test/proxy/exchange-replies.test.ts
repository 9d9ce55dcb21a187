/**
 * The upstream login against Exchange Online's own replies
 * (reference/migration-and-imap.md B.1-B.2), played by a scripted TLS
 * server: the greetings with the back-end name, `A01 OK AUTHENTICATE
 * completed.` without a capability code (so the proxy asks CAPABILITY),
 * `NO AUTHENTICATE failed.` with no challenge, "User is authenticated but
 * not connected" on the first command after login, POP3's
 * `-ERR Authentication failure: unknown user name or bad password.`, and a
 * busy greeting. Each comes out as the failure kind the catalogue explains.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { sharedCertificate } from '../helpers/cert.js';
import { openUpstream, type UpstreamProtocol } from '../../src/proxy/common/upstream-login.js';
import { imapUpstream } from '../../src/proxy/imap/imap-upstream.js';
import { pop3Upstream } from '../../src/proxy/pop3/pop3-upstream.js';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const TOKEN = `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64({ appid: 'app-1', oid: 'sp-1', idtyp: 'app', roles: ['IMAP.AccessAsApp', 'POP.AccessAsApp'] })}.sig`;
const IMAP_GREETING = '* OK The Microsoft Exchange IMAP4 service is ready. [RgBSADMAUAAyADgAMQBDAEEAMAAxADUANwAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]';
const POP3_GREETING = '+OK The Microsoft Exchange POP3 service is ready. [RgBSADMAUAAyADgAMQBDAEEAMAAxADUANwAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]';

/** Answers each line the proxy sends with the script's lines (a function of the line); greets first. */
type Script = { greeting: string; answer: (line: string) => string[] | 'close' };

describe('Exchange Online\'s replies to the upstream login', () => {
  let server: Server;
  let port: number;
  let ca: string;
  let script: Script;
  const received: string[] = [];
  before(async () => {
    const { cert, key } = await sharedCertificate();
    ca = readFileSync(cert, 'utf8');
    server = createServer({ cert: ca, key: readFileSync(key) }, (s: TLSSocket) => {
      s.on('error', () => undefined);
      s.write(`${script.greeting}\r\n`);
      let buf = '';
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          received.push(line);
          const out = script.answer(line);
          if (out === 'close') return void s.end();
          for (const l of out) s.write(`${l}\r\n`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const login = (proto: UpstreamProtocol) => openUpstream({ host: '127.0.0.1', port, ca, getToken: async () => TOKEN, loginTimeoutMs: 5_000 }, proto, 'scans@contoso.com');

  test('IMAP: SASL-IR accepted, no capability code, CAPABILITY asked; the session is handed over', async () => {
    received.length = 0;
    script = {
      greeting: IMAP_GREETING,
      answer: (l) => {
        if (l.startsWith('A1 AUTHENTICATE XOAUTH2 ')) return ['A1 OK AUTHENTICATE completed.'];
        if (l === 'A2 CAPABILITY') return ['* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+', 'A2 OK CAPABILITY completed.'];
        return ['* BAD Command Error. 12'];
      },
    };
    const r = await login(imapUpstream);
    assert.ok(r.ok);
    assert.match(r.session.capabilities ?? '', /\bMOVE\b.*\bIDLE\b/);
    const ir = Buffer.from(received[0]!.split(' ')[3]!, 'base64').toString();
    assert.equal(ir, `user=scans@contoso.com\x01auth=Bearer ${TOKEN}\x01\x01`);
    r.session.socket.destroy();
  });

  test('IMAP: "NO AUTHENTICATE failed." with a token that has the role → no-permission', async () => {
    script = { greeting: IMAP_GREETING, answer: (l) => (l.startsWith('A1 ') ? ['A1 NO AUTHENTICATE failed.'] : 'close') };
    const r = await login(imapUpstream);
    assert.ok(!r.ok);
    assert.deepEqual([r.failure.kind, r.failure.stage, r.failure.upstreamText], ['no-permission', 'auth', 'A1 NO AUTHENTICATE failed.']);
    assert.equal(r.token?.objectId, 'sp-1');
  });

  test('IMAP: accepted, then "BAD User is authenticated but not connected." → not-connected', async () => {
    script = {
      greeting: IMAP_GREETING,
      answer: (l) => (l.startsWith('A1 ') ? ['A1 OK AUTHENTICATE completed.'] : ['A2 BAD User is authenticated but not connected.', '* BYE Connection closed. 14']),
    };
    const r = await login(imapUpstream);
    assert.ok(!r.ok);
    assert.deepEqual([r.failure.kind, r.failure.stage], ['not-connected', 'probe']);
  });

  test('POP3: AUTH XOAUTH2 in two lines; refused → no-permission; accepted → NOOP checks the mailbox', async () => {
    script = {
      greeting: POP3_GREETING,
      answer: (l) => (l === 'AUTH XOAUTH2' ? ['+ '] : ['-ERR Authentication failure: unknown user name or bad password.']),
    };
    const refused = await login(pop3Upstream);
    assert.ok(!refused.ok);
    assert.equal(refused.failure.kind, 'no-permission');
    script = {
      greeting: POP3_GREETING,
      answer: (l) => (l === 'AUTH XOAUTH2' ? ['+ '] : l === 'NOOP' ? ['-ERR User is authenticated but not connected.'] : ['+OK User successfully authenticated.']),
    };
    const notConnected = await login(pop3Upstream);
    assert.ok(!notConnected.ok);
    assert.deepEqual([notConnected.failure.kind, notConnected.failure.stage], ['not-connected', 'probe']);
    script = {
      greeting: POP3_GREETING,
      answer: (l) => (l === 'AUTH XOAUTH2' ? ['+ '] : l === 'NOOP' ? ['+OK'] : ['+OK User successfully authenticated.']),
    };
    const ok = await login(pop3Upstream);
    assert.ok(ok.ok);
    ok.session.socket.destroy();
  });

  test('a busy greeting is throttling; an unknown greeting a protocol error; silence a timeout', { timeout: 20_000 }, async () => {
    script = { greeting: '* BYE Server busy, too many connections; try again later', answer: () => 'close' };
    const busy = await login(imapUpstream);
    assert.equal(!busy.ok && busy.failure.kind, 'throttled');
    script = { greeting: '220 smtp.office365.com ESMTP', answer: () => 'close' };
    const smtp = await login(pop3Upstream);
    assert.equal(!smtp.ok && smtp.failure.kind, 'protocol-error');
    script = { greeting: IMAP_GREETING, answer: () => [] };
    const silent = await openUpstream({ host: '127.0.0.1', port, ca, getToken: async () => TOKEN, loginTimeoutMs: 300 }, imapUpstream, 'scans@contoso.com');
    assert.equal(!silent.ok && silent.failure.kind, 'unreachable');
  });
});
