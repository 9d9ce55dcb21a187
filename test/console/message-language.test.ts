/**
 * A failed message's page in the console's language, in headless Chromium
 * against a real relay: one message refused by the Microsoft 365 emulator's
 * Graph (ErrorSendAsDenied: the device writes From a mailbox the relay's
 * mailbox may not send as) and one refused by Postfix's smtp-sink (550 5.1.1
 * at RCPT TO). In the Japanese console each shows "意味:" and "対処方法:"
 * followed by the catalogue's Japanese meaning and fix, the reference, the
 * state in Japanese and the trail in Japanese; switching to English switches
 * all of them (the console asks the API in its language). Screenshots of both
 * pages in both languages go to docs/screenshots/message-failed-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { plainText } from '../fixtures/corpus.js';
import { contoso, deviceSend, graphUpstream } from '../helpers/m365.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { startSmtpSink, type SmtpSink } from '../helpers/tools.js';
import { notJapanese } from '../helpers/japanese.js';
import type { TestRelay } from '../helpers/relay.js';
import type { DeliveryOutcome } from '../../src/core/outcome.js';
import { launchBrowser, setUpInBrowser, type TestBrowser } from './browser.js';

const SHOTS = join(process.cwd(), 'docs', 'screenshots');
const POSTFIX_550 = '550 5.1.1 <bob@fabrikam.com>: Recipient address rejected: User unknown in virtual mailbox table';

let browser: TestBrowser;
let emu: Emulator;
let sink: SmtpSink;
let relay: TestRelay;
const failed: { name: string; shot: string; id: string; route: string; ref: RegExp; outcome: DeliveryOutcome }[] = [];

before(async () => {
  browser = await launchBrowser();
  emu = await startEmulator();
  sink = await startSmtpSink(['-f', 'RCPT', '-B', POSTFIX_550]);
  const c = contoso(emu);
  relay = await startRelay({
    upstreams: { m365: graphUpstream(emu, c), sink: smtpUpstream(sink.port) },
    routes: [{ name: 'fabrikam', when: { recipientDomain: ['fabrikam.com'] }, use: 'sink' }, { name: 'microsoft-365', use: 'm365' }],
    devices: [{ name: 'mfp-3f', networks: ['127.0.0.1/32'] }],
    notices: { toSender: false },
  });
  // Without Send As, the route's mailbox (scanner) may not send a message From Alice.
  const m = plainText(c.alice, [c.bob]);
  const graphId = await deviceSend(relay, m.from, m.to, m.raw);
  const smtpId = await sendMail(relay, { subject: '3F 会議資料のスキャン', to: ['bob@fabrikam.com'] });
  for (const [name, shot, id, route, ref] of [
    ['Graph: SendAs denied', 'message-failed', graphId, 'm365', /^graph\.ErrorSendAsDenied$/],
    ['smtp-sink: 550 5.1.1', 'message-failed-smtp', smtpId, 'sink', /^generic\./],
  ] as const) {
    const done = await relay.waitFor(id, ['failed', 'delivered'], 30_000);
    assert.equal(done.state, 'failed', name);
    const outcome = done.recipientRecords[0]!.last!;
    assert.match(outcome.ref ?? '', ref, JSON.stringify(outcome));
    failed.push({ name, shot, id, route, ref, outcome });
  }
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await sink?.stop();
  await emu?.close();
});

interface Shown { state: string; hint: string; fix: string; ref: string; hintLang: string | null; kinds: string[]; lines: string[] }

async function shown(page: Page, id: string, means: string): Promise<Shown> {
  // This message's page (not the one before it), drawn in the language expected.
  await page.locator('h1 code', { hasText: new RegExp(`^${id.replace(/\./g, '\\.')}$`) }).waitFor();
  const rec = page.locator('#recipients .recipient').first();
  await rec.locator('.hint', { hasText: means }).waitFor();
  await page.locator('#trail li').first().waitFor();
  return {
    state: await page.locator('h1 .state').innerText(),
    hint: await rec.locator('.hint').innerText(),
    fix: await rec.locator('.fix').innerText(),
    ref: await rec.locator('.ref code').innerText(),
    hintLang: await rec.locator('.hint span').getAttribute('lang'),
    kinds: await page.locator('#trail li strong').allInnerTexts(),
    lines: await page.locator('#trail li .line').allInnerTexts(),
  };
}

/** The upstream's own reply at the end of an attempt line is the same in both languages; the rest must be Japanese. */
const ownWords = (line: string) => line.replace(/: (\d{3}\b|Error|ErrorSendAsDenied).*$/s, '');

