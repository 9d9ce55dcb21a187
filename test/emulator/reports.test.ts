/**
 * The emulator's reports and sign-in logs against raw HTTPS requests with
 * real tokens (the relay's HttpClient, trusting the emulator CA), as
 * reference/migration-and-imap.md Part A says Microsoft answers: the usage
 * report's 302 to a pre-authenticated CSV (exact header order, BOM, no
 * Authorization allowed) and 304 on If-None-Match; concealed names as 32 hex
 * digits and the setting behind them; sign-in pages newest first with
 * @odata.nextLink and $filter; the licence refusal's exact body; the
 * permission refusals from the token's roles; throttling with Retry-After.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant, type GraphRole } from './index.js';
import { HttpClient, type HttpResponse } from '../../src/core/http.js';
import { CSV_HEADER } from './report-data.js';

let em: Emulator;
let http: HttpClient;
let tenant: EmulatorTenant;
const H = 3_600_000;
const now = Date.now();

async function tokenFor(t: EmulatorTenant, roles: GraphRole[]): Promise<string> {
  const a: EmulatorApp = em.addApp(t.id, { graphRoles: roles });
  const res = await http.request({
    method: 'POST', url: `${em.authorityHost}/${t.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: a.clientId, client_secret: a.secrets[0]!.value, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' }).toString(),
  });
  return res.json<{ access_token: string }>()!.access_token;
}

const get = (url: string, token?: string, headers: Record<string, string> = {}): Promise<HttpResponse> =>
  http.request({ method: 'GET', url: url.startsWith('https:') ? url : `${em.graphUrl}${url}`, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
const errorOf = (r: HttpResponse) => r.json<{ error: { code: string; message: string } }>()!.error;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

before(async () => {
  em = await startEmulator();
  http = new HttpClient({ ca: em.caPem });
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'], displayConcealedNames: false });
  em.addEmailAppUsage(tenant.id, [
    { user: 'scanner@contoso.com', displayName: 'Scanner, 3rd floor', lastActivityDate: day(now - 2 * 24 * H), apps: { 'SMTP App': 'Undetermined' } },
    { user: 'alice@contoso.com', displayName: 'Alice', lastActivityDate: day(now - 24 * H), apps: { 'Outlook For Windows': '16.0' } },
    { user: 'old@contoso.com', displayName: 'Old', lastActivityDate: day(now - 60 * 24 * H), apps: { 'SMTP App': 'Undetermined' } },
  ]);
  em.addSignIns(tenant.id, Array.from({ length: 5 }, (_, i) => ({ user: 'scanner@contoso.com', at: now - (i + 1) * H, ipAddress: `203.0.113.${i + 1}` })));
  em.addSignIns(tenant.id, [
    { user: 'ups@contoso.com', at: now - 30 * 60_000, ipAddress: '198.51.100.9', errorCode: 50126, failureReason: 'Invalid username or password or Invalid on-premise username or password.' },
    { user: 'alice@contoso.com', at: now - 10 * 60_000, ipAddress: '192.0.2.1', clientAppUsed: 'Browser' },
  ]);
});

after(async () => {
  http.close();
  await em.close();
});

beforeEach(() => em.reset());

test('usage report: 302 to a pre-authenticated CSV with the exact columns, fetched without Authorization; 304 on If-None-Match', { timeout: 30_000 }, async () => {
  const token = await tokenFor(tenant, ['Reports.Read.All']);
  const r = await get("/reports/getEmailAppUsageUserDetail(period='D30')", token);
  assert.equal(r.status, 302);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const location = String(r.headers.location);
  assert.match(location, /\/data\/download\/[A-Za-z0-9_-]+$/);
  assert.equal((await get(location, token)).status, 401, 'a bearer token must not go to the download URL');
  const file = await get(location);
  assert.equal(file.status, 200);
  assert.equal(file.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...file.body.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte order mark first');
  const lines = file.body.subarray(3).toString('utf8').split('\r\n');
  assert.equal(lines[0], CSV_HEADER.join(','));
  assert.equal(lines[0], 'Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Last Activity Date,Mail For Mac,Outlook For Mac,Outlook For Windows,Outlook For Mobile,Other For Mobile,Outlook For Web,POP3 App,IMAP4 App,SMTP App,Report Period');
  assert.equal(lines[1], `${day(now - 24 * H)},scanner@contoso.com,"Scanner, 3rd floor",False,,${day(now - 2 * 24 * H)},,,,,,,,,Undetermined,30`);
  assert.match(lines[3]!, /^[^,]+,old@contoso\.com,Old,False,,[^,]+,,,,,,,,,,30$/, 'SMTP use outside the period is not in it');
  const etag = String(file.headers.etag);
  assert.equal((await get("/reports/getEmailAppUsageUserDetail(period='D30')", token, { 'if-none-match': etag })).status, 304);
  assert.equal((await get("/reports/getEmailAppUsageUserDetail(period='D7')", token, { 'if-none-match': etag })).status, 302, 'another period, another file');
  assert.ok(em.requests().filter((x) => x.service === 'report-download' && x.status === 200).every((x) => !x.authorization));
});

test('usage report: concealed names as 32 hex digits while the setting is on; the setting read and changed through admin/reportSettings', { timeout: 30_000 }, async () => {
  const t = em.addTenant({ domains: ['fabrikam.onmicrosoft.com'] });
  em.addEmailAppUsage(t.id, [{ user: 'scanner@fabrikam.com', displayName: 'Scanner', lastActivityDate: day(now - 24 * H), apps: { 'SMTP App': 'Undetermined' } }]);
  const reader = await tokenFor(t, ['Reports.Read.All', 'ReportSettings.Read.All']);
  const settings = await get('/admin/reportSettings', reader);
  assert.equal(settings.status, 200);
  assert.equal(settings.json<{ value: { displayConcealedNames: boolean } }>()!.value.displayConcealedNames, true, "Microsoft's default");
  const csv = async () => (await get(String((await get("/reports/getEmailAppUsageUserDetail(period='D7')", reader)).headers.location))).body.toString('utf8').split('\r\n')[1]!;
  const concealed = (await csv()).split(',');
  assert.match(concealed[1]!, /^[0-9A-F]{32}$/);
  assert.match(concealed[2]!, /^[0-9A-F]{32}$/);
  assert.equal(concealed[14], 'Undetermined', 'still counted as an SMTP user');
  assert.equal((await http.request({ method: 'PATCH', url: `${em.graphUrl}/admin/reportSettings`, headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: '{"displayConcealedNames":false}' })).status, 403);
  const writer = await tokenFor(t, ['Reports.Read.All', 'ReportSettings.ReadWrite.All']);
  assert.equal((await http.request({ method: 'PATCH', url: `${em.graphUrl}/admin/reportSettings`, headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' }, body: '{"displayConcealedNames":false}' })).status, 204);
  assert.equal((await csv()).split(',')[1], 'scanner@fabrikam.com');
  const none = await get('/admin/reportSettings', await tokenFor(t, ['Reports.Read.All']));
  assert.deepEqual([none.status, errorOf(none).code], [403, 'Authorization_RequestDenied']);
});

test('permissions come from the token\'s roles: 403 S2SUnauthorized for the report, 403 Authentication_MSGraphPermissionMissing for the sign-in logs', { timeout: 30_000 }, async () => {
  const token = await tokenFor(tenant, ['Mail.Send']);
  const report = await get("/reports/getEmailAppUsageUserDetail(period='D7')", token);
  assert.deepEqual([report.status, errorOf(report).code, errorOf(report).message], [403, 'S2SUnauthorized', 'Invalid permission.']);
  const logs = await get('/auditLogs/signIns', token);
  assert.deepEqual([logs.status, errorOf(logs).code, errorOf(logs).message],
    [403, 'Authentication_MSGraphPermissionMissing', 'Calling principal does not have required MSGraph permissions AuditLog.Read.All']);
});

test('sign-in logs: filtered on Authenticated SMTP, newest first, paged with @odata.nextLink; the licence refusal without Entra ID P1/P2', { timeout: 30_000 }, async () => {
  const token = await tokenFor(tenant, ['AuditLog.Read.All', 'Directory.Read.All']);
  const filter = encodeURIComponent(`clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge ${new Date(now - 7 * 24 * H).toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  let url: string | undefined = `/auditLogs/signIns?$filter=${filter}&$top=4`;
  const seen: { userPrincipalName: string; createdDateTime: string; ipAddress: string; clientAppUsed: string; status: { errorCode: number; failureReason: string | null } }[] = [];
  let pages = 0;
  while (url) {
    const r = await get(url, token);
    assert.equal(r.status, 200);
    const body = r.json<{ value: typeof seen; '@odata.nextLink'?: string }>()!;
    if (body['@odata.nextLink']) assert.match(body['@odata.nextLink'], /\$skiptoken=/);
    seen.push(...body.value);
    url = body['@odata.nextLink'];
    pages += 1;
  }
  assert.equal(pages, 2);
  assert.equal(seen.length, 6, 'the Browser sign-in is filtered out');
  assert.ok(seen.every((s) => s.clientAppUsed === 'Authenticated SMTP'));
  assert.deepEqual(seen.map((s) => Date.parse(s.createdDateTime)), [...seen.map((s) => Date.parse(s.createdDateTime))].sort((a, b) => b - a), 'newest first');
  assert.match(seen[0]!.createdDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
  assert.deepEqual([seen[0]!.userPrincipalName, seen[0]!.ipAddress, seen[0]!.status.errorCode], ['ups@contoso.com', '198.51.100.9', 50126]);
  assert.equal((await get(`/auditLogs/signIns?$filter=${encodeURIComponent("status/errorCode eq 0 and startsWith(ipAddress,'203.0.113.')")}`, token)).json<{ value: unknown[] }>()!.value.length, 5);
  assert.equal((await get(`/auditLogs/signIns?$filter=${encodeURIComponent('riskState eq 1')}`, token)).status, 400);

  const basic = em.addTenant({ domains: ['northwind.onmicrosoft.com'], entraPremium: false });
  const refused = await get('/auditLogs/signIns', await tokenFor(basic, ['AuditLog.Read.All']));
  assert.equal(refused.status, 403);
  assert.deepEqual({ code: errorOf(refused).code, message: errorOf(refused).message },
    { code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', message: "Neither tenant is B2C or tenant doesn't have premium license" });
});

test('throttling: the sixth sign-in log request in 10 s and the fifteenth report in 10 minutes get 429 with Retry-After', { timeout: 30_000 }, async () => {
  const token = await tokenFor(tenant, ['AuditLog.Read.All', 'Reports.Read.All']);
  const statuses: number[] = [];
  let last: HttpResponse | undefined;
  for (let i = 0; i < 6; i++) {
    last = await get('/auditLogs/signIns?$top=1', token);
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
  assert.match(String(last!.headers['retry-after']), /^(10|[1-9])$/);
  assert.match(errorOf(last!).message, /^This request is throttled\. Please try again after the value specified in the Retry-After header\. CorrelationId: [0-9a-f-]{36}$/);
  const reports: number[] = [];
  for (let i = 0; i < 15; i++) reports.push((await get("/reports/getEmailAppUsageUserDetail(period='D7')", token)).status);
  assert.deepEqual(reports, [...Array(14).fill(302), 429]);
  em.reset();
  em.fault({ target: 'graph', path: /\/auditLogs\/signIns$/, fault: { throttle: true, retryAfterSeconds: 7 }, count: 1 });
  const injected = await get('/auditLogs/signIns', token);
  assert.deepEqual([injected.status, injected.headers['retry-after']], [429, '7']);
  assert.equal((await get('/auditLogs/signIns', token)).status, 200, 'the fault was for one request');
});
