/**
 * `authrelay init` and `authrelay send-test` in Japanese, with the real
 * binary against the Microsoft 365 emulator (LANG=ja_JP.UTF-8): the
 * interactive Graph setup asks, explains the steps (Microsoft's Japanese
 * screen names, PowerShell unchanged), runs the live test and sums up in
 * Japanese; a wrong secret is explained with the catalogue's Japanese; an
 * unattended run without its flags is refused in Japanese; send-test --route
 * prints its steps and the explanation of a refusal in Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { explainEntra } from '../../src/deliver/microsoft/catalogue.js';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { cli, tempDir, writeConfig } from '../helpers/relay-process.js';

const JA = 'ja_JP.UTF-8';
let emu: Emulator;
let c: Contoso;
const dirs: string[] = [];

before(async () => {
  emu = await startEmulator();
  c = contoso(emu, { graphRoles: ['Mail.Send'] });
});
after(async () => {
  await emu.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const emulatorFlags = () => ['--authority-host', emu.authorityHost, '--graph-url', emu.graphUrl, '--ca', emu.caFile];
const tenant = () => c.tenant.domains[0]!;

function dir(): string {
  const d = tempDir('authrelay-ja-');
  dirs.push(d);
  return d;
}

/** The answers of a Graph setup with a client secret kept in M365_CLIENT_SECRET (as in init.test.ts). */
function graphAnswers(secret: string): string {
  return `${['graph', '', tenant(), c.app.clientId, '', secret, '', '', c.scanner, '127.0.0.1', '0', '0', 'n', 'mfp-3f', '192.168.10.0/24', 'mfp', ''].join('\n')}\n`;
}

