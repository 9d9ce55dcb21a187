/**
 * The console's Migration page in headless Chromium against a real relay and
 * the Microsoft 365 emulator. In English: no scan yet; Scan now finds the
 * five basic-auth senders with their addresses; two are added as devices
 * from their rows (the form prefilled with the name from the mailbox and
 * the mailbox as sendAs, a generated password shown once with the settings
 * to type in) and send through authrelay with those passwords; the board
 * says "2 of 5 senders moved"; one is marked ignored with a reason; the page
 * shows what GET /api/v1/migration answers. In Japanese: the same board in
 * Japanese, and on a tenant without the Entra ID licence and with concealed
 * names, Microsoft's refusal and the privacy setting explained in Japanese
 * with the names of Microsoft's own screens, the senders still counted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import type { Page } from 'playwright-core';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { basicAuthTenant, scanUpstream, type BasicAuthTenant } from '../helpers/m365-migration.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

let emu: Emulator;
let browser: TestBrowser;
const open: TestRelay[] = [];

before(async () => {
  emu = await startEmulator();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  for (const relay of open) await relay.close();
  await emu.close();
});

/** The relay with its own console and API (the migration service as the composition root wires it). */
async function relayFor(t: BasicAuthTenant): Promise<{ relay: TestRelay; smtp: TestRelay }> {
  const relay = await startTestRelay({
    upstreams: { m365: scanUpstream(emu, t, t.senders[0]!.mailbox) }, routes: [{ use: 'm365' }], migration: { upstream: 'm365', schedule: 'off' },
    trustLoopback: false, publicAddress: 'relay.office.example',
  }, { file: true });
  open.push(relay);
  return { relay, smtp: relay };
}

async function scanNow(page: Page, rows: number): Promise<void> {
  await page.selectOption('#scan-period', 'D30');
  await page.click('#scan-now');
  await page.locator('[data-sender]').nth(rows - 1).waitFor({ timeout: 60_000 });
}

test('English: scan, five senders with their addresses, two added as devices from the board send through authrelay, 2 of 5 moved, one ignored', { timeout: 180_000 }, async () => {
  const t = basicAuthTenant(emu);
  const m = await relayFor(t);
  const ctx = await browser.context('en-GB');
  const page = await ctx.newPage();
  try {
    await setUpInBrowser(page, m.relay);
    await page.click('#nav a[href="#/migration"]');
    await page.locator('#migration-empty').waitFor();
    assert.match(await page.locator('#migration-headline').innerText(), /^0 of 0 senders moved; 0 left; \d+ days to the deadline$/);
    await scanNow(page, 5);
    assert.match(await page.locator('#migration-headline').innerText(), /^0 of 5 senders moved; 5 left; \d+ days to the deadline$/);
    assert.deepEqual(await page.locator('#scan-sources li').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-source')}:${e.getAttribute('data-status')}`)),
      ['usage-report:ok', 'report-settings:ok', 'sign-ins:ok']);
    for (const s of t.senders) {
      const row = page.locator(`[data-sender="${s.mailbox}"]`);
      assert.equal(await row.getAttribute('data-state'), 'basic-auth');
      assert.match(await row.innerText(), new RegExp(s.ip.replace(/\./g, '\\.')));
      assert.match(await row.innerText(), /Still on basic auth/);
    }

    for (const s of t.senders.slice(0, 2)) {
      await page.locator(`[data-sender="${s.mailbox}"] .add-as-device`).click();
      const form = page.locator('#add-device-form');
      await form.waitFor();
      assert.equal(await page.inputValue('#add-device-name'), s.mailbox.split('@')[0]);
      assert.equal(await page.inputValue('#add-device-sendas'), s.mailbox);
      await page.click('#add-device-submit');
      await page.locator('#device-added').waitFor();
      assert.match(await page.locator('#device-added').innerText(), /applied at once/);
      const password = await page.locator('#device-added .new-password').innerText();
      const settings = await page.locator('#device-added pre.copy').first().innerText();
      assert.match(settings, /SMTP server: relay\.office\.example/);
      assert.match(settings, new RegExp(`User: ${s.mailbox.split('@')[0]}`));
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: m.smtp.port(), secure: false, auth: { user: s.mailbox.split('@')[0]!, pass: password }, tls: { rejectUnauthorized: false } });
      const info = await transport.sendMail({ from: s.mailbox, to: `alice@${t.domain}`, subject: 'Scan', text: 'scanned' });
      transport.close();
      assert.equal((await m.smtp.waitFor(queueIdOf(info.response), ['delivered', 'failed'], 30_000)).state, 'delivered');
    }

    await page.goto(m.relay.adminUrl('/#/overview'));
    await page.goto(m.relay.adminUrl('/#/migration'));
    await page.locator('#migration-summary[data-moved="2"]').waitFor();
    assert.match(await page.locator('#migration-headline').innerText(), /^2 of 5 senders moved; 3 left; \d+ days to the deadline$/);
    for (const s of t.senders.slice(0, 2)) assert.equal(await page.locator(`[data-sender="${s.mailbox}"]`).getAttribute('data-state'), 'moved');

    const ups = page.locator(`[data-sender="${t.senders[2]!.mailbox}"]`);
    await ups.locator('.ignore').click();
    assert.equal(await ups.locator('.ignore-reason').getAttribute('aria-invalid'), 'true', 'a reason is required');
    await ups.locator('.ignore-reason').fill('UPS replaced by the cloud monitor');
    await ups.locator('.ignore').click();
    await page.locator(`[data-sender="${t.senders[2]!.mailbox}"][data-state="ignored"]`).waitFor();
    assert.match(await page.locator(`[data-sender="${t.senders[2]!.mailbox}"]`).innerText(), /UPS replaced by the cloud monitor/);
    assert.match(await page.locator('#migration-headline').innerText(), /^2 of 4 senders moved; 2 left;/);

    const apiBoard = await (await page.request.get(m.relay.adminUrl('/api/v1/migration'))).json() as { summary: { moved: number; total: number; ignored: number } };
    assert.deepEqual([apiBoard.summary.moved, apiBoard.summary.total, apiBoard.summary.ignored], [2, 4, 1]);
    assert.equal(await page.locator('[data-sender]').count(), 5);
  } finally {
    await ctx.close();
  }
});

