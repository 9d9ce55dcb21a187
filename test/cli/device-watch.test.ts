/**
 * `authrelay device watch NAME` against the real binary: while it runs, a
 * wrong password, a TLS 1.0 client on a listener that takes TLS 1.2 or
 * newer, and (with --unknown) a client from an address that is no device
 * each appear at once, with what it means and what to do; a password never
 * appears. The last sessions are shown first when the watch starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BIN, startRelayProcess, tempDir, writeConfig, until, type RelayProcess } from '../helpers/relay-process.js';
import { swaks } from '../helpers/tools.js';
import { oldTlsClient } from '../helpers/old-tls.js';
import { hashPassword } from '../../src/identity/password.js';

const SECRET = 'the-Right-password-7';
let dir: string;
let file: string;
let relay: RelayProcess;

before(async () => {
  dir = tempDir('authrelay-watch-');
  file = writeConfig(dir, `hostname: relay.test
dataDir: ./data
trustLoopback: false
listeners:
  - { name: modern, host: 127.0.0.1, port: 0, tls: starttls }
  - { name: legacy, host: 127.0.0.1, port: 0, tls: starttls, minTlsVersion: TLSv1 }
devices:
  - { name: mfp, username: mfp, passwordHash: "${await hashPassword(SECRET)}", networks: [127.0.0.7/32] }
security: { authFailureDelay: 50ms }
admin: { enabled: false }
`);
  relay = await startRelayProcess(file, { listeners: 2 });
});

after(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `authrelay device watch ...args` running; its output so far, and a way to wait for a line. */
function watch(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; out: () => string; waitFor(re: RegExp, timeoutMs?: number): Promise<string> } {
  const child = spawn(process.execPath, [BIN, 'device', 'watch', ...args, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return {
    child,
    out: () => out,
    waitFor: (re, timeoutMs = 15_000) => until(() => re.exec(out)?.[0], timeoutMs, () => `no ${re} in the watch output:\n${out}`),
  };
}

test('device watch shows a wrong password and a TLS 1.0 client on a modern listener live, with the reason and the fix', { timeout: 90_000 }, async () => {
  const w = watch(['mfp']);
  try {
    await w.waitFor(/Sessions of device mfp/);
    // A wrong password, from the device's address, on the legacy listener (AUTH over TLS 1.2 there).
    const wrong = await swaks(relay.ports.legacy!, ['--local-interface', '127.0.0.7', '--tls', '--auth', 'LOGIN', '--auth-user', 'mfp', '--auth-password', 'not-the-password',
      '--from', 'scan@printer.test', '--to', 'someone@example.com']);
    assert.notEqual(wrong.code, 0);
    await w.waitFor(/login as "mfp" with AUTH LOGIN refused: 535 5\.7\.8/);
    await w.waitFor(/why: The user name or password the device sent is not right\./);
    await w.waitFor(/fix: Type the user name and password of the device mfp again/);
    // A TLS 1.0 client on the modern listener (TLS 1.2 or newer).
    const old = await oldTlsClient(relay.ports.modern!, 'starttls', '1.0', '127.0.0.7');
    assert.equal(old.ok, false);
    await w.waitFor(/TLS handshake failed: .*(unsupported protocol|version)/i);
    await w.waitFor(/why: The device offered a TLS version older than this port accepts \(TLSv1\.2 or newer here\)/);
    await w.waitFor(new RegExp(`fix: Point the device at port ${relay.ports.legacy} \\(listener legacy\\), which accepts TLSv1`));
    assert.ok(!w.out().includes('not-the-password') && !w.out().includes(SECRET), 'a password was shown');
  } finally {
    w.child.kill('SIGINT');
  }
  // A new watch starts with the last sessions.
  const again = watch(['mfp']);
  try {
    await again.waitFor(/-- live: waiting for device mfp/);
    assert.match(again.out(), /refused: 535|login as "mfp"/, 'the earlier sessions come first');
  } finally {
    again.child.kill('SIGINT');
  }
});

test('device watch --unknown shows a client from an address that is no device, refused, with the fix', { timeout: 60_000 }, async () => {
  const w = watch(['--unknown']);
  try {
    await w.waitFor(/Sessions of addresses that are no known device/);
    const r = await swaks(relay.ports.modern!, ['--local-interface', '127.0.0.9', '--tls', '--from', 'scan@printer.test', '--to', 'someone@example.com']);
    assert.notEqual(r.code, 0);
    await w.waitFor(/127\.0\.0\.9 +connected from 127\.0\.0\.9 to listener modern/);
    await w.waitFor(/refused: 530 5\.7\.0 Authentication required: this address is not a known device/);
    await w.waitFor(/fix: Set a user name and password in the device \(SMTP authentication\), or add the device with this address as a trusted network/);
  } finally {
    w.child.kill('SIGINT');
  }
  const none = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [BIN, 'device', 'watch', 'ghost', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    c.on('exit', (code) => resolve({ code, out }));
  });
  assert.equal(none.code, 2);
  assert.match(none.out, /no device named ghost/);
});

test('device watch in Japanese (LANG=ja_JP.UTF-8): the relay\'s own lines, the reason and the fix in Japanese; replies as sent', { timeout: 60_000 }, async () => {
  const env = { ...process.env, LANG: 'ja_JP.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
  const w = watch(['--unknown'], env);
  try {
    await w.waitFor(/-- ライブ: 登録されたデバイスではないアドレス を待っています/);
    const r = await swaks(relay.ports.modern!, ['--local-interface', '127.0.0.9', '--tls', '--from', 'scan@printer.test', '--to', 'someone@example.com']);
    assert.notEqual(r.code, 0);
    await w.waitFor(/127\.0\.0\.9 +127\.0\.0\.9 からリスナー modern に接続しました \(STARTTLS を提示\)/);
    await w.waitFor(/拒否しました: 530 5\.7\.0 Authentication required: this address is not a known device/);
    await w.waitFor(/理由: このアドレスは登録されたデバイスではなく、セッションもログインしなかったため、リレーはここからのメールを受け付けません/);
    await w.waitFor(/対処: デバイスにユーザー名とパスワードを設定する \(SMTP 認証\) か、このアドレスを信頼済みネットワークとしてデバイスを追加してください/);
    await w.waitFor(/接続を閉じました/);
  } finally {
    w.child.kill('SIGINT');
  }
});
