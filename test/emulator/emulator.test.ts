/**
 * The emulator's Entra ID against real clients: MSAL-node's
 * ConfidentialClientApplication (client secret and certificate, PS256 and
 * RS256 assertions), raw token requests for the documented error answers,
 * OpenID metadata and JWKS (token signatures verify with the published key),
 * the device code flow and refresh token rotation and revocation.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, verify } from 'node:crypto';
import { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import selfsigned from 'selfsigned';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant } from './index.js';
import { CaNetworkClient } from './msal-network.js';
import { HttpClient } from '../../src/core/http.js';

let em: Emulator;
let http: HttpClient;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let cert: { cert: string; key: string };

before(async () => {
  em = await startEmulator();
  http = new HttpClient({ ca: em.caPem });
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'relay app' }], { algorithm: 'sha256', keySize: 2048 });
  cert = { cert: pems.cert, key: pems.private };
  app = em.addApp(tenant.id, { secrets: [{ value: 'good-secret' }, { value: 'old-secret', expiresAt: Date.now() - 1000 }], certificates: [cert.cert], graphRoles: ['Mail.Send'], exchangeRoles: ['SMTP.SendAsApp'] });
  em.addMailbox(tenant.id, { address: 'alice@contoso.com', password: 'pw' });
});

after(async () => {
  http.close();
  await em.close();
});

beforeEach(() => em.reset());

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function token(tenantName: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await http.request({
    method: 'POST', url: `${em.authorityHost}/${tenantName}/oauth2/v2.0/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: res.json<Record<string, unknown>>() ?? {} };
}

function msal(extra: Record<string, unknown>, authorityTenant = tenant.id) {
  const net = new CaNetworkClient(em.caPem);
  const host = new URL(em.authorityHost).host;
  const cca = new ConfidentialClientApplication({
    auth: { clientId: app.clientId, authority: `${em.authorityHost}/${authorityTenant}`, knownAuthorities: [host], ...extra },
    system: { networkClient: net },
  });
  return { cca, net };
}

test('MSAL ConfidentialClientApplication gets a Graph token with a client secret; roles carry the granted permissions', async () => {
  const { cca, net } = msal({ clientSecret: 'good-secret' }, 'contoso.onmicrosoft.com');
  const r = await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
  assert.ok(r?.accessToken);
  const c = claimsOf(r.accessToken);
  assert.equal(c.aud, 'https://graph.microsoft.com');
  assert.equal(c.tid, tenant.id);
  assert.equal(c.appid, app.clientId);
  assert.deepEqual(c.roles, ['Mail.Send']);
  assert.ok(net.calls.some((u) => u.startsWith('POST') && u.includes('/oauth2/v2.0/token')), net.calls.join('\n'));
  // The second call is served from MSAL's cache: no new token request reaches the emulator.
  const before = em.requests().filter((x) => x.service === 'token').length;
  await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
  assert.equal(em.requests().filter((x) => x.service === 'token').length, before);
  net.close();
});

for (const style of ['sha256', 'sha1'] as const) {
  test(`MSAL gets an Exchange token with a certificate (${style === 'sha256' ? 'PS256 + x5t#S256' : 'RS256 + x5t'})`, async () => {
    const der = new X509Certificate(cert.cert).raw;
    const thumb = createHash(style).update(der).digest('hex');
    const clientCertificate = style === 'sha256' ? { thumbprintSha256: thumb, privateKey: cert.key } : { thumbprint: thumb, privateKey: cert.key };
    const { cca, net } = msal({ clientCertificate });
    const r = await cca.acquireTokenByClientCredential({ scopes: ['https://outlook.office365.com/.default'] });
    const c = claimsOf(r!.accessToken);
    assert.equal(c.aud, 'https://outlook.office365.com');
    assert.deepEqual(c.roles, ['SMTP.SendAsApp']);
    assert.equal(c.appidacr, '2');
    net.close();
  });
}

test('MSAL surfaces the wrong-secret error from the emulator (AADSTS7000215, 401 invalid_client)', async () => {
  const { cca, net } = msal({ clientSecret: 'wrong' });
  await assert.rejects(cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }), (err: Error & { errorCode?: string }) => {
    assert.equal(err.errorCode, 'invalid_client');
    assert.match(err.message, /AADSTS7000215: Invalid client secret provided/);
    assert.doesNotMatch(err.message, /wrong/);
    return true;
  });
  net.close();
});

test('token endpoint error answers: statuses, codes and the envelope', async () => {
  const base = { client_id: app.clientId, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' };
  const cases: [string, Record<string, string>, number, string, number][] = [
    [tenant.id, { ...base, client_secret: 'nope' }, 401, 'invalid_client', 7000215],
    [tenant.id, { ...base, client_secret: 'old-secret' }, 401, 'invalid_client', 7000222],
    [tenant.id, { ...base }, 401, 'invalid_client', 7000218],
    [tenant.id, { ...base, client_id: '11111111-2222-3333-4444-555555555555', client_secret: 'x' }, 400, 'unauthorized_client', 700016],
    ['00000000-0000-0000-0000-00000000dead', { ...base, client_secret: 'good-secret' }, 400, 'invalid_request', 90002],
    [tenant.id, { ...base, client_secret: 'good-secret', scope: 'https://graph.microsoft.com/.default https://outlook.office365.com/.default' }, 400, 'invalid_scope', 700022],
    [tenant.id, { ...base, client_secret: 'good-secret', scope: 'Mail.Send' }, 400, 'invalid_scope', 70011],
    [tenant.id, { ...base, client_secret: 'good-secret', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' }, 401, 'invalid_client', 50027],
  ];
  for (const [t, form, status, error, code] of cases) {
    const r = await token(t, form);
    assert.equal(r.status, status, `${code}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, error);
    assert.deepEqual(r.body.error_codes, [code]);
    assert.match(String(r.body.error_description), new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));
    for (const k of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) assert.ok(r.body[k], k);
    assert.doesNotMatch(JSON.stringify(r.body), /good-secret|old-secret|nope/);
  }
});

test('HTTP Basic client authentication and extra MSAL form fields are accepted; no roles claim without permissions', async () => {
  const bare = em.addApp(tenant.id, { secrets: [{ value: 's3cret/+=' }] });
  const basic = Buffer.from(`${encodeURIComponent(bare.clientId)}:${encodeURIComponent('s3cret/+=')}`).toString('base64');
  const r = await token('contoso.com', { scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials', 'x-client-SKU': 'msal.js.node', 'client-request-id': 'x', 'x-ms-lib-capability': 'retry-after, h429', client_info: '1' }, { authorization: `Basic ${basic}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 3599);
  assert.equal(r.body.refresh_token, undefined);
  assert.equal('roles' in claimsOf(String(r.body.access_token)), false);
});

test('OpenID metadata is on the same origin and the JWKS key verifies issued tokens', async () => {
  const meta = (await http.request({ method: 'GET', url: `${em.authorityHost}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration` })).json<Record<string, string>>()!;
  assert.equal(meta.issuer, `${em.authorityHost}/${tenant.id}/v2.0`);
  assert.equal(meta.token_endpoint, `${em.authorityHost}/${tenant.id}/oauth2/v2.0/token`);
  assert.equal(meta.device_authorization_endpoint, `${em.authorityHost}/${tenant.id}/oauth2/v2.0/devicecode`);
  const unknown = await http.request({ method: 'GET', url: `${em.authorityHost}/nowhere.example/v2.0/.well-known/openid-configuration` });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json<{ error: string }>()!.error, 'invalid_tenant');
  const jwks = (await http.request({ method: 'GET', url: meta.jwks_uri! })).json<{ keys: { kid: string; n: string; e: string }[] }>()!;
  const r = await token(tenant.id, { client_id: app.clientId, client_secret: 'good-secret', scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' });
  const [h, p, s] = String(r.body.access_token).split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { kid: string };
  const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
  const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  assert.equal(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s!, 'base64url')), true);
});

test('device code flow with MSAL PublicClientApplication, then refresh token rotation and revocation', async () => {
  const pub = em.addApp(tenant.id, { publicClient: true, secrets: [] });
  em.deviceCodeIntervalSeconds = 1;
  const net = new CaNetworkClient(em.caPem);
  const pca = new PublicClientApplication({
    auth: { clientId: pub.clientId, authority: `${em.authorityHost}/${tenant.id}`, knownAuthorities: [new URL(em.authorityHost).host] },
    system: { networkClient: net },
  });
  const result = await pca.acquireTokenByDeviceCode({
    scopes: ['https://outlook.office.com/SMTP.Send', 'offline_access'],
    deviceCodeCallback: (r) => {
      assert.match(r.message, /enter the code [A-Z0-9]{9} to authenticate/);
      setTimeout(() => em.approveDeviceCode(r.userCode, 'alice@contoso.com'), 1200);
    },
  });
  assert.ok(result);
  const c = claimsOf(result.accessToken);
  assert.equal(c.aud, 'https://outlook.office.com');
  assert.equal(c.scp, 'SMTP.Send');
  assert.equal(c.upn, 'alice@contoso.com');
  const polls = em.requests().filter((x) => x.service === 'token' && x.status === 400);
  assert.ok(polls.length >= 1, 'authorization_pending answered while waiting');
  net.close();

  // Raw refresh: the refresh token is replaced on every use; revocation gives AADSTS50173.
  const start = await http.request({ method: 'POST', url: `${em.authorityHost}/${tenant.id}/oauth2/v2.0/devicecode`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${pub.clientId}&scope=${encodeURIComponent('https://outlook.office.com/SMTP.Send offline_access')}` });
  const dc = start.json<{ device_code: string; user_code: string; expires_in: number; interval: number }>()!;
  assert.equal(dc.expires_in, 900);
  assert.equal(dc.interval, 1);
  const poll = () => token(tenant.id, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: pub.clientId, device_code: dc.device_code });
  assert.equal((await poll()).body.error, 'authorization_pending');
  em.approveDeviceCode(dc.user_code, 'alice@contoso.com');
  const first = await poll();
  assert.equal(first.status, 200);
  assert.ok(first.body.refresh_token);
  assert.equal(first.body.id_token, undefined);
  const refresh = (rt: unknown) => token(tenant.id, { grant_type: 'refresh_token', client_id: pub.clientId, refresh_token: String(rt), scope: 'https://outlook.office.com/SMTP.Send offline_access' });
  const second = await refresh(first.body.refresh_token);
  assert.equal(second.status, 200);
  assert.notEqual(second.body.refresh_token, first.body.refresh_token);
  em.revokeRefreshTokens('alice@contoso.com');
  const revoked = await refresh(second.body.refresh_token);
  assert.equal(revoked.status, 400);
  assert.equal(revoked.body.error, 'invalid_grant');
  assert.deepEqual(revoked.body.error_codes, [50173]);
});

test('device code declined and expired answers', async () => {
  const pub = em.addApp(tenant.id, { publicClient: true, secrets: [] });
  const startCode = async () => (await http.request({ method: 'POST', url: `${em.authorityHost}/${tenant.id}/oauth2/v2.0/devicecode`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${pub.clientId}&scope=${encodeURIComponent('https://outlook.office.com/SMTP.Send')}` })).json<{ device_code: string; user_code: string }>()!;
  const poll = (code: string) => token(tenant.id, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: pub.clientId, device_code: code });
  const a = await startCode();
  em.declineDeviceCode(a.user_code);
  assert.equal((await poll(a.device_code)).body.error, 'authorization_declined');
  em.deviceCodeLifetimeSeconds = 0;
  const b = await startCode();
  em.deviceCodeLifetimeSeconds = 900;
  const expired = await poll(b.device_code);
  assert.equal(expired.body.error, 'expired_token');
  assert.deepEqual(expired.body.error_codes, [70020]);
  assert.equal((await poll('bogus')).body.error, 'bad_verification_code');
});
