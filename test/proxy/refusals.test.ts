/**
 * What the proxy refuses, end to end against Dovecot: a device never
 * reaches a mailbox outside its list, whatever login form or forged input
 * it tries (IMAP LOGIN with quoted strings and literals, AUTHENTICATE PLAIN
 * with an authorization identity, XOAUTH2 sent by the client, POP3 USER/PASS
 * and AUTH PLAIN, "*" forms, \x01 separators, other casing) and nothing
 * reaches Dovecot for that mailbox; wrong passwords lock out across IMAP
 * and POP3 as on SMTP; and when the app's IMAP.AccessAsApp role is withdrawn
 * in the emulator, Dovecot refuses the token, the client gets a clean NO
 * and the log carries the fix with the real ids.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lockout } from '../../src/identity/lockout.js';
import type { ProxyListener } from '../../src/proxy/listener.js';
import { grantMailboxRole, servicePrincipalId, withdrawMailboxRole } from '../emulator/imap-tokens.js';
import { events, OTHER_PASSWORD, PASSWORD, smallMessage, startProxy, startWorld, type World } from './fixture.js';
import { openWire, type Wire } from './wire.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('refusals through the proxy', () => {
  let w: World;
  const proxies: ProxyListener[] = [];
  before(async () => {
    w = await startWorld();
    w.dovecot.deliver(w.alice, smallMessage('for alice'));
    w.dovecot.deliver(w.bob, smallMessage('for bob only'));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await w.close();
  });
  const proxy = async (...a: Parameters<typeof startProxy>) => {
    const p = await startProxy(...a);
    proxies.push(p);
    return p;
  };
  const connect = async (port: number, localAddress?: string): Promise<Wire> => {
    const c = await openWire(port, { tls: true, ca: w.certPem, ...(localAddress ? { localAddress } : {}) });
    await c.line();
    return c;
  };

  test('a device never reaches a mailbox it is not allowed, whatever it sends', { timeout: 120_000 }, async () => {
    const imap = await proxy(w, { protocol: 'imap', tls: 'implicit', name: 'imaps-probe' });
    const pop3 = await proxy(w, { protocol: 'pop3', tls: 'implicit', name: 'pop3s-probe' });
    const bob = w.bob;
    const forged = `user=${bob}\x01auth=Bearer eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.sig\x01\x01`;
    const imapTries: { name: string; send: string[]; expect: RegExp }[] = [
      { name: 'LOGIN with the other mailbox and this device\'s password', send: [`a LOGIN ${bob} "${PASSWORD}"`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'LOGIN with the other mailbox in other casing, in literals', send: [`a LOGIN {${bob.length}}`, `${bob.toUpperCase()} {${PASSWORD.length}+}`, PASSWORD], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'AUTHENTICATE PLAIN asking for the other mailbox', send: [`a AUTHENTICATE PLAIN ${b64(`${bob}\0reader\0${PASSWORD}`)}`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'AUTHENTICATE PLAIN, continuation, other casing', send: ['a AUTHENTICATE PLAIN', b64(`${bob.toUpperCase()}\0READER\0${PASSWORD}`)], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: '"*" form device*mailbox', send: [`a LOGIN "reader*${bob}" "${PASSWORD}"`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: '"*" form mailbox*device', send: [`a LOGIN "${bob}*reader" "${PASSWORD}"`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'an XOAUTH2 string as the user name, in a literal', send: [`a LOGIN {${Buffer.byteLength(forged)}}`, `${forged} "${PASSWORD}"`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'an XOAUTH2 string as the authorization identity', send: [`a AUTHENTICATE PLAIN ${b64(`${forged}\0reader\0${PASSWORD}`)}`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
      { name: 'AUTHENTICATE XOAUTH2 from the client', send: [`a AUTHENTICATE XOAUTH2 ${b64(forged)}`], expect: /^a NO \[CANNOT\]/ },
      { name: 'the other device\'s name with this device\'s password', send: [`a LOGIN other "${PASSWORD}"`], expect: /^a NO \[AUTHENTICATIONFAILED\]/ },
    ];
    for (const t of imapTries) {
      const c = await connect(imap.port);
      for (const l of t.send) {
        c.send(`${l}\r\n`);
        // A synchronising literal and a SASL exchange wait for the server's "+"; {n+} does not.
        if (/\{\d+\}$/.test(l) || /AUTHENTICATE PLAIN$/.test(l)) {
          const cont = await c.line();
          if (!cont.startsWith('+')) assert.fail(`${t.name}: ${cont}`);
        }
      }
      const lines = await c.until(/^a /);
      assert.match(lines.at(-1)!, t.expect, t.name);
      c.send('z LOGOUT\r\n');
      await c.closed();
    }
    const popTries: { name: string; send: string[] }[] = [
      { name: 'USER/PASS with the other mailbox', send: [`USER ${bob}`, `PASS ${PASSWORD}`] },
      { name: 'USER/PASS with the other mailbox in capitals', send: [`USER ${bob.toUpperCase()}`, `PASS ${PASSWORD}`] },
      { name: 'AUTH PLAIN asking for the other mailbox', send: [`AUTH PLAIN ${b64(`${bob}\0reader\0${PASSWORD}`)}`] },
      { name: 'AUTH XOAUTH2 from the client', send: [`AUTH XOAUTH2 ${b64(forged)}`] },
      { name: 'an XOAUTH2 string as USER', send: [`USER ${forged}`, `PASS ${PASSWORD}`] },
      { name: '"*" form', send: [`USER reader*${bob}`, `PASS ${PASSWORD}`] },
    ];
    for (const t of popTries) {
      const c = await connect(pop3.port);
      let last = '';
      for (const l of t.send) {
        c.send(`${l}\r\n`);
        last = await c.line();
      }
      assert.match(last, /^-ERR /, t.name);
      c.send('QUIT\r\n');
      await c.closed();
    }
    assert.equal(events(w, 'proxy-login').length, 0, 'no login reached the upstream');
    assert.equal(w.dovecot.logins().length, 0);
    assert.ok(!w.dovecot.log().toLowerCase().includes(bob.toLowerCase()), 'Dovecot never heard of the other mailbox');
    assert.ok(events(w, 'proxy-auth-failed').some((e) => e.reason === 'mailbox-not-allowed'));
    assert.ok(events(w, 'proxy-auth-failed').some((e) => e.reason === 'invalid-user'));
    assert.ok(!JSON.stringify(w.lines).includes(PASSWORD), 'no password in the log');

    // The same listeners open the device's own mailbox, and the other device's with its own password.
    const ok = await connect(imap.port);
    ok.send(`a LOGIN reader "${PASSWORD}"\r\nb LOGIN other "${OTHER_PASSWORD}"\r\n`);
    assert.match((await ok.until(/^a /)).at(-1)!, /^a OK/);
    assert.match((await ok.until(/^b /)).at(-1)!, /^b (BAD|NO)/, 'after login the upstream answers: no second login');
    ok.send('c LOGOUT\r\n');
    await ok.closed();
    assert.deepEqual(w.dovecot.logins().map((l) => /user=<([^>]+)>/.exec(l)?.[1]), [w.alice]);
  });

  test('wrong passwords lock out across IMAP and POP3, as on SMTP', { timeout: 60_000 }, async () => {
    const lockout = new Lockout({ limit: 3, windowMs: 60_000, lockMs: 60_000 });
    const imap = await proxy(w, { protocol: 'imap', tls: 'implicit', lockout, name: 'imaps-lock' });
    const pop3 = await proxy(w, { protocol: 'pop3', tls: 'implicit', lockout, name: 'pop3s-lock' });
    const c1 = await connect(imap.port, '127.0.0.5');
    c1.send('a LOGIN reader wrong1\r\n');
    assert.match(await c1.line(), /^a NO \[AUTHENTICATIONFAILED\] Authentication failed\.$/);
    const c2 = await connect(pop3.port, '127.0.0.5');
    c2.send('USER reader\r\nPASS wrong2\r\n');
    assert.equal(await c2.line(), '+OK');
    assert.equal(await c2.line(), '-ERR [AUTH] Authentication failed.');
    c1.send('b LOGIN reader wrong3\r\n');
    assert.equal(await c1.line(), 'b NO [UNAVAILABLE] Too many failed logins; try again later.');
    assert.match(await c1.line(), /^\* BYE /);
    await c1.closed();
    const c3 = await openWire(imap.port, { tls: true, ca: w.certPem, localAddress: '127.0.0.5' });
    assert.match(await c3.line(), /^\* BYE \[UNAVAILABLE\] Too many failed logins from your address/);
    await c3.closed();
    // The user name is locked too: the right password from another address is refused.
    const c4 = await connect(imap.port, '127.0.0.6');
    c4.send(`a LOGIN reader "${PASSWORD}"\r\n`);
    assert.match(await c4.line(), /^a NO \[UNAVAILABLE\]/);
    const c5 = await connect(pop3.port, '127.0.0.7');
    c5.send(`USER other\r\nPASS ${OTHER_PASSWORD}\r\n`);
    assert.equal(await c5.line(), '+OK');
    assert.equal(await c5.line(), '+OK Logged in.', 'another device is not affected');
    c5.send('QUIT\r\n');
    await c5.closed();
    c2.destroy();
    assert.ok(events(w, 'proxy-auth-failed').some((e) => e.locked === true));
  });

  test('the app\'s role withdrawn: Dovecot refuses the token, the client gets a clean NO, the log carries the fix', { timeout: 60_000 }, async () => {
    withdrawMailboxRole(w.app, 'IMAP.AccessAsApp');
    try {
      const imap = await proxy(w, { protocol: 'imap', tls: 'implicit', tokens: w.tokens(), name: 'imaps-norole' });
      const c = await connect(imap.port, '127.0.0.9');
      c.send(`a LOGIN reader "${PASSWORD}"\r\n`);
      assert.equal(await c.line(), 'a NO [AUTHORIZATIONFAILED] The mail server refused authrelay access to this mailbox; the relay administrator has the fix in its log.');
      c.send('b LOGOUT\r\n');
      assert.deepEqual(await c.until(/^b /), ['* BYE Logging out.', 'b OK Logout completed.']);
      const failed = events(w, 'proxy-upstream-failed').at(-1);
      assert.equal(failed?.kind, 'role-missing');
      const sp = servicePrincipalId(w.app);
      const msg = String(failed?.msg);
      assert.match(msg, /no IMAP\.AccessAsApp role/);
      assert.ok(msg.includes(`New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId ${sp}`), msg);
      assert.ok(msg.includes(`Add-MailboxPermission -Identity ${w.alice} -User ${sp} -AccessRights FullAccess`), msg);
      assert.match(String(failed?.upstreamText), /AUTHENTICATIONFAILED/);
      assert.match(w.dovecot.log(), /configured scope 'IMAP\.AccessAsApp' missing from token scope 'POP\.AccessAsApp'/, 'Dovecot itself refused the token');
      assert.ok(!JSON.stringify(w.lines).includes('eyJ0eXAi'), 'no token in the log');

      // POP.AccessAsApp is still granted: POP3 works with the same app.
      const pop3 = await proxy(w, { protocol: 'pop3', tls: 'implicit', tokens: w.tokens(), name: 'pop3s-norole' });
      const p = await connect(pop3.port, '127.0.0.9');
      p.send(`USER reader\r\nPASS ${PASSWORD}\r\n`);
      await p.line();
      assert.equal(await p.line(), '+OK Logged in.');
      p.send('QUIT\r\n');
      await p.closed();
      withdrawMailboxRole(w.app, 'POP.AccessAsApp');
      const pop3b = await proxy(w, { protocol: 'pop3', tls: 'implicit', tokens: w.tokens(), name: 'pop3s-norole2' });
      const p2 = await connect(pop3b.port, '127.0.0.9');
      p2.send(`USER reader\r\nPASS ${PASSWORD}\r\n`);
      await p2.line();
      assert.equal(await p2.line(), '-ERR [SYS/PERM] The mail server refused authrelay access to this mailbox; the relay administrator has the fix in its log.');
      assert.equal(events(w, 'proxy-upstream-failed').at(-1)?.kind, 'role-missing');
      p2.send('QUIT\r\n');
      await p2.closed();
    } finally {
      grantMailboxRole(w.app, 'IMAP.AccessAsApp');
      grantMailboxRole(w.app, 'POP.AccessAsApp');
    }
  });
});
