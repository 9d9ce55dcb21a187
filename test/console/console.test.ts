/**
 * The admin console in headless Chromium against a real relay: no session
 * sends the browser to sign-in; first-time setup with the logged token; the
 * CSP header; a message sent with nodemailer appears in Messages and reaches
 * "delivered"; its trail; an upstream answering 550 shows the reply with what
 * it means and what to do; retry from the message page delivers it; English
 * to Japanese and back, remembered; a forged CSRF token is refused; a phone
 * screen. The tests share one relay and run in order: the first one sets the
 * admin password through the setup form, the later ones sign in with it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

let browser: TestBrowser;
let relay: TestRelay;
let up: TestUpstream;

before(async () => {
  browser = await launchBrowser();
  up = await startUpstream();
  relay = await startRelay({
    upstreams: { office: smtpUpstream(up.port) },
    devices: [{ name: 'mfp-3f', networks: ['127.0.0.1/32'] }],
  });
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await up?.close();
});

/** The state badge of a message in the Messages list. */
const listState = (page: Page, id: string) => page.locator(`#message-list tr[data-id="${id}"] .state`).getAttribute('data-state');

test('no session: sign-in page; first-time setup with the logged token; CSP; sign out and in again', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    const res = await page.goto(relay.adminUrl('/#/messages'));
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()['content-security-policy']?.split(';')[0], "default-src 'self'");
    await page.waitForURL(/#\/signin\?next=/);
    assert.equal(await page.locator('#nav').isHidden(), true, 'no navigation without a session');
    assert.equal((await fetch(relay.adminUrl('/console/listeners.json'))).status, 401, 'the listeners need a session');
    assert.equal((await fetch(relay.adminUrl('/assets/..%2F..%2Fpackage.json'))).status, 404, 'only the console files are served');
    const js = await fetch(relay.adminUrl('/assets/app.js'));
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');

    // No admin password yet: the setup form opens by itself, with no sign-in to go back to.
    await page.locator('#setup-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#setup-link').isHidden(), true, 'no "Back to sign-in" while no password exists');
    assert.equal(await page.locator('#signin-form').isHidden(), true);
    assert.equal((await fetch(relay.adminUrl('/favicon.ico'), { redirect: 'manual' })).headers.get('location'), '/assets/favicon.svg');
    assert.equal((await fetch(relay.adminUrl('/assets/favicon.svg'))).headers.get('content-type'), 'image/svg+xml');

    // The one-time link printed at start (/setup#TOKEN) fills the token in; a wrong one is refused with the reason.
    await page.goto(relay.adminUrl('/setup#wrong-token'));
    await page.waitForURL(/#\/signin\?setup=wrong-token/);
    await page.locator('#setup-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#setup-token').inputValue(), 'wrong-token');
    await page.fill('#setup-password', 'correct horse battery staple');
    await page.fill('#setup-again', 'correct horse battery staple');
    await page.click('#setup-submit');
    await page.locator('#signin-error', { hasText: /Wrong setup token/ }).waitFor();
    await ctx.close();

    const ctx2 = await browser.context();
    const page2 = await ctx2.newPage();
    await setUpInBrowser(page2, relay);
    assert.equal(await page2.locator('#nav').isVisible(), true);
    assert.equal(await page2.locator('#queue-depth').innerText(), '0');
    await page2.click('#signout');
    await page2.waitForURL(/#\/signin/);
    await page2.goto(relay.adminUrl('/#/devices'));
    await page2.waitForURL(/#\/signin\?next=/);
    await page2.fill('#password', 'correct horse battery staple');
    await page2.click('#signin-submit');
    await page2.waitForURL(/#\/devices/, { timeout: 10_000 });
    await page2.locator('[data-device="mfp-3f"]').waitFor();
    await ctx2.close();
  } finally {
    await ctx.close().catch(() => undefined);
  }
});

