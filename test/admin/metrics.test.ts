/**
 * The admin server of a running relay: /metrics scraped with a real HTTP
 * client after real mail went through the relay (nodemailer in, a real SMTP
 * upstream out); /healthz and /readyz; the address choices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import nodemailer from 'nodemailer';
import { hashPassword } from '../../src/identity/password.js';
import { startUpstream } from '../helpers/upstream.js';
import { startRelay, sendMail, smtpUpstream, waitUntil } from '../helpers/delivery.js';
import { sample, scrape } from './prom-text.js';

test('counters and gauges follow mail through the relay', async () => {
  const up = await startUpstream();
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(up.port) },
    devices: [{ name: 'mfp', username: 'mfp', passwordHash: await hashPassword('right') }],
  });
  try {
    const before = await scrape(relay.adminUrl('/metrics'));
    assert.match(before.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(before.samples, 'authrelay_messages', { state: 'delivered' }), 0);
    assert.equal(sample(before.samples, 'authrelay_queue_oldest_age_seconds'), 0);
    assert.equal(sample(before.samples, 'authrelay_upstream_up', { route: 'up' }), 1);
    assert.ok(sample(before.samples, 'process_cpu_seconds_total') !== undefined, 'process metrics are there');

    const a = await sendMail(relay);
    const b = await sendMail(relay);
    await relay.waitFor(a, ['delivered']);
    await relay.waitFor(b, ['delivered']);

    // A wrong password, over STARTTLS like a device would.
    const bad = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port(), secure: false, tls: { rejectUnauthorized: false }, auth: { user: 'mfp', pass: 'wrong' } });
    await assert.rejects(bad.sendMail({ from: 'scanner@contoso.com', to: 'alice@contoso.com', text: 'x' }), /535/);
    bad.close();

    // One message the upstream defers: it waits in the queue.
    up.fault = (_n, stage) => (stage === 'data' ? { code: 451, message: '4.3.0 Try again later' } : undefined);
    const c = await sendMail(relay);
    await waitUntil('the deferral', async () => (await relay.store.get(c))?.state === 'deferred');

    const { samples } = await scrape(relay.adminUrl('/metrics'));
    assert.equal(sample(samples, 'authrelay_messages_accepted_total', { listener: 'main', tls: 'TLSv1.3' }), 3);
    assert.ok(sample(samples, 'authrelay_tls_sessions_total', { listener: 'main', version: 'TLSv1.3' })! >= 4, 'every STARTTLS session counted');
    assert.equal(sample(samples, 'authrelay_auth_failures_total', { listener: 'main', mechanism: 'PLAIN', locked_out: 'false' }), 1);
    assert.equal(sample(samples, 'authrelay_smtp_refusals_total', { listener: 'main', code: '535' }), 1);
    assert.equal(sample(samples, 'authrelay_delivery_attempts_total', { route: 'up', type: 'smtp', result: 'delivered' }), 2);
    assert.ok(sample(samples, 'authrelay_delivery_attempts_total', { route: 'up', type: 'smtp', result: 'deferred' })! >= 1);
    assert.equal(sample(samples, 'authrelay_upstream_replies_total', { route: 'up', action: 'delivered', code: '250' }), 2);
    assert.ok(sample(samples, 'authrelay_upstream_replies_total', { route: 'up', action: 'retry', code: '451' })! >= 1);
    assert.ok(sample(samples, 'authrelay_upstream_duration_seconds_count', { route: 'up', type: 'smtp' })! >= 3);
    assert.ok(sample(samples, 'authrelay_upstream_duration_seconds_sum', { route: 'up', type: 'smtp' })! > 0);
    assert.equal(sample(samples, 'authrelay_messages', { state: 'delivered' }), 2);
    assert.equal(sample(samples, 'authrelay_messages', { state: 'deferred' }), 1);
    assert.equal(sample(samples, 'authrelay_queue_waiting', { route: 'up' }), 1);
    assert.ok(sample(samples, 'authrelay_queue_oldest_age_seconds')! > 0);
    assert.equal(sample(samples, 'authrelay_upstream_up', { route: 'up' }), 1, 'a 451 for a message says nothing against the upstream');
    assert.ok(sample(samples, 'authrelay_credential_expiry_timestamp_seconds', { kind: 'certificate' })! > Date.now() / 1000);

    // The upstream goes away: the route pauses and the gauge says so.
    up.fault = undefined;
    await up.kill();
    await waitUntil('the route to pause', async () => sample((await scrape(relay.adminUrl('/metrics'))).samples, 'authrelay_upstream_up', { route: 'up' }) === 0);
    const down = (await scrape(relay.adminUrl('/metrics'))).samples;
    assert.ok(sample(down, 'authrelay_upstream_replies_total', { route: 'up', action: 'retry', category: 'connection', code: 'none' })! >= 1);
  } finally {
    await relay.close();
    await up.close().catch(() => undefined);
  }
});

test('/healthz and /readyz answer; /readyz says 503 with the reason when the store is gone', async () => {
  const relay = await startRelay();
  try {
    const health = await fetch(relay.adminUrl('/healthz'));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(relay.adminUrl('/readyz'));
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; checks: { name: string; ok: boolean }[] };
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.checks.map((c) => [c.name, c.ok]), [['listeners', true], ['store', true], ['scheduler', true]]);
    assert.equal((await fetch(relay.adminUrl('/nothing-here'))).status, 404);

    await relay.store.close();
    const notReady = await fetch(relay.adminUrl('/readyz'));
    assert.equal(notReady.status, 503);
    const why = (await notReady.json()) as { status: string; reasons: string[] };
    assert.equal(why.status, 'not ready');
    assert.equal(why.reasons.length, 1);
    assert.match(why.reasons[0]!, /^store: not reachable/);
    assert.equal((await fetch(relay.adminUrl('/healthz'))).status, 200, 'the process is still up');
  } finally {
    await relay.close();
  }
});

test('the console and the API are loaded by the first request for them; /metrics, /healthz and /readyz do not load them', async () => {
  const relay = await startRelay();
  try {
    for (const path of ['/healthz', '/readyz', '/metrics', '/metrics?x=1']) assert.equal((await fetch(relay.adminUrl(path))).status, 200, path);
    assert.equal(relay.admin!.loadedOnDemand, false, 'nothing but the server\'s own paths was asked for');
    // Two first requests at once: both are answered by the one instance built for them.
    const [page, status] = await Promise.all([fetch(relay.adminUrl('/')), fetch(relay.adminUrl('/api/v1/status'))]);
    assert.equal(relay.admin!.loadedOnDemand, true);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(status.status, 401, 'the API still asks for sign-in');
    assert.equal((await fetch(relay.adminUrl('/api/v1/no-such-thing'))).status, 401);
    assert.ok(await relay.admin!.hasRoute({ method: 'GET', url: '/api/v1/session' }));
    // A body is read by the API, not by the server in front of it.
    const signIn = await fetch(relay.adminUrl('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'not-set-yet' }) });
    assert.equal(signIn.status, 409, 'the body was read and checked: no admin password is set yet');
    assert.match(await signIn.text(), /setup-needed/);
  } finally {
    await relay.close();
  }
});

test('the admin server is stopped with the relay', async () => {
  const relay = await startRelay();
  const url = relay.adminUrl('/healthz');
  assert.equal((await fetch(url)).status, 200);
  await relay.close();
  await assert.rejects(fetch(url));
});

test('a non-loopback admin address is logged as a warning', async () => {
  const relay = await startRelay({ admin: { listen: '0.0.0.0:0' } });
  try {
    const line = relay.logs.find((l) => l.event === 'admin-listening');
    assert.equal(line?.level, 'warn');
    assert.equal(line?.exposed, true);
    assert.match(String(line?.msg), /without sign-in/);
    assert.equal((await fetch(relay.adminUrl('/healthz'))).status, 200);
  } finally {
    await relay.close();
  }
  const local = await startRelay();
  try {
    assert.equal(local.logs.find((l) => l.event === 'admin-listening')?.level, 'info');
  } finally {
    await local.close();
  }
});

test('a taken admin port leaves mail flowing and says why in the log', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const up = await startUpstream();
  const relay = await startRelay({ admin: { listen: `127.0.0.1:${port}` }, upstreams: { up: smtpUpstream(up.port) } });
  try {
    assert.equal(relay.admin, undefined);
    const line = relay.logs.find((l) => l.event === 'admin-unavailable');
    assert.equal(line?.level, 'error');
    assert.match(String(line?.msg), /EADDRINUSE/);
    const id = await sendMail(relay);
    await relay.waitFor(id, ['delivered']);
  } finally {
    await relay.close();
    await up.close();
    await new Promise((r) => blocker.close(r));
  }
});

test('admin.enabled: false runs no admin server', async () => {
  const relay = await startRelay({ admin: { enabled: false } });
  try {
    assert.equal(relay.admin, undefined);
    assert.ok(!relay.logs.some((l) => l.event === 'admin-listening' || l.event === 'admin-unavailable'));
  } finally {
    await relay.close();
  }
});
