/**
 * The migration journey through the API and the CLI against a real relay
 * and the Microsoft 365 emulator: a tenant with five basic-auth senders is
 * scanned (POST /api/v1/migration/scan) and the board lists them with
 * their addresses; two are added as devices from their rows (POST
 * /api/v1/devices with the prefilled name and sendAs, applied at once) and
 * send through authrelay with the generated passwords; the board shows
 * "2 of 5 senders moved"; one sender is marked ignored with a reason
 * (audited); `authrelay migrate status --json` answers what the console
 * reads, and --csv the same rows. Then the CLI on another tenant: without
 * the Entra ID licence and with concealed names, the scan prints the
 * refusal and the setting with what to do; `migrate add-device` adds a
 * device and prints the settings to type in.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { stringify } from 'yaml';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { basicAuthTenant, scanUpstream } from '../helpers/m365-migration.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { auditActions, call, setUpAndSignIn } from '../admin/api-client.js';

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
let emu: Emulator;
let relay: TestRelay;
const tmp = mkdtempSync(join(tmpdir(), 'authrelay-journey-'));

before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await relay?.close();
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the CLI as its own process (asynchronously: the emulator in this process must keep answering). */
function cli(args: string[], lang = 'C'): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AUTHRELAY_CONFIG: '', LANG: lang, LC_ALL: undefined, LC_MESSAGES: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function sendAs(user: string, pass: string, from: string, to: string): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port(), secure: false, auth: { user, pass }, tls: { rejectUnauthorized: false } });
  try {
    const info = await t.sendMail({ from, to, subject: `scan from ${user}`, text: 'scanned document' });
    return queueIdOf(info.response);
  } finally {
    t.close();
  }
}