test('init in Japanese: questions, the steps with Microsoft\'s Japanese screen names, the live test and the summary', { timeout: 120_000 }, async () => {
  const file = join(dir(), 'authrelay.yaml');
  const r = await cli(['init', '--out', file, ...emulatorFlags()], { input: graphAnswers(c.secret), locale: JA });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /^authrelay のセットアップ: 各質問に答えてください/);
  assert.match(out, /authrelay はどの方法でメールを配送しますか\?\n {2}1\) graph {8}アプリの登録を使う Microsoft Graph \(推奨。どの宛先にも届きます\)/);
  assert.match(out, /選択 \(1-7 の番号または名前\)/);
  assert.match(out, /このルートのために Microsoft 365 で行う設定:/);
  assert.match(out, /Microsoft Entra 管理センター \(entra\.microsoft\.com\) で \[アプリの登録\] → \[新規登録\]/);
  assert.match(out, /\[API のアクセス許可\] → \[アクセス許可の追加\] → \[Microsoft Graph\] → \[アプリケーションの許可\] で Mail\.Send/);
  assert.ok(out.includes(`[${tenant()} に管理者の同意を与えます]`), out);
  assert.match(out, new RegExp(`New-ManagementRoleAssignment -App ${c.app.clientId} -Role "Application Mail\\.Send" -CustomResourceScope`));
  assert.match(out, /トークンのアクセス許可 \(roles\): Mail\.Send/);
  assert.match(out, /✓ Mail\.Send: 付与されています/);
  assert.match(out, /- Mail\.ReadWrite: 付与されていません。約 3 MB を超えるメッセージ/);
  assert.match(out, /リレーを動かす環境で M365_CLIENT_SECRET にクライアント シークレットの値を設定してください/);
  assert.match(out, /デバイス mfp-3f: 192\.168\.10\.0\/24 から信頼、ユーザー名 mfp/);
  assert.match(out, / {2}パスワード: \S+ \(表示はこの 1 回だけです/);
  assert.match(out, /次の手順:\n {2}authrelay config check --config /);
  assert.ok(!out.includes('What to set up') && !out.includes('Permissions in the token'), 'no English lines');
  assert.ok(existsSync(file));
  // The file is commented in Japanese; its keys and values are the same as in English.
  const written = readFileSync(file, 'utf8');
  assert.match(written, /^# authrelay の設定ファイルです。\d{4}-\d\d-\d\d に `authrelay init` で作成しました。\n/);
  assert.match(written, /# クライアント シークレットは環境変数 M365_CLIENT_SECRET から読み取ります。/);
  assert.match(written, /# キュー、リスナーの証明書、サインインの状態を保存する場所 \(このファイルからの相対パス\)。\ndataDir: \.\/data/);
  assert.match(written, /# 送信を許可するデバイス。/);
  assert.match(written, /# すべてのメッセージをこのアップストリームに送ります。\nroutes:/);
  const comments = written.split('\n').filter((l) => /^\s*#|\s#\s/.test(l));
  assert.ok(comments.length >= 6, written);
  assert.ok(!/Devices that may send|Where the mail goes|Every message goes/.test(written), written);
});

test('init in Japanese: a wrong secret is explained with the catalogue\'s Japanese; --yes without flags is refused in Japanese', { timeout: 120_000 }, async () => {
  const d = dir();
  const r = await cli(['init', '--out', join(d, 'a.yaml'), ...emulatorFlags()], { input: `${graphAnswers('not-the-secret~value')}quit\n`, locale: JA });
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const e = explainEntra({ aadsts: 7000215 }, { appId: c.app.clientId, tenant: tenant(), upstream: 'm365', mailbox: c.scanner });
  assert.ok(e);
  assert.match(r.stdout, /Entra ID が拒否しました: .*AADSTS7000215/);
  assert.ok(r.stdout.includes(`  意味: ${e.ja?.hint || e.hint}`), r.stdout);
  assert.ok(r.stdout.includes(`  対処: ${e.ja?.fix || e.fix}`), r.stdout);
  assert.match(r.stdout, /参照: entra\.AADSTS7000215 \(docs\/ja\/errors\.md\)/);
  assert.match(r.stdout, /テストが失敗しました。どうしますか\?/);
  assert.match(r.stdout, /何も書き込んでいません。/);
  assert.ok(!r.stdout.includes('not-the-secret'));

  const yes = await cli(['init', '--yes', '--out', join(d, 'b.yaml')], { locale: JA });
  assert.equal(yes.code, 2);
  assert.match(yes.stderr, /^authrelay: `--yes` には --route が必要です。何も書き込んでいません/);
  writeConfig(d, 'dataDir: ./data\n', 'c.yaml');
  const kept = await cli(['init', '--out', join(d, 'c.yaml')], { locale: JA });
  assert.equal(kept.code, 1);
  assert.match(kept.stderr, /c\.yaml はすでにあります。何も書き込んでいません。置き換えるには `--force` を/);
});

test('send-test --route in Japanese: the steps and what a refusal means, the server\'s own answer as it is', { timeout: 60_000 }, async () => {
  const d = dir();
  const file = writeConfig(d, `dataDir: ./data
upstreams:
  m365:
    type: graph
    tenant: ${tenant()}
    clientId: ${c.app.clientId}
    clientSecret: "\${M365_SECRET}"
    mailbox: ${c.scanner}
    ca: ${emu.caFile}
    endpoints: { authority: "${emu.authorityHost}", graph: "${emu.graphUrl}" }
routes: [{ use: m365 }]
`);
  const ok = await cli(['send-test', '--route', 'm365', '--to', c.alice, '--config', file], { env: { ...process.env, M365_SECRET: c.secret }, locale: JA });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`ルート m365: graph アップストリーム。テスト メッセージの送信者 ${c.scanner}、宛先 ${c.alice}`));
  assert.match(ok.stdout, new RegExp(`${c.alice}: アップストリームが受け付けました`));
  assert.match(ok.stdout, /ルートは動作しています: アップストリームがテスト メッセージを受け付けました\n$/);
  // The trace's step names in Japanese; the values after them (and any protocol line) as they are.
  assert.match(ok.stdout, /\n\d\d:\d\d:\d\d {2}トークン source=Entra ID permissions=/);
  assert.match(ok.stdout, /\n\d\d:\d\d:\d\d {2}要求 step=\S+ method=POST url=\S+/);
  assert.match(ok.stdout, /\n\d\d:\d\d:\d\d {2}応答 step=\S+ status=202/);
  assert.doesNotMatch(ok.stdout, /\d {2}(token|request|response) /);

  const bad = await cli(['send-test', '--route', 'm365', '--to', c.alice, '--config', file], { env: { ...process.env, M365_SECRET: 'not-the-secret' }, locale: JA });
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  const e = explainEntra({ aadsts: 7000215 }, { appId: c.app.clientId, tenant: tenant(), upstream: 'm365', mailbox: c.scanner });
  assert.match(bad.stdout, /AADSTS7000215/);
  assert.ok(bad.stdout.includes(`  対処: ${e?.ja?.fix || e?.fix}`), bad.stdout);
  assert.match(bad.stdout, /参照: entra\.AADSTS7000215 \(docs\/ja\/errors\.md\)/);
  assert.ok(!bad.stdout.includes('what to do'));

  const none = await cli(['send-test', '--route', 'nope', '--to', c.alice, '--config', file], { env: { ...process.env, M365_SECRET: c.secret }, locale: JA });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /"nope" という名前のアップストリームはありません。設定済み: m365/);
});
