/**
 * `authrelay init --route readers` (legacy IMAP/POP3 readers, docs/imap-pop.md)
 * with the real binary against the Microsoft 365 emulator's Entra (app-only
 * tokens with IMAP.AccessAsApp / POP.AccessAsApp) and the tests' Dovecot as
 * Exchange Online (test/proxy/fixture.ts): the steps name the Office 365
 * Exchange Online permissions and the PowerShell lines; the live test gets a
 * token, shows its roles, prints the New-ServicePrincipal and
 * Add-MailboxPermission lines with the Enterprise application's object id
 * from the token, and logs in to every mailbox with XOAUTH2; the file has an
 * exchange-mailbox upstream, IMAP/POP3 listeners and the device with its
 * mailboxes, and a relay started from it lets the program log in and read.
 * Unattended (--yes) and interactive (answers piped), in English and
 * Japanese; a withdrawn role is explained and nothing is written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { grantMailboxRole, servicePrincipalId, withdrawMailboxRole } from '../emulator/imap-tokens.js';
import { freePort } from '../helpers/tools.js';
import { cli, startRelayProcess, tempDir } from '../helpers/relay-process.js';
import { startWorld, type World } from '../proxy/fixture.js';
import { wrap } from '../proxy/wire.js';

let w: World;
let ca: string;

before(async () => {
  w = await startWorld();
  // The upstream's CA file: the emulator's (sign-in) and Dovecot's certificate (the mail server).
  ca = join(w.dovecot.dir, 'init-readers-ca.pem');
  writeFileSync(ca, `${w.emu.caPem.trim()}\n${w.certPem.trim()}\n`);
});

after(async () => {
  await w?.close();
});

const testFlags = () => ['--authority-host', w.emu.authorityHost, '--ca', ca,
  '--imap-endpoint', `127.0.0.1:${w.dovecot.imapPort}`, '--pop3-endpoint', `127.0.0.1:${w.dovecot.pop3Port}`];
const readYaml = (file: string) => parseYaml(readFileSync(file, 'utf8')) as {
  upstreams: Record<string, Record<string, unknown>>; listeners: Record<string, unknown>[]; devices: Record<string, unknown>[]; routes?: unknown;
};

test('unattended: steps, token with both roles, the PowerShell lines with the real ids, XOAUTH2 logins; the written config serves an IMAP login', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  const env = { ...process.env, READER_SECRET: w.secret };
  const r = await cli(['init', '--yes', '--out', file, '--route', 'readers', '--tenant', w.tenant.id, '--client-id', w.app.clientId,
    '--client-secret-env', 'READER_SECRET', '--mailbox', w.alice, '--mailbox', w.bob, '--listen-host', '127.0.0.1',
    '--imap-port', String(imapPort), '--pop3-port', String(pop3Port), '--device', 'erp', ...testFlags()], { env });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const oid = servicePrincipalId(w.app);
  // the steps: Entra's permission for the Exchange Online API, the Enterprise application's object id, Exchange Online PowerShell
  assert.match(r.stdout, /APIs my organization uses → Office 365 Exchange Online → Application permissions → IMAP\.AccessAsApp, POP\.AccessAsApp → Add permissions → Grant admin consent for /);
  assert.match(r.stdout, /Enterprise applications → the app \(.+\) → Object ID\. It is not the object ID on the App registration page/);
  assert.ok(r.stdout.includes(`New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId <enterprise app object id> -DisplayName "authrelay readers"`), r.stdout);
  assert.ok(r.stdout.includes(`Add-MailboxPermission -Identity ${w.bob} -User <enterprise app object id> -AccessRights FullAccess`));
  assert.ok(r.stdout.includes(`Set-CASMailbox -Identity ${w.alice} -ImapEnabled $true -PopEnabled $true`));
  // the live test: the token, its roles, the lines with the ids it carries, a real login per mailbox and protocol
  assert.match(r.stdout, /Permissions in the token \(roles\): .*IMAP\.AccessAsApp/);
  assert.match(r.stdout, /✓ IMAP\.AccessAsApp: granted/);
  assert.match(r.stdout, /✓ POP\.AccessAsApp: granted/);
  assert.ok(r.stdout.includes(`Enterprise application object ID ${oid}`), r.stdout);
  assert.ok(r.stdout.includes(`    New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId ${oid} -DisplayName "authrelay readers"`));
  assert.ok(r.stdout.includes(`    Add-MailboxPermission -Identity ${w.alice} -User ${oid} -AccessRights FullAccess`));
  for (const m of [w.alice, w.bob]) {
    assert.match(r.stdout, new RegExp(`✓ IMAP: ${m.replace(/\./g, '\\.')} opened \\(TLS TLSv1\\.[23]\\); the server offers: .*IDLE`));
    assert.match(r.stdout, new RegExp(`✓ POP3: ${m.replace(/\./g, '\\.')} opened \\(TLS TLSv1\\.[23]\\); the server offers: .*UIDL`));
    assert.ok(w.dovecot.logins(m).some((l) => /method=XOAUTH2/.test(l)), `no XOAUTH2 login for ${m}`);
  }
  assert.match(r.stdout, new RegExp(`It may open: ${w.alice.replace(/\./g, '\\.')}, ${w.bob.replace(/\./g, '\\.')}`));
  assert.match(r.stdout, new RegExp(`Program settings: server = this host, IMAP port ${imapPort}, POP3 port ${pop3Port}; security SSL/TLS; user name = one of the mailbox addresses above`));
  assert.match(r.stdout, /authrelay doctor --config /);
  assert.ok(!r.stdout.includes(w.secret) && !readFileSync(file, 'utf8').includes(w.secret), 'the secret was shown or written');

  const y = readYaml(file);
  assert.deepEqual(y.upstreams, {
    exchange: {
      type: 'exchange-mailbox', tenant: w.tenant.id, clientId: w.app.clientId, clientSecret: '${READER_SECRET}',
      endpoints: { authority: w.emu.authorityHost, imap: `127.0.0.1:${w.dovecot.imapPort}`, pop3: `127.0.0.1:${w.dovecot.pop3Port}` }, ca,
    },
  });
  assert.deepEqual(y.listeners, [
    { name: 'imaps', protocol: 'imap', host: '127.0.0.1', port: imapPort, tls: 'implicit', upstream: 'exchange' },
    { name: 'pop3s', protocol: 'pop3', host: '127.0.0.1', port: pop3Port, tls: 'implicit', upstream: 'exchange' },
  ]);
  assert.equal(y.routes, undefined, 'readers only: no delivery route');
  assert.equal(y.devices.length, 1);
  assert.deepEqual({ ...y.devices[0], passwordHash: undefined }, { name: 'erp', username: 'erp', passwordHash: undefined, mailboxes: [w.alice, w.bob] });
  assert.match(String(y.devices[0]!.passwordHash), /^scrypt\$/);
  const check = await cli(['config', 'check', '--config', file], { env });
  assert.equal(check.code, 0, check.stderr);

  // The relay from this file: the program logs in with the mailbox address and the device's password, and reads.
  const password = /Its password is: (\S+)/.exec(r.stdout)?.[1];
  assert.ok(password, r.stdout);
  w.dovecot.deliver(w.alice, Buffer.from('From: fax@example.net\r\nTo: alice\r\nSubject: from init\r\n\r\nhello\r\n'));
  const relay = await startRelayProcess(file, { env: { ...env, LANG: 'C' }, listeners: 0 });
  try {
    await relay.waitForLog((l) => l.event === 'listening' && l.protocol === 'imap' && l.port === imapPort, 30_000);
    const c = wrap(tlsConnect({ host: '127.0.0.1', port: imapPort, rejectUnauthorized: false }));
    try {
      assert.match(await c.line(), /^\* OK/);
      c.send(`a LOGIN ${w.alice} ${password}\r\n`);
      assert.match((await c.until(/^a /, 30_000)).at(-1)!, /^a OK/);
      c.send('b SELECT INBOX\r\n');
      const selected = await c.until(/^b /);
      assert.match(selected.at(-1)!, /^b OK/);
      assert.ok(selected.some((l) => /^\* [1-9]\d* EXISTS/.test(l)), selected.join('\n'));
      c.send('c LOGOUT\r\n');
      await c.until(/^c OK/);
    } finally {
      c.destroy();
    }
  } finally {
    await relay.stop();
  }
});

/** Answers in the order the wizard asks them for legacy readers with a client secret kept in M365_CLIENT_SECRET. */
function readerAnswers(mailboxes: string, imap: string, pop3: string): string[] {
  return [
    'readers', '', w.tenant.id, w.app.clientId, // route, cloud (default global), tenant, client id
    '', w.secret, '', '', // credential: secret (default), its value, kept in an environment variable (default), M365_CLIENT_SECRET (default)
    mailboxes, '127.0.0.1', imap, pop3, '', 'n', // mailboxes, listen address, IMAP port, POP3 port, TLS from the first byte (default), no TLS 1.0
    '', '', '', // device "reader" (default), no trusted network, user name "reader" (default)
  ];
}

