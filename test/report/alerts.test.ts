/**
 * Alerts from a running relay: a real webhook receiver (node:http on
 * loopback) gets one alert per condition (a failed message, a queue over its
 * threshold, an upstream down, a credential about to expire) and one when it
 * clears; the e-mail alert is queued through the relay's own spool and
 * delivered to the administrator by the upstream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { startUpstream } from '../helpers/upstream.js';
import { relayCertificate, sendMail, sleep, smtpUpstream, startRelay, waitUntil } from '../helpers/delivery.js';
import { scrape, sample } from '../admin/prom-text.js';

interface Hook {
  url: string;
  posts: { headers: IncomingHttpHeaders; body: Record<string, unknown>; answered: number }[];
  /** Answer this many POSTs with 503 first. */
  failNext: number;
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const hook: Hook = { url: '', posts: [], failNext: 0, close: () => new Promise((r) => server.close(() => r())) };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = hook.failNext > 0 ? 503 : 204;
      if (hook.failNext > 0) hook.failNext--;
      hook.posts.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  hook.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/T0K3N-in-path`;
  return hook;
}

const accepted = (hook: Hook, key: string, status = 'firing') => hook.posts.filter((p) => p.answered < 300 && p.body.key === key && p.body.status === status);

test('webhook: a failed message and a queue over its threshold each alert once, retried until received, resolved when cleared', async () => {
  const hook = await startHook();
  const up = await startUpstream();
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(up.port) },
    notices: { toSender: false },
    alerts: { webhook: { url: hook.url, headers: { Authorization: 'Bearer hook-s3cret' } }, queueDepth: 2, checkInterval: '100ms' },
  }).catch(async (err: unknown) => {
    await hook.close();
    await up.close();
    throw err;
  });
  try {
    // Refused for good: 550 at RCPT.
    up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined);
    hook.failNext = 1;
    const failed = await sendMail(relay, { to: ['nobody@contoso.com'], subject: 'Scan 1' });
    await relay.waitFor(failed, ['failed']);
    await waitUntil('the failed-message alert', () => accepted(hook, 'failed-messages:up').length === 1);
    assert.equal(hook.posts.filter((p) => p.body.key === 'failed-messages:up').length, 2, 'the first POST got 503 and was tried again');
    const alert = accepted(hook, 'failed-messages:up')[0]!;
    assert.equal(alert.headers['content-type'], 'application/json');
    assert.equal(alert.headers.authorization, 'Bearer hook-s3cret');
    assert.equal(alert.body.source, 'authrelay');
    assert.equal(alert.body.host, 'relay.test');
    assert.equal(alert.body.condition, 'failed-messages');
    const details = alert.body.details as Record<string, unknown>;
    assert.equal(details.id, failed);
    assert.deepEqual(details.recipients, ['nobody@contoso.com']);
    assert.match(String(details.response), /550/);
    assert.equal(details.retry, `authrelay queue retry ${failed}`);
    // The English fields as they were, and the same texts in Japanese.
    assert.match(String(alert.body.summary), new RegExp(`^message ${failed} failed via up: 550`));
    const ja = alert.body.ja as Record<string, unknown>;
    assert.match(String(ja.summary), new RegExp(`^メッセージ ${failed} を up 経由で配信できませんでした: 550`));
    assert.equal(typeof ja.fix, 'string');

    // A second failure on the same route: the condition is already raised.
    const again = await sendMail(relay, { to: ['nobody@contoso.com'], subject: 'Scan 2' });
    await relay.waitFor(again, ['failed']);

    // The upstream defers everything: three messages wait, more than queueDepth 2.
    up.fault = (_n, stage) => (stage === 'data' ? { code: 451, message: '4.3.0 Try again later' } : undefined);
    const waiting = [await sendMail(relay), await sendMail(relay), await sendMail(relay)];
    await waitUntil('the queue-depth alert', () => accepted(hook, 'queue-depth').length === 1);
    assert.equal((accepted(hook, 'queue-depth')[0]!.body.details as Record<string, unknown>).threshold, 2);
    await sleep(600); // several checks while the queue stays deep
    assert.equal(hook.posts.filter((p) => p.body.key === 'queue-depth' && p.body.status === 'firing').length, 1, 'one alert while the condition lasts');
    assert.equal(hook.posts.filter((p) => p.body.key === 'failed-messages:up' && p.body.status === 'firing').length, 2, 'no alert for the second failure (the 2 are the 503 and its retry)');

    // The upstream accepts again: the queue drains and the alert is resolved once.
    up.fault = undefined;
    for (const id of waiting) await relay.waitFor(id, ['delivered']);
    await waitUntil('the queue-depth resolution', () => accepted(hook, 'queue-depth', 'resolved').length === 1);

    // Deleting the failed messages clears the failed-message condition.
    await relay.store.remove(failed);
    await relay.store.remove(again);
    await waitUntil('the failed-messages resolution', () => accepted(hook, 'failed-messages:up', 'resolved').length === 1);

    const { samples } = await scrape(relay.adminUrl('/metrics'));
    assert.equal(sample(samples, 'authrelay_alerts_total', { condition: 'queue-depth', status: 'firing' }), 1);
    assert.equal(sample(samples, 'authrelay_alerts_total', { condition: 'queue-depth', status: 'resolved' }), 1);

    const everything = JSON.stringify(hook.posts.map((p) => p.body)) + JSON.stringify(relay.logs);
    assert.ok(!everything.includes('hook-s3cret'), 'the webhook header never reaches a payload or the log');
    assert.ok(!JSON.stringify(relay.logs).includes('T0K3N'), 'the webhook URL path (it may hold a token) is not logged');
  } finally {
    await relay.close();
    await up.close();
    await hook.close();
  }
});

test('webhook: an upstream down for longer than upstreamDown alerts once', async () => {
  const hook = await startHook();
  const up = await startUpstream();
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(up.port) },
    alerts: { webhook: { url: hook.url }, upstreamDown: '300ms', checkInterval: '100ms' },
  }).catch(async (err: unknown) => {
    await hook.close();
    await up.close();
    throw err;
  });
  try {
    await up.kill();
    await sendMail(relay);
    await waitUntil('the upstream-down alert', () => accepted(hook, 'upstream-down:up').length === 1);
    const details = accepted(hook, 'upstream-down:up')[0]!.body.details as Record<string, unknown>;
    assert.equal(details.route, 'up');
    assert.ok(Number(details.failures) >= 1);
    await sleep(500);
    assert.equal(hook.posts.filter((p) => p.body.key === 'upstream-down:up').length, 1);
  } finally {
    await relay.close();
    await hook.close();
  }
});

test('webhook: certificates and client secrets about to expire', async () => {
  const hook = await startHook();
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(1) },
    alerts: { webhook: { url: hook.url }, expiryWarning: '30d', secretExpires: { up: '2020-01-31' }, checkInterval: '100ms' },
  }).catch(async (err: unknown) => {
    await hook.close();
    throw err;
  });
  try {
    // The listener certificate of the delivery tests is valid for 2 days.
    const certKey = `certificate-expiry:listeners (${relayCertificate().cert})`;
    await waitUntil('both expiry alerts', () => accepted(hook, certKey).length === 1 && accepted(hook, 'secret-expiry:upstream up client secret').length === 1);
    assert.match(String(accepted(hook, certKey)[0]!.body.summary), /expires in (1|2)d|expires in \d+h/);
    assert.match(String(accepted(hook, 'secret-expiry:upstream up client secret')[0]!.body.summary), /expired on 2020-01-31/);
    const { samples } = await scrape(relay.adminUrl('/metrics'));
    assert.equal(sample(samples, 'authrelay_credential_expiry_timestamp_seconds', { kind: 'client-secret' }), Date.parse('2020-01-31') / 1000);
  } finally {
    await relay.close();
    await hook.close();
  }
});

test('e-mail: the alert is queued to the admin address and delivered through the relay', async () => {
  const up = await startUpstream();
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(up.port) },
    notices: { toSender: false },
    alerts: { email: { to: 'it@contoso.com' }, language: 'en', checkInterval: '100ms' },
  }).catch(async (err: unknown) => {
    await up.close();
    throw err;
  });
  try {
    up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined);
    const failed = await sendMail(relay, { to: ['nobody@contoso.com'] });
    await relay.waitFor(failed, ['failed']);
    await up.waitForCount(1);
    const mail = up.received[0]!;
    assert.deepEqual(mail.to, ['it@contoso.com']);
    assert.equal(mail.from, '', 'alerts go with the null sender (no notice about a notice)');
    const text = mail.data.toString('latin1');
    assert.match(text, /^Subject: \[authrelay\] ALERT: message \S+ failed via up: 550/m);
    assert.match(text, /^Auto-Submitted: auto-generated/m);
    assert.match(text, new RegExp(`authrelay queue retry ${failed}`));
    const queued = (await relay.store.list({ limit: 100 })).filter((m) => m.origin.listener === 'alert');
    assert.equal(queued.length, 1);
    // The upstream has the bytes a moment before the relay records the delivery.
    assert.equal((await relay.waitFor(queued[0]!.id, ['delivered'])).state, 'delivered');
  } finally {
    await relay.close();
    await up.close();
  }
});
