/**
 * `authrelay doctor` in Japanese, with the real binary against the Microsoft
 * 365 emulator: an app without Mail.Send. With LANG=ja_JP.UTF-8 the report
 * is in Japanese (sections, results, the fix from the error catalogue's
 * Japanese); --lang en overrides the locale; `--json` carries every text in
 * both languages and the catalogue's `ref` of the problem.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { explainGraph } from '../../src/deliver/microsoft/catalogue.js';
import type { Check } from '../../src/doctor/report.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { sharedCertificate } from '../helpers/cert.js';
import { notJapanese } from '../helpers/japanese.js';
import { contoso, graphUpstream } from '../helpers/m365.js';
import { cli, tempDir, writeConfig } from '../helpers/relay-process.js';

let emu: Emulator;
let dir: string;
let file: string;
let c: ReturnType<typeof contoso>;

before(async () => {
  emu = await startEmulator();
  dir = tempDir('authrelay-doctor-ja-');
  c = contoso(emu, { graphRoles: [] });
  const cert = await sharedCertificate();
  file = writeConfig(dir, JSON.stringify({
    hostname: 'relay.test', dataDir: join(dir, 'data'), tls: cert,
    listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' }],
    upstreams: { m365: graphUpstream(emu, c) },
  }));
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The fix the catalogue gives for a missing Mail.Send, filled for this tenant and app, in Japanese. */
function expectedFix(): { en: string; ja: string; ref: string } {
  const e = explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', {
    appId: c.app.clientId, tenant: c.tenant.domains[0]!, upstream: 'm365', mailbox: c.scanner, operation: 'sendMail',
  });
  assert.ok(e?.ja, 'the catalogue entry has Japanese');
  return { en: e.fix, ja: e.ja.fix, ref: e.ref };
}

test('LANG=ja_JP.UTF-8: the report is in Japanese, with the Japanese fix for the missing permission', { timeout: 60_000 }, async () => {
  const r = await cli(['doctor', '--config', file], { locale: 'ja_JP.UTF-8' });
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const out = r.stdout;
  const fix = expectedFix();
  assert.match(out, /^設定\n {2}\[ok\] {3}設定は正しい形式です/);
  assert.match(out, /\nアップストリーム m365 \(graph\)\n/);
  assert.match(out, /\[FAIL\] トークンに Mail\.Send がありません。Graph はすべてのメッセージを拒否します \(403 ErrorAccessDenied\)\n/);
  assert.ok(out.includes(`対処: ${fix.ja}`), `the Japanese fix is printed:\n${out}`);
  assert.match(fix.ja, /\[API のアクセス許可\]/);
  assert.match(fix.ja, /管理者の同意を与えます/);
  assert.ok(fix.ja.includes(c.app.clientId), 'the app id is filled in');
  assert.ok(!out.includes(fix.en), 'the English fix is not printed');
  assert.ok(!out.includes('fix:'), 'no English label');
  assert.match(out, /\n成功 \d+ 件、警告 \d+ 件、失敗 [1-9]\d* 件/);
  assert.ok(!out.includes(c.secret), 'the client secret must not be printed');

  // Every line the doctor wrote itself reads as Japanese (values, paths and the server's words aside).
  const titles = out.split('\n').filter((l) => /^\s{2}\[(ok|warn|FAIL|info)\]/.test(l)).map((l) => l.replace(/^\s*\[\w+\]\s*/, ''));
  for (const t of titles) assert.equal(notJapanese(t), undefined, t);
});

test('--lang en overrides a Japanese locale', { timeout: 60_000 }, async () => {
  const r = await cli(['doctor', '--lang', 'en', '--config', file], { locale: 'ja_JP.UTF-8' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^Configuration\n/);
  assert.ok(r.stdout.includes(`fix: ${expectedFix().en}`), r.stdout);
  assert.ok(!/[\u3040-\u30ff]/.test(r.stdout), 'no Japanese in the English report');
});

test('--json carries both languages and the catalogue ref, whatever the locale', { timeout: 60_000 }, async () => {
  const r = await cli(['doctor', '--json', '--config', file], { locale: 'ja_JP.UTF-8' });
  assert.equal(r.code, 1, r.stderr);
  const { checks, summary } = JSON.parse(r.stdout) as { checks: Check[]; summary: Record<string, number> };
  assert.ok((summary.fail ?? 0) >= 1);
  const send = checks.find((x) => x.id === 'upstream.m365.mail-send');
  assert.ok(send, 'the Mail.Send check is there');
  const fix = expectedFix();
  assert.equal(send.status, 'fail');
  assert.equal(send.ref, fix.ref);
  assert.equal(send.ref, 'graph.ErrorAccessDenied');
  assert.deepEqual(send.fix, { en: fix.en, ja: fix.ja });
  assert.deepEqual(send.section, { en: 'Upstream m365 (graph)', ja: 'アップストリーム m365 (graph)' });
  assert.match(send.title.en, /^Mail\.Send is not in the token/);
  assert.match(send.title.ja, /^トークンに Mail\.Send がありません/);
  for (const chk of checks) {
    for (const k of ['section', 'title', 'detail', 'fix'] as const) {
      assert.equal(typeof chk[k].en, 'string', `${chk.id}.${k}.en`);
      assert.equal(typeof chk[k].ja, 'string', `${chk.id}.${k}.ja`);
      assert.equal(chk[k].en === '', chk[k].ja === '', `${chk.id}.${k}: both languages or neither`);
    }
  }
  // The same run with an English locale gives the same JSON (the locale changes only the text output).
  const en = await cli(['doctor', '--json', '--config', file]);
  const again = (JSON.parse(en.stdout) as { checks: Check[] }).checks.find((x) => x.id === 'upstream.m365.mail-send');
  assert.deepEqual(again?.fix, send.fix);
});
