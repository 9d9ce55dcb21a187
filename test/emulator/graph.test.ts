/**
 * The emulator's Graph mail against raw HTTPS requests (the relay's own
 * HttpClient, trusting the emulator CA): sendMail with base64 MIME and JSON,
 * the error answers in Microsoft's order, the 4 MB request limit, the four
 * concurrent requests per app + mailbox, drafts with an upload session,
 * finding drafts by a custom header's extended property and deleting them,
 * and fault rules (503, accept-then-504, reset, accept-then-reset, by method
 * and path).
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant } from './index.js';
import { HttpClient, HttpError, type HttpResponse } from '../../src/core/http.js';

let em: Emulator;
let http: HttpClient;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let graphToken: string;

async function tokenFor(a: EmulatorApp, scope = 'https://graph.microsoft.com/.default'): Promise<string> {
  const res = await http.request({
    method: 'POST', url: `${em.authorityHost}/${tenant.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: a.clientId, client_secret: a.secrets[0]!.value, scope, grant_type: 'client_credentials' }).toString(),
  });
  return res.json<{ access_token: string }>()!.access_token;
}

before(async () => {
  em = await startEmulator();
  http = new HttpClient({ ca: em.caPem, maxSockets: 32 });
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  app = em.addApp(tenant.id, { graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  em.addMailbox(tenant.id, { address: 'relay@contoso.com' });
  em.addMailbox(tenant.id, { address: 'shared@contoso.com', sendAs: ['relay@contoso.com'] });
  em.addMailbox(tenant.id, { address: 'nolicense@contoso.com', licensed: false });
  em.addMailbox(tenant.id, { address: 'small@contoso.com', maxMessageSize: 1000 });
  graphToken = await tokenFor(app);
});

after(async () => {
  http.close();
  await em.close();
});

beforeEach(() => em.reset());

function mime(from: string, headers: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`From: ${from}\r\n${headers}Subject: test\r\nMessage-ID: <${randomBytes(6).toString('hex')}@relay.test>\r\n\r\n${body}`);
}

function post(path: string, body: string | Buffer, contentType = 'text/plain', token = graphToken): Promise<HttpResponse> {
  return http.request({ method: 'POST', url: `${em.graphUrl}${path}`, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
}

function errorOf(r: HttpResponse): { code: string; message: string; innerError: Record<string, string> } {
  return r.json<{ error: { code: string; message: string; innerError: Record<string, string> } }>()!.error;
}

test('sendMail with base64 MIME: 202, recipients from To/Cc/Bcc (folded, named, grouped, encoded), exact MIME recorded', async () => {
  const m = mime('Relay <relay@contoso.com>', 'To: "Doe, John" <john@example.com>,\r\n =?utf-8?Q?J=C3=BCrgen?= <jurgen@example.com>\r\nCc: Team: a@example.com, b@example.com;\r\nBcc: hidden@example.com\r\n');
  const r = await post('/users/relay@contoso.com/sendMail', m.toString('base64'));
  assert.equal(r.status, 202);
  assert.equal(r.body.length, 0);
  const [sent] = em.sent();
  assert.equal(sent?.via, 'graph-mime');
  assert.equal(sent?.mailbox, 'relay@contoso.com');
  assert.equal(sent?.principal, app.clientId);
  assert.deepEqual(sent?.recipients, ['john@example.com', 'jurgen@example.com', 'a@example.com', 'b@example.com', 'hidden@example.com']);
  assert.ok(sent?.mime.equals(m));
  const rec = em.requests().find((x) => x.service === 'graph');
  assert.equal(rec?.status, 202);
  assert.equal(rec?.mailbox, 'relay@contoso.com');
});

test('sendMail JSON: 202, recipients from the JSON, saveToSentItems kept', async () => {
  const body = JSON.stringify({ message: { subject: 'Hi', body: { contentType: 'Text', content: 'x' }, toRecipients: [{ emailAddress: { address: 'to@example.com' } }], bccRecipients: [{ emailAddress: { address: 'bcc@example.com' } }] }, saveToSentItems: false });
  const r = await post('/users/relay@contoso.com/sendMail', body, 'application/json');
  assert.equal(r.status, 202);
  const [sent] = em.sent();
  assert.equal(sent?.via, 'graph-json');
  assert.deepEqual(sent?.recipients, ['to@example.com', 'bcc@example.com']);
  assert.equal(sent?.savedToSentItems, false);
  assert.match(sent!.mime.toString(), /^Subject: Hi\r$/m);
});

test('Graph error answers with the envelope, in Microsoft order', async () => {
  const good = mime('relay@contoso.com', 'To: x@example.com\r\n').toString('base64');
  const noRoles = await tokenFor(em.addApp(tenant.id));
  const exchange = await tokenFor(app, 'https://outlook.office365.com/.default');
  const cases: [string, string | Buffer, string, number, string, RegExp][] = [
    ['/users/relay@contoso.com/sendMail', good, noRoles, 403, 'ErrorAccessDenied', /^Access is denied\. Check credentials and try again\.$/],
    ['/users/ghost@contoso.com/sendMail', good, graphToken, 404, 'ErrorInvalidUser', /ghost@contoso\.com/],
    ['/users/nolicense@contoso.com/sendMail', good, graphToken, 404, 'MailboxNotEnabledForRESTAPI', /inactive, soft-deleted, or is hosted on-premise/],
    ['/users/relay@contoso.com/sendMail', 'not base64!!', graphToken, 400, 'ErrorMimeContentInvalidBase64String', /^Invalid base64 string for MIME content\.$/],
    ['/users/relay@contoso.com/sendMail', mime('relay@contoso.com', '').toString('base64'), graphToken, 400, 'ErrorInvalidRecipients', /contains no recipients/],
    ['/users/relay@contoso.com/sendMail', mime('ceo@contoso.com', 'To: x@example.com\r\n').toString('base64'), graphToken, 403, 'ErrorSendAsDenied', /does not have the right to send mail on behalf of the specified sending account/],
    ['/users/small@contoso.com/sendMail', mime('small@contoso.com', 'To: x@example.com\r\n', 'x'.repeat(2000)).toString('base64'), graphToken, 400, 'ErrorMessageSizeExceeded', /exceeds the maximum supported size/],
    ['/users/relay@contoso.com/sendMail', good, exchange, 401, 'InvalidAuthenticationToken', /Invalid audience/],
    ['/users/relay@contoso.com/sendMail', good, 'garbage', 401, 'InvalidAuthenticationToken', /validation failure/],
  ];
  for (const [path, body, token, status, code, message] of cases) {
    const r = await post(path, body, 'text/plain', token);
    assert.equal(r.status, status, `${code}: ${r.body.toString()}`);
    const e = errorOf(r);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.ok(e.innerError['request-id'] && e.innerError.date, 'innerError');
  }
  assert.equal(em.sent().length, 0);
  // Send As granted by the shared mailbox.
  const ok = await post('/users/relay@contoso.com/sendMail', mime('shared@contoso.com', 'To: x@example.com\r\n').toString('base64'));
  assert.equal(ok.status, 202);
});

test('an expired token is refused with 401 InvalidAuthenticationToken', async () => {
  em.tokenLifetimeSeconds = -10;
  const expired = await tokenFor(app);
  em.tokenLifetimeSeconds = 3599;
  const r = await post('/users/relay@contoso.com/sendMail', 'eA==', 'text/plain', expired);
  assert.equal(r.status, 401);
  assert.match(errorOf(r).message, /token is expired/);
});

test('a request body over 4,194,304 bytes gets 413; exactly 4 MB passes the gate', async () => {
  const over = await post('/users/relay@contoso.com/sendMail', Buffer.alloc(4 * 1024 * 1024 + 1, 0x41));
  assert.equal(over.status, 413);
  const atLimit = await post('/users/small@contoso.com/sendMail', Buffer.alloc(4 * 1024 * 1024, 0x41));
  assert.notEqual(atLimit.status, 413);
  em.graphTooLargeStyle = '400';
  const variant = await post('/users/relay@contoso.com/sendMail', Buffer.alloc(4 * 1024 * 1024 + 1, 0x41));
  em.graphTooLargeStyle = '413';
  assert.equal(variant.status, 400);
  assert.equal(errorOf(variant).message, 'The maximum request length supported is 4MB.');
});

test('more than 4 concurrent requests per app + mailbox: the fifth gets 429 ApplicationThrottled with Retry-After', async () => {
  em.fault({ target: 'graph', fault: { delayMs: 400 }, count: 6 });
  const body = mime('relay@contoso.com', 'To: x@example.com\r\n').toString('base64');
  const results = await Promise.all(Array.from({ length: 6 }, () => post('/users/relay@contoso.com/sendMail', body)));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [202, 202, 202, 202, 429, 429]);
  const throttled = results.find((r) => r.status === 429)!;
  assert.equal(errorOf(throttled).code, 'ApplicationThrottled');
  assert.equal(errorOf(throttled).message, 'Application is over its MailboxConcurrency limit.');
  assert.ok(Number(throttled.headers['retry-after']) >= 1);
  // Refused requests count while in flight: the peak is above the limit whenever one was refused.
  assert.ok(em.peakConcurrency('relay@contoso.com') >= 5, String(em.peakConcurrency('relay@contoso.com')));
  assert.equal(em.sent().length, 4);
  // Another mailbox is a separate budget.
  em.reset();
  const other = await post('/users/shared@contoso.com/sendMail', mime('shared@contoso.com', 'To: x@example.com\r\n').toString('base64'));
  assert.equal(other.status, 202);
  assert.equal(em.peakConcurrency('shared@contoso.com'), 1);
});

test('draft + small attachment + upload session in 4 MB chunks without Authorization, then send', async () => {
  const draftMime = mime('relay@contoso.com', 'To: big@example.com\r\n');
  const d = await post('/users/relay@contoso.com/messages', draftMime.toString('base64'));
  assert.equal(d.status, 201);
  const draft = d.json<{ id: string; isDraft: boolean }>()!;
  assert.equal(draft.isDraft, true);
  const small = await post(`/users/relay@contoso.com/messages/${draft.id}/attachments`, JSON.stringify({ '@odata.type': '#microsoft.graph.fileAttachment', name: 'logo.png', contentType: 'image/png', contentBytes: Buffer.from('png').toString('base64'), isInline: true, contentId: 'logo' }), 'application/json');
  assert.equal(small.status, 201);
  const tooSmall = await post(`/users/relay@contoso.com/messages/${draft.id}/attachments/createUploadSession`, JSON.stringify({ AttachmentItem: { attachmentType: 'file', name: 'a.bin', size: 1024 } }), 'application/json');
  assert.equal(errorOf(tooSmall).code, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize');
  const content = randomBytes(9 * 1024 * 1024 + 123);
  const s = await post(`/users/relay@contoso.com/messages/${draft.id}/attachments/createUploadSession`, JSON.stringify({ AttachmentItem: { attachmentType: 'file', name: 'scan.pdf', size: content.length, isInline: false } }), 'application/json');
  assert.equal(s.status, 201);
  const session = s.json<{ uploadUrl: string; nextExpectedRanges: string[] }>()!;
  assert.deepEqual(session.nextExpectedRanges, ['0-']);
  assert.match(session.uploadUrl, /\/AttachmentSessions\('[^']+'\)\?authtoken=/);
  // With an Authorization header the pre-authenticated URL refuses the chunk.
  const withAuth = await http.request({ method: 'PUT', url: session.uploadUrl, headers: { authorization: `Bearer ${graphToken}`, 'content-range': `bytes 0-9/${content.length}` }, body: content.subarray(0, 10) });
  assert.equal(withAuth.status, 401);
  const chunk = 4 * 1024 * 1024;
  let last: HttpResponse | undefined;
  for (let start = 0; start < content.length; start += chunk) {
    const end = Math.min(start + chunk, content.length) - 1;
    last = await http.request({ method: 'PUT', url: session.uploadUrl, headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${end}/${content.length}` }, body: content.subarray(start, end + 1) });
    if (end + 1 < content.length) {
      assert.equal(last.status, 200);
      assert.deepEqual(last.json<{ nextExpectedRanges: string[] }>()!.nextExpectedRanges, [String(end + 1)]);
      assert.ok(last.json<{ ExpirationDateTime: string }>()!.ExpirationDateTime);
    }
  }
  assert.equal(last?.status, 201);
  assert.match(String(last?.headers.location), /\/Attachments\('/);
  const sendRes = await post(`/users/relay@contoso.com/messages/${draft.id}/send`, '', 'application/json');
  assert.equal(sendRes.status, 202);
  const [sent] = em.sent();
  assert.equal(sent?.via, 'graph-draft');
  assert.deepEqual(sent?.recipients, ['big@example.com']);
  assert.ok(sent?.mime.equals(draftMime));
  assert.deepEqual(sent?.attachments.map((a) => [a.name, a.via, a.size, a.isInline, a.contentId]), [['logo.png', 'post', 3, true, 'logo'], ['scan.pdf', 'upload-session', content.length, false, undefined]]);
  assert.ok(sent?.attachments[1]!.content.equals(content));
  const uploads = em.requests().filter((x) => x.service === 'upload');
  assert.deepEqual(uploads.map((u) => u.authorization), [true, false, false, false]);
  // Sent drafts are gone.
  assert.equal((await post(`/users/relay@contoso.com/messages/${draft.id}/send`, '', 'application/json')).status, 404);
});

test('drafts need Mail.ReadWrite', async () => {
  const sendOnly = await tokenFor(em.addApp(tenant.id, { graphRoles: ['Mail.Send'] }));
  const r = await post('/users/relay@contoso.com/messages', mime('relay@contoso.com', 'To: x@example.com\r\n').toString('base64'), 'text/plain', sendOnly);
  assert.equal(r.status, 403);
  assert.equal(errorOf(r).code, 'ErrorAccessDenied');
});

test('faults: 503 ResourceUnhealthy with Retry-After, accept-then-504 records the message, reset closes the connection', async () => {
  const body = mime('relay@contoso.com', 'To: x@example.com\r\n').toString('base64');
  em.fault({ target: 'graph', fault: { status: 503, retryAfterSeconds: 7 }, count: 1 });
  const a = await post('/users/relay@contoso.com/sendMail', body);
  assert.equal(a.status, 503);
  assert.equal(errorOf(a).code, 'ResourceUnhealthy');
  assert.equal(a.headers['retry-after'], '7');
  assert.equal(em.sent().length, 0);
  em.fault({ target: 'graph', mailbox: 'relay@contoso.com', fault: { acceptThenStatus: 504 }, count: 1 });
  const b = await post('/users/relay@contoso.com/sendMail', body);
  assert.equal(b.status, 504);
  assert.equal(em.sent().length, 1);
  em.fault({ target: 'graph', fault: { reset: true }, count: 1 });
  await assert.rejects(post('/users/relay@contoso.com/sendMail', body), (e: HttpError) => e instanceof HttpError);
  assert.equal(em.sent().length, 1);
  assert.equal((await post('/users/relay@contoso.com/sendMail', body)).status, 202);
});

function get(path: string, token = graphToken): Promise<HttpResponse> {
  return http.request({ method: 'GET', url: `${em.graphUrl}${path}`, headers: { authorization: `Bearer ${token}` } });
}

function del(path: string, token = graphToken): Promise<HttpResponse> {
  return http.request({ method: 'DELETE', url: `${em.graphUrl}${path}`, headers: { authorization: `Bearer ${token}` } });
}

const HEADER_PROPERTY = (name: string) => `String {00020386-0000-0000-C000-000000000046} Name ${name}`;

test('drafts: custom X- fields of the MIME become filterable extended properties; Drafts lists, $select and $top; DELETE', async () => {
  const mine = await post('/users/relay@contoso.com/messages', mime('relay@contoso.com', 'To: a@example.com\r\nx-authrelay-queue-id: Q1\r\n').toString('base64'));
  const other = await post('/users/relay@contoso.com/messages', mime('relay@contoso.com', 'To: b@example.com\r\nx-authrelay-queue-id: Q2\r\n').toString('base64'));
  await post('/users/relay@contoso.com/messages', mime('relay@contoso.com', 'To: c@example.com\r\n').toString('base64'));
  const id = mine.json<{ id: string; internetMessageId: string }>()!;
  assert.match(id.internetMessageId, /^<[0-9a-f]+@relay\.test>$/, 'the Message-ID field is the internetMessageId');
  assert.deepEqual(em.drafts('relay@contoso.com').map((d) => d.internetHeaders), [[{ name: 'x-authrelay-queue-id', value: 'Q1' }], [{ name: 'x-authrelay-queue-id', value: 'Q2' }], []]);

  const filter = (name: string, value: string) => encodeURIComponent(`singleValueExtendedProperties/any(ep: ep/id eq '${HEADER_PROPERTY(name)}' and ep/value eq '${value}')`);
  const found = await get(`/users/relay@contoso.com/mailFolders/drafts/messages?$filter=${filter('x-authrelay-queue-id', 'q1')}&$select=id,createdDateTime&$top=50`);
  assert.equal(found.status, 200);
  const list = found.json<{ '@odata.context': string; value: Record<string, unknown>[] }>()!;
  assert.deepEqual(list.value.map((v) => v.id), [id.id], 'the value is compared case-insensitively');
  assert.deepEqual(Object.keys(list.value[0]!).sort(), ['@odata.etag', 'createdDateTime', 'id']);
  assert.match(list['@odata.context'], /mailFolders\('drafts'\)\/messages\(id,createdDateTime\)$/);
  const wrongCase = await get(`/users/relay@contoso.com/mailFolders/drafts/messages?$filter=${filter('X-Authrelay-Queue-Id', 'Q1')}`);
  assert.deepEqual(wrongCase.json<{ value: unknown[] }>()!.value, [], 'the property name is compared case-sensitively');
  const byMessageId = await get(`/users/relay@contoso.com/mailFolders/drafts/messages?$filter=${encodeURIComponent(`internetMessageId eq '${id.internetMessageId}'`)}`);
  assert.deepEqual(byMessageId.json<{ value: { id: string }[] }>()!.value.map((v) => v.id), [id.id]);
  const paged = await get('/users/relay@contoso.com/mailFolders/drafts/messages?$top=2');
  assert.equal(paged.json<{ value: unknown[] }>()!.value.length, 2);
  assert.match(String(paged.json<{ '@odata.nextLink'?: string }>()!['@odata.nextLink']), /%24skip=2|\$skip=2/);

  const bad = await get(`/users/relay@contoso.com/mailFolders/drafts/messages?$filter=${encodeURIComponent("internetMessageHeaders/any(h: h/name eq 'x-authrelay-queue-id')")}`);
  assert.equal(bad.status, 400);
  assert.equal(errorOf(bad).code, 'ErrorInvalidUrlQueryFilter');
  const sendOnly = await tokenFor(em.addApp(tenant.id, { graphRoles: ['Mail.Send'] }));
  assert.equal((await get('/users/relay@contoso.com/mailFolders/drafts/messages', sendOnly)).status, 403);
  assert.equal((await del(`/users/relay@contoso.com/messages/${encodeURIComponent(id.id)}`, sendOnly)).status, 403);

  const gone = await del(`/users/relay@contoso.com/messages/${encodeURIComponent(id.id)}`);
  assert.equal(gone.status, 204);
  assert.equal(gone.body.length, 0);
  assert.equal(errorOf(await del(`/users/relay@contoso.com/messages/${encodeURIComponent(id.id)}`)).code, 'ErrorItemNotFound');
  assert.equal((await post(`/users/relay@contoso.com/messages/${encodeURIComponent(id.id)}/send`, '', 'application/json')).status, 404, 'a deleted draft cannot be sent');
  const left = em.drafts('relay@contoso.com');
  assert.equal(left.length, 2);
  assert.equal(left[0]!.id, other.json<{ id: string }>()!.id);
  const deleted = em.requests().filter((r) => r.method === 'DELETE');
  assert.deepEqual(deleted.map((r) => r.status), [403, 204, 404]);
});

test('drafts: deleting a draft ends its upload sessions', async () => {
  const d = (await post('/users/relay@contoso.com/messages', mime('relay@contoso.com', 'To: a@example.com\r\n').toString('base64'))).json<{ id: string }>()!;
  const size = 3 * 1024 * 1024 + 1;
  const s = (await post(`/users/relay@contoso.com/messages/${d.id}/attachments/createUploadSession`, JSON.stringify({ AttachmentItem: { attachmentType: 'file', name: 'scan.pdf', size } }), 'application/json')).json<{ uploadUrl: string }>()!;
  assert.equal((await del(`/users/relay@contoso.com/messages/${encodeURIComponent(d.id)}`)).status, 204);
  const put = await http.request({ method: 'PUT', url: s.uploadUrl, headers: { 'content-range': `bytes 0-9/${size}` }, body: Buffer.alloc(10) });
  assert.equal(put.status, 404);
});

test('faults by method and path; accept-then-reset acts on the request and closes the connection without an answer', async () => {
  const body = mime('relay@contoso.com', 'To: x@example.com\r\n').toString('base64');
  em.fault({ target: 'graph', method: 'DELETE', fault: { status: 500 }, count: 1 });
  em.fault({ target: 'graph', method: 'POST', path: /\/messages$/, fault: { acceptThenReset: true }, count: 1 });
  assert.equal((await post('/users/relay@contoso.com/sendMail', body)).status, 202, 'other requests are not affected');
  await assert.rejects(post('/users/relay@contoso.com/messages', body), (e: HttpError) => e instanceof HttpError && e.bodySent);
  const [made] = em.drafts('relay@contoso.com');
  assert.ok(made, 'the draft was made although no answer came');
  const refused = await del(`/users/relay@contoso.com/messages/${encodeURIComponent(made.id)}`);
  assert.equal(refused.status, 500);
  assert.equal(errorOf(refused).code, 'InternalServerError');
  assert.equal(em.drafts('relay@contoso.com').length, 1, 'refused before acting');
  assert.equal((await del(`/users/relay@contoso.com/messages/${encodeURIComponent(made.id)}`)).status, 204);
  assert.equal(em.drafts('relay@contoso.com').length, 0);
});
