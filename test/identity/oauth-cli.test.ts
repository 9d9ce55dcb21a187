/**
 * `authrelay oauth login` and `authrelay oauth status` with the real binary
 * against the Microsoft 365 emulator: the device code prompt is read from the
 * command's output, approved as the mailbox user, and the stored sign-in is
 * then shown by `oauth status`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { cli, oauthLoginApproving, tempDir, writeConfig } from '../helpers/relay-process.js';

const USER = 'printer@fabrikam.example';
let emu: Emulator;
let dir: string;
let configFile: string;

before(async () => {
  emu = await startEmulator();
  const tenant = emu.addTenant();
  const app = emu.addApp(tenant.id, { publicClient: true, secrets: [{ value: 'app-secret-value-1234567890' }], graphRoles: ['Mail.Send'] });
  emu.addMailbox(tenant.id, { address: USER, password: 'pw' });
  dir = tempDir();
  configFile = writeConfig(dir, [
    'dataDir: ./data',
    'listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]',
    'upstreams:',
    '  mailbox:',
    '    type: smtp-oauth',
    `    tenant: ${tenant.id}`,
    `    clientId: ${app.clientId}`,
    `    delegated: { user: ${USER} }`,
    `    endpoints: { authority: "${emu.authorityHost}", smtp: "${emu.smtpHost}:${emu.smtpPort}" }`,
    `    ca: ${emu.caFile}`,
    '  graph:',
    '    type: graph',
    `    tenant: ${tenant.id}`,
    `    clientId: ${app.clientId}`,
    '    clientSecret: app-secret-value-1234567890',
    `    endpoints: { authority: "${emu.authorityHost}", graph: "${emu.graphUrl}" }`,
    `    ca: ${emu.caFile}`,
    '',
  ].join('\n'));
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `oauth login`, approving the code it prints. */
function loginApproving(upstream: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return oauthLoginApproving(configFile, upstream, (code) => emu.approveDeviceCode(code, USER));
}

describe('authrelay oauth', () => {
  test('status before login: not signed in', async () => {
    const r = await cli(['oauth', 'status', 'mailbox', '--config', configFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /credential: +delegated \(device code\) as printer@fabrikam\.example/);
    assert.match(r.stdout, /signed in: +no; run `authrelay oauth login mailbox`/);
  });

  test('login prints the prompt, who signed in and the scopes', async () => {
    const r = await loginApproving('mailbox');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /To sign in, use a web browser to open the page https:\/\/microsoft\.com\/devicelogin/);
    assert.match(r.stdout, /Signed in as printer@fabrikam\.example\./);
    assert.match(r.stdout, /Token scopes: .*SMTP\.Send/);
    assert.match(r.stdout, /Stored encrypted in .*tokens\/mailbox\.json/);
  });

  test('status after login: the user, the refresh token, the token expiry (JSON)', async () => {
    const r = await cli(['oauth', 'status', '--json', '--config', configFile]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { upstream: string; credential: string; signIn?: { user?: string; refreshToken: boolean; accessTokenExpiresAt?: string }; token?: { expiresAt?: string } }[];
    assert.deepEqual(rows.map((x) => x.upstream), ['mailbox', 'graph']);
    const m = rows[0]!;
    assert.equal(m.signIn?.user, USER);
    assert.equal(m.signIn?.refreshToken, true);
    assert.ok(Date.parse(m.signIn?.accessTokenExpiresAt ?? '') > Date.now());
    assert.ok(Date.parse(m.token?.expiresAt ?? '') > Date.now());
    assert.equal(rows[1]!.credential, 'client secret');
    assert.ok(!r.stdout.includes('app-secret-value'));
  });

  test('status after login in Japanese: the labels and words in Japanese, the user and the times as they are', async () => {
    const r = await cli(['oauth', 'status', '--config', configFile], { locale: 'ja_JP.UTF-8' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^mailbox \(smtp-oauth\)\n {2}資格情報: +委任されたサインイン \(デバイス コード\)、ユーザー printer@fabrikam\.example\n/);
    assert.match(r.stdout, /\n {2}アプリ: +\S+ \(テナント \S+、クラウド global、https:\/\/\S+\)\n/);
    assert.match(r.stdout, /\n {2}トークン: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ まで有効 \(最後の取得 /);
    assert.match(r.stdout, /\n {2}サインイン: +printer@fabrikam\.example \(保存 .*、更新トークン あり、アクセス トークンは .* まで\)\n/);
    assert.match(r.stdout, /\n {2}最後のエラー: +-\n/);
    assert.match(r.stdout, /\ngraph \(graph\)\n {2}資格情報: +クライアント シークレット\n/);
    assert.doesNotMatch(r.stdout, /credential:|signed in:|last error:|valid until/);
  });

  test('login on an upstream without delegated sign-in is a usage error', async () => {
    const r = await cli(['oauth', 'login', 'graph', '--config', configFile]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /does not use a delegated sign-in/);
  });
});
