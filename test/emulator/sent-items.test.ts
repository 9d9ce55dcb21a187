/**
 * The emulator's Sent Items and Deleted Items against raw HTTPS requests:
 * a copy of each message sent by sendMail (MIME, and JSON unless
 * saveToSentItems is false), by a sent draft and by SMTP AUTH, appearing
 * after the configured delay under its internetMessageId; the listing by
 * `$filter=internetMessageId eq '<...>'`; permanentDelete (204, gone) and
 * DELETE (into Deleted Items, then out of sight); the folders' item counts
 * and sizes (PR_MESSAGE_SIZE_EXTENDED); 403 ErrorAccessDenied with Graph's
 * body without Mail.ReadWrite, and 404 for an unknown id.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { startEmulator, type Emulator, type EmulatorApp, type EmulatorTenant } from './index.js';
import { HttpClient, type HttpResponse } from '../../src/core/http.js';

let em: Emulator;
let http: HttpClient;
let tenant: EmulatorTenant;
let app: EmulatorApp;
let sendOnly: EmulatorApp;
let token: string;
const BOX = 'scanner@contoso.com';

async function tokenFor(a: EmulatorApp, scope = 'https://graph.microsoft.com/.default'): Promise<string> {
  const res = await http.request({
    method: 'POST', url: `${em.authorityHost}/${tenant.id}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: a.clientId, client_secret: a.secrets[0]!.value, scope, grant_type: 'client_credentials' }).toString(),
  });
  return res.json<{ access_token: string }>()!.access_token;
}

before(async () => {
  em = await startEmulator();
  http = new HttpClient({ ca: em.caPem });
  tenant = em.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  app = em.addApp(tenant.id, { graphRoles: ['Mail.Send', 'Mail.ReadWrite'], exchangeRoles: ['SMTP.SendAsApp'] });
  sendOnly = em.addApp(tenant.id, { graphRoles: ['Mail.Send'] });
  em.addMailbox(tenant.id, { address: BOX });
  token = await tokenFor(app);
});
after(async () => {
  http.close();
  await em.close();
});
beforeEach(() => {
  em.reset();
  em.sentItemsDelayMs = 0;
});

const mime = (id: string | undefined, body = 'Hello.\r\n') => Buffer.from(`From: ${BOX}\r\nTo: alice@contoso.com\r\nSubject: scan\r\n${id ? `Message-ID: ${id}\r\n` : ''}\r\n${body}`);
const newId = () => `<${randomBytes(6).toString('hex')}@mfp.test>`;

function call(method: string, path: string, body?: string | Buffer, contentType = 'text/plain', t = token): Promise<HttpResponse> {
  return http.request({ method, url: `${em.graphUrl}${path}`, headers: { authorization: `Bearer ${t}`, ...(body !== undefined ? { 'content-type': contentType } : {}) }, ...(body !== undefined ? { body } : {}) });
}

/** GET Sent Items (or Deleted Items) filtered by internetMessageId, as a client writes it: OData quotes doubled, URL-encoded. */
async function find(id: string, folder = 'sentitems', t = token): Promise<HttpResponse> {
  const filter = `internetMessageId eq '${id.replace(/'/g, "''")}'`;
  return call('GET', `/users/${BOX}/mailFolders/${folder}/messages?$filter=${encodeURIComponent(filter)}&$select=id,internetMessageId,createdDateTime`, undefined, 'text/plain', t);
}
const ids = (r: HttpResponse) => r.json<{ value: { id: string; internetMessageId: string }[] }>()!.value;

test('sendMail (MIME): the copy appears in Sent Items after the delay and is found by its internetMessageId', async () => {
  em.sentItemsDelayMs = 400;
  const id = newId();
  assert.equal((await call('POST', `/users/${BOX}/sendMail`, mime(id).toString('base64'))).status, 202);
  assert.equal(em.sentItems(BOX).length, 1, 'filed at once');
  assert.deepEqual(ids(await find(id)), [], 'not listed before the delay');
  await new Promise((r) => setTimeout(r, 450));
  const [item] = ids(await find(id));
  assert.equal(item?.internetMessageId, id);
  assert.deepEqual(ids(await find(newId())), [], 'another id finds nothing');
});

test('saveToSentItems false (JSON) keeps no copy; JSON without it does; a message without Message-ID gets one', async () => {
  const json = (save?: boolean) => JSON.stringify({ message: { subject: 's', body: { contentType: 'text', content: 'x' }, toRecipients: [{ emailAddress: { address: 'alice@contoso.com' } }] }, ...(save === undefined ? {} : { saveToSentItems: save }) });
  assert.equal((await call('POST', `/users/${BOX}/sendMail`, json(false), 'application/json')).status, 202);
  assert.equal(em.sentItems(BOX).length, 0);
  assert.equal((await call('POST', `/users/${BOX}/sendMail`, json(), 'application/json')).status, 202);
  assert.equal((await call('POST', `/users/${BOX}/sendMail`, mime(undefined).toString('base64'))).status, 202);
  const items = em.sentItems(BOX);
  assert.equal(items.length, 2);
  assert.ok(items.every((i) => /^<[^<>]+@[^<>]+>$/.test(i.internetMessageId)), 'Exchange makes an id');
});

