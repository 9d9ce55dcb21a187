/**
 * The emulator's forward proxy (forward-proxy.ts) against real clients:
 * MSAL-node's ConfidentialClientApplication and the relay's HttpClient
 * reaching login.microsoftonline.com and graph.microsoft.com through
 * CONNECT tunnels (https-proxy-agent, trusting only the emulator CA for those
 * names), absolute-form requests as axios's proxy option sends them, refusals
 * of every other destination, the records of what came through the proxy, and
 * certificates kept between starts.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant } from './index.js';
import { HttpClient } from '../../src/core/http.js';

let em: Emulator;
let tenant: EmulatorTenant;
let app: EmulatorApp;
const SECRET = 'proxy-test-secret';
const MAILBOX = 'relay@contoso.com';

before(async () => {
  em = await startEmulator();
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  app = em.addApp(tenant.id, { secrets: [{ value: SECRET }], graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  em.addMailbox(tenant.id, { address: MAILBOX });
});

after(async () => {
  await em.close();
});

beforeEach(() => em.reset());

/** MSAL's network calls through the relay's HttpClient with the proxy (CONNECT, https-proxy-agent). */
class ProxiedNetwork implements INetworkModule {
  readonly calls: string[] = [];
  constructor(private readonly http: HttpClient) {}
  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options);
  }
  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }
  private async send<T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    this.calls.push(`${method} ${url}`);
    const res = await this.http.request({ method, url, headers: options?.headers ?? {}, ...(options?.body !== undefined ? { body: options.body } : {}), timeoutMs: 15_000 });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.status, headers, body: (res.json<T>() ?? {}) as T };
  }
}

function mime(subject: string): string {
  return Buffer.from(`From: ${MAILBOX}\r\nTo: someone@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@relay.test>\r\n\r\nHello.\r\n`).toString('base64');
}

/** One request to the proxy in absolute form, as axios sends it when given `proxy: { host, port }`. */
function absoluteForm(method: string, target: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  const proxy = new URL(em.proxyUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port), method, path: target, agent: false, headers: { host: new URL(target).host, 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw CONNECT; the status line's code. */
function connect(target: string): Promise<number> {
  const proxy = new URL(em.proxyUrl);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(proxy.port), proxy.hostname);
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m && text.includes('\r\n\r\n')) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', reject);
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

test('through CONNECT tunnels: MSAL gets a token from login.microsoftonline.com and sendMail at graph.microsoft.com is accepted', async () => {
  const client = new HttpClient({ ca: em.caPem, proxy: em.proxyUrl });
  try {
    const network = new ProxiedNetwork(client);
    const cca = new ConfidentialClientApplication({
      auth: { clientId: app.clientId, clientSecret: SECRET, authority: `https://login.microsoftonline.com/${tenant.id}` },
      system: { networkClient: network },
    });
    const token = await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    assert.ok(token?.accessToken, 'a token through the proxy');
    assert.ok(network.calls.length > 0 && network.calls.every((c) => c.includes(' https://login.microsoftonline.com/')), `MSAL asked login.microsoftonline.com only: ${network.calls.join(', ')}`);

    const res = await client.request({
      method: 'POST', url: `https://graph.microsoft.com/v1.0/users/${MAILBOX}/sendMail`,
      headers: { authorization: `Bearer ${token.accessToken}`, 'content-type': 'text/plain' }, body: mime('through CONNECT'),
    });
    assert.equal(res.status, 202, res.body.toString('utf8'));
    const sent = em.sent();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.via, 'graph-mime');
    assert.match(sent[0]!.mime.toString('utf8'), /Subject: through CONNECT/);

    const records = em.requests();
    const tokenRec = records.find((r) => r.service === 'token');
    assert.equal(tokenRec?.proxy, 'CONNECT login.microsoftonline.com:443');
    const graph = records.find((r) => r.service === 'graph');
    assert.equal(graph?.proxy, 'CONNECT graph.microsoft.com:443');
    assert.equal(graph?.status, 202);
    const tunnels = records.filter((r) => r.service === 'proxy' && r.method === 'CONNECT').map((r) => `${r.path} ${r.status}`);
    assert.ok(tunnels.includes('login.microsoftonline.com:443 200'), tunnels.join(', '));
    assert.ok(tunnels.includes('graph.microsoft.com:443 200'), tunnels.join(', '));
  } finally {
    client.close();
  }
});