test('the Japanese console shows the meaning, the fix, the state and the trail in Japanese; English switches them', async () => {
  const ctx = await browser.context('ja-JP');
  try {
    const page = await ctx.newPage();
    await setUpInBrowser(page, relay);
    assert.equal(await page.locator('#lang').inputValue(), 'ja', 'the browser asks for Japanese');
    for (const f of failed) {
      const o = f.outcome;
      assert.ok(o.ja?.hint && o.ja.fix, `${f.name}: the catalogue entry ${o.ref} has Japanese`);
      await page.goto(relay.adminUrl(`/#/message/${f.id}`));
      const ja = await shown(page, f.id, '意味:');
      assert.equal(ja.hint, `意味: ${o.ja.hint}`, f.name);
      assert.equal(ja.fix, `対処方法: ${o.ja.fix}`, f.name);
      assert.equal(ja.hintLang, 'ja');
      assert.equal(ja.ref, o.ref);
      assert.equal(ja.state, '失敗');
      if (f.route === 'sink') assert.equal(await page.locator('dd', { hasText: '3F 会議資料' }).innerText(), '3F 会議資料のスキャン', 'the Subject decoded');
      assert.deepEqual(ja.kinds.slice(0, 3), ['受信', 'ルーティング', '配送試行'], f.name);
      assert.match(ja.lines[0]!, /からリスナー \S+ で \d+ バイトを受信しました/);
      assert.match(ja.lines[1]!, new RegExp(`^${f.route} にルーティングしました`));
      assert.match(ja.lines[2]!, new RegExp(`^${f.route} 経由の配送に失敗しました: `));
      for (const line of ja.lines.slice(0, 3)) assert.equal(notJapanese(ownWords(line)), undefined, `${f.name}: ${line}`);
      await page.screenshot({ path: join(SHOTS, `${f.shot}-ja.png`), fullPage: true });
    }

    // English: the same page, switched from the language menu.
    await page.selectOption('#lang', 'en');
    for (const f of failed) {
      const o = f.outcome;
      await page.goto(relay.adminUrl(`/#/message/${f.id}`));
      const en = await shown(page, f.id, 'What it means:');
      assert.equal(en.hint, `What it means: ${o.hint}`, f.name);
      assert.equal(en.fix, `What to do: ${o.fix}`, f.name);
      assert.equal(en.hintLang, 'en');
      assert.equal(en.ref, o.ref);
      assert.equal(en.state, 'failed');
      assert.deepEqual(en.kinds.slice(0, 3), ['received', 'routed', 'attempt']);
      const stored = await relay.store.trail(f.id);
      assert.deepEqual(en.lines, stored.map((e) => e.text), 'in English the trail reads as stored');
      assert.match(en.lines[2]!, new RegExp(`^failed via ${f.route}: `));
      await page.screenshot({ path: join(SHOTS, `${f.shot}-en.png`), fullPage: true });
    }

    // And back to Japanese without leaving the page (the page is drawn again in the new language).
    await page.selectOption('#lang', 'ja');
    const again = await shown(page, failed[1]!.id, '意味:');
    assert.equal(again.hint, `意味: ${failed[1]!.outcome.ja!.hint}`);
  } finally {
    await ctx.close();
  }
});
