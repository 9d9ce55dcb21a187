/**
 * The scheduler, observed through the real relay (no part of it replaced):
 * per-upstream concurrency, message-caused vs destination-caused retries,
 * growing backoff, recovery of messages left active, and a clean stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import { newMessageId } from '../../src/core/ids.js';
import { startUpstream } from '../helpers/upstream.js';
import { attemptsOf, sendMail, sleep, smtpUpstream, startRelay, waitUntil } from '../helpers/delivery.js';

test('no more messages in flight to an upstream than its concurrency', async () => {
  const up = await startUpstream();
  up.dataDelayMs = 300;
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port, { concurrency: 2 }) } });
  try {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => sendMail(relay, { to: [`u${i}@contoso.com`] })));
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, relay.scheduler.destinationStatus().find((d) => d.route === 'relay')?.inflight ?? 0);
    }, 10);
    try {
      for (const id of ids) await relay.waitFor(id, ['delivered']);
    } finally {
      clearInterval(sample);
    }
    assert.equal(most, 2);
    assert.ok(up.connections <= 2, `${up.connections} connections`);
    assert.equal(up.received.length, 6);
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('a pass after a delivery does not look for unrouted messages; one made unrouted without a wake is still routed by the poll', async () => {
  const up = await startUpstream();
  let refused = 0;
  up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('later@') && refused++ === 0 ? { code: 450, message: '4.2.1 Try again later' } : undefined);
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) }, queue: { pollInterval: '1s', minBackoff: '30s', maxBackoff: '60s' } });
  try {
    // Counted, not changed: the scheduler's own calls into the store.
    const store = relay.store;
    const claim = store.claim.bind(store);
    const claims = { routing: 0, delivery: 0 };
    store.claim = (req) => {
      claims[req.route === null ? 'routing' : 'delivery']++;
      return claim(req);
    };
    // Accepted with its route, one after another: each delivery ends with a pass for the next message.
    for (let i = 0; i < 20; i++) await relay.waitFor(await sendMail(relay, { to: [`u${i}@contoso.com`] }), ['delivered']);
    assert.ok(claims.delivery >= 20, `${claims.delivery} delivery claims`);
    assert.ok(claims.routing * 3 < claims.delivery, `routing claims ${claims.routing} beside ${claims.delivery} delivery claims: a pass that follows a delivery or a routed acceptance does not look for unrouted messages`);
    // Deferred for 30 s, then sent back to routing behind the scheduler's back (as the CLI or another node would),
    // while other messages keep arriving and being delivered: passes then follow each other before the poll timer
    // would fire, and the relay still looks for unrouted messages at least once per poll interval.
    const later = await sendMail(relay, { to: ['later@contoso.com'] });
    await relay.waitFor(later, ['deferred']);
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i++) await relay.waitFor(await sendMail(relay, { to: [`load${i}@contoso.com`] }), ['delivered']);
    })();
    try {
      await sleep(300);
      // As `authrelay queue retry` does from its own process: back to incoming, unrouted, no wake.
      assert.equal(await store.retry(later, Date.now(), Date.now() + relay.config.queue.maxLifetime, 'test'), true);
      const started = Date.now();
      await relay.waitFor(later, ['delivered'], 5_000);
      assert.ok(Date.now() - started < 3_000, `routed and delivered ${Date.now() - started} ms after it was made unrouted`);
    } finally {
      loading = false;
      await load;
    }
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('messages accepted close together are claimed together; a delivery that ends with nothing waiting claims nothing', async () => {
  const up = await startUpstream();
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port, { concurrency: 4 }) }, queue: { pollInterval: '30s' } });
  try {
    // Counted, not changed: the scheduler's own calls into the store.
    const store = relay.store;
    const claim = store.claim.bind(store);
    let claims = 0;
    store.claim = (req) => {
      if (req.route === 'relay') claims++;
      return claim(req);
    };
    // Twelve devices sending at once: one pass claims what fits the upstream's four slots, and each
    // freed slot takes the next; a slot freed with the queue empty looks for nothing.
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => sendMail(relay, { to: [`u${i}@contoso.com`] })));
    for (const id of ids) await relay.waitFor(id, ['delivered']);
    await sleep(200);
    assert.equal(up.received.length, 12);
    assert.ok(claims <= 8, `${claims} claims for 12 messages accepted together, four slots`);
    // One device sending its scans one after another, each delivered before the next: one claim each,
    // none after a delivery (before, every finished delivery made a pass with an empty claim).
    const before = claims;
    for (let i = 0; i < 8; i++) await relay.waitFor(await sendMail(relay, { to: [`s${i}@contoso.com`] }), ['delivered']);
    await sleep(200);
    assert.equal(claims - before, 8, `${claims - before} claims for 8 messages sent one after another`);
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('a message-caused deferral backs off that message only; the route keeps delivering', async () => {
  const up = await startUpstream();
  up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('busy@') ? { code: 450, message: '4.2.1 Mailbox busy' } : undefined);
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) }, queue: { minBackoff: '400ms', maxBackoff: '5s' } });
  try {
    const busy = await sendMail(relay, { to: ['busy@contoso.com'] });
    await relay.waitFor(busy, ['deferred']);
    const started = Date.now();
    const other = await sendMail(relay, { to: ['alice@contoso.com'] });
    await relay.waitFor(other, ['delivered']);
    assert.ok(Date.now() - started < 1000, 'delivered without waiting for any pause');
    const status = relay.scheduler.destinationStatus().find((d) => d.route === 'relay');
    assert.deepEqual([status?.failures, status?.pausedUntil], [0, 0], 'the route is not paused');
    await waitUntil('three attempts', async () => (await attemptsOf(relay, busy)).length >= 3, 10_000);
    const at = (await attemptsOf(relay, busy)).map((e) => e.at);
    // minBackoff 400 ms doubling, with jitter of ±25 %: at least 300 ms, then at least 600 ms.
    assert.ok(at[1]! - at[0]! >= 300, `first wait ${at[1]! - at[0]!} ms`);
    assert.ok(at[2]! - at[1]! >= 600, `second wait ${at[2]! - at[1]!} ms`);
    const m = await relay.store.get(busy);
    assert.equal(m?.lastError?.scope, 'message');
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('a 421 from the upstream pauses the whole route: other messages wait for the probe', async () => {
  const up = await startUpstream();
  let closing = true;
  up.fault = (_n, stage) => (stage === 'rcpt' && closing ? { code: 421, message: '4.3.2 Service shutting down' } : undefined);
  const relay = await startRelay({
    upstreams: { relay: smtpUpstream(up.port) },
    queue: { minBackoff: '100ms', maxBackoff: '200ms', destinationMinBackoff: '1500ms', destinationMaxBackoff: '1500ms' },
  });
  try {
    const first = await sendMail(relay, { to: ['a@contoso.com'] });
    await relay.waitFor(first, ['deferred']);
    const status = relay.scheduler.destinationStatus().find((d) => d.route === 'relay');
    assert.ok(status && status.pausedUntil > Date.now(), 'the route is paused');
    assert.equal((await relay.store.get(first))?.lastError?.category, 'unavailable');
    closing = false;
    const second = await sendMail(relay, { to: ['b@contoso.com'] });
    await sleep(400);
    assert.equal((await relay.store.get(second))?.attempts, 0, 'no attempt while the route is paused');
    await relay.waitFor(second, ['delivered']);
    await relay.waitFor(first, ['delivered']);
    assert.ok(Date.now() >= status.pausedUntil);
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('a delivery that outlasts the lease renews it: the message is not taken over and sent twice', async () => {
  const up = await startUpstream();
  up.dataDelayMs = 1_500;
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port, { concurrency: 2 }) }, queue: { lease: '600ms', pollInterval: '50ms' } });
  try {
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    assert.equal((await relay.waitFor(id, ['delivered'])).attempts, 1);
    await sleep(1_700);
    assert.equal(up.received.length, 1);
    assert.equal((await attemptsOf(relay, id)).length, 1);
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('on start, messages left active by this node, or by a node whose lease ran out, are delivered; live leases are respected', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-recover-'));
  const up = await startUpstream();
  try {
    const store = new SqliteStore({ dir: join(dataDir, 'queue') });
    await store.init();
    const ids = [newMessageId(), newMessageId(), newMessageId()];
    for (const id of ids) {
      const w = store.createBody(id);
      w.stream.end(`From: app@contoso.com\r\nTo: ${id}@contoso.com\r\nSubject: left active\r\n\r\nbody\r\n`);
      const size = await w.finish();
      const now = Date.now();
      await store.accept({ id, receivedAt: now, expiresAt: now + 86_400_000, sender: 'app@contoso.com', recipients: [`${id.toLowerCase()}@contoso.com`], size, origin: { device: null, clientIp: '127.0.0.1', listener: 'main' } });
    }
    const now = Date.now();
    await store.claim({ owner: 'relay.test', route: null, limit: 1, leaseMs: 600_000, now }); // this node, before a crash
    await store.claim({ owner: 'node-b', route: null, limit: 1, leaseMs: 1_500, now }); // a node that died
    await store.claim({ owner: 'node-c', route: null, limit: 1, leaseMs: 600_000, now }); // a node that is working on it
    await store.close();
    const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) } }, { dataDir });
    try {
      assert.ok(relay.logs.some((l) => l.event === 'recovered' && l.count === 1));
      assert.equal((await relay.waitFor(ids[0]!, ['delivered'])).attempts, 1);
      assert.equal((await relay.waitFor(ids[1]!, ['delivered'], 10_000)).attempts, 1, 'taken over once the lease expired');
      const live = await relay.store.get(ids[2]!);
      assert.deepEqual([live?.state, live?.leaseOwner], ['active', 'node-c']);
      assert.equal(up.received.length, 2);
    } finally {
      await relay.close();
    }
  } finally {
    await up.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('stopping the relay lets a delivery in flight finish', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-stop-'));
  const up = await startUpstream();
  up.dataDelayMs = 800;
  try {
    const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) } }, { dataDir });
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    await relay.waitFor(id, ['active']);
    await relay.close();
    assert.equal(up.received.length, 1);
    const store = new SqliteStore({ dir: join(dataDir, 'queue') });
    await store.init();
    try {
      assert.equal((await store.get(id))?.state, 'delivered');
    } finally {
      await store.close();
    }
  } finally {
    await up.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
