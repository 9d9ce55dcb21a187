/**
 * The console's Microsoft 365 setup wizard in headless Chromium against a
 * real relay and the Microsoft 365 emulator: sign in, open the wizard from the
 * navigation, choose Graph, fill in the tenant, app, mailbox and the
 * emulator's sign-in host, Graph URL and CA, see the steps, test the
 * credentials (Mail.Send granted), get the configuration (valid YAML with the
 * secret as ${M365_CLIENT_SECRET}) and download it; the same page in
 * Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';

let browser: TestBrowser;
let relay: TestRelay;
let emu: Emulator;
let c: Contoso;

before(async () => {
  browser = await launchBrowser();
  emu = await startEmulator();
  c = contoso(emu, { graphRoles: ['Mail.Send'] });
  relay = await startRelay();
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await emu?.close();
});

test('walk the wizard for Graph: steps, live test with Mail.Send granted, the configuration to copy or download', async () => {
  const ctx = await browser.context();
  try {
    const page = await ctx.newPage();
    await setUpInBrowser(page, relay);
    await page.click('#nav a[href="#/wizard"]');
    await page.locator('#wizard-routes').waitFor();
    assert.equal(await page.locator('#wizard-route-graph').isChecked(), true, 'Graph is chosen by default (recommended)');
    assert.match(await page.locator('#wizard-routes').innerText(), /Direct Send \(internal only\)[\s\S]*Connector relay/);

    await page.check('#wizard-route-direct-send');
    assert.equal(await page.locator('#wizard-domain').isVisible(), true);
    assert.equal(await page.locator('#wizard-tenant').isVisible(), false, 'Direct Send asks no tenant');
    await page.check('#wizard-route-graph');

    await page.fill('#wizard-tenant', c.tenant.domains[0]!);
    await page.fill('#wizard-client-id', c.app.clientId);
    await page.fill('#wizard-mailbox', c.scanner);
    await page.fill('#wizard-secret', c.secret);
    await page.click('#wizard-advanced summary');
    await page.fill('#wizard-authority', emu.authorityHost);
    await page.fill('#wizard-graph-url', emu.graphUrl);
    await page.fill('#wizard-ca', emu.caFile);

    await page.click('#wizard-steps-button');
    await page.locator('#wizard-steps li').first().waitFor();
    const steps = await page.locator('#wizard-steps').innerText();
    assert.match(steps, /Mail\.Send/);
    assert.ok(steps.includes(`New-ManagementRoleAssignment -App ${c.app.clientId}`));

    await page.click('#wizard-test-button');
    await page.locator('#wizard-test-result .test-outcome').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#wizard-test-result .test-outcome').getAttribute('data-ok'), 'true');
    const lines = await page.locator('#wizard-test-lines').innerText();
    assert.match(lines, /✓ Mail\.Send: granted/);
    assert.ok(!lines.includes(c.secret));

    await page.click('#wizard-config-button');
    await page.locator('#wizard-yaml').waitFor();
    const yaml = await page.locator('#wizard-yaml').innerText();
    assert.ok(!yaml.includes(c.secret), 'the secret is not in the configuration');
    assert.match(yaml, /clientSecret: \$\{M365_CLIENT_SECRET\}/);
    assert.match(await page.locator('#wizard-config').innerText(), /M365_CLIENT_SECRET/);
    assert.match(await page.locator('#wizard-next').innerText(), /authrelay serve --config FILE/);
    const config = validateConfig(parseYaml(yaml), { env: { M365_CLIENT_SECRET: c.secret } }, dirname(emu.caFile));
    assert.equal(config.upstreams.m365!.type, 'graph');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#wizard-download')]);
    assert.equal(download.suggestedFilename(), 'authrelay.yaml');
    const saved = readFileSync((await download.path())!, 'utf8');
    assert.equal(saved.trim(), yaml.trim(), 'the downloaded file is the configuration shown');
  } finally {
    await ctx.close();
  }
});

test('the wizard in Japanese', async () => {
  const ctx = await browser.context('ja-JP');
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay, '#/wizard');
    await page.locator('#wizard-routes').waitFor();
    assert.match(await page.locator('main h1').innerText(), /Microsoft 365 設定ウィザード/);
    assert.match(await page.locator('#wizard-test-button').innerText(), /資格情報をテスト/);
  } finally {
    await ctx.close();
  }
});
