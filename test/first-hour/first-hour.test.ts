/**
 * The first hour of a new user, as the README tells it, from a clean copy of
 * the working tree: the README's first command's effect (`npm start`, run as
 * its built equivalent, on the embedded default, on a terminal) starts the
 * relay; the start-up summary on the terminal gives the console link and the
 * one-time setup link; Chromium opens the setup link and sets the password,
 * adds a password device in the console (applied without a restart) and
 * reads the settings shown for it (the machine's network address, not
 * loopback); swaks sends as that device to that address; the message is held;
 * the console's wizard sends mail to another SMTP relay (Postfix's
 * smtp-sink); the held message is released from its page and reaches the
 * sink. A screenshot of each step goes to docs/screenshots/first-hour/.
 *
 * The embedded default listens on fixed ports (2525, 2465, 8025): they must be
 * free while this test runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSmtpSink, swaks, type SmtpSink } from '../helpers/tools.js';
import { until } from '../helpers/relay-process.js';
import { launchBrowser, type TestBrowser } from '../console/browser.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = join(REPO, 'docs/screenshots/first-hour');
const PASSWORD = 'a long admin password 2026';

let dir: string;
let relay: ChildProcess | undefined;
let out = '';
let sink: SmtpSink;
let sinkDir: string;
let browser: TestBrowser;

/** A clean copy of the working tree: the files git knows (tracked or new, not ignored), the built dist/, the installed node_modules. */
function cleanCopy(): string {
  const to = mkdtempSync(join(tmpdir(), 'authrelay-first-hour-'));
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  assert.ok(files.includes('package.json'), 'git lists the working tree');
  for (const f of files) {
    if (!existsSync(join(REPO, f))) continue;
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(REPO, f), join(to, f));
  }
  cpSync(join(REPO, 'dist'), join(to, 'dist'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(to, 'node_modules'));
  return to;
}

// eslint-disable-next-line no-control-regex -- the terminal's colour codes are exactly what is taken out
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');

before(async () => {
  dir = cleanCopy();
  sinkDir = mkdtempSync(join(tmpdir(), 'authrelay-first-hour-sink-'));
  sink = await startSmtpSink(['-d', `${sinkDir}/%H%M%S.`]);
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (relay && relay.exitCode === null) {
    relay.kill('SIGTERM');
    await new Promise((r) => relay!.once('exit', r));
  }
  await sink?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(sinkDir, { recursive: true, force: true });
});

