/**
 * The console's Devices page in headless Chromium against a real relay
 * started on a config file: add a device from the page with a generated
 * password, see the password once with the settings to type into the device,
 * and find the device in the file (password hash only); edit a device with
 * the form prefilled from the file, saved with the session's CSRF token, the
 * file changed with its comments kept and applied at once (the API and the
 * refreshed list show the new settings in effect); a value the configuration
 * refuses shown under its field with the file left as it was; the form in
 * Japanese on a phone-width screen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/core/log.js';
import { startRelay, type RunningRelay } from '../../src/main.js';
import type { TestRelay } from '../helpers/relay.js';
import type { Page } from 'playwright-core';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'authrelay-console-devices-'));
const file = join(dir, 'authrelay.yaml');
let browser: TestBrowser;
let relay: RunningRelay;
/** The configuration the relay was started with. */
let started: Config;
let handle: TestRelay;
let setUp = false;

/** The first test sets the admin password through the console; later ones sign in. */
async function openDevices(page: Page): Promise<void> {
  if (setUp) {
    await signInInBrowser(page, handle, '#/devices');
  } else {
    await setUpInBrowser(page, handle);
    setUp = true;
    await page.click('#nav a[href="#/devices"]');
  }
  await page.locator('[data-device="copier"]').waitFor();
}

interface ApiDevice { name: string; networks: string[]; sendAs: string | null; allowedFrom: string[]; route: string | null; pending: string | null }

/** GET /api/v1/devices with the browser's session (its cookies). */
async function apiDevice(page: Page, name: string): Promise<ApiDevice | undefined> {
  const res = await page.request.get(handle.adminUrl('/api/v1/devices'));
  assert.equal(res.status(), 200);
  return ((await res.json()) as { devices: ApiDevice[] }).devices.find((d) => d.name === name);
}

before(async () => {
  writeFileSync(file, `# relay for the console test
hostname: relay.test
dataDir: ${dir}/data
listeners:
  - name: main
    host: 127.0.0.1
    port: 0
    tls: starttls
admin:
  listen: 127.0.0.1:0
devices:
  # the copier on the second floor
  - name: copier
    networks: [127.0.0.9/32] # its fixed address
`, { mode: 0o600 });
  const { config } = loadConfigFile(file, { env: process.env });
  started = config;
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
    await openDevices(page);
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
    assert.match(await shown.innerText(), /applied at once \(configuration \d+ \(sha256 [0-9a-f]{12}\)\)/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /# relay for the console test/);
    assert.match(text, /name: scanner/);
    assert.ok(!text.includes(password));
  } finally {
    await ctx.close();
  }
});