test('scan, board, two devices added from the board send through authrelay: 2 of 5 moved; one ignored; the CLI shows what the console shows', { timeout: 120_000 }, async () => {
  const t = basicAuthTenant(emu);
  const alice = `alice@${t.domain}`;
  relay = await startTestRelay({
    upstreams: { m365: scanUpstream(emu, t, t.senders[0]!.mailbox) }, routes: [{ use: 'm365' }], migration: { upstream: 'm365', schedule: 'off' },
    trustLoopback: false,
  }, { file: true });
  const file = join(relay.dataDir, 'authrelay.yaml');
  const api = relay;
  const auth = await setUpAndSignIn(api);

  const empty = await call(api, 'GET', '/migration', { auth });
  assert.equal(empty.status, 200);
  assert.deepEqual([empty.json.latestScan, empty.json.rows, empty.json.summary.total], [null, [], 0]);

  const scanned = await call(api, 'POST', '/migration/scan', { auth, body: { period: 'D30' } });
  assert.equal(scanned.status, 200, JSON.stringify(scanned.json));
  assert.deepEqual(scanned.json.scan.sources.map((s: { status: string }) => s.status), ['ok', 'ok', 'ok']);
  assert.equal(scanned.json.scan.senderCount, 5);

  let board = (await call(api, 'GET', '/migration', { auth })).json;
  assert.equal(board.summary.text.startsWith('0 of 5 senders moved; 5 left;'), true, board.summary.text);
  for (const s of t.senders) {
    const row = board.rows.find((r: { mailbox: string }) => r.mailbox === s.mailbox);
    assert.ok(row, s.mailbox);
    assert.deepEqual(row.addresses.map((a: { ip: string }) => a.ip), [s.ip]);
    assert.equal(row.state, 'basic-auth');
    assert.equal(row.countInPeriod, s.signIns);
    assert.equal(row.lastBasicAuth, new Date(s.lastAt).toISOString());
  }

  // Two senders added as devices from their rows, then they send through authrelay with the generated passwords.
  for (const s of t.senders.slice(0, 2)) {
    const row = board.rows.find((r: { mailbox: string }) => r.mailbox === s.mailbox);
    const added = await call(api, 'POST', '/devices', { auth, body: { name: row.addAsDevice.name, password: true, sendAs: row.addAsDevice.sendAs } });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    assert.equal(added.json.applied, true, 'applied at once');
    assert.match(added.json.password, /^[A-Za-z0-9]{16}$/);
    const id = await sendAs(added.json.username, added.json.password, s.mailbox, alice);
    const done = await relay.waitFor(id, ['delivered', 'failed'], 30_000);
    assert.equal(done.state, 'delivered', JSON.stringify(done.lastError));
  }
  assert.ok(readFileSync(file, 'utf8').includes(`sendAs: ${t.senders[0]!.mailbox}`));

  board = (await call(api, 'GET', '/migration', { auth })).json;
  assert.equal(board.summary.moved, 2);
  assert.match(board.summary.text, /^2 of 5 senders moved; 3 left; -?\d+ days/);
  const moved = board.rows.filter((r: { state: string }) => r.state === 'moved');
  assert.deepEqual(moved.map((r: { mailbox: string }) => r.mailbox).sort(), t.senders.slice(0, 2).map((s) => s.mailbox).sort());
  assert.deepEqual(moved.map((r: { devices: string[] }) => r.devices.length), [1, 1]);
  assert.ok(moved.every((r: { addAsDevice: unknown; seenAtRelay: { messages: number } }) => r.addAsDevice === null && r.seenAtRelay.messages === 1));

  // One sender marked ignored, with a reason; audited.
  const ups = t.senders[2]!.mailbox;
  assert.equal((await call(api, 'PUT', `/migration/ignore/${encodeURIComponent(ups)}`, { auth, body: { reason: '' } })).status, 400);
  const marked = await call(api, 'PUT', `/migration/ignore/${encodeURIComponent(ups.toUpperCase())}`, { auth, body: { reason: 'UPS replaced by the cloud monitor in January' } });
  assert.equal(marked.status, 200, JSON.stringify(marked.json));
  assert.equal((await call(api, 'PUT', '/migration/ignore/nobody%40example.com', { auth, body: { reason: 'x' } })).status, 404);
  board = (await call(api, 'GET', '/migration', { auth })).json;
  assert.match(board.summary.text, /^2 of 4 senders moved; 2 left; .*; 1 ignored$/);
  assert.deepEqual(board.rows.find((r: { key: string }) => r.key === ups).ignored.reason, 'UPS replaced by the cloud monitor in January');
  const audits = await auditActions(api, auth);
  assert.ok(audits.some((a) => a.action === 'migration-ignore' && a.target === ups && a.outcome === 'ok'));
  assert.ok(audits.some((a) => a.action === 'migration-scan' && a.outcome === 'ok'));

  // The CLI, on the same config and spool, answers exactly what the console reads.
  const status = await cli(['migrate', 'status', '--json', '--config', file]);
  assert.equal(status.status, 0, status.stderr);
  const fromCli = JSON.parse(status.stdout) as Record<string, unknown>;
  const fromApi = (await call(api, 'GET', '/migration', { auth })).json as Record<string, unknown>;
  const strip = (b: Record<string, unknown>) => ({ ...b, generatedAt: undefined });
  assert.deepEqual(strip(fromCli), strip(fromApi));
  const csv = await cli(['migrate', 'status', '--csv', '--config', file]);
  assert.equal(csv.stdout.split('\r\n').length, 5 + 2);
  const apiCsv = await call(api, 'GET', '/migration?format=csv', { auth });
  assert.equal(apiCsv.bytes.toString('utf8'), csv.stdout);
  const text = await cli(['migrate', 'status', '--config', file]);
  assert.match(text.stdout, /^2 of 4 senders moved; 2 left;/);
  assert.match(text.stdout, /still on basic auth/);
  assert.match(text.stdout, new RegExp(`authrelay migrate add-device ${t.senders[3]!.mailbox.replace(/\./g, '\\.')}`));
  // In Japanese: the summary, the scan line, the column headers and the states as the console words them.
  const ja = await cli(['migrate', 'status', '--config', file], 'ja_JP.UTF-8');
  assert.equal(ja.status, 0, ja.stderr);
  assert.match(ja.stdout, /^4 件中 2 件の送信元が移行済み、残り 2 件、期限 \(\d{4}-\d\d-\d\d\) (まであと \d+ 日|を \d+ 日過ぎています)、対象外 1 件\n/);
  assert.match(ja.stdout, /\n最新のスキャン: .*。メール アプリの使用状況レポート 取得済み、/);
  assert.match(ja.stdout, /\nメールボックス +状態 +最後の基本認証 +サインイン +送信元アドレス +authrelay 経由の送信 +デバイス +備考\n/);
  assert.match(ja.stdout, /基本認証のまま/);
  assert.match(ja.stdout, /移行済み/);
  assert.doesNotMatch(ja.stdout, /senders moved|still on basic auth|MAILBOX|Latest scan/);
});

