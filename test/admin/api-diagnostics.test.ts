/**
 * /api/v1/diagnostics and /api/v1/upstreams/:name/test over real HTTP against
 * the real relay: who may call them (401 without sign-in, 403 without CSRF or
 * with a read token, an admin token works), the doctor's checks with a failing
 * upstream on a closed port and its fix, and a test message through a working
 * and through a refusing SMTP upstream with each step and the explanation,
 * and no upstream password in any answer or log line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { smtpUpstream, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { auditActions, call, setUpAndSignIn, type Auth } from './api-client.js';

let relay: TestRelay;
let good: TestUpstream;
let authed: TestUpstream;
const SECRET = 'upstream-secret-value-77';
let refusing: TestUpstream;
let closedPort: number;
let admin: Required<Pick<Auth, 'cookie' | 'csrf'>>;

/** A loopback port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  good = await startUpstream();
  refusing = await startUpstream();
  authed = await startUpstream({ auth: { user: 'relay', pass: SECRET } });
  refusing.fault = (_n, stage) => (stage === 'rcpt' ? { code: 550, message: '5.7.1 Relaying denied for this client' } : undefined);
  closedPort = await freePort();
  relay = await startRelay({
    upstreams: { office: smtpUpstream(good.port), strict: smtpUpstream(refusing.port), gone: smtpUpstream(closedPort),
      signed: smtpUpstream(authed.port, { auth: { user: 'relay', pass: SECRET } }) },
  });
  admin = await setUpAndSignIn(relay);
});

after(async () => {
  await relay?.close();
  await good?.close();
  await refusing?.close();
  await authed?.close();
});

test('authorization: 401 without sign-in, 403 without CSRF or with a read token; an admin token works', async () => {
  assert.equal((await call(relay, 'GET', '/diagnostics')).status, 401);
  assert.equal((await call(relay, 'POST', '/upstreams/office/test', { body: { to: 'alice@contoso.com' } })).status, 401);
  const noCsrf = await call(relay, 'POST', '/upstreams/office/test', { auth: { cookie: admin.cookie }, body: { to: 'alice@contoso.com' } });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.json.error, 'csrf');
  assert.equal(good.received.length, 0, 'nothing was sent without the CSRF token');

  const read = await call(relay, 'POST', '/tokens', { auth: admin, body: { name: 'monitoring', scope: 'read' } });
  assert.equal(read.status, 201);
  assert.equal((await call(relay, 'GET', '/diagnostics', { auth: { bearer: read.json.token } })).status, 403, 'a read token may not run diagnostics');
  assert.equal((await call(relay, 'POST', '/upstreams/office/test', { auth: { bearer: read.json.token }, body: { to: 'a@contoso.com' } })).status, 403);

  const tok = await call(relay, 'POST', '/tokens', { auth: admin, body: { name: 'scripts', scope: 'admin' } });
  const sent = await call(relay, 'POST', '/upstreams/office/test', { auth: { bearer: tok.json.token }, body: { to: 'bob@contoso.com' } });
  assert.equal(sent.status, 200, JSON.stringify(sent.json));
  assert.equal(sent.json.ok, true);
  assert.equal(good.received.at(-1)?.to.join(), 'bob@contoso.com');

  assert.equal((await call(relay, 'POST', '/upstreams/nowhere/test', { auth: admin, body: { to: 'a@contoso.com' } })).status, 404);
  assert.equal((await call(relay, 'POST', '/upstreams/office/test', { auth: admin, body: { to: 'not an address' } })).status, 400);
  assert.equal((await call(relay, 'GET', '/diagnostics?publicIp=not-an-ip', { auth: admin })).status, 400);
});

test('diagnostics: the upstream on a closed port fails with its fix; the others pass', async () => {
  const r = await call(relay, 'GET', '/diagnostics?publicIp=203.0.113.7', { auth: { cookie: admin.cookie } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  // Every text comes in both languages (the console shows its own).
  type Both = { en: string; ja: string };
  const checks = r.json.checks as { id: string; section: Both; status: string; title: Both; fix: Both; ref?: string }[];
  const gone = checks.filter((c) => c.section.en === 'Upstream gone (smtp)');
  const failed = gone.filter((c) => c.status === 'fail');
  assert.ok(failed.length >= 1, JSON.stringify(gone));
  assert.ok(failed.every((c) => c.fix.en.length > 0 && c.fix.ja.length > 0), 'each failure says what to do, in both languages');
  const tcp = failed.find((c) => c.id === 'upstream.gone.tcp');
  assert.ok(tcp, JSON.stringify(failed));
  assert.match(tcp.title.en, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closedPort}`));
  assert.match(tcp.title.ja, new RegExp(`127\\.0\\.0\\.1:${closedPort} に接続できません`));
  assert.match(tcp.fix.en, /check the host and port/);
  assert.match(tcp.fix.ja, /設定のホストとポート/);
  assert.equal(tcp.section.ja, 'アップストリーム gone (smtp)');
  for (const name of ['office', 'strict']) {
    const mine = checks.filter((c) => c.section.en === `Upstream ${name} (smtp)`);
    assert.ok(mine.length >= 1);
    assert.ok(mine.every((c) => c.status !== 'fail'), JSON.stringify(mine));
  }
  assert.ok(checks.some((c) => c.section.en === 'Listeners' && c.section.ja === 'リスナー'));
  assert.ok(checks.some((c) => c.section.en === 'Queue'));
  assert.equal(r.json.counts.fail, checks.filter((c) => c.status === 'fail').length);
});

test('send-test through a working upstream: ok with each step; the message arrived', async () => {
  const before_ = good.received.length;
  const r = await call(relay, 'POST', '/upstreams/office/test', { auth: admin, body: { to: 'carol@contoso.com', from: 'it@contoso.com' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.ok, true);
  const steps = r.json.steps as string[];
  assert.ok(steps.length >= 3, JSON.stringify(steps));
  assert.match(steps[0]!, /route office: smtp upstream; test message from it@contoso.com to carol@contoso.com/);
  assert.ok(steps.some((s) => s.includes('carol@contoso.com: accepted by the upstream')));
  assert.match(steps.at(-1)!, /the route works/);
  assert.equal(good.received.length, before_ + 1);
  const got = good.received.at(-1)!;
  assert.equal(got.from, 'it@contoso.com');
  assert.match(got.data.toString('utf8'), /X-Authrelay-Test: office/);
  assert.equal((await relay.store.list({ limit: 10 })).length, 0, 'the test message is not queued');
  const log = await auditActions(relay, admin);
  assert.deepEqual(log.filter((e) => e.action === 'upstream-test').map((e) => [e.target, e.outcome]).at(-1), ['office', 'ok']);
});

test('send-test through a refusing upstream: not ok, with the reply and what it means', async () => {
  const r = await call(relay, 'POST', '/upstreams/strict/test', { auth: admin, body: { to: 'dave@contoso.com' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.ok, false);
  const steps = r.json.steps as string[];
  assert.ok(steps.some((s) => /dave@contoso.com: refused: .*550.*Relaying denied/.test(s)), JSON.stringify(steps));
  assert.ok(steps.some((s) => s.includes('what it means: ')), JSON.stringify(steps));
  assert.ok(!steps.some((s) => /the route works/.test(s)));
  assert.equal(refusing.received.length, 0);
});

test('send-test with Accept-Language: ja: the steps in Japanese, the upstream\'s own answer as it is', async () => {
  const r = await call(relay, 'POST', '/upstreams/strict/test', { auth: admin, body: { to: 'dave@contoso.com' }, headers: { 'accept-language': 'ja,en;q=0.5' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.headers.get('content-language'), 'ja');
  const steps = r.json.steps as string[];
  assert.match(steps[0]!, /ルート strict: smtp アップストリーム。テスト メッセージの送信者 .*、宛先 dave@contoso\.com/);
  assert.ok(steps.some((s) => /dave@contoso.com: 拒否されました: .*550.*Relaying denied/.test(s)), JSON.stringify(steps));
  assert.ok(steps.some((s) => s.includes('  対処: ')), JSON.stringify(steps));
  assert.ok(!steps.some((s) => s.includes('what to do')), JSON.stringify(steps));
});

test('send-test through an upstream with a password: the steps, the answers and the log never hold it', async () => {
  const r = await call(relay, 'POST', '/upstreams/signed/test', { auth: admin, body: { to: 'erin@contoso.com' } });
  assert.equal(r.json.ok, true, JSON.stringify(r.json));
  assert.equal(authed.received.length, 1);
  const diag = await call(relay, 'GET', '/diagnostics', { auth: admin });
  const b64 = Buffer.from(`\0relay\0${SECRET}`).toString('base64');
  for (const text of [r.bytes.toString('utf8'), diag.bytes.toString('utf8'), JSON.stringify(relay.logs)]) {
    assert.ok(!text.includes(SECRET) && !text.includes(b64), 'the upstream password is not shown');
  }
});