test('interactive: the IMAP role withdrawn is explained with the Entra step, and nothing is written when the person stops', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  withdrawMailboxRole(w.app, 'IMAP.AccessAsApp');
  try {
    const r = await cli(['init', '--out', file, ...testFlags()], { input: `${[...readerAnswers(w.alice, '0', 'no'), 'quit'].join('\n')}\n` });
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /✗ IMAP\.AccessAsApp: not in the token\. Add it under Office 365 Exchange Online → Application permissions and grant admin consent/);
    assert.match(r.stdout, /- IMAP: no login tried, the token lacks IMAP\.AccessAsApp\./);
    assert.match(r.stdout, /test again \(after fixing Entra ID or Exchange Online\)/);
    assert.match(r.stdout, /Nothing was written\./);
    assert.ok(!existsSync(file));
    assert.ok(!r.stdout.includes(w.secret));
  } finally {
    grantMailboxRole(w.app, 'IMAP.AccessAsApp');
  }
});

test('interactive in Japanese: the steps with Microsoft\'s Japanese screen names, the live test, a POP3-only file with the reader device', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const r = await cli(['init', '--out', file, ...testFlags()], { input: `${readerAnswers(`${w.bob}, ${w.alice}`, 'no', '0').join('\n')}\n`, locale: 'ja_JP.UTF-8' });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  for (const name of ['[API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [アプリケーションの許可]',
    `[${w.tenant.id} に管理者の同意を与えます]`, '[エンタープライズ アプリケーション]', 'Exchange Online にサービス プリンシパルを登録します']) {
    assert.ok(r.stdout.includes(name), name);
  }
  assert.ok(r.stdout.includes(`Add-MailboxPermission -Identity ${w.bob} -User <enterprise app object id> -AccessRights FullAccess`));
  assert.match(r.stdout, /✓ POP\.AccessAsApp: 付与されています/);
  assert.ok(!/IMAP\.AccessAsApp: /.test(r.stdout), 'no IMAP listener: the IMAP role is not asked for');
  assert.ok(r.stdout.includes(`エンタープライズ アプリケーションのオブジェクト ID ${servicePrincipalId(w.app)}`));
  assert.match(r.stdout, /✓ POP3: .* を開けました \(TLS TLSv1\.[23]\)/);
  assert.match(r.stdout, /開けるメールボックス: /);
  const y = readYaml(file);
  assert.deepEqual(y.listeners, [{ name: 'pop3s', protocol: 'pop3', host: '127.0.0.1', port: 0, tls: 'implicit', upstream: 'exchange' }]);
  assert.deepEqual({ ...y.devices[0], passwordHash: undefined }, { name: 'reader', username: 'reader', passwordHash: undefined, mailboxes: [w.bob, w.alice] });
  assert.equal(y.upstreams.exchange!.clientSecret, '${M365_CLIENT_SECRET}');
});

test('--yes names what legacy readers still need; several --mailbox flags are refused for a sending route', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const missing = await cli(['init', '--yes', '--out', join(dir, 'a.yaml'), '--route', 'readers']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--yes needs --tenant, --client-id, --client-secret-env \(or --client-secret-file, or --cert-file and --key-file\), --mailbox/);
  const noPort = await cli(['init', '--yes', '--out', join(dir, 'b.yaml'), '--route', 'readers', '--tenant', w.tenant.id, '--client-id', w.app.clientId,
    '--client-secret-env', 'READER_SECRET', '--mailbox', w.alice, '--imap-port', 'no', '--pop3-port', 'no'], { env: { ...process.env, READER_SECRET: w.secret } });
  assert.equal(noPort.code, 2);
  assert.match(noPort.stderr, /legacy readers need an IMAP or a POP3 port; nothing was written/);
  const two = await cli(['init', '--yes', '--out', join(dir, 'c.yaml'), '--route', 'graph', '--mailbox', w.alice, '--mailbox', w.bob]);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /--mailbox: this route sends as one mailbox/);
  assert.ok(!existsSync(join(dir, 'a.yaml')) && !existsSync(join(dir, 'b.yaml')) && !existsSync(join(dir, 'c.yaml')));
});
