/**
 * The console's Microsoft 365 setup wizard in headless Chromium against a
 * real relay and the Microsoft 365 emulator: sign in, open the wizard from the
 * navigation, choose Graph, fill in the tenant, app, mailbox and the
 * emulator's sign-in host, Graph URL and CA, see the steps, test the
 * credentials (Mail.Send granted), get the configuration (valid YAML with the
 * secret as ${M365_CLIENT_SECRET}) and download it. For another SMTP relay
 * the test shows what the relay offers and the proposed TLS mode; writing a
 * config whose live test failed needs "Write anyway", and tls: none needs the
 * box ticked. The same page in Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { launchBrowser, setUpInBrowser, signInInBrowser, type TestBrowser } from './browser.js';
import { startSmtpSink, type SmtpSink } from '../helpers/tools.js';

let browser: TestBrowser;
let relay: TestRelay;
let emu: Emulator;
let c: Contoso;
let sink: SmtpSink;

before(async () => {
  sink = await startSmtpSink();
  browser = await launchBrowser();
  emu = await startEmulator();
  c = contoso(emu, { graphRoles: ['Mail.Send'] });
  relay = await startRelay();
});

after(async () => {
  await sink?.stop();
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
    assert.match(await page.locator('#wizard-next').innerText(), /authrelay reload/);
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

/** What the page shows once the file is written: applied, or the reload's own message. */
const WRITTEN = '#wizard-write-result [data-applied], #wizard-write-result .warning';

test('another SMTP relay: the probe and its proposal; a failed live test is written only with "Write anyway"; tls: none only with the box ticked', async () => {
  const ctx = await browser.context();
  const file = join(relay.dataDir, 'authrelay.yaml');
  try {
    const page = await ctx.newPage();
    await signInInBrowser(page, relay, '#/wizard');
    await page.locator('#wizard-routes').waitFor();
    await page.check('#wizard-route-smtp');
    assert.equal(await page.locator('#wizard-relay-host').isVisible(), true);

    // STARTTLS with a certificate the relay does not trust.
    await page.fill('#wizard-relay-host', `127.0.0.1:${emu.directSendPort}`);
    await page.click('#wizard-test-button');
    await page.locator('#wizard-probe').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#wizard-probe').getAttribute('data-tls'), 'starttls');
    assert.equal(await page.locator('#wizard-probe-cert').getAttribute('data-trusted'), 'false');
    assert.equal(await page.locator('#wizard-probe-problem').getAttribute('data-problem'), 'untrusted');
    assert.match(await page.locator('#wizard-probe-problem').innerText(), /not trusted[\s\S]*What to do: Give the certificate of the CA/);
    assert.equal(await page.locator('#wizard-relay-tls').inputValue(), 'starttls', 'the proposal becomes the choice');
    await page.click('#wizard-config-button');
    await page.locator('#wizard-write').waitFor();
    await page.click('#wizard-write');
    await page.locator('#wizard-write-refused').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#wizard-write-refused').innerText(), /The live test failed, so nothing was written/);
    assert.match(await page.locator('#wizard-write-lines').innerText(), /✗ tls: starttls will not work yet/);
    assert.equal(existsSync(file), false, 'nothing was written');
    await page.click('#wizard-write-anyway');
    await page.locator(WRITTEN).waitFor({ timeout: 60_000 });
    assert.equal(existsSync(file), true, 'written once confirmed');
    assert.match(readFileSync(file, 'utf8'), /tls: starttls/);

    // A relay without TLS: tls: none is proposed, and written only with the box ticked.
    await page.fill('#wizard-relay-host', `127.0.0.1:${sink.port}`);
    await page.selectOption('#wizard-relay-tls', '');
    await page.click('#wizard-test-button');
    await page.locator('#wizard-probe[data-tls="none"]').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#wizard-probe-downgrade').isVisible(), true);
    assert.match(await page.locator('#wizard-probe').innerText(), /STARTTLS is not offered/);
    assert.equal(await page.locator('[data-note="no-smtputf8"]').count(), 1);
    assert.equal(await page.locator('#wizard-relay-tls').inputValue(), 'none');
    assert.equal(await page.locator('#wizard-allow-no-tls-box').isVisible(), true);
    await page.click('#wizard-config-button');
    await page.locator('#wizard-write').waitFor();
    await page.click('#wizard-write');
    await page.locator('#wizard-write-refused').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#wizard-write-refused').innerText(), /tls: none sends mail to this relay unencrypted/);
    assert.match(readFileSync(file, 'utf8'), /tls: starttls/, 'not written without consent');
    await page.check('#wizard-allow-no-tls');
    await page.click('#wizard-write');
    await page.locator(WRITTEN).waitFor({ timeout: 60_000 });
    assert.match(readFileSync(file, 'utf8'), /tls: none # no TLS/);
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
    await page.check('#wizard-route-smtp');
    await page.fill('#wizard-relay-host', `127.0.0.1:${sink.port}`);
    await page.click('#wizard-test-button');
    await page.locator('#wizard-probe').waitFor({ timeout: 60_000 });
    const probe = await page.locator('#wizard-probe').innerText();
    assert.match(probe, /STARTTLS は提供されていません/);
    assert.match(probe, /提案: tls: none/);
    assert.match(probe, /SMTPUTF8 を提供していません/);
    // The lines the API sends (the live test) come in the console's language too.
    const lines = await page.locator('#wizard-test-lines').innerText();
    assert.match(lines, /リレー 127\.0\.0\.1:\d+ を調べています/);
    assert.match(lines, /STARTTLS: 提供されていません/);
    assert.ok(!/Looking at the relay|What to do/.test(lines), lines);
    await page.click('#wizard-steps-button');
    await page.locator('#wizard-steps li').first().waitFor();
    const steps = await page.locator('#wizard-steps').innerText();
    assert.match(steps, /Exchange 管理センター → \[メール フロー\] → \[コネクタ\] → \[コネクタの追加\]/);
  } finally {
    await ctx.close();
  }
});
