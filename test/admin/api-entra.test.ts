/**
 * Sign-in to the console with Entra ID (OpenID Connect) against the
 * Microsoft 365 emulator, over real HTTP(S): the relay sends the browser to
 * the emulator's authorize page, the user signs in there, the emulator sends
 * the code back to the relay's redirect URI, and the relay redeems it (PKCE,
 * nonce) and opens a session only for a listed user. Refused: a user not
 * listed, an answer without the browser's state cookie, a replayed answer,
 * a wrong client secret, a cancelled sign-in; the emulator refuses an
 * unregistered redirect URI, a wrong PKCE verifier and a second redemption.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { validateConfig } from '../../src/config/load.js';
import { auditActions, call } from './api-client.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let emu: Emulator;
let c: Contoso;
let ca: Buffer;
const IT = 'it-admin';

/** One request, no redirects followed; `host` overrides the Host header (the relay is reached as localhost). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request({
      host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET',
      headers: { host: u.host, ...(opts.headers ?? {}) }, ...(u.protocol === 'https:' ? { ca } : {}),
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function cookiesOf(a: Answer): Map<string, string> {
  const jar = new Map<string, string>();
  for (const line of a.headers['set-cookie'] ?? []) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  return jar;
}

/** The hidden fields of the emulator's sign-in form. */
function hiddenFields(html: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(m[1]!, m[2]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }
  return form;
}

interface Flow {
  /** The relay's answer at the redirect URI. */
  callback: Answer;
  /** Its address (with code and state). */
  callbackUrl: string;
  stateCookie: string;
}

/** Starts at the relay as localhost, signs in at the emulator as `user`, and hands the answer back. */
async function signInWithMicrosoft(relay: TestRelay, user: string, password: string, opts: { dropStateCookie?: boolean } = {}): Promise<Flow> {
  const base = `http://localhost:${relay.admin!.port!}`;
  const start = await request(`${base}/api/v1/session/entra?next=${encodeURIComponent('#/messages')}`);
  assert.equal(start.status, 302, start.body);
  const stateCookie = cookiesOf(start).get('authrelay_entra_state') ?? '';
  assert.ok(stateCookie.length > 20, 'a state cookie ties the answer to this browser');
  assert.match(String(start.headers['set-cookie']), /SameSite=Lax; Max-Age=600/);
  const authorize = new URL(String(start.headers.location));
  assert.equal(authorize.origin, emu.authorityHost);
  assert.equal(authorize.pathname, `/${c.tenant.domains[0]}/oauth2/v2.0/authorize`);
  assert.equal(authorize.searchParams.get('response_type'), 'code');
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('nonce'), 'a nonce is sent');
  assert.equal(authorize.searchParams.get('state'), stateCookie);
  assert.equal(authorize.searchParams.get('redirect_uri'), `${base}/api/v1/session/entra/callback`);

  const page = await request(authorize.toString());
  assert.equal(page.status, 200);
  assert.match(page.body, /Sign in to your account/);
  const form = hiddenFields(page.body);
  form.set('login', user);
  form.set('passwd', password);
  const posted = await request(`${emu.authorityHost}${authorize.pathname}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  });
  assert.equal(posted.status, 302, posted.body);
  const callbackUrl = String(posted.headers.location);
  assert.ok(callbackUrl.startsWith(`${base}/api/v1/session/entra/callback?`), callbackUrl);
  const callback = await request(callbackUrl, opts.dropStateCookie ? {} : { headers: { cookie: `authrelay_entra_state=${stateCookie}` } });
  return { callback, callbackUrl, stateCookie };
}

function refreshTarget(a: Answer): string {
  const m = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(a.body);
  assert.ok(m, `a page that moves on: ${a.body}`);
  return m[1]!.replace(/&amp;/g, '&');
}

async function entraRelay(extra: Record<string, unknown> = {}): Promise<TestRelay> {
  const relay = await startRelay({
    admin: {
      listen: '127.0.0.1:0',
      entraSignIn: {
        tenant: c.tenant.domains[0]!, clientId: c.app.clientId, clientSecret: c.secret, ca: emu.caFile,
        endpoints: { authority: emu.authorityHost }, users: [`${IT}@${c.tenant.domains[1]}`], ...extra,
      },
    },
  });
  const redirect = `http://localhost:${relay.admin!.port!}/api/v1/session/entra/callback`;
  c.app.redirectUris.push(redirect);
  assert.ok(relay.logs.some((l) => l.event === 'admin-entra-sign-in' && l.redirectUri === redirect), 'the log names the redirect URI to register');
  return relay;
}

before(async () => {
  emu = await startEmulator();
  ca = readFileSync(emu.caFile);
  c = contoso(emu);
  emu.addMailbox(c.tenant.id, { address: `${IT}@${c.tenant.domains[1]}`, password: 'Pa55word!it' });
  emu.addMailbox(c.tenant.id, { address: `intern@${c.tenant.domains[1]}`, password: 'Pa55word!intern' });
});

