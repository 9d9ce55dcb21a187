/**
 * App-only tokens from the Microsoft 365 emulator over real HTTPS: client
 * secret and certificate (PS256, x5t#S256), Entra's refusals mapped into
 * TokenError, the token cache (one request for many callers, renewal ahead
 * of expiry), the outbound proxy, and one provider shared per app.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorApp, EmulatorTenant } from '../emulator/api.js';
import { AppTokenProvider } from '../../src/identity/entra/app-token-provider.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import { TokenError } from '../../src/identity/entra/token-provider.js';
import { readTokenStatus } from '../../src/identity/entra/token-status.js';
import { capturingLogger, graphConfig, makeCertificate, refused, smtpOauthConfig, startConnectProxy, tempDir, type TestCertificate } from './entra-fixtures.js';

const SECRET = 'Qx8~secret.value-of-the-app_0123456789';

let emu: Emulator;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let dir: string;
let cert: TestCertificate;

before(async () => {
  emu = await startEmulator();
  dir = tempDir();
  cert = makeCertificate(dir);
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emu.reset();
  emu.tokenLifetimeSeconds = 3599;
  tenant = emu.addTenant();
  app = emu.addApp(tenant.id, { secrets: [{ value: SECRET }], certificates: [cert.certPem], graphRoles: ['Mail.Send'], exchangeRoles: ['SMTP.SendAsApp'] });
});

const tokenRequests = () => emu.requests().filter((r) => r.service === 'token');

describe('client secret', () => {
  test('a Graph token with the app roles; the secret never appears in logs', async () => {
    const { log, lines } = capturingLogger();
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET }), 'graph', log);
    const t = await p.getToken();
    assert.ok(t.token.length > 20);
    assert.equal(t.fromCache, false);
    assert.deepEqual(t.permissions, ['Mail.Send']);
    assert.ok(t.expiresAt > Date.now() + 3_000_000 && t.expiresAt <= Date.now() + 3_600_000, `expiresAt ${t.expiresAt}`);
    assert.equal(p.requests, 1);
    assert.match(p.description, new RegExp(`client secret of app ${app.clientId} in tenant ${tenant.id}`));
    const reqs = tokenRequests();
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0]!.status, 200);
    assert.equal(reqs[0]!.clientId, app.clientId);
    assert.equal(emu.requests().filter((r) => r.service === 'discovery').length, 0, 'no discovery request: the metadata is given to MSAL');
    assert.ok(!lines.join('').includes(SECRET));
    assert.ok(!lines.join('').includes(t.token));
    p.close();
  });

  test('an SMTP token carries the Exchange role', async () => {
    const p = new AppTokenProvider(smtpOauthConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET }), 'smtp', capturingLogger().log);
    const t = await p.getToken();
    assert.deepEqual(t.permissions, ['SMTP.SendAsApp']);
    p.close();
  });

  test('the tenant may be given as its domain', async () => {
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.domains[0], clientId: app.clientId, clientSecret: SECRET }), 'graph', capturingLogger().log);
    assert.deepEqual((await p.getToken()).permissions, ['Mail.Send']);
    p.close();
  });
});

describe('certificate', () => {
  test('a token with an unencrypted key', async () => {
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, certificate: { key: cert.key, cert: cert.cert } }), 'graph', capturingLogger().log);
    const t = await p.getToken();
    assert.deepEqual(t.permissions, ['Mail.Send']);
    assert.equal(p.credentialType, 'certificate');
    p.close();
  });

  test('a token with an encrypted key and its passphrase', async () => {
    const p = new AppTokenProvider(
      graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, certificate: { key: cert.encryptedKey, cert: cert.cert, passphrase: cert.passphrase } }),
      'graph', capturingLogger().log,
    );
    assert.deepEqual((await p.getToken()).permissions, ['Mail.Send']);
    p.close();
  });

  test('an encrypted key without the passphrase is refused before any request', () => {
    assert.throws(
      () => new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, certificate: { key: cert.encryptedKey, cert: cert.cert } }), 'graph', capturingLogger().log),
      (e: unknown) => e instanceof TokenError && /is encrypted; set certificate\.passphrase/.test(e.message),
    );
  });

  test('a certificate not registered on the app: AADSTS700027', async () => {
    const other = makeCertificate(dir, 'other');
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, certificate: { key: other.key, cert: other.cert } }), 'graph', capturingLogger().log);
    const e = await refused(p.getToken());
    assert.equal(e.details.error, 'invalid_client');
    assert.equal(e.details.aadsts, 700027);
    assert.equal(e.details.status, 401);
    p.close();
  });
});

describe("Entra's refusals", () => {
  const cases: { name: string; setup: () => Record<string, unknown>; aadsts: number; error: string; status: number; text: RegExp }[] = [
    { name: 'wrong secret', setup: () => ({ tenant: tenant.id, clientId: app.clientId, clientSecret: 'not-the-secret' }), aadsts: 7000215, error: 'invalid_client', status: 401, text: /secret VALUE/ },
    {
      name: 'expired secret',
      setup: () => {
        emu.app(app.clientId).secrets = [{ value: SECRET, expiresAt: Date.now() - 1000 }];
        return { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET };
      },
      aadsts: 7000222, error: 'invalid_client', status: 401, text: /has expired/,
    },
    { name: 'unknown tenant', setup: () => ({ tenant: '9b1f6b7e-0000-4000-8000-00000000dead', clientId: app.clientId, clientSecret: SECRET }), aadsts: 90002, error: 'invalid_request', status: 400, text: /tenant does not exist/ },
    { name: 'unknown app', setup: () => ({ tenant: tenant.id, clientId: '0f0f0f0f-0000-4000-8000-000000000000', clientSecret: SECRET }), aadsts: 700016, error: 'unauthorized_client', status: 400, text: /not registered in this tenant/ },
  ];
  for (const c of cases) {
    test(`${c.name}: AADSTS${c.aadsts}`, async () => {
      const { log, lines } = capturingLogger();
      const p = new AppTokenProvider(graphConfig(emu, c.setup()), 'graph', log);
      const e = await refused(p.getToken());
      assert.equal(e.details.aadsts, c.aadsts);
      assert.equal(e.details.error, c.error);
      assert.equal(e.details.status, c.status);
      assert.match(e.message, c.text);
      assert.match(e.details.description ?? '', new RegExp(`^AADSTS${c.aadsts}: `));
      assert.ok(!e.message.includes(SECRET) && !(e.details.description ?? '').includes(SECRET));
      assert.ok(!lines.join('').includes(SECRET));
      p.close();
    });
  }

  test('an unreachable sign-in host: the network code, no status', async () => {
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET, endpoints: { authority: 'https://127.0.0.1:1' } }), 'graph', capturingLogger().log);
    const e = await refused(p.getToken());
    assert.equal(e.details.networkCode, 'ECONNREFUSED');
    assert.equal(e.details.status, undefined);
    p.close();
  });

  test('a sign-in host whose certificate is not trusted (no ca): a CERT/SSL network code', async () => {
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET, ca: undefined }), 'graph', capturingLogger().log);
    const e = await refused(p.getToken());
    assert.match(e.details.networkCode ?? '', /CERT|SELF_SIGNED|UNABLE_TO|SSL/);
    p.close();
  });
});

describe('token cache', () => {
  test('concurrent and sequential callers share one token request', async () => {
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET }), 'graph', capturingLogger().log);
    const burst = await Promise.all(Array.from({ length: 50 }, () => p.getToken()));
    assert.equal(new Set(burst.map((t) => t.token)).size, 1);
    for (let i = 0; i < 20; i++) {
      const t = await p.getToken();
      assert.equal(t.fromCache, true);
      assert.equal(t.token, burst[0]!.token);
    }
    assert.equal(tokenRequests().length, 1);
    assert.equal(p.requests, 1);
    p.close();
  });

  test('a token is renewed ahead of its expiry, not at every call', async () => {
    emu.tokenLifetimeSeconds = 3; // margin: a tenth of the lifetime, 0.3 s
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET }), 'graph', capturingLogger().log);
    const first = await p.getToken();
    assert.equal((await p.getToken()).fromCache, true);
    await new Promise((r) => setTimeout(r, Math.max(0, first.expiresAt - 100 - Date.now())));
    assert.ok(Date.now() < first.expiresAt, 'still before expiry');
    const second = await p.getToken();
    assert.equal(second.fromCache, false);
    assert.notEqual(second.token, first.token);
    assert.ok(second.expiresAt > first.expiresAt);
    assert.equal(tokenRequests().length, 2);
    p.close();
  });

  test('a 503 is not cached; the request is held back until its Retry-After, then asked again', async () => {
    emu.fault({ target: 'token', fault: { status: 503, retryAfterSeconds: 1 }, count: 1 });
    const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET }), 'graph', capturingLogger().log);
    const e = await refused(p.getToken());
    assert.equal(e.details.status, 503);
    assert.equal(e.details.aadsts, 90033);
    const held = await refused(p.getToken());
    assert.match(held.message, /not sent: Entra refused it moments ago/);
    assert.equal(held.details.status, undefined);
    assert.equal(p.requests, 1);
    await new Promise((r) => setTimeout(r, 1100));
    const t = await p.getToken();
    assert.equal(t.fromCache, false);
    assert.equal(p.requests, 2);
    p.close();
  });
});

describe('outbound proxy', () => {
  test('the token request goes through the CONNECT proxy', async () => {
    const proxy = await startConnectProxy();
    try {
      const p = new AppTokenProvider(graphConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET, proxy: proxy.url }), 'graph', capturingLogger().log);
      assert.deepEqual((await p.getToken()).permissions, ['Mail.Send']);
      const emuHost = new URL(emu.authorityHost).host;
      assert.deepEqual(proxy.targets, [emuHost]);
      assert.equal(tokenRequests().length, 1);
      p.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('TokenProviders registry', () => {
  test('upstreams of the same app share one provider per resource; status is recorded', async () => {
    const dataDir = tempDir();
    try {
      const reg = new TokenProviders({ dataDir, secretKey: undefined, log: capturingLogger().log });
      const fields = { tenant: tenant.id, clientId: app.clientId, clientSecret: SECRET };
      const a = reg.get('graph-a', graphConfig(emu, fields), 'graph');
      const b = reg.get('graph-b', graphConfig(emu, { ...fields, mailbox: 'other@contoso.com' }), 'graph');
      const c = reg.get('smtp-a', smtpOauthConfig(emu, fields), 'smtp');
      assert.equal(a, b);
      assert.notEqual(a, c);
      await Promise.all([a.getToken(), b.getToken(), c.getToken()]);
      assert.equal(tokenRequests().length, 2);
      const s = readTokenStatus(dataDir, 'graph-b');
      assert.equal(s?.credential, 'client secret');
      assert.ok(s?.expiresAt && Date.parse(s.expiresAt) > Date.now());
      const other = reg.get('graph-c', graphConfig(emu, { ...fields, clientSecret: 'different' }), 'graph');
      assert.notEqual(other, a, 'another credential is another provider');
      await refused(other.getToken());
      assert.equal(readTokenStatus(dataDir, 'graph-c')?.lastError?.aadsts, 7000215);
      reg.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