test('a sent draft moves to Sent Items with the draft\'s internetMessageId; SMTP AUTH saves a copy under the id its reply names', async () => {
  const id = newId();
  const created = await call('POST', `/users/${BOX}/messages`, mime(id).toString('base64'));
  const draft = created.json<{ id: string; internetMessageId: string }>()!;
  assert.equal(draft.internetMessageId, id);
  assert.equal((await call('POST', `/users/${BOX}/messages/${encodeURIComponent(draft.id)}/send`, '')).status, 202);
  assert.equal(ids(await find(id)).length, 1);

  const smtpToken = await tokenFor(app, 'https://outlook.office365.com/.default');
  const t = nodemailer.createTransport({ host: em.smtpHost, port: em.smtpPort, secure: false, requireTLS: true, tls: { ca: em.caPem }, auth: { type: 'OAuth2', user: BOX, accessToken: smtpToken } });
  try {
    const info = await t.sendMail({ envelope: { from: BOX, to: ['alice@contoso.com'] }, raw: mime(undefined) });
    const named = /OK (<[^>]+>)/.exec(info.response)?.[1];
    assert.ok(named, info.response);
    assert.equal(ids(await find(named)).length, 1, 'the copy carries the id of the reply');
  } finally {
    t.close();
  }
});

test('permanentDelete: 204 and gone from every folder; DELETE: into Deleted Items under a new id, then out of sight', async () => {
  const a = newId();
  const b = newId();
  for (const id of [a, b]) await call('POST', `/users/${BOX}/sendMail`, mime(id).toString('base64'));
  const [itemA] = ids(await find(a));
  const del = await call('POST', `/users/${BOX}/messages/${encodeURIComponent(itemA!.id)}/permanentDelete`, '');
  assert.equal(del.status, 204);
  assert.equal(del.body.length, 0);
  assert.deepEqual(ids(await find(a)), []);
  assert.deepEqual(ids(await find(a, 'deleteditems')), []);
  assert.equal((await call('POST', `/users/${BOX}/messages/${encodeURIComponent(itemA!.id)}/permanentDelete`, '')).status, 404);

  const [itemB] = ids(await find(b));
  assert.equal((await call('DELETE', `/users/${BOX}/messages/${encodeURIComponent(itemB!.id)}`)).status, 204);
  assert.deepEqual(ids(await find(b)), []);
  const [moved] = ids(await find(b, 'deleteditems'));
  assert.ok(moved && moved.id !== itemB!.id, 'moved to Deleted Items with a new id');
  assert.equal(em.deletedItems(BOX).length, 1);
  assert.equal((await call('DELETE', `/users/${BOX}/mailFolders/deleteditems/messages/${encodeURIComponent(moved.id)}`)).status, 204);
  assert.equal(em.deletedItems(BOX).length, 0, 'a DELETE in Deleted Items takes it out of sight');
  const missing = await call('DELETE', `/users/${BOX}/messages/AAMkAnope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.json<{ error: { code: string } }>()!.error.code, 'ErrorItemNotFound');
});

test('a deleted draft goes to Deleted Items; a permanently deleted one does not', async () => {
  const make = async () => (await call('POST', `/users/${BOX}/messages`, mime(newId()).toString('base64'))).json<{ id: string }>()!.id;
  assert.equal((await call('DELETE', `/users/${BOX}/messages/${encodeURIComponent(await make())}`)).status, 204);
  assert.equal(em.deletedItems(BOX).length, 1);
  assert.equal((await call('POST', `/users/${BOX}/messages/${encodeURIComponent(await make())}/permanentDelete`, '')).status, 204);
  assert.equal(em.deletedItems(BOX).length, 1);
  assert.equal(em.drafts(BOX).length, 0);
});

test('folder counts and size: totalItemCount, and PR_MESSAGE_SIZE_EXTENDED when expanded', async () => {
  for (let i = 0; i < 3; i++) await call('POST', `/users/${BOX}/sendMail`, mime(newId(), 'x'.repeat(1000)).toString('base64'));
  const plain = (await call('GET', `/users/${BOX}/mailFolders/sentitems`)).json<Record<string, unknown>>()!;
  assert.equal(plain.totalItemCount, 3);
  assert.equal(plain.displayName, 'Sent Items');
  assert.equal(plain.singleValueExtendedProperties, undefined, 'no size unless asked for');
  const expand = encodeURIComponent("singleValueExtendedProperties($filter=id eq 'Long 0x0E08')");
  const sized = (await call('GET', `/users/${BOX}/mailFolders/sentitems?$expand=${expand}`)).json<{ singleValueExtendedProperties: { id: string; value: string }[] }>()!;
  const [prop] = sized.singleValueExtendedProperties;
  assert.equal(prop?.id, 'Long 0xe08');
  assert.equal(Number(prop?.value), em.sentItems(BOX).reduce((n, i) => n + i.size, 0));
  assert.ok(Number(prop?.value) > 3000);
  assert.equal((await call('GET', `/users/${BOX}/mailFolders/deleteditems`)).json<{ totalItemCount: number }>()!.totalItemCount, 0);
});

test('without Mail.ReadWrite: the search and the deletions get 403 ErrorAccessDenied with Graph\'s body', async () => {
  const id = newId();
  await call('POST', `/users/${BOX}/sendMail`, mime(id).toString('base64'));
  const [item] = ids(await find(id));
  const weak = await tokenFor(sendOnly);
  for (const r of [await find(id, 'sentitems', weak), await call('POST', `/users/${BOX}/messages/${encodeURIComponent(item!.id)}/permanentDelete`, '', 'text/plain', weak),
    await call('DELETE', `/users/${BOX}/messages/${encodeURIComponent(item!.id)}`, undefined, 'text/plain', weak)]) {
    assert.equal(r.status, 403);
    const e = r.json<{ error: { code: string; message: string; innerError: Record<string, string> } }>()!.error;
    assert.equal(e.code, 'ErrorAccessDenied');
    assert.equal(e.message, 'Access is denied. Check credentials and try again.');
    assert.ok(e.innerError['request-id']);
  }
  assert.equal(em.sentItems(BOX).length, 1, 'nothing was deleted');
});
