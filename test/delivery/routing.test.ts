/**
 * Routing through the real relay: recipients split per route into separate
 * queue entries, routes chosen by device and by sender, unmatched recipients
 * held by capture, and held messages released (again held under the same
 * configuration; delivered after a restart with a route for them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/identity/password.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/tools.js';
import { attemptsOf, sendMail, sleep, smtpUpstream, startRelay } from '../helpers/delivery.js';

async function twoUpstreams(): Promise<{ a: TestUpstream; b: TestUpstream; kill: () => Promise<void> }> {
  const a = await startUpstream();
  const b = await startUpstream();
  return { a, b, kill: async () => { await a.kill(); await b.kill(); } };
}

test('recipients on two routes (by recipient domain): two queue entries, each delivered to its own upstream', async () => {
  const { a, b, kill } = await twoUpstreams();
  const relay = await startRelay({
    upstreams: { internal: smtpUpstream(a.port), partner: smtpUpstream(b.port) },
    routes: [{ name: 'partner mail', when: { recipientDomain: ['fabrikam.com', '*.fabrikam.com'] }, use: 'partner' }, { use: 'internal' }],
  });
  try {
    const id = await sendMail(relay, { to: ['alice@contoso.com', 'bob@fabrikam.com'], cc: ['carol@contoso.com', 'dan@eu.fabrikam.com'] });
    const first = await relay.waitFor(id, ['delivered']);
    const second = await relay.waitFor(`${id}.1`, ['delivered']);
    assert.deepEqual([first.route, first.recipients], ['internal', ['alice@contoso.com', 'carol@contoso.com']]);
    assert.deepEqual([second.route, second.parentId, second.recipients], ['partner', id, ['bob@fabrikam.com', 'dan@eu.fabrikam.com']]);
    assert.equal(second.bodyId, first.bodyId, 'one stored body for both');
    assert.deepEqual(a.received.map((r) => r.to), [['alice@contoso.com', 'carol@contoso.com']]);
    assert.deepEqual(b.received.map((r) => r.to), [['bob@fabrikam.com', 'dan@eu.fabrikam.com']]);
    assert.ok(a.received[0]!.data.equals(b.received[0]!.data), 'both upstreams got the same bytes');
    const routed = (await relay.store.trail(`${id}.1`)).filter((e) => e.kind === 'routed').map((e) => e.text);
    assert.equal(routed.length, 1);
    assert.match(routed[0]!, /^routed to partner\b.*: bob@fabrikam\.com, dan@eu\.fabrikam\.com$/);
  } finally {
    await relay.close();
    await kill();
  }
});

test('routing by device (a rule naming it, or the device\'s own route) and by envelope sender', async () => {
  const { a, b, kill } = await twoUpstreams();
  const relay = await startRelay({
    devices: [
      { name: 'mfp-3f', username: 'mfp-3f', passwordHash: await hashPassword('scan-pass-1') },
      { name: 'ups', networks: ['127.0.0.2/32'], route: 'b' },
    ],
    upstreams: { a: smtpUpstream(a.port), b: smtpUpstream(b.port) },
    routes: [
      { when: { device: ['mfp-3f'] }, use: 'b' },
      { when: { sender: ['*@fabrikam.com'] }, use: 'b' },
      { use: 'a' },
    ],
  });
  try {
    const byRule = await sendMail(relay, { auth: { user: 'mfp-3f', pass: 'scan-pass-1' }, to: ['x@contoso.com'] });
    const byOwnRoute = await sendMail(relay, { localAddress: '127.0.0.2', from: 'ups@contoso.com', to: ['y@contoso.com'] });
    const bySender = await sendMail(relay, { from: 'billing@fabrikam.com', to: ['z@contoso.com'] });
    const fallback = await sendMail(relay, { from: 'app@contoso.com', to: ['w@contoso.com'] });
    const routes = await Promise.all([byRule, byOwnRoute, bySender, fallback].map(async (id) => (await relay.waitFor(id, ['delivered'])).route));
    assert.deepEqual(routes, ['b', 'b', 'b', 'a']);
    assert.equal((await relay.store.get(byRule))?.origin.device, 'mfp-3f');
    assert.equal((await relay.store.get(byOwnRoute))?.origin.device, 'ups');
    assert.deepEqual(b.received.map((r) => r.to[0]).sort(), ['x@contoso.com', 'y@contoso.com', 'z@contoso.com']);
    assert.deepEqual(a.received.map((r) => r.to[0]), ['w@contoso.com']);
  } finally {
    await relay.close();
    await kill();
  }
});

test('recipients no rule matches are held by capture; release routes them again (held again under the same rules)', async () => {
  const { a, kill } = await twoUpstreams();
  const relay = await startRelay({
    upstreams: { internal: smtpUpstream(a.port) },
    routes: [{ when: { recipientDomain: ['contoso.com'] }, use: 'internal' }],
  });
  try {
    const id = await sendMail(relay, { to: ['alice@contoso.com', 'bob@fabrikam.com'] });
    assert.equal((await relay.waitFor(id, ['delivered'])).route, 'internal');
    const held = await relay.waitFor(`${id}.1`, ['held']);
    assert.deepEqual([held.route, held.recipients, held.recipientRecords[0]!.state], ['capture', ['bob@fabrikam.com'], 'held']);
    assert.match(held.recipientRecords[0]!.last?.hint ?? '', /queue release/);
    assert.equal(await relay.store.release(held.id, Date.now(), 'test'), true);
    relay.scheduler.wake();
    await relay.waitFor(held.id, ['held']);
    await new Promise((r) => setTimeout(r, 300));
    const again = await relay.store.get(held.id);
    assert.deepEqual([again?.state, again?.attempts], ['held', 2]);
    const kinds = (await relay.store.trail(held.id)).map((e) => e.kind);
    assert.deepEqual(kinds.filter((k) => k !== 'received' && k !== 'split'), ['routed', 'attempt', 'release', 'routed', 'attempt']);
    assert.equal(a.received.length, 1);
    assert.equal((await relay.store.counts()).held, 1);
  } finally {
    await relay.close();
    await kill();
  }
});

test('a held message released after a restart with a route for it is delivered', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-restart-'));
  const up = await startUpstream();
  try {
    const first = await startRelay({}, { dataDir });
    const id = await sendMail(first, { to: ['bob@fabrikam.com'] });
    assert.equal((await first.waitFor(id, ['held'])).route, 'capture', 'no upstream: the embedded default holds everything');
    await first.close();
    const second = await startRelay({ upstreams: { partner: smtpUpstream(up.port) }, routes: [{ use: 'partner' }] }, { dataDir });
    try {
      assert.equal((await second.store.get(id))?.state, 'held', 'a restart does not release by itself');
      assert.equal(await second.store.release(id, Date.now(), 'test'), true);
      second.scheduler.wake();
      const m = await second.waitFor(id, ['delivered']);
      assert.equal(m.route, 'partner');
      assert.deepEqual(up.received.map((r) => r.to), [['bob@fabrikam.com']]);
      assert.equal((await attemptsOf(second, id)).length, 2);
    } finally {
      await second.close();
    }
  } finally {
    await up.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a queued message whose upstream was removed from the configuration is held, then delivered when released', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-reconf-'));
  const up = await startUpstream();
  try {
    const first = await startRelay({ upstreams: { old: smtpUpstream(await freePort()) } }, { dataDir });
    const id = await sendMail(first, { to: ['alice@contoso.com'] });
    const deferred = await first.waitFor(id, ['deferred']);
    assert.equal(deferred.route, 'old');
    await first.close();
    await sleep(Math.max(0, deferred.nextAttemptAt - Date.now()) + 50);
    const second = await startRelay({ upstreams: { current: smtpUpstream(up.port) }, routes: [{ use: 'current' }] }, { dataDir });
    try {
      const held = await second.waitFor(id, ['held']);
      assert.equal(held.recipientRecords[0]!.last?.category, 'no-upstream');
      assert.match(held.recipientRecords[0]!.last?.hint ?? '', /"old" is no longer configured/);
      assert.equal(await second.store.release(id, Date.now(), 'test'), true);
      second.scheduler.wake();
      assert.equal((await second.waitFor(id, ['delivered'])).route, 'current');
      assert.equal(up.received.length, 1);
    } finally {
      await second.close();
    }
  } finally {
    await up.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
