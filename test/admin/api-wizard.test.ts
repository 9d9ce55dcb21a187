/**
 * /api/v1/wizard/* over real HTTP against a running relay and the Microsoft
 * 365 emulator (sign-in host, Graph URL and CA given as answers, as for a
 * private cloud): the steps for Graph filled in with the app and mailbox; a
 * live test with the right secret shows the token's roles with Mail.Send; a
 * wrong secret is explained (AADSTS7000215); the YAML validates with
 * validateConfig and holds no secret; Direct Send looks up the MX with the
 * DNS fixture; another SMTP relay is probed (what it offers, STARTTLS, the
 * certificate) and its tls proposed, and writing refuses tls: none without
 * consent and a config whose live test fails unless confirmed; missing
 * answers, no sign-in, a read-only token and a missing CSRF token are
 * refused; the audit log never holds the secret.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { call, setUpAndSignIn, type Auth } from './api-client.js';
import { startSmtpSink } from '../helpers/tools.js';

let emu: Emulator;
let dns: TestDnsServer;
let c: Contoso;
let relay: TestRelay;
let auth: Required<Pick<Auth, 'cookie' | 'csrf'>>;

before(async () => {
  emu = await startEmulator();
  dns = await startDnsServer({
    'contoso-wizard.test': { MX: [{ preference: 0, exchange: 'contoso-wizard-test.mail.protection.outlook.com' }] },
    'contoso-wizard-test.mail.protection.outlook.com': { A: ['127.0.0.1'] },
  });
  c = contoso(emu, { graphRoles: ['Mail.Send'] });
  relay = await startRelay();
  auth = await setUpAndSignIn(relay);
});

after(async () => {
  await relay?.close();
  await emu?.close();
  await dns?.close();
});

const graphAnswers = (secret?: string) => ({
  route: 'graph', tenant: c.tenant.domains[0]!, clientId: c.app.clientId, mailbox: c.scanner,
  endpoints: { authority: emu.authorityHost, graph: emu.graphUrl }, ca: emu.caFile,
  ...(secret !== undefined ? { clientSecret: secret } : {}),
});

test('steps for Graph: permissions, admin consent, New-ServicePrincipal and RBAC scoped to the mailbox', async () => {
  const r = await call(relay, 'POST', '/wizard/steps', { auth, body: graphAnswers() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const text = (r.json.steps as string[]).join('\n');
  assert.match(text, /Microsoft Graph → Application permissions → Mail\.Send/);
  assert.match(text, new RegExp(`Grant admin consent for ${c.tenant.domains[0]!.replace(/\./g, '\\.')}`));
  assert.match(text, new RegExp(`New-ServicePrincipal -AppId ${c.app.clientId}`));
  assert.match(text, new RegExp(`New-ManagementRoleAssignment -App ${c.app.clientId} -Role "Application Mail\\.Send" -CustomResourceScope`));
  assert.ok(text.includes(`PrimarySmtpAddress -eq '${c.scanner}'`));
  assert.deepEqual(r.json.permissions.required, ['Mail.Send']);

  const smtp = await call(relay, 'POST', '/wizard/steps', { auth, body: { ...graphAnswers(), route: 'smtp-oauth' } });
  assert.equal(smtp.status, 200);
  assert.match((smtp.json.steps as string[]).join('\n'), new RegExp(`Set-CASMailbox -Identity ${c.scanner} -SmtpClientAuthenticationDisabled \\$false`));

  const missing = await call(relay, 'POST', '/wizard/steps', { auth, body: { route: 'graph', tenant: c.tenant.domains[0]! } });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.error, 'missing-answers');
  assert.match(missing.json.message, /clientId, mailbox/);
});

test('live test with the right secret shows the token\'s roles with Mail.Send; never echoes the secret', async () => {
  const r = await call(relay, 'POST', '/wizard/test', { auth, body: graphAnswers(c.secret) });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.ok, true);
  assert.equal(r.json.tested, true);
  const text = (r.json.lines as string[]).join('\n');
  assert.match(text, /Permissions in the token \(roles\): Mail\.Send/);
  assert.match(text, /✓ Mail\.Send: granted/);
  assert.match(text, /- Mail\.ReadWrite: not granted/);
  assert.ok(!r.bytes.toString('utf8').includes(c.secret), 'the secret is not in the answer');

  const noSecret = await call(relay, 'POST', '/wizard/test', { auth, body: graphAnswers() });
  assert.equal(noSecret.status, 400);
  assert.match(noSecret.json.message, /clientSecret/);
});

test('a wrong secret: the AADSTS7000215 explanation and fix from the catalogue', async () => {
  const wrong = 'not-the-secret~value';
  const r = await call(relay, 'POST', '/wizard/test', { auth, body: graphAnswers(wrong) });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.ok, false);
  const text = (r.json.lines as string[]).join('\n');
  assert.match(text, /AADSTS7000215/);
  assert.match(text, /What it means: Entra ID rejected the client secret: it is wrong, or it is the secret's ID instead of its value\./);
  assert.match(text, new RegExp(`What to do: In Entra admin center → App registrations → ${c.app.clientId} → Certificates & secrets`));
  assert.match(text, /Reference: entra\.AADSTS7000215/);
  assert.ok(!r.bytes.toString('utf8').includes(wrong));
});

test('Accept-Language: ja: the steps, the live test\'s lines, the next steps and the refusals in Japanese', async () => {
  const ja = { 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.5' };
  const steps = await call(relay, 'POST', '/wizard/steps', { auth, body: graphAnswers(), headers: ja });
  assert.equal(steps.status, 200, JSON.stringify(steps.json));
  assert.equal(steps.headers.get('content-language'), 'ja');
  const all = (steps.json.steps as string[]).join('\n');
  assert.match(all, /\[API のアクセス許可\] → \[アクセス許可の追加\] → \[Microsoft Graph\] → \[アプリケーションの許可\] で Mail\.Send/);
  assert.ok(all.includes(`[${c.tenant.domains[0]} に管理者の同意を与えます]`), all);
  assert.match(all, new RegExp(`New-ManagementRoleAssignment -App ${c.app.clientId} -Role "Application Mail\\.Send"`));
  assert.equal(steps.json.permissions.optional[0].why, '約 3 MB を超えるメッセージ (大きなスキャン) に必要です');

  const live = await call(relay, 'POST', '/wizard/test', { auth, body: graphAnswers(c.secret), headers: ja });
  assert.equal(live.json.ok, true, JSON.stringify(live.json));
  const text = (live.json.lines as string[]).join('\n');
  assert.match(text, /トークンのアクセス許可 \(roles\): Mail\.Send/);
  assert.match(text, /✓ Mail\.Send: 付与されています/);

  const config = await call(relay, 'POST', '/wizard/config', { auth, body: graphAnswers(c.secret), headers: ja });
  assert.equal(config.status, 200, JSON.stringify(config.json));
  assert.match((config.json.next as string[])[0]!, /^リレーのホストにファイルを保存してください/);
  assert.equal(config.json.env[0].holds, 'クライアント シークレットの値');

  const missing = await call(relay, 'POST', '/wizard/steps', { auth, body: { route: 'graph', tenant: c.tenant.domains[0]! }, headers: ja });
  assert.equal(missing.status, 400);
  assert.match(missing.json.message, /^graph のルートには次の項目も必要です: clientId, mailbox/);
  const noSecret = await call(relay, 'POST', '/wizard/test', { auth, body: graphAnswers(), headers: ja });
  assert.match(noSecret.json.message, /ライブ テストには clientSecret が必要です/);
});

test('Direct Send: the MX host is looked up', async () => {
  const r = await call(relay, 'POST', '/wizard/test', { auth, body: { route: 'direct-send', domain: 'contoso-wizard.test', dnsServers: [dns.address] } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.ok, true);
  assert.match((r.json.lines as string[]).join('\n'), /MX host: contoso-wizard-test\.mail\.protection\.outlook\.com \(127\.0\.0\.1\)/);
});

test('another SMTP relay: the probe shows what it offers and proposes tls; writing needs consent for tls: none and a live test that passes', async () => {
  const file = join(relay.dataDir, 'authrelay.yaml');
  const sink = await startSmtpSink();
  try {
    const relayHost = `127.0.0.1:${sink.port}`;
    const r = await call(relay, 'POST', '/wizard/test', { auth, body: { route: 'smtp', relayHost } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual([r.json.ok, r.json.tested, r.json.relayTls], [true, true, 'none']);
    const probe = r.json.probe;
    assert.equal(probe.connected, 'plain');
    assert.equal(probe.starttls, undefined);
    assert.match(probe.greeting, /^220 smtp-sink ESMTP/);
    assert.deepEqual([probe.proposal.tls, probe.proposal.downgrade, probe.proposal.authMethods], ['none', true, ['PLAIN', 'LOGIN']]);
    assert.ok(probe.proposal.warnings.includes('no-tls') && probe.proposal.warnings.includes('no-smtputf8'), JSON.stringify(probe.proposal));
    const text = (r.json.lines as string[]).join('\n');
    assert.match(text, /STARTTLS: not offered/);
    assert.match(text, new RegExp(`✓ the relay can deliver to 127\\.0\\.0\\.1:${sink.port} with tls: none`));

    const noConsent = await call(relay, 'POST', '/wizard/config', { auth, body: { route: 'smtp', relayHost, relayTls: 'none', write: true } });
    assert.equal(noConsent.status, 400, JSON.stringify(noConsent.json));
    assert.equal(noConsent.json.error, 'insecure-upstream');
    assert.match(noConsent.json.message, /tls: none sends mail \(and any password\) to 127\.0\.0\.1 unencrypted; nothing was written/);
    const failed = await call(relay, 'POST', '/wizard/config', { auth, body: { route: 'smtp', relayHost, relayTls: 'starttls', write: true } });
    assert.equal(failed.status, 409, JSON.stringify(failed.json));
    assert.equal(failed.json.error, 'live-test-failed');
    assert.match((failed.json.lines as string[]).join('\n'), /✗ tls: starttls will not work with 127\.0\.0\.1:\d+: it does not offer STARTTLS\. Use tls: none\./);
    assert.ok(!existsSync(file), 'nothing was written');
    const preview = await call(relay, 'POST', '/wizard/config', { auth, body: { route: 'smtp', relayHost, relayTls: 'none' } });
    assert.equal(preview.status, 200);
    assert.match(preview.json.yaml, /tls: none # no TLS: the relay offers none/);
  } finally {
    await sink.stop();
  }

  // STARTTLS offered with a certificate the system does not trust: said so, with what to do; trusted with its CA.
  const untrusted = await call(relay, 'POST', '/wizard/test', { auth, body: { route: 'smtp', relayHost: `127.0.0.1:${emu.directSendPort}` } });
  assert.equal(untrusted.status, 200);
  assert.deepEqual([untrusted.json.ok, untrusted.json.relayTls, untrusted.json.probe.proposal.problem], [false, 'starttls', 'untrusted']);
  assert.equal(untrusted.json.probe.starttls.certificate.trusted, false);
  assert.match((untrusted.json.lines as string[]).join('\n'), /What to do: Give the certificate of the CA that issued it/);
  const trusted = await call(relay, 'POST', '/wizard/test', { auth, body: { route: 'smtp', relayHost: `127.0.0.1:${emu.directSendPort}`, ca: emu.caFile } });
  assert.deepEqual([trusted.json.ok, trusted.json.relayTls, trusted.json.probe.proposal.ok], [true, 'starttls', true]);
  assert.deepEqual([trusted.json.probe.starttls.certificate.trusted, trusted.json.probe.starttls.certificate.hostnameMatch], [true, true]);
});

test('config: commented YAML that validates, the secret as ${M365_CLIENT_SECRET}, never the value', async () => {
  const r = await call(relay, 'POST', '/wizard/config', { auth, body: { ...graphAnswers(c.secret), device: { name: 'mfp-3f', networks: ['192.168.10.0/24'] }, admin: 'it@contoso.example' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const yaml = r.json.yaml as string;
  assert.ok(!r.bytes.toString('utf8').includes(c.secret), 'the secret is not in the answer');
  assert.match(yaml, /^# authrelay configuration, written by `authrelay init`/);
  assert.match(yaml, /clientSecret: \$\{M365_CLIENT_SECRET\} # the secret's Value, read from the environment variable M365_CLIENT_SECRET/);
  assert.equal(r.json.written, false);
  assert.equal(r.json.secretChecked, true);
  assert.deepEqual(r.json.env.map((e: { name: string }) => e.name), ['M365_CLIENT_SECRET']);
  assert.ok((r.json.next as string[]).some((l) => l.includes('authrelay reload')));
  const raw = parseYaml(yaml) as { upstreams: Record<string, Record<string, unknown>> };
  assert.equal(raw.upstreams.m365!.clientSecret, '${M365_CLIENT_SECRET}');
  const config = validateConfig(raw, { env: { M365_CLIENT_SECRET: c.secret } }, dirname(emu.caFile));
  assert.equal(config.upstreams.m365!.type, 'graph');
  assert.deepEqual(config.routes.map((x) => x.use), [['m365']]);
  assert.equal(config.devices[0]!.name, 'mfp-3f');

  const noValue = await call(relay, 'POST', '/wizard/config', { auth, body: { ...graphAnswers(), secretEnv: 'CONTOSO_SECRET' } });
  assert.equal(noValue.status, 200);
  assert.equal(noValue.json.secretChecked, false);
  assert.match(noValue.json.yaml, /clientSecret: \$\{CONTOSO_SECRET\}/);

  const bad = await call(relay, 'POST', '/wizard/config', { auth, body: { ...graphAnswers(), device: { name: 'x', networks: ['not-a-network'] } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid-config');
  assert.ok(bad.json.problems.length > 0);
});

test('authorization: no sign-in 401, read token 403, missing CSRF 403; audited without the secret', async () => {
  for (const path of ['/wizard/steps', '/wizard/test', '/wizard/config']) {
    assert.equal((await call(relay, 'POST', path, { body: graphAnswers(c.secret) })).status, 401, path);
    assert.equal((await call(relay, 'POST', path, { auth: { cookie: auth.cookie }, body: graphAnswers(c.secret) })).status, 403, `${path} without CSRF`);
  }
  const read = await call(relay, 'POST', '/tokens', { auth, body: { name: 'reader', scope: 'read' } });
  assert.equal(read.status, 201, JSON.stringify(read.json));
  assert.equal((await call(relay, 'POST', '/wizard/steps', { auth: { bearer: read.json.token }, body: graphAnswers() })).status, 403);
  const admin = await call(relay, 'POST', '/tokens', { auth, body: { name: 'setup-script', scope: 'admin' } });
  const byToken = await call(relay, 'POST', '/wizard/steps', { auth: { bearer: admin.json.token }, body: graphAnswers() });
  assert.equal(byToken.status, 200);

  const log = await call(relay, 'GET', '/audit?limit=1000', { auth });
  const entries = log.json.entries as { actor: string; action: string; outcome: string }[];
  assert.ok(entries.some((e) => e.action === 'wizard-test' && e.outcome === 'ok'));
  assert.ok(entries.some((e) => e.action === 'wizard-config' && e.outcome === 'ok'));
  assert.ok(entries.some((e) => e.action === 'wizard-steps' && e.actor === 'token:setup-script'));
  assert.ok(!log.bytes.toString('utf8').includes(c.secret), 'the audit log does not hold the secret');
  assert.ok(!JSON.stringify(relay.logs).includes(c.secret), 'the relay log does not hold the secret');
});