after(async () => {
  await emu?.close();
});

test('a listed user signs in with Microsoft and gets a console session; the audit log records it', async () => {
  const relay = await entraRelay();
  try {
    const methods = await call(relay, 'GET', '/session/methods');
    assert.deepEqual(methods.json, { password: true, setupNeeded: true, entra: true });

    // Opened as 127.0.0.1, the start moves the browser to the redirect URI's name first (cookies are per name).
    const moved = await request(`http://127.0.0.1:${relay.admin!.port!}/api/v1/session/entra?next=%23%2Fdevices`);
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, `http://localhost:${relay.admin!.port!}/api/v1/session/entra?next=%23%2Fdevices`);
    assert.equal(moved.headers['set-cookie'], undefined);

    const user = `${IT}@${c.tenant.domains[1]}`;
    const flow = await signInWithMicrosoft(relay, user, 'Pa55word!it');
    assert.equal(flow.callback.status, 200);
    assert.equal(refreshTarget(flow.callback), '/#/messages', 'on to the page asked for');
    const jar = cookiesOf(flow.callback);
    assert.equal(jar.get('authrelay_entra_state'), '', 'the state cookie is removed');
    const session = jar.get('authrelay_session');
    assert.ok(session && session.length > 20, 'a session cookie');
    assert.match(String(flow.callback.headers['set-cookie']), /authrelay_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);

    const me = await call(relay, 'GET', '/session', { auth: { cookie: `authrelay_session=${session}` } });
    assert.equal(me.status, 200);
    assert.equal(me.json.user, user);
    const auth = { cookie: `authrelay_session=${session}`, csrf: String(me.json.csrfToken) };
    assert.equal((await call(relay, 'GET', '/overview', { auth })).status, 200, 'the session works on the API');
    const tok = await call(relay, 'POST', '/tokens', { auth, body: { name: 'script' } });
    assert.equal(tok.status, 201, 'state-changing calls work with the CSRF token');

    const log = await auditActions(relay, auth);
    assert.ok(log.some((e) => e.action === 'sign-in' && e.actor === user && e.outcome === 'ok'));

    // The code went to the emulator's token endpoint once, with the PKCE verifier.
    const redemptions = emu.requests().filter((r) => r.service === 'token' && r.status === 200);
    assert.ok(redemptions.length >= 1);

    // Replaying the same answer (same code and state, same cookie) is refused: the state was used.
    const replay = await request(flow.callbackUrl, { headers: { cookie: `authrelay_entra_state=${flow.stateCookie}` } });
    assert.match(refreshTarget(replay), /^\/#\/signin\?entra=state&detail=/);
    assert.equal(cookiesOf(replay).get('authrelay_session'), undefined);
  } finally {
    await relay.close();
  }
});