test('edit a device: the form is prefilled from the file, the change is saved with comments kept and shown by the API', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await openDevices(page);
    const card = page.locator('[data-device="copier"]');
    const form = page.locator('form[data-edit="copier"]');
    assert.equal(await form.isHidden(), true, 'the form opens on request');
    await card.locator('button.edit-device').click();
    await form.waitFor();
    assert.equal(await form.locator('input[name="networks"]').inputValue(), '127.0.0.9/32');
    assert.equal(await form.locator('input[name="sendAs"]').inputValue(), '');
    assert.equal(await form.locator('select[name="route"]').inputValue(), '');
    assert.equal(await form.locator('input[name="username"]').count(), 0, 'a device trusted by network has no user name to edit');

    await form.locator('input[name="networks"]').fill('127.0.0.9/32, 192.0.2.0/24');
    await form.locator('input[name="sendAs"]').fill('copier@contoso.test');
    await form.locator('input[name="allowedFrom"]').fill('*@contoso.test');
    await form.locator('select[name="route"]').selectOption('capture');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH');
    await form.locator('button.save-device').click();
    const sent = await patch;
    const session = await page.request.get(handle.adminUrl('/api/v1/session'));
    assert.equal(sent.headers()['x-csrf-token'], ((await session.json()) as { csrfToken: string }).csrfToken, 'the session\'s CSRF token is sent');
    assert.deepEqual(sent.postDataJSON(), { networks: ['127.0.0.9/32', '192.0.2.0/24'], sendAs: 'copier@contoso.test', allowedFrom: ['*@contoso.test'], route: 'capture' });

    const saved = page.locator('[data-device="copier"] [data-saved="copier"]');
    await saved.waitFor();
    assert.match(await saved.innerText(), /Saved to the relay's configuration file and applied at once/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /# relay for the console test/);
    assert.match(text, /# the copier on the second floor/);
    assert.match(text, /# its fixed address/);
    const copier = loadConfigFile(file, { env: process.env }).config.devices.find((d) => d.name === 'copier');
    assert.deepEqual(copier && { networks: copier.networks, sendAs: copier.sendAs, allowedFrom: copier.allowedFrom, route: copier.route },
      { networks: ['127.0.0.9/32', '192.0.2.0/24'], sendAs: 'copier@contoso.test', allowedFrom: ['*@contoso.test'], route: 'capture' });

    const shown = await apiDevice(page, 'copier');
    assert.deepEqual(shown && { networks: shown.networks, sendAs: shown.sendAs, allowedFrom: shown.allowedFrom, route: shown.route, pending: shown.pending },
      { networks: ['127.0.0.9/32', '192.0.2.0/24'], sendAs: 'copier@contoso.test', allowedFrom: ['*@contoso.test'], route: 'capture', pending: null });
    assert.deepEqual(relay.current().config.devices.find((d) => d.name === 'copier')?.networks, ['127.0.0.9/32', '192.0.2.0/24'], 'the running relay uses the new settings at once');
    assert.deepEqual(started.devices.find((d) => d.name === 'copier')?.networks, ['127.0.0.9/32'], 'the configuration the relay started with is not changed in place');

    // The refreshed list shows the settings in effect, nothing waiting, and prefills the form with them.
    assert.match(await card.locator('dl.kv').innerText(), /192\.0\.2\.0\/24/);
    assert.equal(await card.locator('[data-pending]').count(), 0);
    await card.locator('button.edit-device').click();
    assert.equal(await form.locator('input[name="networks"]').inputValue(), '127.0.0.9/32, 192.0.2.0/24');
    assert.equal(await form.locator('select[name="route"]').inputValue(), 'capture');

    // Emptying the send-as address and going back to the routes list removes both keys; only the changed fields are sent.
    await form.locator('input[name="sendAs"]').fill('');
    await form.locator('select[name="route"]').selectOption('');
    const second = page.waitForRequest((r) => r.method() === 'PATCH');
    await form.locator('button.save-device').click();
    assert.deepEqual((await second).postDataJSON(), { sendAs: null, route: null });
    await saved.waitFor();
    const after = readFileSync(file, 'utf8');
    const section = after.slice(after.indexOf('- name: copier'), after.indexOf('- name: scanner'));
    assert.ok(!section.includes('sendAs') && !section.includes('route:'), section);
    assert.match(section, /networks: \[ 127\.0\.0\.9\/32, 192\.0\.2\.0\/24 \] # its fixed address/);
    assert.match(after, /# the copier on the second floor/);
    const cleared = await apiDevice(page, 'copier');
    assert.equal(cleared?.sendAs, null);
    assert.equal(cleared?.route, null);
  } finally {
    await ctx.close();
  }
});

test('an invalid value is shown under its field with the relay\'s explanation, and the file is left as it was', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await openDevices(page);
    const before = readFileSync(file, 'utf8');
    await page.locator('[data-device="copier"] button.edit-device').click();
    const form = page.locator('form[data-edit="copier"]');
    await form.locator('input[name="networks"]').fill('192.0.2.300/24');
    await form.locator('button.save-device').click();
    const error = form.locator('[data-field="networks"] .field-error');
    await error.waitFor();
    assert.match(await error.innerText(), /"192\.0\.2\.300\/24" is not an address or CIDR network, e\.g\. 192\.168\.10\.0\/24/);
    assert.equal(await form.locator('input[name="networks"]').getAttribute('aria-invalid'), 'true');
    assert.match(await form.locator('.form-status').innerText(), /Not saved: the relay refused the change/);
    assert.equal(await form.locator('[data-field="sendAs"] .field-error').isHidden(), true, 'only the field at fault is marked');
    assert.equal(readFileSync(file, 'utf8'), before);

    // Emptying the networks of a device without a password breaks the device rule: the relay's reason is shown for the form.
    await form.locator('input[name="networks"]').fill('');
    await form.locator('button.save-device').click();
    await page.locator('form[data-edit="copier"] .form-status li').waitFor();
    assert.match(await form.locator('.form-status').innerText(), /a device needs a username \(with passwordHash\) or networks/);
    assert.equal(await error.isHidden(), true, 'the earlier field error is cleared');
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.deepEqual((await apiDevice(page, 'copier'))?.networks, ['127.0.0.9/32', '192.0.2.0/24']);
  } finally {
    await ctx.close();
  }
});

test('the edit form in Japanese fits a phone screen', async () => {
  const ctx = await browser.context('ja-JP', { width: 390, height: 844 });
  try {
    const page = await ctx.newPage();
    await openDevices(page);
    await page.locator('[data-device="copier"] button.edit-device').click();
    const form = page.locator('form[data-edit="copier"]');
    await form.waitFor();
    assert.equal(await form.locator('h3').innerText(), 'copier を編集');
    assert.equal(await form.locator('button.save-device').innerText(), '保存');
    assert.match(await form.locator('[data-field="networks"] .hint').innerText(), /CIDR ネットワーク/);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the Devices page with the edit form open is ${width} px wide on a 390 px screen`);
    for (const name of ['networks', 'sendAs', 'allowedFrom']) {
      const box = await form.locator(`input[name="${name}"]`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${name} is on the screen`);
    }
    await form.locator('input[name="networks"]').fill('not-a-network');
    await form.locator('button.save-device').click();
    await form.locator('[data-field="networks"] .field-error').waitFor();
    assert.match(await form.locator('.form-status').innerText(), /保存されませんでした/);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'the error fits too');
    await form.locator('button.cancel-edit').click();
    assert.equal(await form.isHidden(), true);
  } finally {
    await ctx.close();
  }
});
