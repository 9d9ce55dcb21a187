/**
 * /api/v1 sign-in and authorization against the real relay over HTTP: the
 * first-start setup with the logged token, sign-in and sign-out, the cookie's
 * attributes, CSRF on state-changing requests, lockout with Retry-After, API
 * tokens with their scopes, the audit entries, and the OpenAPI document
 * listing every route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRelay } from '../helpers/delivery.js';
import { PASSWORD, auditActions, call, setUpAndSignIn, setupTokenOf, signIn } from './api-client.js';

/** Every route of the API, as the console and scripts use them. */
const ROUTES: [string, string][] = [
  ['POST', '/setup'], ['POST', '/session'], ['GET', '/session'], ['DELETE', '/session'],
  ['GET', '/overview'], ['GET', '/messages'], ['GET', '/messages/{id}'], ['POST', '/messages/{id}/retry'], ['POST', '/messages/{id}/release'],
  ['DELETE', '/messages/{id}'], ['GET', '/messages/{id}/eml'], ['GET', '/devices'], ['GET', '/upstreams'], ['GET', '/audit'],
  ['POST', '/tokens'], ['GET', '/tokens'], ['DELETE', '/tokens/{id}'], ['GET', '/openapi.json'],
  ['GET', '/diagnostics'], ['POST', '/upstreams/{name}/test'],
  ['POST', '/wizard/steps'], ['POST', '/wizard/test'], ['POST', '/wizard/config'],
  ['POST', '/devices'], ['PATCH', '/devices/{name}'], ['POST', '/devices/{name}/password'], ['DELETE', '/devices/{name}'], ['POST', '/reload'], ['GET', '/devices/{name}/sessions'], ['GET', '/devices/{name}/watch'],
  ['GET', '/session/methods'], ['GET', '/session/entra'], ['GET', '/session/entra/callback'],
  ['GET', '/migration'], ['GET', '/migration/scans'], ['GET', '/migration/scans/{id}'], ['POST', '/migration/scan'],
  ['PUT', '/migration/ignore/{key}'], ['DELETE', '/migration/ignore/{key}'],
];
const PUBLIC = new Set(['POST /setup', 'POST /session', 'GET /openapi.json', 'GET /session/methods', 'GET /session/entra', 'GET /session/entra/callback']);
const concrete = (path: string) => path.replace('{id}', 'ABC123').replace('{name}', 'capture').replace('{key}', 'scanner%40contoso.com');
/** Everything admin.db holds on disk (the database file and its write-ahead log). */
const adminDbBytes = (dataDir: string) => Buffer.concat(['admin.db', 'admin.db-wal'].map((f) => join(dataDir, f)).filter(existsSync).map((f) => readFileSync(f)));