test('from a clean copy to a delivered scan: start, set the password, add a device, send, hold, configure the relay, release, delivered', { timeout: 180_000 }, async () => {
  const t0 = Date.now();
  const steps: string[] = [];
  const step = (what: string) => steps.push(`${((Date.now() - t0) / 1000).toFixed(1)} s  ${what}`);
  // `npm start` is `npm run build` then this command; the build is already in the copy. `script` gives it a terminal.
  const start = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.start as string;
  assert.equal(start, 'node --max-semi-space-size=2 dist/src/cli/main.js serve', 'the test runs what npm start runs');
  relay = spawn('script', ['-qfec', start, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '120' } });
  relay.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  relay.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const consoleUrl = await until(() => /Web console: +(http:\/\/\S+)/.exec(plain(out))?.[1], 30_000, () => `no console link in:\n${plain(out)}`);
  const setupLink = await until(() => /open (http:\/\/\S+\/setup#\S+) to set the admin password/.exec(plain(out))?.[1], 5_000, () => `no setup link in:\n${plain(out)}`);
  step('the relay is up; the terminal shows the console and the setup link');
  const summary = plain(out);
  assert.equal(consoleUrl, 'http://127.0.0.1:8025/');
  assert.match(summary, /SMTP for your devices, at [^\n]*:\n +port 2525 +STARTTLS, TLS 1\.2 or newer; passwords after STARTTLS/);
  assert.match(summary, /port 2465 +TLS from the first byte/);
  assert.match(summary, /all mail → held in the queue \(no upstream\)/);
  assert.match(summary, /npx authrelay init/);
  assert.ok(!/"level":/.test(summary), 'a terminal gets readable lines, not JSON');
  await until(() => (/\[\d\d:\d\d:\d\d\] INFO: listening for SMTP on 0\.0\.0\.0:2525/.test(plain(out)) ? true : undefined), 5_000, () => plain(out));

  const ctx = await browser.context('en-GB', { width: 1200, height: 900 });
  try {
    const page = await ctx.newPage();
    await page.goto(setupLink);
    await page.locator('#setup-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#setup-token').inputValue(), setupLink.split('#')[1], 'the link fills the token in');
    await page.fill('#setup-password', PASSWORD);
    await page.fill('#setup-again', PASSWORD);
    await page.screenshot({ path: join(SHOTS, '01-set-the-password.png') });
    await page.click('#setup-submit');
    await page.waitForURL(/#\/overview/);
    await page.locator('#queue-depth').waitFor();
    await page.screenshot({ path: join(SHOTS, '02-overview.png') });
    step('admin password set from the setup link');

    // A device with a password, added in the console: in effect at once.
    await page.click('#nav a[href="#/devices"]');
    await page.locator('form.add-device').waitFor();
    await page.fill('form.add-device input[name="name"]', 'mfp-3f');
    await page.click('form.add-device button[type="submit"]');
    const shown = page.locator('[data-new-password="mfp-3f"]');
    await shown.waitFor();
    assert.match(await shown.innerText(), /applied at once/);
    const settings = await shown.locator('pre.copy[data-listener="starttls"]').innerText();
    await page.screenshot({ path: join(SHOTS, '03-device-added.png'), fullPage: true });
    const server = /SMTP server: (\S+)/.exec(settings)?.[1];
    const password = /Password: (\S+)/.exec(settings)?.[1];
    assert.match(settings, /Port: 2525/);
    assert.match(settings, /User: mfp-3f/);
    assert.ok(server && password, settings);
    const network = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4').map((a) => a!.address);
    if (network.length) assert.ok(network.includes(server), `the device is told a network address of this machine (${network.join(', ')}), not ${server}`);
    assert.notEqual(server, '127.0.0.1');
    step(`device added (server ${server})`);

    // The device sends, as a printer would, to the address shown.
    const sent = await swaks(2525, ['--server', `${server}:2525`, '--tls', '--auth', 'LOGIN', '--auth-user', 'mfp-3f', '--auth-password', password,
      '--from', 'scanner@printer.local', '--to', 'office@example.com', '--header', 'Subject: first scan']);
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    const id = /queued as (\S+)/.exec(sent.stdout)?.[1];
    assert.ok(id, sent.stdout);
    await page.goto(`${consoleUrl}#/message/${id}`);
    await page.locator('[data-state="held"]').first().waitFor();
    await page.screenshot({ path: join(SHOTS, '04-message-held.png'), fullPage: true });
    step(`scan sent and held (${id})`);

    // The wizard: another SMTP relay (smtp-sink, no TLS: the wizard asks for consent).
    await page.goto(`${consoleUrl}#/wizard`);
    await page.locator('#wizard-route-smtp').check();
    await page.fill('#wizard-relay-host', `127.0.0.1:${sink.port}`);
    await page.locator('#wizard-test-button').click();
    await page.locator('#wizard-test-result .test-outcome').waitFor();
    await page.locator('#wizard-allow-no-tls-box').waitFor({ state: 'visible' });
    await page.locator('#wizard-allow-no-tls').check();
    await page.locator('#wizard-config-button').click();
    await page.locator('#wizard-write').click();
    await page.locator('#wizard-write-result [data-applied]').waitFor();
    await page.screenshot({ path: join(SHOTS, '05-wizard-applied.png'), fullPage: true });
    step('relay configured in the wizard and applied');

    // Release the held message from its page: it reaches the sink.
    await page.goto(`${consoleUrl}#/message/${id}`);
    await page.locator('button#release').click();
    await until(() => (readdirSync(sinkDir).some((f) => readFileSync(join(sinkDir, f), 'latin1').includes('Subject: first scan')) ? true : undefined), 30_000,
      () => `the sink got ${readdirSync(sinkDir).length} message(s)`);
    await page.reload();
    await page.locator('[data-state="delivered"]').first().waitFor();
    await page.screenshot({ path: join(SHOTS, '06-delivered.png'), fullPage: true });
    step('released and delivered to the relay');
  } finally {
    await ctx.close();
  }
  console.log(`first hour, step by step:\n${steps.join('\n')}`);
  assert.ok(existsSync(join(dir, 'authrelay.yaml')), 'the console\'s first change wrote ./authrelay.yaml');
});
