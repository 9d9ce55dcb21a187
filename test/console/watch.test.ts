/**
 * Watching a device connect, in the console (headless Chromium): on the
 * device's card, "Watch sessions live" shows a wrong password and a TLS 1.0
 * client on a listener that takes TLS 1.2 or newer as they happen, each with
 * what it means and what to do; the card of addresses that are no device
 * shows a client from an unknown address, refused. In Japanese too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { relayCertificate } from '../helpers/delivery.js';
import { swaks } from '../helpers/tools.js';
import { oldTlsClient } from '../helpers/old-tls.js';
import { hashPassword } from '../../src/identity/password.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

let relay: TestRelay;
let browser: TestBrowser;
let setUp = false;

before(async () => {
  relay = await startTestRelay({
    trustLoopback: false, tls: relayCertificate(),
    listeners: [
      { name: 'modern', host: '127.0.0.1', port: 0, tls: 'starttls' },
      { name: 'legacy', host: '127.0.0.1', port: 0, tls: 'starttls', minTlsVersion: 'TLSv1' },
    ],
    devices: [{ name: 'mfp', username: 'mfp', passwordHash: await hashPassword('right-password-1'), networks: ['127.0.0.7/32'] }],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.close();
});

test('the device card shows a wrong password and a TLS 1.0 client live, with why and what to do; the unknown-address card a refused client', { timeout: 120_000 }, async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    if (!setUp) {
      await setUpInBrowser(page, relay);
      setUp = true;
      await page.click('#nav a[href="#/devices"]');
    }
    const card = page.locator('[data-device="mfp"]');
    await card.waitFor();
    await card.locator('button.watch-device').click();
    await card.locator('.watch-state', { hasText: 'Live' }).waitFor();

    const wrong = await swaks(relay.port('legacy'), ['--local-interface', '127.0.0.7', '--tls', '--auth', 'PLAIN', '--auth-user', 'mfp', '--auth-password', 'wrong-password',
      '--from', 'scan@printer.test', '--to', 'someone@example.com']);
    assert.notEqual(wrong.code, 0);
    const denied = card.locator('.watch-event[data-ref="authFailed"]');
    await denied.waitFor();
    assert.match(await denied.innerText(), /refused: 535 5\.7\.8[\s\S]*Why: The user name or password the device sent is not right\.[\s\S]*What to do: Type the user name and password of the device mfp again/);

    const old = await oldTlsClient(relay.port('modern'), 'starttls', '1.0', '127.0.0.7');
    assert.equal(old.ok, false);
    const tls = card.locator('.watch-event[data-ref="tlsTooOld"]');
    await tls.waitFor();
    assert.match(await tls.innerText(), new RegExp(`TLS handshake failed[\\s\\S]*Why: The device offered a TLS version older than this port accepts[\\s\\S]*Point the device at port ${relay.port('legacy')} \\(listener legacy\\)`));
    assert.ok(!(await card.innerText()).includes('wrong-password'), 'a password was shown');
    await page.screenshot({ path: 'docs/screenshots/device-watch-en.png', fullPage: false });

    const unknown = page.locator('[data-device="*unknown"]');
    await unknown.locator('button.watch-device').click();
    await unknown.locator('.watch-state', { hasText: 'Live' }).waitFor();
    assert.notEqual((await swaks(relay.port('modern'), ['--local-interface', '127.0.0.9', '--tls', '--from', 'scan@printer.test', '--to', 'someone@example.com'])).code, 0);
    const refused = unknown.locator('.watch-event[data-ref="senderDenied"]');
    await refused.waitFor();
    assert.match(await refused.innerText(), /this address is not a known device[\s\S]*What to do: Set a user name and password in the device/);
  } finally {
    await ctx.close();
  }
});

test('in Japanese, the same view says why and what to do, in Japanese', { timeout: 60_000 }, async () => {
  const ctx = await browser.context('ja-JP');
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay, '#/devices');
    const card = page.locator('[data-device="mfp"]');
    await card.waitFor();
    await card.locator('button.watch-device').click();
    await card.locator('.watch-state', { hasText: 'ライブ表示中' }).waitFor();
    assert.notEqual((await swaks(relay.port('legacy'), ['--local-interface', '127.0.0.7', '--tls', '--auth', 'PLAIN', '--auth-user', 'mfp', '--auth-password', 'wrong-again',
      '--from', 'scan@printer.test', '--to', 'someone@example.com'])).code, 0);
    const denied = card.locator('.watch-event[data-ref="authFailed"]').last();
    await denied.waitFor();
    assert.match(await denied.innerText(), /理由:[\s\S]*対処:/);
    // What it means and what to do themselves, in Japanese (receive/explain.ts ja).
    assert.equal(await denied.locator('.watch-why span').innerText(), 'デバイスが送ったユーザー名またはパスワードが正しくありません。');
    assert.match(await denied.locator('.watch-fix span').innerText(), /^デバイス mfp のユーザー名とパスワードを、追加したときに表示されたとおりに入力し直してください/);
    assert.equal(await denied.locator('.watch-fix span').getAttribute('lang'), 'ja');
    assert.equal(await denied.locator('.watch-text').innerText(), 'AUTH PLAIN による "mfp" としてのログインを拒否しました: 535 5.7.8 Authentication credentials invalid');
    assert.ok((await card.locator('.watch-event[data-kind="close"] .watch-text').allInnerTexts()).includes('接続を閉じました'));
    await page.screenshot({ path: 'docs/screenshots/device-watch-ja.png', fullPage: false });
  } finally {
    await ctx.close();
  }
});
