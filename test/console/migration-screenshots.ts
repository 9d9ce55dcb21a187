/**
 * Makes docs/screenshots/migration-en.png and migration-ja.png: the
 * Migration page of a real relay against the Microsoft 365 emulator, after
 * a scan of a tenant with five basic-auth senders, two of them added as
 * devices that sent through authrelay, one marked ignored. Run after a
 * build (a Japanese font such as fonts-ipafont-gothic must be installed):
 *   node dist/test/console/migration-screenshots.js
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startEmulator } from '../emulator/index.js';
import { basicAuthTenant, scanUpstream } from '../helpers/m365-migration.js';
import { startTestRelay, queueIdOf } from '../helpers/relay.js';
import { call, setUpAndSignIn } from '../admin/api-client.js';
import { launchBrowser, signInInBrowser } from './browser.js';

const outDir = join(process.cwd(), 'docs', 'screenshots');

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const emu = await startEmulator();
  const t = basicAuthTenant(emu);
  const relay = await startTestRelay({
    hostname: 'relay.example.com', publicAddress: 'relay.office.example', upstreams: { m365: scanUpstream(emu, t, t.senders[0]!.mailbox) },
    routes: [{ use: 'm365' }], migration: { upstream: 'm365', schedule: 'off' }, trustLoopback: false,
  }, { file: true });
  const admin = { relay };
  const browser = await launchBrowser();
  try {
    const auth = await setUpAndSignIn(admin.relay);
    await call(admin.relay, 'POST', '/migration/scan', { auth, body: { period: 'D30' } });
    for (const s of t.senders.slice(0, 2)) {
      const name = s.mailbox.split('@')[0]!;
      const added = await call(admin.relay, 'POST', '/devices', { auth, body: { name, password: true, sendAs: s.mailbox } });
      const tr = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port(), secure: false, auth: { user: name, pass: added.json.password as string }, tls: { rejectUnauthorized: false } });
      const info = await tr.sendMail({ from: s.mailbox, to: `alice@${t.domain}`, subject: 'Scan', text: 'scanned' });
      tr.close();
      await relay.waitFor(queueIdOf(info.response), ['delivered'], 30_000);
    }
    await call(admin.relay, 'PUT', `/migration/ignore/${encodeURIComponent(t.senders[2]!.mailbox)}`, { auth, body: { reason: 'UPS replaced by the cloud monitor' } });
    for (const lang of ['en', 'ja']) {
      const ctx = await browser.context(lang === 'ja' ? 'ja-JP' : 'en-GB');
      const page = await ctx.newPage();
      await signInInBrowser(page, admin.relay, '#/migration');
      await page.locator('#migration-rows').waitFor();
      const file = join(outDir, `migration-${lang}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`wrote ${file}`);
      await ctx.close();
    }
  } finally {
    await browser.close();
    await relay.close();
    await emu.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