test('a message from nodemailer reaches "delivered" in Messages; its trail; the device and its settings', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay, '#/messages');
    up.fault = undefined;
    const id = await sendMail(relay, { subject: 'Scan from 3F', to: ['alice@contoso.com'] });
    await page.locator(`#message-list tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    await page.waitForFunction((mid) => document.querySelector(`#message-list tr[data-id="${mid}"] .state`)?.getAttribute('data-state') === 'delivered',
      id, { timeout: 20_000 });
    assert.equal(await listState(page, id), 'delivered');
    assert.match(await page.locator(`#message-list tr[data-id="${id}"]`).innerText(), /Scan from 3F/);

    await page.fill('#search-recipient', 'nobody@contoso.com');
    await page.click('#search-form button[type=submit]');
    await page.locator('#message-results', { hasText: 'No messages match' }).waitFor();
    await page.fill('#search-recipient', 'alice@contoso.com');
    await page.selectOption('#search-state', 'delivered');
    await page.click('#search-form button[type=submit]');
    await page.locator(`#message-list tr[data-id="${id}"]`).waitFor();

    await page.click(`#message-list tr[data-id="${id}"] a`);
    await page.waitForURL(new RegExp(`#/message/${id.replace('.', '\\.')}`));
    // The page renders after its API call answers: wait for the trail before reading it.
    await page.locator('#trail li[data-kind="attempt"]').first().waitFor({ timeout: 10_000 });
    const kinds = await page.locator('#trail li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind')));
    assert.deepEqual(kinds.slice(0, 2), ['received', 'routed']);
    assert.ok(kinds.includes('attempt'), `the trail shows the attempt: ${kinds.join(',')}`);
    assert.match(await page.locator('main').innerText(), /TLSv1\.3/, 'received over TLS 1.3');
    assert.equal(await page.locator('#retry').isDisabled(), true, 'a delivered message is not retried');

    await page.click('#nav a[href="#/devices"]');
    const device = page.locator('[data-device="mfp-3f"]');
    await device.waitFor();
    assert.match(await device.innerText(), /127\.0\.0\.1/);
    const settings = await device.locator('pre.copy').first().innerText();
    assert.match(settings, new RegExp(`Port: ${relay.port()}`));
    assert.match(settings, /Security: STARTTLS/);
  } finally {
    await ctx.close();
  }
});

test('the upstream refuses with 550: the message page explains it; retry from the page delivers it', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay);
    up.fault = (_n, stage) => (stage === 'rcpt' ? { code: 550, message: '5.7.1 Sender not allowed to relay' } : undefined);
    const id = await sendMail(relay, { subject: 'Refused scan', to: ['bob@contoso.com'] });
    await relay.waitFor(id, ['failed']);

    await page.goto(relay.adminUrl(`/#/message/${id}`));
    const rcpt = page.locator('.recipient[data-address="bob@contoso.com"]');
    await rcpt.waitFor();
    assert.equal(await page.locator('h1 .state').getAttribute('data-state'), 'failed');
    assert.match(await rcpt.locator('dd').first().innerText(), /550.*Sender not allowed to relay/);
    const hint = await rcpt.locator('.hint').innerText();
    assert.match(hint, /^What it means:\s+\S/);
    const stored = await relay.store.get(id);
    assert.ok(hint.includes(stored!.recipientRecords[0]!.last!.hint!), 'the hint is the catalogue\'s explanation');
    const fix = stored!.recipientRecords[0]!.last!.fix;
    assert.equal(await rcpt.locator('.fix').count(), fix ? 1 : 0);
    if (fix) assert.equal(await rcpt.locator('.fix').innerText(), `What to do: ${fix}`);

    up.fault = undefined;
    await page.click('#retry');
    await page.locator('#action-status', { hasText: 'Queued again' }).waitFor();
    await relay.waitFor(id, ['delivered']);
    await page.waitForFunction(() => document.querySelector('h1 .state')?.getAttribute('data-state') === 'delivered', undefined, { timeout: 15_000 });
    const kinds = await page.locator('#trail li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind')));
    assert.ok(kinds.includes('retry'), 'the retry is in the trail');
    assert.equal(up.received.filter((m) => m.to.includes('bob@contoso.com')).length, 1);
  } finally {
    await ctx.close();
  }
});

