/**
 * PROXY protocol on real listeners, with real clients (nodemailer, swaks, raw
 * sockets) behind a small TCP load balancer that sends the header. The client
 * address in the header is the session's address for everything: the device
 * whose network contains it is recognised (loopback, where the balancer
 * connects from, is a different device), the trail and the device inventory
 * show it, lockouts are kept per header address. Plain, STARTTLS and implicit
 * TLS listeners (the header before the TLS handshake, in the same segment as
 * the ClientHello). An address that is not a trusted proxy is refused even
 * with a valid header; garbage, a late header and no header close the
 * connection; a listener without proxyProtocol is unaffected.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import nodemailer from 'nodemailer';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { startProxyLb, type ProxyLb } from '../helpers/proxy-lb.js';
import { SmtpWire, readAll } from '../helpers/smtp-wire.js';
import { swaks } from '../helpers/tools.js';
import { validateConfig, ConfigError } from '../../src/config/load.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
// v2, PROXY, TCP4: 198.51.100.7:40000 -> 10.0.0.1:25.
const V2_MFP = hex(`0d0a0d0a000d0a515549540a 21 11 000c c6336407 0a000001 9c40 0019`);
// v2, PROXY, TCP6: [2001:db8::1]:4321 -> [2001:db8::25]:465, with an ALPN and an AWS VPC endpoint TLV.
const V2_V6 = hex(`0d0a0d0a000d0a515549540a 21 21 0045
  20010db8000000000000000000000001 20010db8000000000000000000000025 10e1 01d1
  01 0004 736d7470
  ea 0017 01 767063652d3031323334353637383961626364656630`);
// v2, LOCAL: the balancer's own connection (a health check).
const V2_LOCAL = hex(`0d0a0d0a000d0a515549540a 20 00 0000`);
const v1 = (src: string) => Buffer.from(`PROXY TCP4 ${src} 10.0.0.1 40000 25\r\n`, 'latin1');

async function send(port: number, opts: { secure?: boolean; requireTLS?: boolean; subject?: string } = {}): Promise<string> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1', port, secure: opts.secure ?? false, requireTLS: opts.requireTLS ?? false, tls: { rejectUnauthorized: false },
  });
  try {
    const info = await t.sendMail({ from: 'scanner@contoso.com', to: 'alice@contoso.com', subject: opts.subject ?? 'through the balancer', text: 'scan' });
    return queueIdOf(info.response);
  } finally {
    t.close();
  }
}

describe('PROXY protocol listeners', () => {
  let relay: TestRelay;
  const lbs: ProxyLb[] = [];
  const lb = async (listener: string, header: Buffer, withFirstBytes = false) => {
    const b = await startProxyLb({ target: relay.port(listener), header, withFirstBytes });
    lbs.push(b);
    return b.port;
  };
  const refusals = (reason: string) => relay.logs.filter((l) => l.event === 'proxy-refused' && l.reason === reason);

  before(async () => {
    const trusted = { proxyProtocol: true, trustedProxies: ['127.0.0.1/32'] };
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [
        { name: 'lb-plain', host: '127.0.0.1', port: 0, tls: 'none', allowInsecureAuth: true, proxyHeaderTimeout: '600ms', ...trusted },
        { name: 'lb-starttls', host: '127.0.0.1', port: 0, tls: 'starttls', ...trusted },
        { name: 'lb-implicit', host: '127.0.0.1', port: 0, tls: 'implicit', ...trusted },
        { name: 'direct', host: '127.0.0.1', port: 0, tls: 'none' },
      ],
      devices: [
        { name: 'mfp', networks: ['198.51.100.7/32'], allowedFrom: ['*'] },
        { name: 'v6printer', networks: ['2001:db8::/32'], allowedFrom: ['*'] },
        { name: 'balancer-host', networks: ['127.0.0.1/32'], allowedFrom: ['*'] },
      ],
      security: { authFailureLimit: 2, authFailureDelay: '10ms' },
    });
  });
  after(async () => {
    for (const b of lbs) await b.close();
    await relay.close();
  });

  test('v1 on a plain listener: the device of the header address is recognised; trail, inventory and Received show that address', async () => {
    const id = await send(await lb('lb-plain', v1('198.51.100.7')));
    const m = await relay.waitFor(id, ['held']);
    assert.equal(m.origin.device, 'mfp');
    assert.equal(m.origin.clientIp, '198.51.100.7');
    assert.equal(m.origin.listener, 'lb-plain');
    const received = (await relay.store.trail(id)).find((e) => e.kind === 'received');
    assert.ok((received?.data?.notes as string[]).includes('client address 198.51.100.7 from the PROXY protocol header of load balancer 127.0.0.1'), JSON.stringify(received));
    const seen = (await relay.store.devicesSeen()).find((d) => d.device === 'mfp');
    assert.deepEqual([seen?.clientIp, seen?.listener], ['198.51.100.7', 'lb-plain']);
    const body = (await readAll(relay.store.openBody(m.bodyId))).toString('latin1');
    assert.match(body, /^Received: from \S+ \(\[198\.51\.100\.7\]\)/);
    assert.ok(relay.logs.some((l) => l.event === 'state' && l.id === id && l.clientIp === '198.51.100.7'));
  });

  test('v2 (binary) on a STARTTLS listener, sent with swaks: the header address is used inside TLS too', async () => {
    const r = await swaks(await lb('lb-starttls', V2_MFP), ['--to', 'alice@contoso.com', '--from', 'scanner@contoso.com', '--tls', '--header', 'Subject: v2 starttls']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id = queueIdOf(r.stdout);
    const m = await relay.waitFor(id, ['held']);
    assert.deepEqual([m.origin.device, m.origin.clientIp, m.origin.listener], ['mfp', '198.51.100.7', 'lb-starttls']);
    assert.match(m.origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
  });

  test('v2 IPv6 with TLVs on an implicit TLS listener, the header in the same segment as the ClientHello', async () => {
    const id = await send(await lb('lb-implicit', V2_V6, true), { secure: true });
    const m = await relay.waitFor(id, ['held']);
    assert.deepEqual([m.origin.device, m.origin.clientIp, m.origin.listener], ['v6printer', '2001:db8::1', 'lb-implicit']);
    assert.match(m.origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
  });

  test('LOCAL (the balancer\'s own health check) and v1 UNKNOWN: the session is the balancer\'s own address', async () => {
    for (const header of [V2_LOCAL, Buffer.from('PROXY UNKNOWN\r\n')]) {
      const id = await send(await lb('lb-plain', header));
      const m = await relay.waitFor(id, ['held']);
      assert.deepEqual([m.origin.device, m.origin.clientIp], ['balancer-host', '127.0.0.1']);
      const received = (await relay.store.trail(id)).find((e) => e.kind === 'received');
      assert.ok(!JSON.stringify(received).includes('PROXY protocol'), 'no proxy note when the header carries no address');
    }
  });

  test('a source that is not a trusted proxy is refused before anything is read, even with a valid header', async () => {
    const before_ = refusals('untrusted').length;
    const w = await SmtpWire.open(relay.port('lb-plain'), { localAddress: '127.0.0.2', noGreeting: true });
    w.write(v1('198.51.100.7'));
    await w.waitClosed();
    assert.equal(w.pending, '', 'not a byte was sent to it');
    const refused = refusals('untrusted').slice(before_);
    assert.equal(refused.length, 1);
    assert.deepEqual([refused[0]!.peer, refused[0]!.listener, refused[0]!.level], ['127.0.0.2', 'lb-plain', 'warn']);
    // The same through a balancer connecting from the untrusted address: nodemailer's connection is closed, nothing stored.
    const via = await startProxyLb({ target: relay.port('lb-plain'), header: v1('198.51.100.7'), localAddress: '127.0.0.2' });
    lbs.push(via);
    await assert.rejects(send(via.port));
  });

  test('garbage instead of a header is refused at once; no header at all is closed after proxyHeaderTimeout', async () => {
    const w = await SmtpWire.open(relay.port('lb-plain'), { noGreeting: true });
    w.write('EHLO spoof.example\r\n');
    await w.waitClosed(2_000);
    assert.equal(w.pending, '');
    assert.match(String(refusals('invalid').at(-1)?.detail), /did not start with a PROXY protocol header/);

    const started = Date.now();
    const silent = await SmtpWire.open(relay.port('lb-plain'), { noGreeting: true });
    await silent.waitClosed(5_000);
    const waited = Date.now() - started;
    assert.ok(waited >= 500 && waited < 3_000, `closed after ${waited} ms`);
    assert.equal(silent.pending, '', 'no greeting without a header');
    assert.match(String(refusals('timeout').at(-1)?.detail), /no complete PROXY header within 600 ms/);

    // A v2 header with an undefined family byte.
    const bad = Buffer.from(V2_MFP);
    bad[13] = 0x41;
    const w2 = await SmtpWire.open(relay.port('lb-plain'), { noGreeting: true });
    w2.write(bad);
    await w2.waitClosed(2_000);
    assert.equal(w2.pending, '');
  });

  test('lockout goes by the header address: one client locked out, another behind the same balancer still served', async () => {
    const attacker = await lb('lb-plain', v1('203.0.113.9'));
    const w = await SmtpWire.open(attacker);
    await w.cmd('EHLO attacker');
    const plain = Buffer.from('\0nobody\0wrong').toString('base64');
    assert.equal((await w.cmd(`AUTH PLAIN ${plain}`)).code, 535);
    assert.equal((await w.cmd(`AUTH PLAIN ${plain}`)).code, 421);
    const again = await SmtpWire.open(attacker);
    assert.equal(again.greeting?.code, 421, again.greeting?.raw);
    assert.ok(relay.logs.some((l) => l.event === 'connection-refused' && l.clientIp === '203.0.113.9'));
    const other = await SmtpWire.open(await lb('lb-plain', v1('198.51.100.7')));
    assert.equal(other.greeting?.code, 220);
    other.close();
    const id = await send(await lb('lb-plain', v1('198.51.100.7')));
    assert.equal((await relay.waitFor(id, ['held'])).origin.device, 'mfp');
  });

  test('a listener without proxyProtocol is unaffected: socket address, and a PROXY line is just an unknown command', async () => {
    const id = await send(relay.port('direct'));
    const m = await relay.waitFor(id, ['held']);
    assert.deepEqual([m.origin.device, m.origin.clientIp], ['balancer-host', '127.0.0.1']);
    const w = await SmtpWire.open(relay.port('direct'));
    try {
      assert.equal(w.greeting?.code, 220);
      const r = await w.cmd('PROXY TCP4 198.51.100.7 10.0.0.1 40000 25');
      assert.equal(r.code, 500, r.raw);
      assert.equal((await w.cmd('EHLO x')).code, 250);
      assert.equal((await w.cmd('MAIL FROM:<scanner@contoso.com>')).code, 250, 'still the loopback device, not 198.51.100.7');
    } finally {
      w.close();
    }
  });
});

test('config: proxyProtocol needs trustedProxies, each an address or network; trustedProxies needs proxyProtocol', () => {
  const check = (listener: Record<string, unknown>) => {
    try {
      validateConfig({ listeners: [{ port: 2525, ...listener }] }, { env: {} }, tmpdir());
      return '';
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
  };
  assert.match(check({ proxyProtocol: true }), /listeners\[0\]\.trustedProxies: required with proxyProtocol: true; list the load balancer addresses, e.g. trustedProxies: \[10\.0\.0\.5\/32\]/);
  assert.match(check({ proxyProtocol: true, trustedProxies: ['10.0.0.5/32', 'lb.example'] }), /listeners\[0\]\.trustedProxies\[1\]: "lb\.example" is not an address or CIDR network/);
  assert.match(check({ trustedProxies: ['10.0.0.5'] }), /listeners\[0\]\.trustedProxies: only used with proxyProtocol: true/);
  assert.match(check({ proxyProtocol: true, trustedProxies: ['10.0.0.5'], proxyHeaderTimeout: 'soon' }), /listeners\[0\]\.proxyHeaderTimeout: "soon" is not a duration/);
  assert.equal(check({ proxyProtocol: true, trustedProxies: ['10.0.0.5', 'fd00::/64'] }), '');
});
