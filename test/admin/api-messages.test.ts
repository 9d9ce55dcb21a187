/**
 * /api/v1 on real messages: mail sent in with nodemailer to an upstream that
 * refuses it, then searched, shown with its outcome, downloaded, retried,
 * released and deleted over HTTP; the overview, devices and upstreams views
 * (without secrets); an audit entry for each action.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { startUpstream } from '../helpers/upstream.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { auditActions, call, setUpAndSignIn } from './api-client.js';

test('a refused message: search, details with the reply, .eml bytes, retry to delivery, delete; audit entries', async () => {
  const up = await startUpstream({ auth: { user: 'relay', pass: 'upstream-secret-value' } });
  up.fault = (_n, stage) => (stage === 'rcpt' ? { code: 550, message: '5.7.1 Sender not allowed' } : undefined);
  const relay = await startRelay({ upstreams: { up: smtpUpstream(up.port, { auth: { user: 'relay', pass: 'upstream-secret-value' } }) } });
  try {
    const auth = await setUpAndSignIn(relay);
    const id = await sendMail(relay, { subject: 'Quarterly scan', to: ['bob@contoso.com'] });
    await relay.waitFor(id, ['failed']);

    const failed = await call(relay, 'GET', '/messages?state=failed,deferred&recipient=bob@contoso.com', { auth });
    assert.equal(failed.status, 200);
    assert.deepEqual(failed.json.messages.map((m: { id: string }) => m.id), [id]);
    assert.equal(failed.json.messages[0].subject, 'Quarterly scan');
    assert.deepEqual((await call(relay, 'GET', '/messages?state=delivered', { auth })).json.messages, []);
    assert.deepEqual((await call(relay, 'GET', '/messages?sender=nobody@contoso.com', { auth })).json.messages, []);
    assert.equal((await call(relay, 'GET', '/messages?state=lost', { auth })).status, 400);
    assert.equal((await call(relay, 'GET', '/messages?limit=0', { auth })).status, 400);
    assert.deepEqual((await call(relay, 'GET', `/messages?before=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`, { auth })).json.messages, []);

    const one = await call(relay, 'GET', `/messages/${id}`, { auth });
    assert.equal(one.status, 200);
    assert.equal(one.json.state, 'failed');
    assert.equal(one.json.origin.tlsVersion, 'TLSv1.3');
    assert.equal(one.json.recipients[0].address, 'bob@contoso.com');
    assert.equal(one.json.recipients[0].state, 'failed');
    assert.equal(one.json.recipients[0].outcome.action, 'fail');
    assert.match(one.json.recipients[0].outcome.response, /550/);
    assert.ok(one.json.recipients[0].outcome.hint, 'the explanation is there');
    assert.deepEqual(one.json.trail.map((e: { kind: string }) => e.kind).slice(0, 2), ['received', 'routed']);
    assert.ok(one.json.trail.some((e: { kind: string }) => e.kind === 'attempt'));
    assert.equal((await call(relay, 'GET', '/messages/NOSUCHID', { auth })).status, 404);
    assert.equal((await call(relay, 'GET', '/messages/bad%20id', { auth })).status, 400);

    const eml = await call(relay, 'GET', `/messages/${id}/eml`, { auth });
    assert.equal(eml.status, 200);
    assert.equal(eml.headers.get('content-type'), 'message/rfc822');
    assert.match(eml.headers.get('content-disposition')!, new RegExp(`attachment; filename="${id}.eml"`));
    const stored = await buffer(relay.store.openBody((await relay.store.get(id))!.bodyId));
    assert.equal(eml.bytes.length, stored.length);
    assert.ok(eml.bytes.equals(stored), 'the download is the stored body, byte for byte');
    assert.match(eml.bytes.toString(), /Subject: Quarterly scan/);

    const early = await call(relay, 'POST', `/messages/${id}/release`, { auth });
    assert.equal(early.status, 409, 'only held messages are released');

    up.fault = undefined;
    const retry = await call(relay, 'POST', `/messages/${id}/retry`, { auth });
    assert.equal(retry.status, 200);
    await relay.waitFor(id, ['delivered']);
    // The sender's non-delivery notice may go through the same upstream once it accepts again: count Bob's copies.
    assert.equal(up.received.filter((r) => r.to.includes('bob@contoso.com')).length, 1);
    assert.ok((await relay.store.trail(id)).some((e) => e.kind === 'retry' && /admin API \(admin\)/.test(e.text)), 'the trail says who retried');
    assert.equal((await call(relay, 'POST', `/messages/${id}/retry`, { auth })).status, 409, 'a delivered message is not retried');

    assert.equal((await call(relay, 'DELETE', `/messages/${id}`, { auth })).status, 204);
    assert.equal(await relay.store.get(id), undefined);
    assert.equal((await call(relay, 'DELETE', `/messages/${id}`, { auth })).status, 404);

    const log = (await auditActions(relay, auth)).filter((e) => e.action.startsWith('message-'));
    assert.deepEqual(log.map((e) => [e.actor, e.action, e.target, e.outcome]), [
      ['admin', 'message-download', id, 'ok'], ['admin', 'message-release', id, 'refused'], ['admin', 'message-retry', id, 'ok'],
      ['admin', 'message-retry', id, 'refused'], ['admin', 'message-delete', id, 'ok'], ['admin', 'message-delete', id, 'refused'],
    ]);

    const ups = await call(relay, 'GET', '/upstreams', { auth });
    assert.equal(ups.status, 200);
    assert.deepEqual(ups.json.upstreams.map((u: { name: string; type: string; credential: string; status: { state: string } }) => [u.name, u.type, u.credential, u.status.state]),
      [['up', 'smtp', 'password', 'up']]);
    assert.ok(!ups.bytes.toString().includes('upstream-secret-value'), 'never the secret');
  } finally {
    await relay.close();
    await up.close();
  }
});

test('held messages (capture route): release over HTTP with an admin API token; overview and devices', async () => {
  const relay = await startRelay();
  try {
    const auth = await setUpAndSignIn(relay);
    const token = String((await call(relay, 'POST', '/tokens', { auth, body: { name: 'ops', scope: 'admin' } })).json.token);
    const a = await sendMail(relay);
    const b = await sendMail(relay);
    await relay.waitFor(a, ['held']);
    await relay.waitFor(b, ['held']);

    const overview = await call(relay, 'GET', '/overview', { auth: { bearer: token } });
    assert.equal(overview.status, 200);
    assert.equal(overview.json.counts.held, 2);
    assert.equal(overview.json.queueDepth, 0, 'held messages wait for a person, not in the queue');
    assert.equal(overview.json.oldestWaiting, null);
    assert.deepEqual(overview.json.upstreams.map((u: { name: string; state: string }) => [u.name, u.state]), [['capture', 'up']]);

    const devices = await call(relay, 'GET', '/devices', { auth: { bearer: token } });
    const local = devices.json.devices.find((d: { name: string }) => d.name === 'localhost');
    assert.ok(local, 'the loopback device is in the inventory');
    assert.equal(local.seen[0].clientIp, '127.0.0.1');
    assert.equal(local.seen[0].accepted, 2);
    assert.equal(local.seen[0].tlsVersion, 'TLSv1.3');

    const released = await call(relay, 'POST', `/messages/${a}/release`, { auth: { bearer: token } });
    assert.equal(released.status, 200);
    assert.ok((await relay.store.trail(a)).some((e) => e.kind === 'release' && /token:ops/.test(e.text)));
    await relay.waitFor(a, ['held']);
    assert.equal((await call(relay, 'DELETE', `/messages/${b}`, { auth: { bearer: token } })).status, 204);

    const log = (await auditActions(relay, auth)).filter((e) => e.action.startsWith('message-'));
    assert.deepEqual(log.map((e) => [e.actor, e.action, e.target]), [['token:ops', 'message-release', a], ['token:ops', 'message-delete', b]]);
  } finally {
    await relay.close();
  }
});