test('Japanese and back: chosen from the browser, switchable, remembered', async () => {
  const ctx = await browser.context('ja-JP');
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay);
    await page.locator('#queue-depth').waitFor();
    assert.equal(await page.locator('h1').innerText(), '概要', 'a Japanese browser gets Japanese');
    assert.ok(Number(await page.locator('#count-delivered').innerText()) >= 2, 'the overview counts the delivered messages');
    assert.equal(await page.locator('#overview-chart rect').count(), 3, 'accepted, delivered, failed bars');
    assert.match(await page.locator('#overview-upstreams').innerText(), /office/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
    assert.equal(await page.locator('#nav a[href="#/messages"]').innerText(), 'メッセージ');

    await page.selectOption('#lang', 'en');
    await page.locator('h1', { hasText: 'Overview' }).waitFor();
    assert.equal(await page.locator('#nav a[href="#/messages"]').innerText(), 'Messages');
    await page.reload();
    await page.locator('h1', { hasText: 'Overview' }).waitFor();
    assert.equal(await page.locator('#lang').inputValue(), 'en', 'the choice is remembered over the browser language');

    await page.selectOption('#lang', 'ja');
    await page.locator('h1', { hasText: '概要' }).waitFor();
    await page.click('#nav a[href="#/messages"]');
    await page.locator('h1', { hasText: 'メッセージ' }).waitFor();
    assert.match(await page.locator('#message-list').innerText(), /配送済み/, 'states are in Japanese too');
    assert.equal(await page.evaluate(() => localStorage.getItem('authrelay.lang')), 'ja');
  } finally {
    await ctx.close();
  }
});

test('a forged CSRF token is refused from the page; the right one is accepted', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay);
    const id = await sendMail(relay, { subject: 'CSRF probe', to: ['carol@contoso.com'] });
    await relay.waitFor(id, ['delivered']);
    const result = await page.evaluate(async (mid) => {
      const forged = await fetch(`/api/v1/messages/${mid}`, { method: 'DELETE', headers: { 'x-csrf-token': 'forged-token' } });
      const none = await fetch(`/api/v1/messages/${mid}`, { method: 'DELETE' });
      const session = await (await fetch('/api/v1/session')).json() as { csrfToken: string };
      const right = await fetch(`/api/v1/messages/${mid}`, { method: 'DELETE', headers: { 'x-csrf-token': session.csrfToken } });
      return { forged: forged.status, forgedBody: await forged.json() as { error: string }, none: none.status, right: right.status };
    }, id);
    assert.equal(result.forged, 403);
    assert.equal(result.forgedBody.error, 'csrf');
    assert.equal(result.none, 403);
    assert.equal(result.right, 204, 'the session\'s own token works');
    assert.equal(await relay.store.get(id), undefined);
  } finally {
    await ctx.close();
  }
});

test('a phone screen: every page fits the width, the message list becomes one card per message', async () => {
  const ctx = await browser.context('en-GB', { width: 390, height: 844 });
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay);
    for (const [hash, ready] of [['#/overview', '#queue-depth'], ['#/messages', '#message-list'], ['#/devices', '[data-device]'], ['#/upstreams', '#upstream-list']]) {
      await page.goto(relay.adminUrl(`/${hash}`));
      await page.locator(ready!).first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${hash} is ${width} px wide on a 390 px screen`);
    }
    await page.goto(relay.adminUrl('/#/messages'));
    await page.locator('#message-list').waitFor();
    assert.equal(await page.locator('#message-list thead').isHidden(), true, 'no table header on a phone');
    assert.equal(await page.locator('#message-list tbody tr').first().evaluate((tr) => getComputedStyle(tr).display), 'block');
  } finally {
    await ctx.close();
  }
});