test('Japanese: the board in Japanese; without the Entra ID licence and with concealed names, the refusal and the setting explained with Microsoft\'s screen names', { timeout: 180_000 }, async () => {
  const t = basicAuthTenant(emu, { premium: false, concealed: true });
  const m = await relayFor(t);
  const ctx = await browser.context('ja-JP');
  const page = await ctx.newPage();
  try {
    await setUpInBrowser(page, m.relay);
    await page.goto(m.relay.adminUrl('/#/migration'));
    await page.locator('#migration-empty').waitFor();
    assert.equal(await page.locator('#nav a[href="#/migration"]').innerText(), '移行');
    await scanNow(page, 5);
    assert.match(await page.locator('#migration-headline').innerText(), /^5 件中 0 件の送信元が移行済み、残り 5 件、期限まであと \d+ 日$/);
    const logs = page.locator('#scan-sources li[data-source="sign-ins"]');
    assert.equal(await logs.getAttribute('data-status'), 'licence');
    const logsText = await logs.innerText();
    assert.match(logsText, /サインイン ログ \(認証済み SMTP\)/);
    assert.match(logsText, /403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: Neither tenant is B2C or tenant doesn't have premium license/, 'Microsoft\'s answer as it came');
    assert.match(logsText, /Microsoft Entra ID P1 または P2 のライセンス/);
    assert.match(logsText, /\[サインイン ログ\] で \[フィルターの追加\] → \[クライアント アプリ\]/);
    const report = page.locator('#scan-sources li[data-source="usage-report"]');
    assert.equal(await report.getAttribute('data-ref'), 'scan.concealed-names');
    const reportText = await report.innerText();
    assert.match(reportText, /メール アプリの使用状況レポート/);
    assert.match(reportText, /Microsoft 365 管理センターで \[設定\] → \[組織設定\] → \[サービス\] → \[レポート\]/);
    assert.match(reportText, /「非表示にされたユーザー名、グループ名、サイト名をすべてのレポートに表示」のチェックを外して保存/);
    assert.equal(await page.locator('[data-sender^="concealed:"]').count(), 5, 'still counted');
    assert.match(await page.locator('[data-sender]').first().innerText(), /非表示にされた名前/);
    assert.equal(await page.locator('.add-as-device').count(), 0, 'a concealed name cannot be added as a device');
    assert.match(await page.locator('[data-sender]').first().innerText(), /基本認証のまま/);

    // The first relay's board (two moved, one ignored) in Japanese, on a phone-width screen.
    const first = open[0]!;
    const phone = await browser.context('ja-JP', { width: 390, height: 844 });
    const p2 = await phone.newPage();
    await signInInBrowser(p2, first, '#/migration');
    await p2.locator('#migration-summary').waitFor();
    assert.match(await p2.locator('#migration-headline').innerText(), /^4 件中 2 件の送信元が移行済み、残り 2 件、期限まであと \d+ 日$/);
    assert.equal(await p2.locator('[data-state="moved"] .state').first().innerText(), '移行済み');
    assert.equal(await p2.locator('[data-state="ignored"] .state').first().innerText(), '対象外');
    const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page fits a phone screen (overflow ${overflow}px)`);
    await phone.close();
  } finally {
    await ctx.close();
  }
});
