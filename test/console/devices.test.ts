/**
 * The console's Devices page in headless Chromium against a real relay
 * started on a config file: add a device from the page with a generated
 * password, see the password once with the settings to type into the device,
 * and find the device in the file (password hash only).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/core/log.js';
import { startRelay, type RunningRelay } from '../../src/main.js';
import type { TestRelay } from '../helpers/relay.js';
import { launchBrowser, setUpInBrowser, type TestBrowser } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'authrelay-console-devices-'));
const file = join(dir, 'authrelay.yaml');
let browser: TestBrowser;
let relay: RunningRelay;
let handle: TestRelay;

before(async () => {
  writeFileSync(file, `# relay for the console test\nhostname: relay.test\ndataDir: ${dir}/data\nlisteners:\n  - name: main\n    host: 127.0.0.1\n    port: 0\n    tls: starttls\nadmin:\n  listen: 127.0.0.1:0\n`, { mode: 0o600 });
  const { config } = loadConfigFile(file, { env: process.env });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  relay = await startRelay(config, createLogger('info', sink), { configFile: file });
  handle = { ...relay, logs, adminUrl: (p: string) => `http://127.0.0.1:${relay.admin!.port}${p}` } as unknown as TestRelay;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('add a device from the Devices page: its password shown once with the settings', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await setUpInBrowser(page, handle);
    await page.click('#nav a[href="#/devices"]');
    await page.locator('form.add-device').waitFor();
    await page.fill('form.add-device input[name="name"]', 'scanner');
    await page.fill('form.add-device input[name="sendAs"]', 'scanner@contoso.test');
    await page.click('form.add-device button[type="submit"]');
    const shown = page.locator('[data-new-password="scanner"]');
    await shown.waitFor();
    const password = await shown.locator('code.new-password').innerText();
    assert.match(password, /^[A-Za-z0-9]{16}$/);
    const settings = await shown.locator('pre.copy').first().innerText();
    assert.match(settings, new RegExp(`Port: ${relay.listeners[0]!.port}`));
    assert.match(settings, /User: scanner/);
    assert.ok(settings.includes(password));
    assert.match(await shown.innerText(), /Restart the relay/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /# relay for the console test/);
    assert.match(text, /name: scanner/);
    assert.ok(!text.includes(password));
  } finally {
    await ctx.close();
  }
});
