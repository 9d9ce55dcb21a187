/**
 * The direct-send transport against the Microsoft 365 emulator's port-25
 * lookalike, with the MX record served by a real DNS server on loopback:
 * the shared transport contract, then what only Direct Send has: the MX
 * lookup (and its cache), recipients outside the accepted domains refused
 * before any connection, STARTTLS with the certificate checked against the
 * MX host name, RejectDirectSend explained, and the start-up warnings.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { directSendUpstreamSchema, type DirectSendUpstreamConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/core/log.js';
import { DirectSendTransport } from '../../src/deliver/direct-send/direct-send.js';
import { directSendWarnings } from '../../src/deliver/direct-send/warnings.js';
import type { Emulator, EmulatorTenant } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { emulatorSmtpHooks } from '../helpers/emulator-smtp-hooks.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { outbound, transportContract, type TransportFixture } from '../contract/transport-contract.js';

let emu: Emulator;
let dns: TestDnsServer;
let tenant: EmulatorTenant;
const DOMAINS = ['contoso.com', 'fabrikam.com', 'northwind.example.com'];

before(async () => {
  emu = await startEmulator();
  dns = await startDnsServer();
  tenant = emu.addTenant({ domains: ['contoso.onmicrosoft.com', ...DOMAINS] });
  const people = ['scanner', 'alice', 'bob', 'Bob.Smith', 'nobody', 'busy', 'gone', 'full', ...Array.from({ length: 8 }, (_, i) => `user${i}`)];
  for (const local of people) emu.addMailbox(tenant.id, { address: `${local}@contoso.com` });
  emu.addMailbox(tenant.id, { address: 'carol+scans@fabrikam.com' });
  emu.addMailbox(tenant.id, { address: 'dave@fabrikam.com' });
  emu.addMailbox(tenant.id, { address: 'Erin@northwind.example.com' });
  // The emulator's certificate names localhost: the MX host of these tests.
  dns.set('contoso.com', { MX: [{ preference: 10, exchange: 'backup.contoso.com' }, { preference: 0, exchange: 'localhost' }], TXT: ['v=spf1 include:spf.protection.outlook.com -all'] });
  dns.set('localhost', { A: ['127.0.0.1'], ttl: 120 });
  dns.set('backup.contoso.com', { A: ['192.0.2.1'] });
});

after(async () => {
  await dns?.close();
  await emu?.close();
});

function lines() {
  const got: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { got.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  return { got, log: createLogger('info', sink) };
}

function config(extra: Record<string, unknown> = {}): DirectSendUpstreamConfig {
  return directSendUpstreamSchema.parse({
    type: 'direct-send', domain: 'contoso.com', acceptedDomains: DOMAINS, dnsServers: [dns.address], port: emu.directSendPort,
    ca: emu.caFile, connectTimeout: '5s', timeout: '30s', ...extra,
  });
}

const ctx = () => ({ signal: new AbortController().signal });

async function fixture(): Promise<TransportFixture> {
  emu.clearFaults();
  const since = emu.sent().length;
  const proxy: TcpProxy = await startTcpProxy(emu.directSendPort);
  const t = new DirectSendTransport('direct', config({ port: proxy.port, concurrency: 2 }), { log: createLogger('silent') });
  return {
    transport: t,
    upstream: emulatorSmtpHooks(emu, proxy, {
      via: 'direct-send', since,
      // Replies Exchange Online gives to one RCPT: 550 5.4.1 (no such recipient in the tenant), and
      // 452 4.5.3 (this recipient is over the limit per message: send it in a later transaction).
      // Not 451 4.7.500: that one refuses the relay's IP, so the catalogue pauses the whole route.
      rcptReply: (_address, how) => (how === 'permanent' ? '550 5.4.1 Recipient address rejected: Access denied. AS(201806281)' : '452 4.5.3 Too many recipients (AS780090)'),
    }),
    close: async () => {
      await t.close();
      await proxy.close();
      emu.clearFaults();
    },
  };
}

transportContract('direct-send (Microsoft 365 emulator)', fixture);

describe('direct-send: anonymous delivery to the tenant MX host', () => {
  test('the MX is looked up through the configured DNS server (lowest preference) and cached; STARTTLS is used', async () => {
    const t = new DirectSendTransport('direct', config(), { log: createLogger('silent') });
    const since = emu.sent().length;
    const mxQueries = () => dns.queries.filter((q) => q.name === 'contoso.com' && q.type === 'MX').length;
    const before = mxQueries();
    const steps: { step: string; detail?: Record<string, unknown> }[] = [];
    try {
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com'] }), {
        signal: new AbortController().signal, trace: (step, detail) => steps.push({ step, ...(detail ? { detail } : {}) }),
      });
      assert.equal(out[0]!.outcome.action, 'delivered', JSON.stringify(out));
      await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['bob@contoso.com'] }), ctx());
      assert.equal(mxQueries() - before, 1, 'the second message used the cached MX');
      assert.equal(t.lookups, 1);
      const mx = steps.find((s) => s.step === 'mx')!.detail!;
      assert.equal(mx.host, 'localhost', 'the lowest preference wins');
      assert.equal(mx.address, '127.0.0.1');
      assert.match(String(steps.find((s) => s.step === 'tls')!.detail!.version), /^TLSv1\.[23]$/);
      const got = emu.sent().slice(since);
      assert.equal(got.length, 2);
      assert.equal(got[0]!.via, 'direct-send');
      assert.equal(got[0]!.mailbox, undefined, 'no AUTH');
      assert.equal(emu.requests().filter((r) => r.service === 'smtp' && /AUTH/i.test(r.method)).length, 0);
    } finally {
      await t.close();
    }
  });

  test('recipients outside the accepted domains fail before any connection, with the fix', async () => {
    const proxy = await startTcpProxy(emu.directSendPort);
    const t = new DirectSendTransport('direct', config({ acceptedDomains: undefined, port: proxy.port }), { log: createLogger('silent') });
    const queriesBefore = dns.queries.length;
    try {
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['someone@gmail.example', 'x@sub.contoso.com'] }), ctx());
      for (const { outcome } of out) {
        assert.equal(outcome.action, 'fail');
        assert.equal(outcome.category, 'not-internal');
        assert.match(outcome.hint ?? '', /only to mailboxes in your own Microsoft 365 domains/);
        assert.match(outcome.fix ?? '', /recipientDomain/);
      }
      assert.equal(proxy.connections, 0, 'no connection was made');
      assert.equal(dns.queries.length, queriesBefore, 'not even a DNS lookup');
      const mixed = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com', 'someone@gmail.example'] }), ctx());
      assert.deepEqual(mixed.map((o) => [o.recipient, o.outcome.action]), [['alice@contoso.com', 'delivered'], ['someone@gmail.example', 'fail']]);
      const last = emu.sent().at(-1)!;
      assert.deepEqual(last.envelope?.to, ['alice@contoso.com'], 'only the internal recipient reached Microsoft');
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  test('the certificate is checked against the MX host name: a host the certificate does not name is refused', async () => {
    dns.set('wrong.example', { MX: [{ preference: 0, exchange: 'mx.wrong.example' }] });
    dns.set('mx.wrong.example', { A: ['127.0.0.1'] });
    const t = new DirectSendTransport('direct', config({ domain: 'wrong.example', acceptedDomains: ['contoso.com'] }), { log: createLogger('silent') });
    const since = emu.sent().length;
    try {
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com'] }), ctx());
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.scope, 'destination');
      assert.equal(out[0]!.outcome.category, 'tls');
      assert.equal(emu.sent().length, since, 'nothing went over an unverified connection');
    } finally {
      await t.close();
    }
  });

  test('an unknown domain: retry with scope destination and category dns', async () => {
    const t = new DirectSendTransport('direct', config({ domain: 'no-such-domain.example', acceptedDomains: ['contoso.com'] }), { log: createLogger('silent') });
    try {
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com'] }), ctx());
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.scope, 'destination');
      assert.equal(out[0]!.outcome.category, 'dns');
      assert.match(out[0]!.outcome.response ?? '', /ENOTFOUND/);
    } finally {
      await t.close();
    }
  });

  test('shutdown during an MX lookup that gets no answer: interrupted at once, not after the DNS timeout', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const t = new DirectSendTransport('direct', config({ dnsServers: [`127.0.0.1:${silent.address().port}`] }), { log: createLogger('silent') });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const started = Date.now();
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com'] }), { signal: ac.signal });
      assert.ok(Date.now() - started < 2_000, `returned ${Date.now() - started} ms after the start`);
      assert.equal(out[0]!.outcome.action, 'retry');
      assert.equal(out[0]!.outcome.category, 'interrupted');
    } finally {
      await t.close();
      silent.close();
    }
  });

  test('a tenant with RejectDirectSend: 550 5.7.68 fails the message at once with the catalogue fix (connector or RejectDirectSend $false)', async () => {
    const t = new DirectSendTransport('direct', config(), { log: createLogger('silent') });
    const setting = tenant as EmulatorTenant & { rejectDirectSend?: boolean };
    setting.rejectDirectSend = true;
    try {
      const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['alice@contoso.com', 'bob@contoso.com'] }), ctx());
      for (const { outcome } of out) {
        assert.match(outcome.response ?? '', /^550 5\.7\.68 TenantInboundAttribution/);
        assert.equal(outcome.ref, 'smtp.5.7.68.RejectDirectSend');
        assert.equal(outcome.action, 'fail');
        assert.equal(outcome.scope, 'message');
        assert.match(outcome.fix ?? '', /connector/i);
        assert.match(outcome.fix ?? '', /RejectDirectSend \$false/);
      }
    } finally {
      setting.rejectDirectSend = false;
      await t.close();
    }
  });

  test('the SPF and RejectDirectSend warnings are logged at start and exported for doctor', () => {
    const { got, log } = lines();
    const cfg = config({ mx: 'relay.contoso.com:25' });
    new DirectSendTransport('direct', cfg, { log });
    const warnings = directSendWarnings(cfg);
    assert.ok(warnings.some((w) => /v=spf1 ip4:<your public IP> include:spf\.protection\.outlook\.com -all/.test(w)));
    assert.ok(warnings.some((w) => /550 5\.7\.68/.test(w) && /RejectDirectSend/.test(w)));
    assert.ok(warnings.some((w) => /spam-filter/.test(w)));
    assert.ok(warnings.some((w) => /not a \*\.mail\.protection\.outlook\.com host/.test(w)), 'a custom mx is flagged');
    const logged = got.map((l) => JSON.parse(l) as { level: string; msg: string });
    for (const w of warnings) assert.ok(logged.some((l) => l.level === 'warn' && l.msg === w), `logged: ${w}`);
  });
});
