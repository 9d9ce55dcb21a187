/**
 * Makes the console screenshots in docs/screenshots/ (English and Japanese:
 * overview, messages, a refused message's page, devices, upstreams, the
 * Microsoft 365 wizard, diagnostics) against a real
 * relay with a delivered and a refused message. Run after a build:
 *   node dist/test/console/screenshots.js
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream } from '../helpers/upstream.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { launchBrowser, setUpInBrowser, signInInBrowser } from './browser.js';

const outDir = join(process.cwd(), 'docs', 'screenshots');

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const up = await startUpstream();
  const relay = await startRelay({
    hostname: 'relay.example.com',
    upstreams: { office: smtpUpstream(up.port) },
    devices: [{ name: 'mfp-3f', networks: ['127.0.0.1/32'] }],
  });
  const browser = await launchBrowser();
  try {
    const first = await browser.context();
    await setUpInBrowser(await first.newPage(), relay);
    await first.close();

    for (const subject of ['Scan 2F meeting notes', 'Invoice scan']) await relay.waitFor(await sendMail(relay, { subject }), ['delivered']);
    up.fault = (_n, stage) => (stage === 'rcpt' ? { code: 550, message: '5.7.1 Client does not have permissions to send as this sender' } : undefined);
    const refused = await sendMail(relay, { subject: 'Scan for the auditor', to: ['auditor@fabrikam.example'] });
    await relay.waitFor(refused, ['failed']);
    up.fault = undefined;

    const pages: [string, string, string][] = [
      ['overview', '#/overview', '#queue-depth'], ['messages', '#/messages', '#message-list'],
      ['message', `#/message/${refused}`, '#trail'], ['devices', '#/devices', '[data-device="mfp-3f"]'],
      ['upstreams', '#/upstreams', '#upstream-list'], ['wizard', '#/wizard', '#wizard-routes'], ['diagnostics', '#/diagnostics', '#diag-run'],
    ];
    for (const lang of ['en', 'ja']) {
      const ctx = await browser.context(lang === 'ja' ? 'ja-JP' : 'en-GB');
      const page = await ctx.newPage();
      await signInInBrowser(page, relay);
      for (const [name, hash, ready] of pages) {
        await page.goto(relay.adminUrl(`/${hash}`));
        await page.locator(ready).waitFor();
        if (name === 'diagnostics') {
          await page.click('#diag-run');
          await page.locator('#diag-summary').waitFor({ timeout: 60_000 });
        }
        const file = join(outDir, `${name}-${lang}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(`wrote ${file}`);
      }
      await ctx.close();
    }
  } finally {
    await browser.close();
    await relay.close();
    await up.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
