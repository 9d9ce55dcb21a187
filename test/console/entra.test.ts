/**
 * Sign-in to the console with Microsoft (Entra ID) in headless Chromium,
 * against the Microsoft 365 emulator's sign-in page: a listed user clicks
 * "Sign in with Microsoft", signs in at the emulator and lands on the
 * overview signed in; a user who is not listed comes back to the sign-in
 * page with the reason, in English and in Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { launchBrowser, type TestBrowser } from './browser.js';

let browser: TestBrowser;
let relay: TestRelay;
let emu: Emulator;
let c: Contoso;
let it: string;
let intern: string;

before(async () => {
  browser = await launchBrowser();
  emu = await startEmulator();
  c = contoso(emu);
  it = emu.addMailbox(c.tenant.id, { address: `it@${c.tenant.domains[1]}`, password: 'Pa55word!it' }).address;
  intern = emu.addMailbox(c.tenant.id, { address: `intern@${c.tenant.domains[1]}`, password: 'Pa55word!intern' }).address;
  relay = await startRelay({
    admin: {
      listen: '127.0.0.1:0',
      entraSignIn: {
        tenant: c.tenant.domains[0]!, clientId: c.app.clientId, clientSecret: c.secret, ca: emu.caFile,
        endpoints: { authority: emu.authorityHost }, users: [it],
      },
    },
  });
  c.app.redirectUris.push(`http://localhost:${relay.admin!.port!}/api/v1/session/entra/callback`);
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await emu?.close();
});

/** A browser context that accepts the emulator's test CA (the relay itself is plain http on loopback). */
async function context(locale = 'en-GB') {
  return browser.browser.newContext({ locale, viewport: { width: 1200, height: 900 }, ignoreHTTPSErrors: true });
}

async function signInAtMicrosoft(page: import('playwright-core').Page, user: string, password: string): Promise<void> {
  await page.goto(`http://localhost:${relay.admin!.port!}/`);
  await page.waitForURL(/#\/signin/);
  await page.locator('#entra-link').waitFor({ state: 'visible' });
  await page.click('#entra-link');
  await page.waitForURL((u) => u.origin === emu.authorityHost);
  await page.fill('#i0116', user);
  await page.fill('#i0118', password);
  await page.click('#idSIButton9');
}

test('a listed user signs in with Microsoft and lands on the overview, signed in', async () => {
  const ctx = await context();
  try {
    const page = await ctx.newPage();
    await signInAtMicrosoft(page, it, 'Pa55word!it');
    await page.waitForURL(/#\/overview/);
    await page.locator('#queue-depth').waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
    assert.equal(me.user, it);
  } finally {
    await ctx.close();
  }
});

test('a user who is not listed is sent back to sign-in with the reason, in English and Japanese', async () => {
  for (const [locale, text] of [['en-GB', /may not sign in to authrelay/], ['ja-JP', /authrelay にサインインできません/]] as const) {
    const ctx = await context(locale);
    try {
      const page = await ctx.newPage();
      await signInAtMicrosoft(page, intern, 'Pa55word!intern');
      await page.waitForURL(/#\/signin\?entra=not-listed/);
      const error = page.locator('#signin-error');
      await error.filter({ hasText: text }).waitFor();
      assert.match(await error.innerText(), new RegExp(intern.replace(/[.]/g, '\\.')));
      const status = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(status, 401, 'no session');
    } finally {
      await ctx.close();
    }
  }
});
