/**
 * IMAP through the proxy to a real server (Dovecot validating the
 * emulator's app tokens), with real clients: Python imaplib logs in as a
 * device, LISTs, SELECTs, FETCHes a 30 MB message byte-equal with the
 * maildir file, IDLEs until a new message is delivered, STOREs \Deleted and
 * EXPUNGEs it, and logs out — over TLS 1.3 on a modern listener and TLS 1.0
 * on a legacy one (which the modern one refuses). STARTTLS: LOGINDISABLED
 * before it, bytes injected after it dropped, AUTHENTICATE PLAIN after it,
 * and the upstream's own capabilities after login.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import type { ProxyListener } from '../../src/proxy/listener.js';
import { bigMessage, events, PASSWORD, smallMessage, startProxy, startWorld, type World } from './fixture.js';
import { pythonImapSession } from './python-clients.js';
import { openWire, wrap } from './wire.js';

const BIG = 30 * 1024 * 1024;

describe('IMAP through the proxy to Dovecot', () => {
  let w: World;
  let big: { size: number; sha256: string };
  const proxies: ProxyListener[] = [];
  before(async () => {
    w = await startWorld();
    const raw = bigMessage(BIG, 'the 30 MB scan');
    w.dovecot.deliver(w.alice, raw);
    big = { size: raw.length, sha256: createHash('sha256').update(raw).digest('hex') };
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await w.close();
  });

  const session = async (port: number, tls: '1.0' | '1.3', user: string) => {
    let delivered = 0;
    const r = await pythonImapSession({ port, mode: 'implicit', tls, ca: w.certFile, user, password: PASSWORD }, 1, () => {
      delivered += 1;
      w.dovecot.deliver(w.alice, smallMessage(`wakes the IDLE ${delivered}`));
    });
    assert.ok(r.ok, r.error);
    assert.equal(delivered, 1);
    return r;
  };

  test('TLS 1.3 on a modern listener: login as the device, LIST, SELECT, FETCH 30 MB byte-equal, IDLE, STORE/EXPUNGE, LOGOUT', { timeout: 180_000 }, async () => {
    const proxy = await startProxy(w, { protocol: 'imap', tls: 'implicit', minVersion: 'TLSv1.2' });
    proxies.push(proxy);
    const r = await session(proxy.port, '1.3', 'reader');
    assert.equal(r.version, 'TLSv1.3');
    assert.deepEqual(r.caps, ['IMAP4REV1', 'SASL-IR', 'ID', 'LITERAL+', 'AUTH=PLAIN'], 'before login: only what the proxy serves');
    assert.equal(r.login?.[0], 'OK');
    assert.match(r.caps_after ?? '', /\bIDLE\b/, 'after login: the upstream\'s own list');
    assert.doesNotMatch(r.caps_after ?? '', /AUTH=/);
    assert.ok(r.list?.some((l) => l.endsWith(' INBOX')), JSON.stringify(r.list));
    assert.ok((r.exists ?? 0) >= 1);
    assert.deepEqual({ size: r.size, sha256: r.sha256 }, big, 'the 30 MB message arrives byte for byte as Dovecot holds it');
    assert.equal(r.idle_start, '+ idling');
    assert.match(r.idle_event ?? '', /^\* \d+ EXISTS$/);
    assert.match(r.idle_end ?? '', /OK/);
    assert.equal(r.store?.[0], 'OK');
    assert.equal(r.expunge?.[0], 'OK');
    assert.equal(r.exists_after, r.exists, 'the message that woke the IDLE was expunged');
    assert.equal(r.logout, 'BYE');
    const login = events(w, 'proxy-login').at(-1);
    assert.deepEqual([login?.device, login?.mailbox, login?.via, login?.tlsVersion], ['reader', w.alice, 'password', 'TLSv1.3']);
    assert.ok(w.dovecot.logins(w.alice).some((l) => /method=XOAUTH2/.test(l)), 'Dovecot saw an XOAUTH2 login for the device\'s mailbox');
    await new Promise((r2) => setTimeout(r2, 200));
    const end = events(w, 'proxy-session-end').at(-1);
    assert.ok(Number(end?.toClient) > BIG, `bytes to the client counted: ${String(end?.toClient)}`);
  });

  test('TLS 1.0 on a legacy listener, with the mailbox address as the user; the modern listener refuses TLS 1.0', { timeout: 180_000 }, async () => {
    const legacy = await startProxy(w, { protocol: 'imap', tls: 'implicit', minVersion: 'TLSv1', name: 'imaps-legacy' });
    const modern = await startProxy(w, { protocol: 'imap', tls: 'implicit', minVersion: 'TLSv1.2', name: 'imaps-modern' });
    proxies.push(legacy, modern);
    const r = await session(legacy.port, '1.0', w.alice.toUpperCase());
    assert.equal(r.version, 'TLSv1');
    assert.deepEqual({ size: r.size, sha256: r.sha256 }, big);
    assert.equal(r.logout, 'BYE');
    const refused = await pythonImapSession({ port: modern.port, mode: 'implicit', tls: '1.0', ca: w.certFile, user: 'reader', password: PASSWORD }, 1, () => undefined);
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /SSL|EOF|reset/i);
  });

  test('STARTTLS: LOGINDISABLED before, injected bytes dropped, AUTHENTICATE PLAIN after, the upstream\'s capabilities in the OK', { timeout: 60_000 }, async () => {
    const proxy = await startProxy(w, { protocol: 'imap', tls: 'starttls', name: 'imap-starttls' });
    proxies.push(proxy);
    const c = await openWire(proxy.port);
    const greeting = await c.line();
    assert.equal(greeting, '* OK [CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ STARTTLS LOGINDISABLED] authrelay IMAP proxy ready.');
    c.send(`a LOGIN reader "${PASSWORD}"\r\n`);
    assert.match(await c.line(), /^a NO \[PRIVACYREQUIRED\]/);
    c.send('b STARTTLS\r\nc LOGIN reader injected\r\n');
    assert.equal(await c.line(), 'b OK Begin TLS negotiation now.');
    const tls = wrap(await new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: c.socket, ca: w.certPem, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    }));
    tls.send('d CAPABILITY\r\n');
    assert.deepEqual(await tls.until(/^d /), ['* CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ AUTH=PLAIN', 'd OK Pre-login capabilities listed, post-login capabilities have more.'],
      'the injected LOGIN was never answered');
    tls.send('e AUTHENTICATE PLAIN\r\n');
    assert.equal(await tls.line(), '+ ');
    tls.send(`${Buffer.from(`\0reader\0${PASSWORD}`).toString('base64')}\r\n`);
    const ok = await tls.line();
    assert.match(ok, /^e OK \[CAPABILITY IMAP4rev1 .*IDLE.*\] Logged in\.$/);
    tls.send('f SELECT INBOX\r\n');
    assert.match((await tls.until(/^f /)).at(-1)!, /^f OK/);
    tls.send('g LOGOUT\r\n');
    assert.match((await tls.until(/^g /)).join('\n'), /\* BYE[\s\S]*g OK/);
    await tls.closed();
    assert.ok(events(w, 'proxy-starttls-injection').length >= 1);
  });
});
