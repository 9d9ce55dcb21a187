/**
 * POP3 through the proxy to a real server (Dovecot validating the
 * emulator's app tokens), with Python poplib: USER/PASS as a device, STAT,
 * LIST, RETR of a 30 MB message byte-equal with the maildir file, DELE,
 * QUIT (the deletion happens) — over TLS 1.3 on a modern listener and TLS
 * 1.0 on a legacy one; STLS with CAPA before and after; AUTH PLAIN.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import type { ProxyListener } from '../../src/proxy/listener.js';
import { bigMessage, events, PASSWORD, smallMessage, startProxy, startWorld, type World } from './fixture.js';
import { pythonPop3Session } from './python-clients.js';
import { openWire, wrap } from './wire.js';

const BIG = 30 * 1024 * 1024;

describe('POP3 through the proxy to Dovecot', () => {
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

  const session = async (port: number, tls: '1.0' | '1.3', mode: 'implicit' | 'starttls', user: string) => {
    w.dovecot.deliver(w.alice, smallMessage('to be deleted'));
    const before = w.dovecot.messages(w.alice).length;
    const r = await pythonPop3Session({ port, mode, tls, ca: w.certFile, user, password: PASSWORD }, 1, before);
    assert.ok(r.ok, r.error);
    assert.equal(r.stat?.[0], before);
    assert.equal(r.list?.length, before);
    assert.deepEqual({ size: r.size, sha256: r.sha256 }, big, 'RETR gives the 30 MB message byte for byte');
    assert.match(r.dele ?? '', /^\+OK/);
    assert.match(r.quit ?? '', /^\+OK/);
    assert.equal(w.dovecot.messages(w.alice).length, before - 1, 'DELE took effect at QUIT');
    return r;
  };

  test('TLS 1.3 on a modern listener: USER/PASS as the device, STAT, LIST, RETR 30 MB, DELE, QUIT', { timeout: 180_000 }, async () => {
    const proxy = await startProxy(w, { protocol: 'pop3', tls: 'implicit', minVersion: 'TLSv1.2' });
    proxies.push(proxy);
    const r = await session(proxy.port, '1.3', 'implicit', 'reader');
    assert.equal(r.version, 'TLSv1.3');
    assert.deepEqual(r.capa, ['AUTH-RESP-CODE', 'CAPA', 'RESP-CODES', 'SASL', 'USER'], 'before login: only what the proxy serves');
    assert.ok(r.capa_after?.includes('UIDL') && r.capa_after.includes('TOP'), `after login: the upstream's CAPA (${r.capa_after?.join(' ')})`);
    const login = events(w, 'proxy-login').at(-1);
    assert.deepEqual([login?.device, login?.mailbox, login?.mechanism], ['reader', w.alice, 'USER']);
    assert.ok(w.dovecot.logins(w.alice).some((l) => l.includes('pop3-login') && /method=XOAUTH2/.test(l)));
  });

  test('TLS 1.0 on a legacy listener with STLS; the mailbox address as the user', { timeout: 180_000 }, async () => {
    const legacy = await startProxy(w, { protocol: 'pop3', tls: 'starttls', minVersion: 'TLSv1', name: 'pop3-legacy' });
    proxies.push(legacy);
    const r = await session(legacy.port, '1.0', 'starttls', w.alice);
    assert.equal(r.version, 'TLSv1');
    assert.deepEqual(r.capa_plain, ['AUTH-RESP-CODE', 'CAPA', 'RESP-CODES', 'STLS'], 'no USER or SASL before TLS');
    assert.deepEqual(r.capa, ['AUTH-RESP-CODE', 'CAPA', 'RESP-CODES', 'SASL', 'USER'], 'no STLS after it');
  });

  test('AUTH PLAIN with a continuation, and with an initial response naming the mailbox', { timeout: 60_000 }, async () => {
    const proxy = await startProxy(w, { protocol: 'pop3', tls: 'implicit', name: 'pop3s-auth' });
    proxies.push(proxy);
    for (const [how, authzid] of [['continuation', ''], ['initial', w.alice]] as const) {
      const c = await openWire(proxy.port, { tls: true, ca: w.certPem });
      assert.equal(await c.line(), '+OK authrelay POP3 proxy ready.');
      const b64 = Buffer.from(`${authzid}\0reader\0${PASSWORD}`).toString('base64');
      if (how === 'continuation') {
        c.send('AUTH PLAIN\r\n');
        assert.equal(await c.line(), '+ ');
        c.send(`${b64}\r\n`);
      } else {
        c.send(`AUTH PLAIN ${b64}\r\n`);
      }
      assert.equal(await c.line(), '+OK Logged in.');
      c.send('STAT\r\n');
      assert.match(await c.line(), /^\+OK \d+ \d+$/);
      c.send('QUIT\r\n');
      assert.match(await c.line(), /^\+OK/);
      await c.closed();
    }
  });

  test('STLS drops what the client sent after it; a login without TLS is refused', { timeout: 30_000 }, async () => {
    const proxy = await startProxy(w, { protocol: 'pop3', tls: 'starttls', name: 'pop3-stls' });
    proxies.push(proxy);
    const c = await openWire(proxy.port);
    await c.line();
    c.send('USER reader\r\n');
    assert.match(await c.line(), /^-ERR \[AUTH\] Plaintext authentication is not allowed/);
    c.send('STLS\r\nUSER reader\r\n');
    assert.equal(await c.line(), '+OK Begin TLS negotiation now.');
    const tls = wrap(await new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: c.socket, ca: w.certPem, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    }));
    tls.send(`PASS ${PASSWORD}\r\n`);
    assert.equal(await tls.line(), '-ERR No user name given (send USER first).', 'the injected USER was dropped');
    tls.send('QUIT\r\n');
    await tls.closed();
  });
});