test('first start: the setup token from the log sets the admin password once; sign in and out', async () => {
  const relay = await startRelay();
  try {
    const line = relay.logs.find((l) => l.event === 'admin-setup');
    assert.equal(line?.level, 'warn');
    const token = setupTokenOf(relay);
    assert.ok(String(line?.msg).includes(token), 'the message tells the token too');

    assert.equal((await call(relay, 'POST', '/session', { body: { password: PASSWORD } })).status, 409, 'no password yet');
    const wrong = await call(relay, 'POST', '/setup', { body: { setupToken: 'not-the-token', password: PASSWORD } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json.error, 'wrong-setup-token');
    assert.equal((await call(relay, 'POST', '/setup', { body: { setupToken: token, password: 'short' } })).status, 400, 'too short a password');
    assert.equal((await call(relay, 'POST', '/setup', { body: { setupToken: token } })).status, 400);
    assert.equal((await call(relay, 'POST', '/setup', { body: { setupToken: token, password: PASSWORD } })).status, 201);
    const again = await call(relay, 'POST', '/setup', { body: { setupToken: token, password: 'another password 123' } });
    assert.equal(again.status, 409, 'a second setup is refused, even with the token');

    const db = adminDbBytes(relay.dataDir);
    assert.ok(!db.includes(PASSWORD), 'the password is not stored as it is');
    assert.ok(db.includes('scrypt$'), 'it is stored as an scrypt hash');

    const bad = await call(relay, 'POST', '/session', { body: { password: 'wrong password' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);

    const res = await call(relay, 'POST', '/session', { body: { password: PASSWORD } });
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie')!;
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP on loopback: no Secure attribute');
    assert.match(setCookie, /Max-Age=28800/);
    const auth = { cookie: setCookie.split(';')[0]!, csrf: String(res.json.csrfToken) };
    assert.equal(res.json.user, 'admin');

    const me = await call(relay, 'GET', '/session', { auth: { cookie: auth.cookie } });
    assert.equal(me.status, 200);
    assert.equal(me.json.csrfToken, auth.csrf, 'the console can fetch the CSRF token again after a reload');
    assert.equal((await call(relay, 'GET', '/overview', { auth: { cookie: auth.cookie } })).status, 200, 'reads need no CSRF token');

    assert.equal((await call(relay, 'DELETE', '/session', { auth: { cookie: auth.cookie } })).status, 403, 'sign-out without CSRF token');
    assert.equal((await call(relay, 'DELETE', '/session', { auth: { cookie: auth.cookie, csrf: 'forged' } })).status, 403);
    const out = await call(relay, 'DELETE', '/session', { auth });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /authrelay_session=;.*Max-Age=0/);
    assert.equal((await call(relay, 'GET', '/overview', { auth })).status, 401, 'the session is over');

    const admin = await signIn(relay);
    const log = await auditActions(relay, admin);
    assert.deepEqual(log.map((e) => [e.actor, e.action, e.outcome]), [
      ['anonymous', 'sign-in', 'refused'], ['anonymous', 'setup', 'refused'], ['anonymous', 'setup', 'ok'], ['anonymous', 'setup', 'refused'],
      ['anonymous', 'sign-in', 'refused'], ['admin', 'sign-in', 'ok'], ['admin', 'sign-out', 'ok'], ['admin', 'sign-in', 'ok'],
    ]);
    assert.ok(log.every((e) => e.ip === '127.0.0.1'));
    const text = JSON.stringify(relay.logs.filter((l) => l.event !== 'admin-setup'));
    assert.ok(!text.includes(PASSWORD) && !text.includes(admin.cookie.split('=')[1]!), 'no password or session id in the log');
  } finally {
    await relay.close();
  }
});

test('a restart keeps the password; no setup token is printed once it is set', async () => {
  const first = await startRelay();
  const dataDir = first.dataDir;
  await setUpAndSignIn(first);
  await first.stop();
  const second = await startRelay({}, { dataDir });
  try {
    assert.equal(second.logs.filter((l) => l.event === 'admin-setup').length, 0);
    await signIn(second);
  } finally {
    await second.close();
    await first.close();
  }
});

test('repeated failed sign-ins lock the address out: 429 with Retry-After, even for the right password', async () => {
  const relay = await startRelay({ security: { authFailureLimit: 3, lockoutDuration: '10m', authFailureDelay: '50ms' } });
  try {
    await setUpAndSignIn(relay);
    assert.equal((await call(relay, 'POST', '/session', { body: { password: 'guess 1' } })).status, 401);
    assert.equal((await call(relay, 'POST', '/session', { body: { password: 'guess 2' } })).status, 401);
    const third = await call(relay, 'POST', '/session', { body: { password: 'guess 3' } });
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '600');
    const right = await call(relay, 'POST', '/session', { body: { password: PASSWORD } });
    assert.equal(right.status, 429, 'locked: the right password waits too');
    assert.ok(Number(right.headers.get('retry-after')) > 590);
    assert.equal(right.json.error, 'locked-out');
    assert.equal((await call(relay, 'GET', '/overview', { auth: { bearer: 'arly_guessed' } })).status, 429, 'and API token guesses');
  } finally {
    await relay.close();
  }
});

test('guesses sent all at once cannot get past the lockout: at most limit - 1 are checked, the right password sent with them is refused', async () => {
  const relay = await startRelay({ security: { authFailureLimit: 3, lockoutDuration: '10m', authFailureDelay: '50ms' } });
  try {
    await setUpAndSignIn(relay);
    const guesses = Array.from({ length: 30 }, (_, i) => call(relay, 'POST', '/session', { body: { password: i === 20 ? PASSWORD : `guess ${i}` } }));
    const answers = await Promise.all(guesses);
    const checked = answers.filter((a) => a.status === 401).length;
    assert.ok(checked <= 2, `${checked} wrong passwords were checked with a limit of 3`);
    assert.equal(answers.filter((a) => a.status === 200).length, 0, 'the right password among the guesses does not get in');
    assert.ok(answers.every((a) => a.status === 401 || a.status === 429), answers.map((a) => a.status).join(','));
  } finally {
    await relay.close();
  }
});

test('every route: 401 without sign-in, 403 for state changes without or with a forged CSRF token', async () => {
  const relay = await startRelay();
  try {
    for (const [method, path] of ROUTES) {
      if (PUBLIC.has(`${method} ${path}`)) continue;
      const r = await call(relay, method, concrete(path));
      assert.equal(r.status, 401, `${method} ${path} without sign-in`);
      assert.equal(r.json.error, 'unauthorized');
      assert.equal((await call(relay, method, concrete(path), { auth: { cookie: 'authrelay_session=forged' } })).status, 401, `${method} ${path} forged cookie`);
    }
    const auth = await setUpAndSignIn(relay);
    for (const [method, path] of ROUTES) {
      if (PUBLIC.has(`${method} ${path}`) || method === 'GET') continue;
      assert.equal((await call(relay, method, concrete(path), { auth: { cookie: auth.cookie } })).status, 403, `${method} ${path} without CSRF`);
      const forged = await call(relay, method, concrete(path), { auth: { cookie: auth.cookie, csrf: `${auth.csrf.slice(0, -1)}x` } });
      assert.equal(forged.status, 403, `${method} ${path} forged CSRF`);
      assert.equal(forged.json.error, 'csrf');
    }
    const other = await signIn(relay);
    assert.equal((await call(relay, 'POST', '/tokens', { auth: { cookie: auth.cookie, csrf: other.csrf }, body: { name: 'x' } })).status, 403,
      "another session's CSRF token does not count");
  } finally {
    await relay.close();
  }
});

test('API tokens: shown once, stored hashed, Bearer without CSRF, scope read or admin, deleted tokens refused', async () => {
  const relay = await startRelay();
  try {
    const auth = await setUpAndSignIn(relay);
    const made = await call(relay, 'POST', '/tokens', { auth, body: { name: 'nightly report' } });
    assert.equal(made.status, 201);
    assert.equal(made.json.scope, 'read');
    const readToken = String(made.json.token);
    assert.match(readToken, /^arly_[A-Za-z0-9_-]{40,}$/);
    const adminMade = await call(relay, 'POST', '/tokens', { auth, body: { name: 'cleanup script', scope: 'admin' } });
    const adminToken = String(adminMade.json.token);
    assert.equal((await call(relay, 'POST', '/tokens', { auth, body: { name: 'x', scope: 'root' } })).status, 400);

    const list = await call(relay, 'GET', '/tokens', { auth });
    assert.deepEqual(list.json.tokens.map((t: { name: string; scope: string }) => [t.name, t.scope]), [['nightly report', 'read'], ['cleanup script', 'admin']]);
    assert.ok(!list.bytes.toString().includes(readToken) && !list.bytes.toString().includes(adminToken), 'secrets are never listed again');
    const db = adminDbBytes(relay.dataDir);
    assert.ok(!db.includes(readToken) && !db.includes(adminToken), 'tokens are stored hashed');

    const asRead = { bearer: readToken };
    for (const p of ['/overview', '/messages', '/devices', '/upstreams']) assert.equal((await call(relay, 'GET', p, { auth: asRead })).status, 200, p);
    assert.equal((await call(relay, 'GET', '/audit', { auth: asRead })).status, 403, 'the audit log needs scope admin');
    assert.equal((await call(relay, 'GET', '/messages/ABC123/eml', { auth: asRead })).status, 403, 'bodies need scope admin');
    assert.equal((await call(relay, 'POST', '/messages/ABC123/retry', { auth: asRead })).status, 403);
    assert.equal((await call(relay, 'DELETE', '/messages/ABC123', { auth: asRead })).status, 403);
    assert.equal((await call(relay, 'GET', '/tokens', { auth: asRead })).status, 403, 'tokens are managed from a session only');
    assert.equal((await call(relay, 'DELETE', '/session', { auth: asRead })).status, 403);

    const asAdmin = { bearer: adminToken };
    assert.equal((await call(relay, 'GET', '/audit', { auth: asAdmin })).status, 200);
    const retry = await call(relay, 'POST', '/messages/ABC123/retry', { auth: asAdmin });
    assert.equal(retry.status, 404, 'no CSRF token needed with Bearer: the request reached the route');
    assert.equal((await call(relay, 'POST', '/tokens', { auth: asAdmin, body: { name: 'y' } })).status, 403);

    assert.equal((await call(relay, 'DELETE', `/tokens/${String(made.json.id)}`, { auth })).status, 204);
    assert.equal((await call(relay, 'DELETE', `/tokens/${String(made.json.id)}`, { auth })).status, 404);
    assert.equal((await call(relay, 'GET', '/overview', { auth: asRead })).status, 401, 'a deleted token is refused');

    const log = await auditActions(relay, auth);
    const mine = log.filter((e) => e.action.startsWith('token-') || e.action === 'message-retry');
    assert.deepEqual(mine.map((e) => [e.actor, e.action, e.outcome]), [
      ['admin', 'token-create', 'ok'], ['admin', 'token-create', 'ok'], ['token:cleanup script', 'message-retry', 'refused'],
      ['admin', 'token-delete', 'ok'], ['admin', 'token-delete', 'refused'],
    ]);
    assert.equal(mine[0]!.target, made.json.id);
  } finally {
    await relay.close();
  }
});

test('the session cookie is Secure when the admin server is reachable from the network', async () => {
  const relay = await startRelay({ admin: { listen: '0.0.0.0:0' } });
  try {
    await call(relay, 'POST', '/setup', { body: { setupToken: setupTokenOf(relay), password: PASSWORD } });
    const res = await call(relay, 'POST', '/session', { body: { password: PASSWORD } });
    assert.match(res.headers.get('set-cookie')!, /; Secure/);
  } finally {
    await relay.close();
  }
});

test('the OpenAPI document lists every route, each with its access, and unknown API paths need sign-in too', async () => {
  const relay = await startRelay();
  try {
    const doc = await call(relay, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
    const listed = Object.entries(doc.json.paths as Record<string, Record<string, { 'x-access': string; summary: string }>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/^\/api\/v1/, '')}`));
    assert.deepEqual(listed.sort(), ROUTES.map(([m, p]) => `${m} ${p}`).sort());
    for (const [m, p] of ROUTES) {
      assert.ok(await relay.admin!.hasRoute({ method: m as 'GET', url: `/api/v1${p.replace('{id}', ':id').replace('{name}', ':name').replace('{key}', ':key')}` }), `${m} ${p} is registered`);
      const op = doc.json.paths[`/api/v1${p}`][m.toLowerCase()];
      assert.ok(op.summary.length > 10, `${m} ${p} is described`);
      assert.equal(op['x-access'] === 'public', PUBLIC.has(`${m} ${p}`), `${m} ${p} access`);
    }
    assert.deepEqual(doc.json.paths['/api/v1/messages'].get.parameters.map((x: { name: string }) => x.name).sort(),
      ['before', 'device', 'limit', 'recipient', 'sender', 'since', 'state', 'subject', 'until']);
    const missing = await call(relay, 'GET', '/no-such-thing');
    assert.equal(missing.status, 401, 'unknown paths under /api/v1 still need sign-in');
  } finally {
    await relay.close();
  }
});