test('the CLI on a tenant without the Entra ID licence and with concealed names: the refusal and the setting explained, senders still counted; add-device prints the settings', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu, { premium: false, concealed: true });
  const dir = join(tmp, 'nolicence');
  const file = join(tmp, 'nolicence.yaml');
  writeFileSync(file, stringify({
    dataDir: dir, hostname: 'relay.office.example', publicAddress: 'relay.office.example', listeners: [{ name: 'main', host: '127.0.0.1', port: 2599 }],
    upstreams: { m365: scanUpstream(emu, t, t.senders[0]!.mailbox) }, migration: { upstream: 'm365', period: 'D7' },
  }));
  const scan = await cli(['migrate', 'scan', '--config', file]);
  assert.equal(scan.status, 0, scan.stderr);
  assert.match(scan.stdout, /sign-in logs\s+licence\s+Microsoft Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant \("Neither tenant is B2C or tenant doesn't have premium license"\)/);
  assert.match(scan.stdout, /what to do: Add Microsoft Entra ID P1/);
  assert.match(scan.stdout, /The report conceals names/);
  assert.match(scan.stdout, /5 sender\(s\) used basic-auth SMTP AUTH in the period/);
  assert.match(scan.stdout, /[0-9A-F]{32} \(concealed\)/);
  assert.doesNotMatch(scan.stdout + scan.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  const scanJa = await cli(['migrate', 'scan', '--config', file], 'ja_JP.UTF-8');
  assert.equal(scanJa.status, 0, scanJa.stderr);
  assert.match(scanJa.stdout, /^テナント \S+ のスキャン \d+ \(.* のアプリを使用、期間 D7\)、/);
  assert.match(scanJa.stdout, /サインイン ログ \(認証済み SMTP\) +ライセンスなし +Microsoft Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant/);
  assert.match(scanJa.stdout, /レポートで名前が非表示になっています。/);
  assert.match(scanJa.stdout, /期間内に基本認証の SMTP AUTH を使った送信元: 5 件\nメールボックス +最後の基本認証 +サインイン +拒否 +送信元アドレス +拒否の理由\n/);
  assert.match(scanJa.stdout, /[0-9A-F]{32} \(非表示の名前\)/);
  const json = await cli(['migrate', 'scan', '--json', '--period', 'D30', '--config', file]);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.scan.sources.find((s: { source: string }) => s.source === 'sign-ins').ref, 'scan.Authentication_RequestFromNonPremiumTenantOrB2CTenant');
  assert.equal(parsed.summary.total, 5);
  assert.equal((await cli(['migrate', 'scan', '--period', 'D5', '--config', file])).status, 2);
  const none = await cli(['migrate', 'scan', '--upstream', 'other', '--config', file]);
  assert.deepEqual([none.status, none.stderr.trim()], [2, 'authrelay: no upstream named "other"; the scan can use m365']);

  const add = await cli(['migrate', 'add-device', t.senders[1]!.mailbox, '--config', file]);
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /^added device mfp-2f sending as mfp-2f@/);
  assert.match(add.stdout, /main: SMTP server relay\.office\.example, port 2599, security STARTTLS, user mfp-2f, password [A-Za-z0-9]{16}/);
  assert.match(readFileSync(file, 'utf8'), /name: mfp-2f\n\s+username: mfp-2f\n\s+passwordHash: scrypt\$/);
});
