/**
 * The console's setup wizard for legacy readers (IMAP/POP3 programs reading
 * Exchange Online mailboxes, docs/imap-pop.md) in headless Chromium against
 * a real relay, the Microsoft 365 emulator's Entra (app-only tokens with
 * IMAP.AccessAsApp) and the tests' Dovecot as Exchange Online: choose
 * "Legacy readers", give the tenant, app, secret, mailboxes and an IMAP
 * listener, see the Exchange steps (the Office 365 Exchange Online
 * permission, New-ServicePrincipal, Add-MailboxPermission), test live (a
 * token with the role, the lines with the Enterprise application's object
 * id, a real XOAUTH2 login to each mailbox), write the configuration: the
 * running relay opens the IMAP listener at once and a program on the
 * device's trusted network reads the mailbox through it. The steps in
 * Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { servicePrincipalId } from '../emulator/imap-tokens.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { startWorld, type World } from '../proxy/fixture.js';
import { wrap } from '../proxy/wire.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

let browser: TestBrowser;
let relay: TestRelay;
let w: World;
let ca: string;
const SECRET_ENV = 'WIZARD_READER_SECRET';

before(async () => {
  browser = await launchBrowser();
  w = await startWorld(['IMAP.AccessAsApp']);
  ca = join(w.dovecot.dir, 'wizard-readers-ca.pem');
  writeFileSync(ca, `${w.emu.caPem.trim()}\n${w.certPem.trim()}\n`);
  // The relay reads the secret from its environment (this process), as the wizard's next steps say.
  process.env[SECRET_ENV] = w.secret;
  relay = await startRelay();
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await w?.close();
  delete process.env[SECRET_ENV];
});

test('legacy readers: the Exchange steps, a live test that logs in to each mailbox, the configuration written and applied', { timeout: 180_000 }, async () => {
  const ctx = await browser.context();
  const file = join(relay.dataDir, 'authrelay.yaml');
  try {
    const page = await ctx.newPage();
    await setUpInBrowser(page, relay);
    await page.click('#nav a[href="#/wizard"]');
    await page.locator('#wizard-routes').waitFor();
    assert.match(await page.locator('#wizard-routes').innerText(), /Legacy readers \(IMAP\/POP3\)/);
    await page.check('#wizard-route-readers');
    assert.equal(await page.locator('#wizard-mailboxes').isVisible(), true);
    assert.equal(await page.locator('#wizard-mailbox').isVisible(), false, 'no sending mailbox for readers');
    assert.equal(await page.locator('#wizard-tenant').isVisible(), true);

    await page.fill('#wizard-tenant', w.tenant.id);
    await page.fill('#wizard-client-id', w.app.clientId);
    await page.fill('#wizard-secret', w.secret);
    await page.fill('#wizard-secret-env', SECRET_ENV);
    await page.fill('#wizard-mailboxes', `${w.alice}, ${w.bob}`);
    await page.fill('#wizard-imap-port', '0');
    await page.fill('#wizard-pop3-port', '');
    await page.click('#wizard-advanced summary');
    assert.equal(await page.locator('#wizard-graph-url').isVisible(), false, 'no Graph URL for readers');
    await page.fill('#wizard-authority', w.emu.authorityHost);
    await page.fill('#wizard-ca', ca);
    await page.fill('#wizard-imap-endpoint', `127.0.0.1:${w.dovecot.imapPort}`);
    await page.fill('#wizard-device', 'fax');
    await page.fill('#wizard-network', '127.0.0.1/32');

    await page.click('#wizard-steps-button');
    await page.locator('#wizard-steps li').first().waitFor();
    const steps = await page.locator('#wizard-steps').innerText();
    assert.match(steps, /APIs my organization uses → Office 365 Exchange Online → Application permissions → IMAP\.AccessAsApp → Add permissions → Grant admin consent/);
    assert.ok(!steps.includes('POP.AccessAsApp'), 'no POP3 listener: POP.AccessAsApp is not asked for');
    assert.ok(steps.includes(`New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId <enterprise app object id>`), steps);
    assert.ok(steps.includes(`Add-MailboxPermission -Identity ${w.bob} -User <enterprise app object id> -AccessRights FullAccess`));
    assert.ok(steps.includes(`Set-CASMailbox -Identity ${w.alice} -ImapEnabled $true`));

    await page.click('#wizard-test-button');
    await page.locator('#wizard-test-result .test-outcome').waitFor({ timeout: 90_000 });
    const lines = await page.locator('#wizard-test-lines').innerText();
    assert.equal(await page.locator('#wizard-test-result .test-outcome').getAttribute('data-ok'), 'true', lines);
    assert.match(lines, /✓ IMAP\.AccessAsApp: granted/);
    const oid = servicePrincipalId(w.app);
    assert.ok(lines.includes(`New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId ${oid} -DisplayName "authrelay readers"`), lines);
    assert.ok(lines.includes(`Add-MailboxPermission -Identity ${w.alice} -User ${oid} -AccessRights FullAccess`));
    for (const m of [w.alice, w.bob]) assert.ok(lines.includes(`✓ IMAP: ${m} opened (TLS TLSv1.3)`), lines);
    assert.ok(!lines.includes(w.secret));

    await page.click('#wizard-config-button');
    await page.locator('#wizard-yaml').waitFor();
    const yaml = await page.locator('#wizard-yaml').innerText();
    assert.ok(!yaml.includes(w.secret));
    assert.match(yaml, /type: exchange-mailbox/);
    assert.match(await page.locator('#wizard-next').innerText(), /authrelay device add fax --generate-password --mailbox .*authrelay doctor/s);
    await page.click('#wizard-write');
    await page.locator('#wizard-write-result [data-applied], #wizard-write-result .warning').waitFor({ timeout: 90_000 });
    assert.ok(await page.locator('#wizard-write-result [data-applied]').count(), await page.locator('#wizard-write-result').innerText());

    const written = parseYaml(readFileSync(file, 'utf8')) as { listeners: { name: string; protocol?: string }[]; devices: { name: string; mailboxes?: string[] }[]; upstreams: Record<string, { type: string }> };
    assert.deepEqual(written.listeners.map((l) => [l.name, l.protocol ?? 'smtp']), [['main', 'smtp'], ['imaps', 'imap']], 'the SMTP listener kept, the IMAP listener added');
    assert.deepEqual(written.devices.find((d) => d.name === 'fax')!.mailboxes, [w.alice, w.bob]);
    assert.equal(written.upstreams.exchange!.type, 'exchange-mailbox');

    // Applied at once: the program on the trusted network logs in with the mailbox address and reads.
    w.dovecot.deliver(w.bob, Buffer.from('From: scanner@example.net\r\nTo: bob\r\nSubject: from the console wizard\r\n\r\nhello\r\n'));
    const c = wrap(tlsConnect({ host: '127.0.0.1', port: relay.port('imaps'), rejectUnauthorized: false }));
    try {
      assert.match(await c.line(), /^\* OK/);
      c.send(`a LOGIN ${w.bob} anything\r\n`);
      assert.match((await c.until(/^a /, 30_000)).at(-1)!, /^a OK/);
      c.send('b SELECT INBOX\r\n');
      const selected = await c.until(/^b /);
      assert.ok(selected.some((l) => /^\* [1-9]\d* EXISTS/.test(l)), selected.join('\n'));
      c.send('c LOGOUT\r\n');
      await c.until(/^c OK/);
    } finally {
      c.destroy();
    }
  } finally {
    await ctx.close();
  }
});

test('the readers\' steps in Japanese', { timeout: 60_000 }, async () => {
  const ctx = await browser.context('ja-JP');
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay, '#/wizard');
    await page.locator('#wizard-routes').waitFor();
    assert.match(await page.locator('#wizard-routes').innerText(), /メールを読む従来のアプリ\(IMAP\/POP3\)/);
    await page.check('#wizard-route-readers');
    await page.fill('#wizard-tenant', 'contoso.onmicrosoft.com');
    await page.fill('#wizard-client-id', w.app.clientId);
    await page.fill('#wizard-mailboxes', 'invoices@contoso.com');
    await page.click('#wizard-steps-button');
    await page.locator('#wizard-steps li').first().waitFor();
    const steps = await page.locator('#wizard-steps').innerText();
    assert.match(steps, /\[API のアクセス許可\] → \[アクセス許可の追加\] → \[所属する組織で使用している API\] → \[Office 365 Exchange Online\] → \[アプリケーションの許可\] で IMAP\.AccessAsApp、POP\.AccessAsApp を選んで/);
    assert.match(steps, /\[contoso\.onmicrosoft\.com に管理者の同意を与えます\]/);
    assert.match(steps, /\[エンタープライズ アプリケーション\]/);
    assert.ok(steps.includes(`New-ServicePrincipal -AppId ${w.app.clientId} -ObjectId <enterprise app object id> -DisplayName "authrelay readers"`));
    assert.ok(steps.includes('Add-MailboxPermission -Identity invoices@contoso.com -User <enterprise app object id> -AccessRights FullAccess'));
  } finally {
    await ctx.close();
  }
});
