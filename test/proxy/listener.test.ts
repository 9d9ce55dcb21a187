/**
 * The proxy listener's mechanics against Dovecot: an upstream that cannot
 * be reached (closed port, untrusted certificate) or a token Entra refuses
 * gives the client a clean temporary refusal and the log the reason; the
 * per-line deadline; the client limit; the PROXY protocol (client address
 * from the header, untrusted peers refused); and the graceful drain.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseCidr } from '../../src/core/net.js';
import { AppTokenProvider } from '../../src/identity/entra/app-token-provider.js';
import type { ProxyListener } from '../../src/proxy/listener.js';
import type { ProxyTelemetry } from '../../src/proxy/common/types.js';
import { smtpOauthConfig } from '../identity/entra-fixtures.js';
import { freePort } from '../helpers/tools.js';
import { events, PASSWORD, smallMessage, startProxy, startWorld, type World } from './fixture.js';
import { openWire, wrap, type Wire } from './wire.js';

describe('proxy listener', () => {
  let w: World;
  const proxies: ProxyListener[] = [];
  before(async () => {
    w = await startWorld();
    w.dovecot.deliver(w.alice, smallMessage('hello'));
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
  const tlsWire = async (port: number): Promise<Wire> => {
    const c = await openWire(port, { tls: true, ca: w.certPem });
    await c.line();
    return c;
  };

  test('upstream unreachable, certificate untrusted, token refused: a clean temporary refusal, the reason in the log', { timeout: 60_000 }, async () => {
    const closed = await proxy(w, { protocol: 'imap', tls: 'implicit', name: 'closed-port', upstream: { port: await freePort() } });
    const c = await tlsWire(closed.port);
    c.send(`a LOGIN reader "${PASSWORD}"\r\n`);
    assert.equal(await c.line(), 'a NO [UNAVAILABLE] The relay cannot log in to the mail server right now; try again later.');
    let e = events(w, 'proxy-upstream-failed').at(-1);
    assert.deepEqual([e?.kind, e?.stage], ['unreachable', 'connect']);
    assert.match(String(e?.upstreamText), /ECONNREFUSED/);
    c.destroy();

    const untrusted = await proxy(w, { protocol: 'pop3', tls: 'implicit', name: 'untrusted-ca', upstream: { ca: undefined } });
    const p = await tlsWire(untrusted.port);
    p.send(`USER reader\r\nPASS ${PASSWORD}\r\n`);
    await p.line();
    assert.match(await p.line(), /^-ERR \[SYS\/TEMP\] /);
    e = events(w, 'proxy-upstream-failed').at(-1);
    assert.equal(e?.kind, 'unreachable');
    assert.match(String(e?.upstreamText), /self.signed|certificate/i);
    p.destroy();

    const badSecret = new AppTokenProvider(smtpOauthConfig(w.emu, { tenant: w.tenant.id, clientId: w.app.clientId, clientSecret: 'not-the-secret' }), 'smtp', w.log);
    const noToken = await proxy(w, { protocol: 'imap', tls: 'implicit', name: 'bad-secret', tokens: badSecret });
    const t = await tlsWire(noToken.port);
    t.send(`a LOGIN reader "${PASSWORD}"\r\n`);
    assert.match(await t.line(), /^a NO \[UNAVAILABLE\] /);
    e = events(w, 'proxy-upstream-failed').at(-1);
    assert.equal(e?.kind, 'token-failed');
    assert.match(String(e?.msg), /7000215/);
    assert.ok(!JSON.stringify(w.lines).includes('not-the-secret') && !JSON.stringify(w.lines).includes(w.secret), 'no secret in the log');
    t.destroy();
  });

  test('a command line trickled in past the per-line deadline ends the session', { timeout: 30_000 }, async () => {
    const slow = await proxy(w, { protocol: 'imap', tls: 'implicit', name: 'slow', lineTimeoutMs: 500 });
    const c = await tlsWire(slow.port);
    const started = Date.now();
    const drip = setInterval(() => c.send('x'), 100);
    try {
      assert.equal(await c.line(5_000), '* BYE A command line took too long to arrive.');
      await c.closed();
    } finally {
      clearInterval(drip);
    }
    assert.ok(Date.now() - started < 3_000, 'the bytes arriving did not extend the deadline');
  });

  test('over maxClients a connection is told so and closed', { timeout: 30_000 }, async () => {
    const small = await proxy(w, { protocol: 'imap', tls: 'starttls', name: 'one-client', maxClients: 1 });
    const first = await openWire(small.port);
    assert.match(await first.line(), /^\* OK /);
    const second = await openWire(small.port);
    assert.equal(await second.line(), '* BYE [UNAVAILABLE] Too many connections; try again later.');
    await second.closed();
    first.destroy();
  });

  test('PROXY protocol: the client address comes from the header; peers that are not trusted are refused', { timeout: 30_000 }, async () => {
    const lb = await proxy(w, {
      protocol: 'imap', tls: 'implicit', name: 'behind-lb',
      proxyProtocol: { trusted: [parseCidr('127.0.0.1/32')!], headerTimeoutMs: 2_000 },
    });
    const raw = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port: lb.port }, () => resolve(s));
      s.once('error', reject);
    });
    raw.write('PROXY TCP4 10.9.8.7 127.0.0.1 40000 993\r\n');
    const c = wrap(await new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: raw, ca: w.certPem, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    }));
    assert.match(await c.line(), /^\* OK /);
    c.send(`a LOGIN reader "${PASSWORD}"\r\nb LOGOUT\r\n`);
    assert.match((await c.until(/^a /)).at(-1)!, /^a OK/);
    await c.until(/^b /);
    const login = events(w, 'proxy-login').at(-1);
    assert.deepEqual([login?.clientIp, login?.proxiedBy], ['10.9.8.7', '127.0.0.1']);
    const untrusted = await openWire(lb.port, { localAddress: '127.0.0.2' });
    await untrusted.closed();
    assert.equal(events(w, 'proxy-refused').at(-1)?.peer, '127.0.0.2');
  });

  test('a socket accepted by another server is served as one accepted on the port', { timeout: 30_000 }, async () => {
    const p = await proxy(w, { protocol: 'pop3', tls: 'implicit', name: 'handed-over' });
    const front = createServer((socket) => p.accept(socket));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    try {
      const c = await openWire((front.address() as { port: number }).port, { tls: true, ca: w.certPem });
      assert.equal(await c.line(), '+OK authrelay POP3 proxy ready.');
      c.send(`USER reader\r\nPASS ${PASSWORD}\r\nQUIT\r\n`);
      assert.deepEqual([await c.line(), await c.line()], ['+OK', '+OK Logged in.']);
      assert.match(await c.line(), /^\+OK/, 'QUIT answered by Dovecot');
      await c.closed();
    } finally {
      front.close();
    }
  });

  test('drain: a session before login gets BYE at once; a logged-in one runs until the deadline, then is cut', { timeout: 30_000 }, async () => {
    const told: string[] = [];
    const telemetry: ProxyTelemetry = {
      connected: (l, p) => told.push(`connected ${l} ${p}`),
      tlsEstablished: (l, v) => told.push(`tls ${l} ${v}`),
      loggedIn: (l, p, d) => told.push(`login ${l} ${p} ${d}`),
      sessionEnded: (l, p, b) => told.push(`ended ${l} ${p} ${b.toClient > 0 && b.toUpstream > 0}`),
    };
    const p = await startProxy(w, { protocol: 'imap', tls: 'implicit', name: 'draining', telemetry });
    const idle = await tlsWire(p.port);
    const busy = await tlsWire(p.port);
    busy.send(`a LOGIN reader "${PASSWORD}"\r\nb SELECT INBOX\r\n`);
    await busy.until(/^b /);
    const draining = p.drain(Date.now() + 1_500);
    assert.equal(await idle.line(), '* BYE [UNAVAILABLE] Server shutting down.');
    await idle.closed();
    busy.send('c NOOP\r\n');
    assert.match((await busy.until(/^c /)).at(-1)!, /^c OK/, 'the piped session still works before the deadline');
    assert.deepEqual(await draining, { sessions: 2, cutOff: 1 });
    await busy.closed();
    await assert.rejects(openWire(p.port), /ECONNREFUSED/);
    assert.deepEqual(told.filter((t) => !t.startsWith('tls')), ['connected draining imap', 'connected draining imap', 'login draining imap reader', 'ended draining imap true']);
    assert.deepEqual(told.filter((t) => t.startsWith('tls')), ['tls draining TLSv1.3', 'tls draining TLSv1.3']);
  });
});
