/**
 * The console's Diagnostics page and the Routes page's test message in
 * headless Chromium against a real relay: "Run checks" shows an upstream on a
 * closed port as failed with its fix, grouped under its section; a test
 * message through a working SMTP upstream shows its steps and "the route
 * works", and the upstream received it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { smtpUpstream, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { launchBrowser, setUpInBrowser, type TestBrowser } from './browser.js';

let browser: TestBrowser;
let relay: TestRelay;
let up: TestUpstream;
let closedPort: number;

before(async () => {
  browser = await launchBrowser();
  up = await startUpstream();
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  relay = await startRelay({ upstreams: { office: smtpUpstream(up.port), gone: smtpUpstream(closedPort) } });
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await up?.close();
});

test('Diagnostics: run the checks, see the failing upstream with its fix; Routes: send a test message, see "the route works"', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await setUpInBrowser(page, relay);

    await page.click('#nav a[href="#/diagnostics"]');
    await page.waitForURL(/#\/diagnostics/);
    await page.locator('#nav a.current', { hasText: 'Diagnostics' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#nav a.current').innerText(), 'Diagnostics');
    await page.click('#diag-run');
    const gone = page.locator('[data-section="Upstream gone (smtp)"] li[data-check="upstream.gone.tcp"]');
    await gone.waitFor({ timeout: 30_000 });
    assert.equal(await gone.getAttribute('data-status'), 'fail');
    assert.equal(await gone.locator('.state').innerText(), 'fail');
    assert.match(await gone.locator('.check-title').innerText(), new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closedPort}`));
    assert.match(await gone.locator('.check-fix').innerText(), /^Fix: .*check the host and port/);
    const office = page.locator('[data-section="Upstream office (smtp)"] li');
    assert.ok(await office.count() >= 1);
    assert.ok(!(await office.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).includes('fail'), 'the working upstream does not fail');
    assert.match(await page.locator('#diag-summary').innerText(), /[1-9]\d* failed/);
    assert.equal(await page.locator('[data-section="Listeners"]').count(), 1);

    await page.click('#nav a[href="#/upstreams"]');
    const form = page.locator('[data-test-upstream="office"]');
    await form.waitFor();
    assert.equal(await page.locator('[data-test-upstream]').count(), 2, 'one form per upstream');
    await form.locator('.test-to').fill('alice@contoso.com');
    await form.locator('.test-send').click();
    const verdict = form.locator('.test-outcome');
    await verdict.waitFor({ timeout: 30_000 });
    assert.equal(await verdict.getAttribute('data-ok'), 'true');
    assert.match(await verdict.innerText(), /the route works/);
    const steps = await form.locator('.test-steps li').allInnerTexts();
    assert.match(steps[0]!, /route office: smtp upstream; test message from .* to alice@contoso\.com/);
    assert.ok(steps.some((s) => s.includes('alice@contoso.com: accepted by the upstream')), steps.join('\n'));
    assert.equal(up.received.length, 1);
    assert.deepEqual(up.received[0]!.to, ['alice@contoso.com']);

    // Japanese: the same page in the other language.
    await page.selectOption('#lang', 'ja');
    await page.click('#nav a[href="#/diagnostics"]');
    await page.locator('#diag-run', { hasText: 'チェックを実行' }).waitFor();
    await page.click('#diag-run');
    const goneJa = page.locator('[data-section="アップストリーム gone (smtp)"] li[data-check="upstream.gone.tcp"]');
    await goneJa.waitFor({ timeout: 30_000 });
    assert.match(await goneJa.locator('.check-title').innerText(), new RegExp(`127\\.0\\.0\\.1:${closedPort} に接続できません \\(ECONNREFUSED\\)`));
    assert.match(await goneJa.locator('.check-fix').innerText(), /^対処: .*設定のホストとポート、サーバーが動作していることを確認してください/);
    assert.equal(await page.locator('[data-section="リスナー"]').count(), 1);
    assert.match(await page.locator('#diag-summary').innerText(), /失敗 [1-9]\d* 件/);
  } finally {
    await ctx.close();
  }
});