test('absolute-form requests (https:// as axios sends them, and plain GET http://) are forwarded to the emulator', async () => {
  const form = new URLSearchParams({ client_id: app.clientId, client_secret: SECRET, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' }).toString();
  const tokenRes = await absoluteForm('POST', `https://login.microsoftonline.com/${tenant.id}/oauth2/v2.0/token`, { 'content-type': 'application/x-www-form-urlencoded' }, form);
  assert.equal(tokenRes.status, 200, tokenRes.body);
  const accessToken = (JSON.parse(tokenRes.body) as { access_token: string }).access_token;

  const sent = await absoluteForm('POST', `https://graph.microsoft.com/v1.0/users/${MAILBOX}/sendMail`, { authorization: `Bearer ${accessToken}`, 'content-type': 'text/plain' }, mime('absolute form'));
  assert.equal(sent.status, 202, sent.body);
  assert.equal(em.sent().length, 1);

  const folder = await absoluteForm('GET', `http://graph.microsoft.com/v1.0/users/${MAILBOX}/mailFolders/inbox`, { authorization: `Bearer ${accessToken}` });
  assert.equal(folder.status, 200, folder.body);
  assert.equal((JSON.parse(folder.body) as { displayName: string }).displayName, 'Inbox');

  const records = em.requests();
  assert.equal(records.find((r) => r.service === 'token')?.proxy, 'forwarded https://login.microsoftonline.com');
  const graph = records.filter((r) => r.service === 'graph').map((r) => `${r.method} ${r.status} ${r.proxy}`);
  assert.deepEqual(graph.sort(), ['GET 200 forwarded http://graph.microsoft.com', 'POST 202 forwarded https://graph.microsoft.com']);
  const own = records.filter((r) => r.service === 'proxy').map((r) => `${r.method} ${r.path} ${r.status}`);
  assert.ok(own.includes(`POST https://graph.microsoft.com/v1.0/users/${MAILBOX}/sendMail 202`), own.join('\n'));
});

test('other destinations are refused with 403 and recorded; direct requests carry no proxy mark', async () => {
  assert.equal(await connect('example.com:443'), 403);
  assert.equal(await connect('graph.microsoft.com:8443'), 403);
  assert.equal(await connect('127.0.0.1:22'), 403);
  const other = await absoluteForm('GET', 'http://example.com/', {});
  assert.equal(other.status, 403);
  assert.match(other.body, /only reaches/);
  assert.equal((await absoluteForm('GET', `${em.proxyUrl}/`, {})).status, 403, 'the proxy does not loop to itself');
  const originForm = await new Promise<number>((resolve, reject) => http.get(`${em.proxyUrl}/`, (res) => resolve(res.resume().statusCode ?? 0)).on('error', reject));
  assert.equal(originForm, 400, 'a request in origin form is not for a proxy');

  const refused = em.requests().filter((r) => r.service === 'proxy' && r.status === 403).map((r) => `${r.method} ${r.path}`);
  assert.ok(refused.includes('CONNECT example.com:443'), refused.join(', '));
  assert.ok(refused.includes('CONNECT graph.microsoft.com:8443'));
  assert.ok(refused.includes('GET http://example.com/'));

  const direct = new HttpClient({ ca: em.caPem });
  try {
    const res = await direct.request({ method: 'GET', url: `${em.authorityHost}/${tenant.id}/v2.0/.well-known/openid-configuration` });
    assert.equal(res.status, 200);
  } finally {
    direct.close();
  }
  const discovery = em.requests().filter((r) => r.service === 'discovery');
  assert.ok(discovery.length > 0 && discovery.every((r) => r.proxy === undefined));
});

test('kept certificates: a second start reuses the CA file and accepts tokens issued by the first', async () => {
  const keep = mkdtempSync(join(tmpdir(), 'emulator-keep-'));
  try {
    const first = await startEmulator({ keepCertificatesIn: keep });
    const t1 = first.addTenant({ id: '11111111-2222-4333-8444-555555555555' });
    first.addApp(t1.id, { clientId: '66666666-7777-4888-9999-000000000000', secrets: [{ value: SECRET }], graphRoles: ['Mail.Send'] });
    first.addMailbox(t1.id, { address: 'kept@contoso.com' });
    const c1 = new HttpClient({ ca: first.caPem });
    let accessToken: string;
    try {
      const form = new URLSearchParams({ client_id: '66666666-7777-4888-9999-000000000000', client_secret: SECRET, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' }).toString();
      const res = await c1.request({ method: 'POST', url: `${first.authorityHost}/${t1.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      accessToken = res.json<{ access_token: string }>()!.access_token;
    } finally {
      c1.close();
      await first.close();
    }
    const second = await startEmulator({ keepCertificatesIn: keep });
    try {
      assert.equal(second.caPem, first.caPem);
      assert.equal(second.caFile, first.caFile);
      assert.equal(second.caFile, join(keep, 'emulator-ca.pem'));
      const t2 = second.addTenant({ id: t1.id });
      second.addApp(t2.id, { clientId: '66666666-7777-4888-9999-000000000000', secrets: [{ value: SECRET }], graphRoles: ['Mail.Send'] });
      second.addMailbox(t2.id, { address: 'kept@contoso.com' });
      const c2 = new HttpClient({ ca: second.caPem });
      try {
        const res = await c2.request({ method: 'POST', url: `${second.graphUrl}/users/kept@contoso.com/sendMail`, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'text/plain' }, body: Buffer.from('From: kept@contoso.com\r\nTo: a@example.com\r\n\r\nx\r\n').toString('base64') });
        assert.equal(res.status, 202, res.body.toString('utf8'));
      } finally {
        c2.close();
      }
    } finally {
      await second.close();
    }
  } finally {
    rmSync(keep, { recursive: true, force: true });
  }
});
