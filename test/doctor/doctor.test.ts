/**
 * `authrelay doctor` against the Microsoft 365 emulator and a local DNS
 * server: a working Graph + SMTP OAuth setup passes (real binary, exit 0);
 * a missing permission, an expired client secret, an SPF record without the
 * public IP, an unreachable host and a failed message in the queue each fail
 * with the fix; listeners in use are told apart (a relay or not).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { explainEntra } from '../../src/deliver/microsoft/catalogue.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import type { Check } from '../../src/doctor/report.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { sharedCertificate } from '../helpers/cert.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { contoso, deviceSend, directSendUpstream, graphUpstream, smtpOauthUpstream } from '../helpers/m365.js';
import { cli, tempDir, writeConfig } from '../helpers/relay-process.js';
import { startTestRelay } from '../helpers/relay.js';

let emu: Emulator;
let dns: TestDnsServer;
const dirs: string[] = [];

before(async () => {
  emu = await startEmulator();
  dns = await startDnsServer();
});
after(async () => {
  await emu.close();
  await dns.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function baseConfig(upstreams: Record<string, unknown>, extra: Partial<ConfigInput> = {}): Promise<{ input: ConfigInput; dir: string }> {
  const dir = tempDir('authrelay-doctor-');
  dirs.push(dir);
  const cert = await sharedCertificate();
  return {
    dir,
    input: {
      hostname: 'relay.test', dataDir: join(dir, 'data'), tls: cert,
      listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' }],
      upstreams: upstreams as ConfigInput['upstreams'], ...extra,
    },
  };
}

async function doctor(input: ConfigInput, dir: string, publicIp?: string): Promise<Check[]> {
  const config = validateConfig(input, { env: process.env }, dir);
  return (await runDoctor(config, { publicIp, timeoutMs: 10_000 })).checks;
}

function find(checks: Check[], id: string): Check {
  const c = checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in:\n${checks.map((x) => `${x.id} ${x.status} ${x.title.en}`).join('\n')}`);
  return c;
}

const problems = (checks: Check[]) => checks.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => `${c.id}: ${c.title.en} | ${c.detail.en} | ${c.fix.en}`);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a working Graph and SMTP OAuth setup passes, with the real binary', { timeout: 120_000 }, async () => {
  const c = contoso(emu);
  const { input, dir } = await baseConfig({ m365: graphUpstream(emu, c), mailer: smtpOauthUpstream(emu, c) });
  const file = writeConfig(dir, JSON.stringify(input));
  const r = await cli(['doctor', '--json', '--config', file]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const { checks, summary } = JSON.parse(r.stdout) as { checks: Check[]; summary: Record<string, number> };
  assert.deepEqual(problems(checks), []);
  assert.equal(summary.fail, 0);
  for (const id of ['config.valid', 'listener.main.bind', 'certificate.main', 'upstream.m365.sign-in.tls', 'upstream.m365.token', 'upstream.m365.mail-send',
    'upstream.m365.mail-readwrite', 'upstream.m365.mailbox', 'upstream.mailer.smtp.tls', 'upstream.mailer.token', 'upstream.mailer.smtp-permission',
    'upstream.mailer.smtp-auth', 'queue.exists']) {
    const chk = find(checks, id);
    assert.ok(chk.status === 'pass' || chk.status === 'info', `${id}: ${chk.status} ${chk.title.en}`);
    assert.deepEqual(Object.keys(chk).sort(), ['detail', 'fix', 'id', 'section', 'status', 'title']);
    for (const k of ['section', 'title', 'detail', 'fix'] as const) assert.deepEqual(Object.keys(chk[k]).sort(), ['en', 'ja'], `${id}.${k} carries both languages`);
  }
  assert.match(find(checks, 'upstream.m365.token').detail.en, /roles: Mail\.Send, Mail\.ReadWrite/);
  assert.match(find(checks, 'upstream.mailer.smtp-auth').title.en, new RegExp(`AUTH XOAUTH2 as ${c.scanner} accepted`));
  assert.deepEqual(find(checks, 'upstream.m365.mail-send').section, { en: 'Upstream m365 (graph)', ja: 'アップストリーム m365 (graph)' });
  // The probe read the Drafts folder and sent nothing.
  assert.ok(emu.requests().some((q) => q.method === 'GET' && decodeURIComponent(q.path).endsWith(`/users/${c.scanner}/mailFolders/drafts`) && q.status === 200));
  assert.equal(emu.sent().filter((m) => m.tenantId === c.tenant.id).length, 0);

  const text = await cli(['doctor', '--config', file]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Configuration\n {2}\[ok\] {3}configuration is valid/);
  assert.match(text.stdout, /\nUpstream mailer \(smtp-oauth\)\n/);
  assert.match(text.stdout, /\n\d+ passed, 0 warnings, 0 failed/);
  for (const out of [r.stdout, text.stdout]) {
    assert.ok(!out.includes(c.secret), 'the client secret must not be printed');
    assert.ok(!/eyJ[\w-]{20,}\./.test(out), 'no token may be printed');
  }
});

test('an app without Mail.Send fails with the permission to grant', { timeout: 60_000 }, async () => {
  const c = contoso(emu, { graphRoles: [] });
  const { input, dir } = await baseConfig({ m365: graphUpstream(emu, c) });
  const checks = await doctor(input, dir);
  const send = find(checks, 'upstream.m365.mail-send');
  assert.equal(send.status, 'fail');
  assert.match(send.fix.en, /Microsoft Graph → Application permissions → Mail\.Send → Grant admin consent/);
  assert.ok(send.fix.en.includes(c.app.clientId) && send.fix.en.includes(c.tenant.domains[0]!), send.fix.en);
  assert.equal(send.ref, 'graph.ErrorAccessDenied');
  assert.equal(find(checks, 'upstream.m365.mail-readwrite').status, 'warn');
  const probe = find(checks, 'upstream.m365.mailbox');
  assert.equal(probe.status, 'info');
  assert.match(probe.title.en, /skipped: needs Mail\.ReadWrite/);
});

test('an expired client secret fails with AADSTS7000222 and the fix', { timeout: 60_000 }, async () => {
  const c = contoso(emu);
  emu.app(c.app.clientId).secrets = [{ value: c.secret, expiresAt: Date.now() - 60_000 }];
  const { input, dir } = await baseConfig({ m365: graphUpstream(emu, c) });
  const checks = await doctor(input, dir);
  const token = find(checks, 'upstream.m365.token');
  assert.equal(token.status, 'fail');
  assert.match(token.title.en, /AADSTS7000222/);
  const expected = explainEntra({ aadsts: 7000222 }, { appId: c.app.clientId, tenant: c.tenant.domains[0]!, upstream: 'm365', mailbox: c.scanner });
  assert.ok(expected);
  assert.equal(token.fix.en, expected.fix);
  assert.equal(token.fix.ja, expected.ja?.fix || expected.fix);
  assert.match(token.fix.en, /secret/i);
  assert.match(token.detail.en, /entra\.AADSTS7000222/);
  assert.equal(token.ref, expected.ref);
  assert.ok(!checks.some((x) => x.id === 'upstream.m365.mail-send'), 'no permission verdict without a token');
});

test('an SPF record without the public IP fails with the corrected record; with it, it passes', { timeout: 60_000 }, async () => {
  const c = contoso(emu);
  const domain = c.tenant.domains[1]!;
  const mxHost = `${domain.replace(/\./g, '-')}.mail.protection.outlook.com`;
  dns.set(domain, { MX: [{ preference: 0, exchange: mxHost }], TXT: ['google-site-verification=abc', 'v=spf1 include:spf.protection.outlook.com -all'] });
  dns.set(mxHost, { A: ['127.0.0.1'] });
  dns.set('spf.protection.outlook.com', { TXT: ['v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip6:2a01:111:f400::/48 -all'] });
  const ds = directSendUpstream(emu, c, { dnsServers: [dns.address], port: emu.directSendPort }) as Record<string, unknown>;
  delete ds['mx'];
  const { input, dir } = await baseConfig({ direct: ds });

  const checks = await doctor(input, dir, '203.0.113.7');
  const mx = find(checks, 'upstream.direct.mx');
  assert.equal(mx.status, 'pass', mx.title.en);
  assert.equal(mx.title.en, `MX of ${domain}: ${mxHost} (127.0.0.1)`);
  assert.equal(mx.title.ja, `${domain} の MX: ${mxHost} (127.0.0.1)`);
  assert.equal(find(checks, 'upstream.direct.mx.tcp').status, 'pass');
  // The emulator's certificate is for localhost, not for the MX name: the name check works.
  assert.match(find(checks, 'upstream.direct.mx.tls').title.en, /not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  const spf = find(checks, 'upstream.direct.spf');
  assert.equal(spf.status, 'fail');
  assert.match(spf.title.en, /does not authorise 203\.0\.113\.7 \(fail\)/);
  assert.match(spf.detail.en, /decided by: -all \(in /);
  assert.ok(spf.fix.en.includes('"v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all"'), spf.fix.en);
  assert.ok(spf.fix.ja.includes('"v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all"'), spf.fix.ja);
  assert.equal(find(checks, 'upstream.direct.reject-direct-send').status, 'warn');
  assert.ok(dns.queries.some((q) => q.name === domain && q.type === 'TXT'), 'the SPF lookup went to the configured DNS server');

  dns.set(domain, { MX: [{ preference: 0, exchange: mxHost }], TXT: ['v=spf1 ip4:203.0.113.0/24 include:spf.protection.outlook.com -all'] });
  const again = find(await doctor(input, dir, '203.0.113.7'), 'upstream.direct.spf');
  assert.equal(again.status, 'pass', again.title.en);
  assert.match(again.detail.en, /decided by: ip4:203\.0\.113\.0\/24/);
  // Microsoft's own addresses pass through the include.
  const viaInclude = find(await doctor(input, dir, '40.107.3.4'), 'upstream.direct.spf');
  assert.equal(viaInclude.status, 'pass');
  assert.match(viaInclude.detail.en, /via ip4:40\.107\.0\.0\/16 \(in spf\.protection\.outlook\.com\)/);
  const noIp = find(await doctor(input, dir), 'upstream.direct.spf');
  assert.equal(noIp.status, 'info');
  assert.match(noIp.title.en, /--public-ip/);
});

test('an unreachable host fails with a fix, and the binary exits 1', { timeout: 60_000 }, async () => {
  const port = await closedPort();
  const { input, dir } = await baseConfig({ relay: { type: 'smtp', host: '127.0.0.1', port, tls: 'starttls' } });
  const file = writeConfig(dir, JSON.stringify(input));
  const r = await cli(['doctor', '--json', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  const { checks } = JSON.parse(r.stdout) as { checks: Check[] };
  const tcp = find(checks, 'upstream.relay.tcp');
  assert.equal(tcp.status, 'fail');
  assert.match(tcp.title.en, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  assert.match(tcp.fix.en, new RegExp(`Nothing accepts connections on 127\\.0\\.0\\.1:${port}: check the host and port`));
  assert.ok(!checks.some((x) => x.id === 'upstream.relay.tls'), 'no TLS check without a connection');

  const bad = writeConfig(dir, 'listeners: [{ port: 25, tls: sometimes }]\n', 'bad.yaml');
  const invalid = await cli(['doctor', '--config', bad]);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /\[FAIL\] the configuration is not valid; nothing else can be checked\n.*listeners\[0\]\.tls/s);
});

test('a failed message in the queue fails with retry advice; listeners in use are told apart', { timeout: 120_000 }, async () => {
  const c = contoso(emu, { graphRoles: [] });
  const { input, dir } = await baseConfig({ m365: graphUpstream(emu, c) }, { notices: { toSender: false } });
  const relay = await startTestRelay({ ...input, dataDir: undefined } as ConfigInput, { dataDir: join(dir, 'data') });
  try {
    const id = await deviceSend(relay, c.scanner, [c.alice], Buffer.from(`From: ${c.scanner}\r\nTo: ${c.alice}\r\nSubject: scan\r\n\r\nbody\r\n`));
    await relay.waitFor(id, ['failed'], 30_000);
  } finally {
    await relay.stop();
  }

  const smtpLike = await listenWith((s) => s.write('220 relay.test ESMTP authrelay\r\n'));
  const silent = await listenWith(() => undefined);
  try {
    const checks = await doctor({
      ...input,
      listeners: [
        { name: 'running', host: '127.0.0.1', port: smtpLike.port, tls: 'none' },
        { name: 'taken', host: '127.0.0.1', port: silent.port, tls: 'none' },
        { name: 'free', host: '127.0.0.1', port: await closedPort(), tls: 'none' },
      ],
    }, dir);
    const failed = find(checks, 'queue.failed');
    assert.equal(failed.status, 'fail');
    assert.match(failed.title.en, /^1 failed message waiting/);
    assert.match(failed.fix.en, /authrelay queue retry --failed/);
    assert.match(failed.detail.en, /1 × .*ErrorAccessDenied.*→ In Entra admin center → App registrations/);
    assert.equal(find(checks, 'queue.counts').title.en, 'queue: incoming 0, active 0, deferred 0, held 0, delivered 0, failed 1');
    assert.equal(find(checks, 'queue.counts').title.ja, 'キュー: 受信中 0 件、配送中 0 件、再試行待ち 0 件、保留 0 件、配送済み 0 件、失敗 1 件');

    const running = find(checks, 'listener.running.bind');
    assert.equal(running.status, 'pass');
    assert.match(running.title.en, /a relay is listening on 127\.0\.0\.1:\d+/);
    const taken = find(checks, 'listener.taken.bind');
    assert.equal(taken.status, 'fail');
    assert.match(taken.fix.en, /ss -ltnp/);
    assert.match(taken.fix.ja, /ss -ltnp/);
    assert.equal(find(checks, 'listener.free.bind').status, 'pass');
  } finally {
    smtpLike.server.close();
    silent.server.close();
  }
});

async function listenWith(onConnection: (s: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}
