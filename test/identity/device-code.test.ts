/**
 * Delegated SMTP sign-in by device code against the Microsoft 365 emulator:
 * login and approval, the sign-in stored encrypted (mode 0600, no refresh
 * token in clear), a restarted relay getting tokens from the stored refresh
 * token (rotated on each use), a revoked sign-in, and no sign-in at all.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorApp, EmulatorTenant } from '../emulator/api.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import type { DelegatedTokenProvider, DeviceCodePrompt } from '../../src/identity/entra/delegated-token-provider.js';
import { capturingLogger, refused, smtpOauthConfig, tempDir } from './entra-fixtures.js';

const USER = 'scanner@contoso.example';

let emu: Emulator;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let dataDir: string;

before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  tenant = emu.addTenant();
  app = emu.addApp(tenant.id, { publicClient: true, secrets: [] });
  emu.addMailbox(tenant.id, { address: USER, password: 'pw' });
  emu.addMailbox(tenant.id, { address: 'someone.else@contoso.example', password: 'pw' });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = tempDir();
});

const cfg = () => smtpOauthConfig(emu, { tenant: tenant.id, clientId: app.clientId, delegated: { user: USER } });
const registry = (secretKey?: string) => new TokenProviders({ dataDir, secretKey, log: capturingLogger().log, signInRenewalMs: 0 });

/** Runs the device code login and approves the code as `user` once it is shown. */
async function signIn(p: DelegatedTokenProvider, user = USER): Promise<{ prompt: DeviceCodePrompt; result: Awaited<ReturnType<DelegatedTokenProvider['login']>> }> {
  let prompt: DeviceCodePrompt | undefined;
  const result = await p.login((pr) => {
    prompt = pr;
    setImmediate(() => emu.approveDeviceCode(pr.userCode, user));
  });
  return { prompt: prompt!, result };
}

describe('device code sign-in', () => {
  test('not signed in yet: a TokenError that says to run oauth login, without a request', async () => {
    const p = registry().get('m365', cfg(), 'smtp');
    const e = await refused(p.getToken());
    assert.equal(e.details.notSignedIn, true);
    assert.match(e.message, /authrelay oauth login m365/);
    assert.equal(p.requests, 0);
  });

  test('login, encrypted store, token with SMTP.Send; a restart uses the stored refresh token', async () => {
    const reg = registry();
    const login = reg.delegated('m365', cfg());
    const { prompt, result } = await signIn(login);
    assert.match(prompt.message, new RegExp(`enter the code ${prompt.userCode}`));
    assert.equal(prompt.verificationUri, 'https://microsoft.com/devicelogin');
    assert.equal(result.user, USER);
    assert.ok(result.scopes.some((s) => /SMTP\.Send$/.test(s)), result.scopes.join(' '));
    login.close();

    const file = join(dataDir, 'tokens', 'm365.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!/refresh_token|RefreshToken|secret|1\.AQ/i.test(JSON.parse(text).data as string), 'ciphertext only');
    assert.ok(!text.includes('1.AQ'), 'no refresh token in clear');
    assert.ok(!text.includes('"RefreshToken"'));
    assert.equal(JSON.parse(text).cipher, 'aes-256-gcm');
    const keyFile = join(dataDir, 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);

    // A new registry = a restarted relay.
    const before = emu.requests().filter((r) => r.service === 'token').length;
    const p = registry().get('m365', cfg(), 'smtp');
    const t = await p.getToken();
    assert.deepEqual(t.permissions, ['SMTP.Send']);
    assert.equal(t.fromCache, false);
    assert.equal(p.requests, 1);
    assert.equal((await p.getToken()).fromCache, true);
    assert.equal(emu.requests().filter((r) => r.service === 'token').length, before + 1);
    assert.notEqual(readFileSync(file, 'utf8'), text, 'the rotated refresh token was stored');
  });

  test('the refresh token is rotated on each renewal and the old one is not needed', async () => {
    const reg = registry();
    await signIn(reg.delegated('m365', cfg()));
    const p = reg.delegated('m365', cfg());
    const a = await p.renewSignIn();
    const b = await p.renewSignIn();
    assert.notEqual(a.token, b.token);
    // A fresh instance reads the latest stored refresh token and works.
    const c = await registry().delegated('m365', cfg()).renewSignIn();
    assert.deepEqual(c.permissions, ['SMTP.Send']);
  });

  test('a revoked sign-in: a clear TokenError (AADSTS50173) that says to sign in again', async () => {
    const reg = registry();
    await signIn(reg.delegated('m365', cfg()));
    emu.revokeRefreshTokens(USER);
    const e = await refused(registry().get('m365', cfg(), 'smtp').getToken());
    assert.equal(e.details.aadsts, 50173);
    assert.equal(e.details.error, 'invalid_grant');
    assert.equal(e.details.notSignedIn, true);
    assert.match(e.message, /revoked/);
    assert.match(e.message, /authrelay oauth login m365/);
  });

  test('another user signing in is refused and not stored for this upstream', async () => {
    const reg = registry();
    const e = await refused(signIn(reg.delegated('m365', cfg()), 'someone.else@contoso.example'));
    assert.match(e.message, /someone\.else@contoso\.example signed in, but upstream m365 sends as scanner@contoso\.example/);
    const after = await refused(registry().get('m365', cfg(), 'smtp').getToken());
    assert.equal(after.details.notSignedIn, true);
  });

  test('a declined code ends the login with authorization_declined', async () => {
    const p = registry().delegated('m365', cfg());
    const e = await refused(p.login((pr) => setImmediate(() => emu.declineDeviceCode(pr.userCode))));
    assert.equal(e.details.error, 'authorization_declined');
  });

  test('the store only opens with the same key', async () => {
    await signIn(registry('key-one').delegated('m365', cfg()));
    assert.deepEqual((await registry('key-one').get('m365', cfg(), 'smtp').getToken()).permissions, ['SMTP.Send']);
    const e = await refused(registry('key-two').get('m365', cfg(), 'smtp').getToken());
    assert.equal(e.details.notSignedIn, true);
    assert.match(e.message, /cannot be decrypted/);
  });
});
