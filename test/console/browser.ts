/**
 * Headless Debian Chromium driven by playwright-core for the console tests
 * and the screenshot script: launched with a fresh profile and the flags that
 * keep it off the network, plus helpers to set up and sign in through the
 * console's own pages.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestRelay } from '../helpers/relay.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface TestBrowser {
  browser: Browser;
  /** A new context (its own cookies and localStorage) in the given UI language, laptop-sized unless told. */
  context(locale?: string, viewport?: { width: number; height: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // launch() gives Chromium a new empty profile directory (--user-data-dir) of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    context: (locale = 'en-GB', viewport = { width: 1200, height: 900 }) => browser.newContext({ locale, viewport }),
    close: () => browser.close(),
  };
}

/** The setup token the relay printed at start (log event admin-setup). */
export function setupToken(relay: TestRelay): string {
  const token = relay.logs.filter((l) => l.event === 'admin-setup').at(-1)?.setupToken;
  if (typeof token !== 'string') throw new Error('no admin-setup line in the relay log');
  return token;
}

/** First start through the console: the sign-in page's setup form, then the overview. */
export async function setUpInBrowser(page: Page, relay: TestRelay): Promise<void> {
  await page.goto(relay.adminUrl('/'));
  await page.waitForURL(/#\/signin/);
  // The sign-in page opens the setup form by itself while no admin password is set.
  await page.locator('#setup-form').waitFor({ state: 'visible' });
  await page.fill('#setup-token', setupToken(relay));
  await page.fill('#setup-password', ADMIN_PASSWORD);
  await page.fill('#setup-again', ADMIN_PASSWORD);
  await page.click('#setup-submit');
  await page.waitForURL(/#\/overview/);
  await page.locator('#queue-depth').waitFor();
}

/** Signs in through the sign-in page (the password is set already). */
export async function signInInBrowser(page: Page, relay: TestRelay, hash = ''): Promise<void> {
  await page.goto(relay.adminUrl(`/${hash}`));
  await page.waitForURL(/#\/signin/);
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('#signin-submit');
  await page.waitForURL((u) => !u.hash.startsWith('#/signin'));
}