test('refused: a Microsoft user not listed, an answer without the state cookie, a cancelled sign-in', async () => {
  const relay = await entraRelay();
  try {
    const intern = `intern@${c.tenant.domains[1]}`;
    const flow = await signInWithMicrosoft(relay, intern, 'Pa55word!intern');
    const to = refreshTarget(flow.callback);
    assert.match(to, /^\/#\/signin\?entra=not-listed&detail=/);
    assert.match(decodeURIComponent(to), /intern@contoso\d+\.com signed in with Microsoft but is not listed in admin\.entraSignIn\.users/);
    assert.equal(cookiesOf(flow.callback).get('authrelay_session'), undefined, 'no session');
    const warn = relay.logs.find((l) => l.event === 'admin-entra-sign-in' && l.outcome === 'refused');
    assert.equal(warn?.reason, 'not-listed');

    const noCookie = await signInWithMicrosoft(relay, `${IT}@${c.tenant.domains[1]}`, 'Pa55word!it', { dropStateCookie: true });
    assert.match(refreshTarget(noCookie.callback), /^\/#\/signin\?entra=state/, 'an answer reaching another browser is refused');
    assert.equal(cookiesOf(noCookie.callback).get('authrelay_session'), undefined);

    // The user cancels at Microsoft: the answer carries an error instead of a code.
    const start = await request(`http://localhost:${relay.admin!.port!}/api/v1/session/entra`);
    const state = cookiesOf(start).get('authrelay_entra_state')!;
    const cancelled = await request(`http://localhost:${relay.admin!.port!}/api/v1/session/entra/callback?error=access_denied&error_description=${encodeURIComponent('AADSTS65004: User declined to consent to access the app.')}&state=${state}`,
      { headers: { cookie: `authrelay_entra_state=${state}` } });
    assert.match(refreshTarget(cancelled), /^\/#\/signin\?entra=cancelled/);

    // The audit log has the refusals; sign in with the password to read it.
    const setup = relay.logs.filter((l) => l.event === 'admin-setup').at(-1)?.setupToken as string;
    assert.equal((await call(relay, 'POST', '/setup', { body: { setupToken: setup, password: 'correct horse battery staple' } })).status, 201);
    const s = await call(relay, 'POST', '/session', { body: { password: 'correct horse battery staple' } });
    const auth = { cookie: String(s.headers.get('set-cookie')).split(';')[0]!, csrf: String(s.json.csrfToken) };
    const log = await auditActions(relay, auth);
    assert.ok(log.some((e) => e.action === 'sign-in' && e.actor === intern && e.outcome === 'refused'), JSON.stringify(log));
  } finally {
    await relay.close();
  }
});

test('a wrong client secret: the sign-in fails with Microsoft\'s reason, no session', async () => {
  const relay = await entraRelay({ clientSecret: 'not-the-secret' });
  try {
    const flow = await signInWithMicrosoft(relay, `${IT}@${c.tenant.domains[1]}`, 'Pa55word!it');
    const to = decodeURIComponent(refreshTarget(flow.callback));
    assert.match(to, /entra=token/);
    assert.match(to, /AADSTS7000215/);
    assert.equal(cookiesOf(flow.callback).get('authrelay_session'), undefined);
  } finally {
    await relay.close();
  }
});

test('the emulator: unregistered redirect URI, wrong PKCE verifier, second redemption, wrong password', async () => {
  const tenant = c.tenant.domains[0]!;
  const base = `${emu.authorityHost}/${tenant}/oauth2/v2.0`;
  const registered = 'http://localhost:1/cb';
  c.app.redirectUris.push(registered);
  const q = (o: Record<string, string>) => new URLSearchParams({ client_id: c.app.clientId, response_type: 'code', scope: 'openid profile', state: 's1', ...o }).toString();

  const bad = await request(`${base}/authorize?${q({ redirect_uri: 'http://evil.example/cb' })}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /AADSTS50011: The redirect URI &#39;http:\/\/evil\.example\/cb&#39; specified in the request does not match/);
  assert.equal(bad.headers.location, undefined, 'never sent to an unregistered address');

  const verifier = 'v'.repeat(50);
  const { createHash } = await import('node:crypto');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const page = await request(`${base}/authorize?${q({ redirect_uri: registered, code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n-1' })}`);
  const form = hiddenFields(page.body);
  form.set('login', `${IT}@${c.tenant.domains[1]}`);
  form.set('passwd', 'wrong');
  const wrong = await request(`${base}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  assert.equal(wrong.status, 200);
  assert.match(wrong.body, /AADSTS50126: Error validating credentials/);
  form.set('passwd', 'Pa55word!it');
  const ok = await request(`${base}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const code = new URL(String(ok.headers.location)).searchParams.get('code')!;
  assert.equal(new URL(String(ok.headers.location)).searchParams.get('state'), 's1');

  const redeem = (o: Record<string, string>) => request(`${base}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: c.app.clientId, client_secret: c.secret, code, redirect_uri: registered, scope: 'openid profile', ...o }).toString(),
  });
  const pkce = await redeem({ code_verifier: 'w'.repeat(50) });
  assert.equal(pkce.status, 400);
  assert.match(JSON.parse(pkce.body).error_description, /^AADSTS50148: The code_verifier does not match/);
  const otherUri = await redeem({ code_verifier: verifier, redirect_uri: 'http://localhost:2/cb' });
  assert.equal(JSON.parse(otherUri.body).error_codes[0], 500112);
  const good = await redeem({ code_verifier: verifier });
  assert.equal(good.status, 200, good.body);
  const idToken = JSON.parse(good.body).id_token as string;
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString('utf8'));
  assert.equal(claims.nonce, 'n-1');
  assert.equal(claims.aud, c.app.clientId);
  assert.equal(claims.preferred_username, `${IT}@${c.tenant.domains[1]}`);
  const again = await redeem({ code_verifier: verifier });
  assert.equal(again.status, 400);
  assert.equal(JSON.parse(again.body).error_codes[0], 54005, 'a code is redeemed once');
});

test('config: a shared tenant (common) is refused; a non-loopback admin address needs the redirect URI', () => {
  const base = { tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'x', users: ['it@contoso.com'] };
  assert.throws(() => validateConfig({ admin: { entraSignIn: { ...base, tenant: 'common' } } }, { env: {} }, '/tmp'), /admin\.entraSignIn\.tenant.*not common/s);
  assert.throws(() => validateConfig({ admin: { entraSignIn: { ...base, users: [] } } }, { env: {} }, '/tmp'), /admin\.entraSignIn\.users.*at least one user/s);
  assert.throws(() => validateConfig({ admin: { listen: '0.0.0.0:8025', entraSignIn: base } }, { env: {} }, '/tmp'), /admin\.entraSignIn\.redirectUri: needed because admin\.listen/);
  const ok = validateConfig({ admin: { listen: '0.0.0.0:8025', entraSignIn: { ...base, redirectUri: 'https://relay.contoso.com:8025/api/v1/session/entra/callback' } } }, { env: {} }, '/tmp');
  assert.equal(ok.admin.entraSignIn?.users[0], 'it@contoso.com');
});
