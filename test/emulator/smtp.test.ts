/**
 * The emulator's SMTP listeners on the wire: exact greeting and EHLO lists
 * before and after STARTTLS, AUTH refused before TLS, XOAUTH2 (one line and
 * with 334) with Microsoft's 535 variants, 530 without AUTH, Send As refused
 * after DATA, dot-unstuffing with exact bytes recorded, legacy TLS refused,
 * the per-mailbox connection and rate limits, nodemailer as a real client,
 * and the Direct Send port (no AUTH, tenant attribution, RejectDirectSend).
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant } from './index.js';
import { HttpClient } from '../../src/core/http.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';

let em: Emulator;
let http: HttpClient;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let token: string;

async function tokenFor(a: EmulatorApp, scope = 'https://outlook.office365.com/.default'): Promise<string> {
  const res = await http.request({
    method: 'POST', url: `${em.authorityHost}/${tenant.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: a.clientId, client_secret: a.secrets[0]!.value, scope, grant_type: 'client_credentials' }).toString(),
  });
  return res.json<{ access_token: string }>()!.access_token;
}

const xoauth = (user: string, t: string) => Buffer.from(`user=${user}\x01auth=Bearer ${t}\x01\x01`).toString('base64');

before(async () => {
  em = await startEmulator();
  http = new HttpClient({ ca: em.caPem });
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  app = em.addApp(tenant.id, { exchangeRoles: ['SMTP.SendAsApp'] });
  em.addMailbox(tenant.id, { address: 'relay@contoso.com' });
  em.addMailbox(tenant.id, { address: 'off@contoso.com', smtpAuthDisabled: true });
  em.addMailbox(tenant.id, { address: 'inbox@contoso.com' });
  token = await tokenFor(app);
});

after(async () => {
  http.close();
  await em.close();
});

beforeEach(() => em.reset());

async function authed(user = 'relay@contoso.com', t = token): Promise<SmtpWire> {
  const w = await SmtpWire.open(em.smtpPort);
  await w.cmd('EHLO relay.test');
  await w.starttls({ ca: em.caPem, rejectUnauthorized: true, servername: 'localhost' });
  await w.cmd('EHLO relay.test');
  const r = await w.cmd(`AUTH XOAUTH2 ${xoauth(user, t)}`);
  assert.equal(r.raw, '235 2.7.0 Authentication successful');
  return w;
}

test('greeting, EHLO lists before and after STARTTLS, AUTH before TLS refused, 530 without AUTH', async () => {
  const w = await SmtpWire.open(em.smtpPort);
  assert.match(w.greeting!.raw, /^220 \S+\.outlook\.office365\.com Microsoft ESMTP MAIL Service ready at \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000 \[[0-9A-F]+\]$/);
  const pre = await w.cmd('EHLO relay.test');
  assert.deepEqual(pre.lines.slice(1), ['SIZE 157286400', 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES', 'STARTTLS', '8BITMIME', 'BINARYMIME', 'CHUNKING', 'SMTPUTF8']);
  assert.match(pre.lines[0]!, /Hello \[127\.0\.0\.1\]$/);
  assert.match((await w.cmd(`AUTH XOAUTH2 ${xoauth('relay@contoso.com', token)}`)).raw, /^504 5\.7\.4 Unrecognized authentication type \[/);
  await w.starttls({ ca: em.caPem, rejectUnauthorized: true, servername: 'localhost' });
  const post = await w.cmd('EHLO relay.test');
  assert.deepEqual(post.lines.slice(1), ['SIZE 157286400', 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES', 'AUTH LOGIN XOAUTH2', '8BITMIME', 'BINARYMIME', 'CHUNKING', 'SMTPUTF8']);
  assert.match((await w.cmd('MAIL FROM:<relay@contoso.com>')).raw, /^530 5\.7\.57 Client was not authenticated to send anonymous mail during MAIL FROM \[/);
  w.close();
});

test('XOAUTH2 with 334 continuation, send, dot-unstuffing: exact bytes recorded and 250 2.0.0 OK <id>', async () => {
  const w = await SmtpWire.open(em.smtpPort);
  await w.cmd('EHLO relay.test');
  await w.starttls({ ca: em.caPem, rejectUnauthorized: true, servername: 'localhost' });
  await w.cmd('EHLO relay.test');
  assert.equal((await w.cmd('AUTH XOAUTH2')).raw, '334 ');
  assert.equal((await w.cmd(xoauth('relay@contoso.com', token))).raw, '235 2.7.0 Authentication successful');
  const payload = 'From: relay@contoso.com\r\nTo: a@example.com\r\nMessage-ID: <abc@relay.test>\r\n\r\n..leading dot\r\n.\r\n';
  const r = await sendRaw(w, 'relay@contoso.com', ['a@example.com', 'b@example.com'], payload);
  assert.equal(r.mail.raw, '250 2.1.0 Sender OK');
  assert.equal(r.rcpt[0]!.raw, '250 2.1.5 Recipient OK');
  assert.equal(r.data!.raw, '354 Start mail input; end with <CRLF>.<CRLF>');
  assert.match(r.end!.raw, /^250 2\.0\.0 OK <abc@relay\.test> \[Hostname=[A-Z0-9.]+\]$/);
  const [sent] = em.sent();
  assert.equal(sent?.via, 'smtp');
  assert.deepEqual(sent?.envelope, { from: 'relay@contoso.com', to: ['a@example.com', 'b@example.com'] });
  assert.equal(sent?.mime.toString(), 'From: relay@contoso.com\r\nTo: a@example.com\r\nMessage-ID: <abc@relay.test>\r\n\r\n.leading dot\r\n');
  w.close();
});

test('AUTH refusals: no SMTP.SendAsApp 535 5.7.3, SMTP AUTH disabled 535 5.7.139, basic AUTH LOGIN disabled, Graph token 535 5.7.3', async () => {
  const noRole = await tokenFor(em.addApp(tenant.id));
  const graph = await tokenFor(app, 'https://graph.microsoft.com/.default');
  const cases: [string, string, RegExp][] = [
    ['relay@contoso.com', noRole, /^535 5\.7\.3 Authentication unsuccessful \[/],
    ['off@contoso.com', token, /^535 5\.7\.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox\./],
    ['relay@contoso.com', graph, /^535 5\.7\.3 Authentication unsuccessful/],
    ['ghost@contoso.com', token, /^535 5\.7\.3 Authentication unsuccessful/],
  ];
  for (const [user, t, expected] of cases) {
    const w = await SmtpWire.open(em.smtpPort);
    await w.cmd('EHLO relay.test');
    await w.starttls({ ca: em.caPem, servername: 'localhost' });
    await w.cmd('EHLO relay.test');
    assert.match((await w.cmd(`AUTH XOAUTH2 ${xoauth(user, t)}`)).raw, expected);
    w.close();
  }
  const w = await SmtpWire.open(em.smtpPort);
  await w.cmd('EHLO relay.test');
  await w.starttls({ ca: em.caPem, servername: 'localhost' });
  await w.cmd('EHLO relay.test');
  assert.equal((await w.cmd('AUTH LOGIN')).raw, '334 VXNlcm5hbWU6');
  assert.equal((await w.cmd(Buffer.from('relay@contoso.com').toString('base64'))).raw, '334 UGFzc3dvcmQ6');
  assert.match((await w.cmd(Buffer.from('password').toString('base64'))).raw, /^535 5\.7\.139 Authentication unsuccessful, basic authentication is disabled\./);
  w.close();
});

test('Send As is refused after DATA with 554 5.2.252', async () => {
  const w = await authed();
  const r = await sendRaw(w, 'relay@contoso.com', ['a@example.com'], 'From: boss@contoso.com\r\nTo: a@example.com\r\n\r\nx\r\n.\r\n');
  assert.equal(r.mail.code, 250);
  assert.equal(r.data!.code, 354);
  assert.match(r.end!.raw, /^554 5\.2\.252 SendAsDenied; relay@contoso\.com not allowed to send as boss@contoso\.com; STOREDRV\.Submission\.Exception:SendAsDeniedException/);
  assert.equal(em.sent().length, 0);
  w.close();
});

test('TLS 1.0 client: handshake completes, then 421 4.7.66', async () => {
  const w = await SmtpWire.open(em.smtpPort);
  await w.cmd('EHLO relay.test');
  await w.starttls({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', servername: 'localhost' });
  const r = await w.cmd('EHLO relay.test');
  assert.equal(r.raw, '421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.');
  await w.waitClosed();
});

test('a fourth connection for the same mailbox is refused at submission (432 4.3.2); 31st message in a minute gets the quota reply', async () => {
  const conns = [await authed(), await authed(), await authed(), await authed()];
  const msg = 'From: relay@contoso.com\r\nTo: a@example.com\r\n\r\nx\r\n.\r\n';
  const r = await sendRaw(conns[3]!, 'relay@contoso.com', ['a@example.com'], msg);
  assert.equal(r.end!.raw.startsWith('432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded'), true, r.end!.raw);
  assert.equal(em.peakSmtpConnections('relay@contoso.com'), 4);
  conns[3]!.close();
  await conns[3]!.waitClosed();
  em.smtpMessagesPerMinute = 3;
  const replies: string[] = [];
  for (let i = 0; i < 4; i++) replies.push((await sendRaw(conns[0]!, 'relay@contoso.com', ['a@example.com'], msg)).end!.raw);
  em.smtpMessagesPerMinute = 30;
  assert.deepEqual(replies.map((x) => x.slice(0, 9)), ['250 2.0.0', '250 2.0.0', '250 2.0.0', '554 5.2.0']);
  assert.match(replies[3]!, /SubmissionQuotaExceededException/);
  for (const c of conns.slice(0, 3)) c.close();
});

test('nodemailer sends with XOAUTH2 through STARTTLS, trusting the emulator CA', async () => {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: em.smtpPort, secure: false, requireTLS: true, tls: { ca: em.caPem, servername: 'localhost' }, auth: { type: 'OAuth2', user: 'relay@contoso.com', accessToken: token } });
  const info = await t.sendMail({ from: 'relay@contoso.com', to: 'z@example.com', subject: 'hi', text: 'hello' });
  assert.match(info.response, /^250 2\.0\.0 OK </);
  assert.deepEqual(em.sent()[0]?.recipients, ['z@example.com']);
  t.close();
});

test('Direct Send port: no AUTH offered, tenant attribution, RejectDirectSend, accepted mail recorded', async () => {
  const w = await SmtpWire.open(em.directSendPort);
  assert.match(w.greeting!.raw, /^220 \S+\.mail\.protection\.outlook\.com Microsoft ESMTP MAIL Service ready at /);
  const pre = await w.cmd('EHLO printer.local');
  assert.ok(pre.lines.includes('STARTTLS'));
  await w.starttls({ ca: em.caPem, servername: 'localhost' });
  const post = await w.cmd('EHLO printer.local');
  assert.equal(post.lines.some((l) => l.startsWith('AUTH')), false);
  assert.match((await w.cmd('AUTH XOAUTH2 eA==')).raw, /^504 5\.7\.4/);
  const r = await sendRaw(w, 'scanner@contoso.com', ['stranger@elsewhere.example', 'nobody@contoso.com', 'inbox@contoso.com'], 'From: scanner@contoso.com\r\nTo: inbox@contoso.com\r\n\r\nscan\r\n.\r\n');
  assert.match(r.rcpt[0]!.raw, /^550 5\.7\.64 TenantAttribution; Relay Access Denied/);
  assert.match(r.rcpt[1]!.raw, /^550 5\.4\.1 Recipient address rejected: Access denied/);
  assert.equal(r.rcpt[2]!.raw, '250 2.1.5 Recipient OK');
  assert.match(r.end!.raw, /^250 2\.0\.0 OK /);
  const [sent] = em.sent();
  assert.equal(sent?.via, 'direct-send');
  assert.equal(sent?.tenantId, tenant.id);
  assert.deepEqual(sent?.envelope, { from: 'scanner@contoso.com', to: ['inbox@contoso.com'] });
  tenant.rejectDirectSend = true;
  const denied = await sendRaw(w, 'scanner@contoso.com', ['inbox@contoso.com'], '');
  assert.match(denied.rcpt[0]!.raw, /^550 5\.7\.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources/);
  await w.cmd('RSET');
  const external = await sendRaw(w, 'scanner@partner.example', ['inbox@contoso.com'], 'From: x@partner.example\r\n\r\nx\r\n.\r\n');
  assert.equal(external.end!.code, 250);
  tenant.rejectDirectSend = false;
  w.close();
});

test('SMTP fault rules: a reply at RCPT, one recipient refused alone, and a 421 greeting', async () => {
  em.fault({ target: 'smtp', fault: { smtpReply: '451 4.7.500 Access denied, please try again later', at: 'rcpt' }, count: 1 });
  const w = await authed();
  const r = await sendRaw(w, 'relay@contoso.com', ['a@example.com'], '');
  assert.equal(r.rcpt[0]!.raw, '451 4.7.500 Access denied, please try again later');
  w.close();
  em.fault({ target: 'smtp', recipient: 'gone@example.com', fault: { smtpReply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient gone@example.com not found by SMTP address lookup', at: 'rcpt' } });
  const y = await authed();
  const only = await sendRaw(y, 'relay@contoso.com', ['a@example.com', 'gone@example.com', 'b@example.com'], 'From: relay@contoso.com\r\n\r\nx\r\n.\r\n');
  assert.deepEqual(only.rcpt.map((x) => x.code), [250, 550, 250]);
  assert.deepEqual(em.sent().at(-1)?.envelope?.to, ['a@example.com', 'b@example.com']);
  y.close();
  em.clearFaults();
  em.fault({ target: 'smtp', fault: { smtpReply: '421 4.3.2 Service not available', at: 'connect' }, count: 1 });
  const x = await SmtpWire.open(em.smtpPort);
  assert.equal(x.greeting!.raw, '421 4.3.2 Service not available');
  await x.waitClosed();
});
