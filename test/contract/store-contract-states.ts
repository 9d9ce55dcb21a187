/**
 * Second half of the store contract (see store-contract.ts): attempts and
 * recipient states, what people do to messages (retry, release, remove),
 * clean-up of bodies, the device inventory, counts and listing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId } from '../../src/core/ids.js';
import type { DeliveryOutcome } from '../../src/core/outcome.js';
import { MESSAGE_STATES, leaseOf } from '../../src/spool/store.js';
import { say, trailLine } from '../../src/core/trail-texts.js';
import {
  DAY, T0, accepted, attempt, bodyFor, deferredOutcome, heldLease, put, read, refused, routeTo, type StoreFixture,
} from './store-contract.js';

type Run = (title: string, fn: (f: StoreFixture) => Promise<void>) => ReturnType<typeof test>;

const held: DeliveryOutcome = { action: 'hold', category: 'captured', response: 'held by capture route' };

export function storeStateContract(name: string, run: Run): void {
  describe(`store contract: ${name}: attempts`, () => {
    run('finishAttempt records each recipient\'s outcome, the new state, and frees the lease', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'gone@contoso.com', 'busy@contoso.com'] });
      await routeTo(f.store, id, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0 + 100, 'deferred', [
        { address: 'a@contoso.com', state: 'delivered', outcome: accepted },
        { address: 'gone@contoso.com', state: 'failed', outcome: refused },
        { address: 'busy@contoso.com', state: 'pending', outcome: deferredOutcome },
      ], T0 + 60_000));
      let m = await f.store.get(id);
      assert.ok(m);
      assert.deepEqual([m.state, m.attempts, m.leaseOwner, m.leaseUntil, m.nextAttemptAt], ['deferred', 1, null, null, T0 + 60_000]);
      assert.deepEqual(m.recipientRecords.map((r) => [r.address, r.state, r.attempts, r.last?.action]), [
        ['a@contoso.com', 'delivered', 1, 'delivered'], ['gone@contoso.com', 'failed', 1, 'fail'], ['busy@contoso.com', 'pending', 1, 'retry'],
      ]);
      assert.equal(m.recipientRecords[1]!.last?.response, '550 5.1.1 User unknown');
      assert.equal(m.lastError?.category, 'bad-recipient', 'the first problem is the message\'s last error');
      assert.equal((await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 + 59_999 })).length, 0, 'not due before nextAttemptAt');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 + 60_000 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0 + 60_100, 'failed', [{ address: 'busy@contoso.com', state: 'delivered', outcome: accepted }]));
      m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.attempts], ['failed', 2]);
      assert.deepEqual(m?.recipientRecords.map((r) => [r.state, r.attempts]), [['delivered', 1], ['failed', 1], ['delivered', 2]], 'finished recipients are not touched again');
      const trail = await f.store.trail(id);
      assert.deepEqual(trail.filter((e) => e.kind === 'attempt').map((e) => e.text), ['deferred via relay', 'failed via relay']);
    });

    run('events are kept in order per message', async (f) => {
      const id = await put(f.store);
      await f.store.addEvent(id, { at: T0 + 1, kind: 'notice', text: 'first', data: { n: 1 } });
      await f.store.addEvent(id, { at: T0 + 1, kind: 'notice', text: 'second' });
      const trail = await f.store.trail(id);
      assert.deepEqual(trail.slice(-2).map((e) => [e.text, e.data]), [['first', { n: 1 }], ['second', undefined]]);
    });

    run('trail entries keep their text key and values: the same entry reads in English and in Japanese; a line without a key reads as written', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@contoso.com'], origin: { device: 'mfp-3f', clientIp: '192.0.2.10', listener: 'main', tlsVersion: 'TLSv1.2', authUser: 'scan', authMechanism: 'PLAIN' } });
      const [m] = await f.store.claim({ owner: 'router', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      assert.ok(m);
      const [, part] = await f.store.assignRoutes(leaseOf(m), [
        { route: 'relay', recipients: ['a@contoso.com'], rule: 'device mfp-3f' }, { route: 'm365', recipients: ['b@contoso.com'], rule: 'no rule matched' },
      ], T0);
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), {
        ...attempt(T0 + 100, 'failed', [{ address: 'a@contoso.com', state: 'failed', outcome: refused }]),
        summary: 'failed via relay: 550 5.1.1 User unknown', say: say('attempt.failed', { route: 'relay', reply: refused.response! }),
      });
      assert.equal(await f.store.retry(id, T0 + 200, T0 + 5 * DAY, say('by.api', { name: 'admin' })), true);
      await f.store.addEvent(id, { at: T0 + 300, kind: 'notice', text: 'an entry written before the trail had keys' });
      const trail = await f.store.trail(id);
      const lines = trail.map((e) => [e.kind, trailLine(e)] as const);
      assert.deepEqual(lines.map(([kind, t]) => [kind, t.en]), [
        ['received', 'received 467 bytes from mfp-3f at 192.0.2.10 on listener main over TLSv1.2 as scan (PLAIN)'.replace('467', String(m.size))],
        ['routed', 'routed to relay (device mfp-3f): a@contoso.com'],
        ['attempt', 'failed via relay: 550 5.1.1 User unknown'],
        ['retry', 'queued again by admin API (admin)'],
        ['notice', 'an entry written before the trail had keys'],
      ]);
      assert.deepEqual(trail.map((e) => e.text), lines.map(([, t]) => t.en), 'the stored English line is the English rendering');
      assert.deepEqual(lines.map(([, t]) => t.ja), [
        `mfp-3f (192.0.2.10) からリスナー main で ${m.size} バイトを受信しました (TLSv1.2 で暗号化、scan として認証 (PLAIN))`,
        'relay にルーティングしました (デバイス mfp-3f のルート): a@contoso.com',
        'relay 経由の配送に失敗しました: 550 5.1.1 User unknown',
        '管理 API (admin) が再送のためにキューに戻しました',
        'an entry written before the trail had keys',
      ]);
      const other = (await f.store.trail(part!)).map((e) => trailLine(e).ja);
      assert.deepEqual(other.slice(-2), [`${id} から分割しました: 1 件の宛先を m365 にルーティングしました`, 'm365 にルーティングしました (一致するルールなし): b@contoso.com']);
    });
  });

  describe(`store contract: ${name}: routing again after a reload`, () => {
    run('unrouteQueued sends incoming and deferred messages back to routing, due now; held, active and finished ones stay', async (f) => {
      const incoming = await put(f.store, { routes: [{ route: 'relay', recipients: ['a@contoso.com'] }] });
      const deferred = await put(f.store);
      await routeTo(f.store, deferred, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 5, leaseMs: 60_000, now: T0 });
      assert.equal(await f.store.finishAttempt(await heldLease(f.store, deferred), attempt(T0, 'deferred', [{ address: 'a@contoso.com', state: 'pending', outcome: deferredOutcome }], T0 + 3_600_000)), true);
      assert.equal(await f.store.finishAttempt(await heldLease(f.store, incoming), attempt(T0, 'deferred', [{ address: 'a@contoso.com', state: 'pending', outcome: deferredOutcome }], T0 + 3_600_000)), true);
      const held = await put(f.store);
      await routeTo(f.store, held, 'capture');
      await f.store.claim({ owner: 'n1', route: 'capture', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, held), attempt(T0, 'held', [{ address: 'a@contoso.com', state: 'held', outcome: { action: 'hold', category: 'captured' } }]));
      const active = await put(f.store);
      await routeTo(f.store, active, 'relay');
      await f.store.claim({ owner: 'n2', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      const fresh = await put(f.store, { routes: [{ route: 'relay', recipients: ['a@contoso.com'] }] });
      assert.equal(await f.store.unrouteQueued(T0 + 5_000, 'configuration 2 changed the routes'), 3);
      for (const id of [incoming, deferred, fresh]) {
        const m = await f.store.get(id);
        assert.deepEqual([m?.state === 'incoming' || m?.state === 'deferred', m?.route, m?.nextAttemptAt], [true, null, T0 + 5_000], id);
        assert.ok((await f.store.trail(id)).some((e) => e.kind === 'reroute' && e.text.includes('configuration 2 changed the routes')));
      }
      assert.deepEqual([(await f.store.get(held))?.state, (await f.store.get(held))?.route], ['held', 'capture']);
      assert.deepEqual([(await f.store.get(active))?.state, (await f.store.get(active))?.route], ['active', 'relay']);
      const claimed = await f.store.claim({ owner: 'n3', route: null, limit: 10, leaseMs: 60_000, now: T0 + 5_000 });
      assert.deepEqual(claimed.map((m) => m.id).sort(), [incoming, deferred, fresh].sort(), 'the router takes them at once');
    });
  });

  describe(`store contract: ${name}: fallback`, () => {
    run('an attempt that ends with unroute sends the pending recipients back to routing; unrouteQueued can name the routes', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@contoso.com'] });
      await routeTo(f.store, id, 'm365');
      await f.store.claim({ owner: 'n1', route: 'm365', limit: 1, leaseMs: 60_000, now: T0 });
      assert.equal(await f.store.finishAttempt(await heldLease(f.store, id), { ...attempt(T0, 'deferred', [
        { address: 'a@contoso.com', state: 'delivered', outcome: accepted }, { address: 'b@contoso.com', state: 'pending', outcome: deferredOutcome },
      ], T0 + 10), unroute: true }), true);
      const m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.route, m?.attempts, m?.nextAttemptAt], ['deferred', null, 1, T0 + 10]);
      const [c] = await f.store.claim({ owner: 'n1', route: null, limit: 5, leaseMs: 60_000, now: T0 + 10 });
      assert.equal(c?.id, id, 'the router takes it again');
      assert.deepEqual(await f.store.assignRoutes(leaseOf(c!), [{ route: 'relay', recipients: ['b@contoso.com'], rule: 'fallback for m365: sign-in refused' }], T0 + 11), [id]);
      const routed = (await f.store.trail(id)).filter((e) => e.kind === 'routed').at(-1);
      assert.match(routed?.text ?? '', /^routed to relay \(fallback for m365: sign-in refused\): b@contoso\.com$/);
      assert.deepEqual((await f.store.get(id))?.recipientRecords.map((r) => r.state), ['delivered', 'pending'], 'the delivered recipient is not sent again');

      const other = await put(f.store, { routes: [{ route: 'other', recipients: ['a@contoso.com'] }] });
      assert.equal(await f.store.unrouteQueued(T0 + 20, 'm365 down', ['relay']), 1, 'only the named routes');
      assert.equal((await f.store.get(other))?.route, 'other');
      assert.equal((await f.store.get(id))?.route, null);
    });
  });

  describe(`store contract: ${name}: retry, release, remove`, () => {
    run('retry: a failed message is queued again, failed recipients pending, delivered ones left, new lifetime', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'gone@contoso.com'] });
      await routeTo(f.store, id, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0, 'failed', [
        { address: 'a@contoso.com', state: 'delivered', outcome: accepted }, { address: 'gone@contoso.com', state: 'failed', outcome: refused },
      ]));
      assert.equal(await f.store.retry(id, T0 + 5000, T0 + 5000 + 5 * DAY, 'admin'), true);
      const m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.route, m?.expiresAt], ['incoming', null, T0 + 5000 + 5 * DAY], 'routed again with the current rules');
      assert.deepEqual(m?.recipientRecords.map((r) => r.state), ['delivered', 'pending']);
      assert.ok((await f.store.trail(id)).some((e) => e.kind === 'retry' && e.text.includes('admin')));
      assert.deepEqual((await f.store.claim({ owner: 'n1', route: null, limit: 5, leaseMs: 1000, now: T0 + 5000 })).map((x) => x.id), [id]);
    });

    run('retry applies to failed, deferred and held messages only', async (f) => {
      const active = await put(f.store);
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      assert.equal(await f.store.retry(active, T0, T0 + DAY, 'admin'), false, 'not while an attempt runs');
      const delivered = await put(f.store);
      await routeTo(f.store, delivered, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, delivered), attempt(T0, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]));
      assert.equal(await f.store.retry(delivered, T0, T0 + DAY, 'admin'), false);
      assert.equal(await f.store.retry('NOSUCHMESSAGE', T0, T0 + DAY, 'admin'), false);
    });

    run('release: a held message is routed again; other states are left alone', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@contoso.com'] });
      await routeTo(f.store, id, 'capture');
      await f.store.claim({ owner: 'n1', route: 'capture', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0, 'held', [
        { address: 'a@contoso.com', state: 'held', outcome: held }, { address: 'b@contoso.com', state: 'held', outcome: held },
      ]));
      assert.equal((await f.store.get(id))?.state, 'held');
      assert.equal((await f.store.claim({ owner: 'n1', route: 'capture', limit: 1, leaseMs: 60_000, now: T0 + DAY })).length, 0, 'a held message is never due');
      assert.equal(await f.store.release(id, T0 + 10, 'admin'), true);
      const m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.route], ['incoming', null]);
      assert.deepEqual(m?.recipientRecords.map((r) => r.state), ['pending', 'pending']);
      assert.equal(await f.store.release(id, T0 + 10, 'admin'), false, 'an incoming message is not held');
      assert.ok((await f.store.trail(id)).some((e) => e.kind === 'release'));
    });

    run('remove: not while active; removes the record and trail; the body only when nobody shares it', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@fabrikam.com'] });
      const body = (await f.store.get(id))!.bodyId;
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      assert.equal(await f.store.remove(id), false);
      const [, child] = await f.store.assignRoutes(await heldLease(f.store, id), [{ route: 'a', recipients: ['a@contoso.com'] }, { route: 'b', recipients: ['b@fabrikam.com'] }], T0);
      assert.equal(await f.store.remove(id), true);
      assert.equal(await f.store.get(id), undefined);
      assert.deepEqual(await f.store.trail(id), []);
      assert.ok((await read(f.store.openBody((await f.store.get(child!))!.bodyId))).equals(bodyFor(id)), 'the other part still has its body');
      assert.equal(await f.store.remove(child!), true);
      await assert.rejects(read(f.store.openBody(body)), 'the body went with the last message');
      assert.equal(await f.store.remove(child!), false);
      assert.equal(await f.store.removeOrphanBodies(), 0);
    });
  });

  describe(`store contract: ${name}: bodies`, () => {
    run('purgeDeliveredBodies removes bodies of messages delivered before the cut-off, keeps the records', async (f) => {
      const id = await put(f.store);
      const body = (await f.store.get(id))!.bodyId;
      await routeTo(f.store, id, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0 + 1000, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]));
      assert.equal(await f.store.purgeDeliveredBodies(T0 + 1000), 0, 'not before the cut-off');
      assert.equal(await f.store.purgeDeliveredBodies(T0 + 1001), 1);
      await assert.rejects(read(f.store.openBody(body)));
      assert.equal((await f.store.get(id))?.state, 'delivered', 'the record stays');
      assert.equal(await f.store.purgeDeliveredBodies(T0 + DAY), 0, 'purged once');
      assert.equal(await f.store.retry(id, T0 + 2000, T0 + DAY, 'admin'), false, 'a message without its body cannot be retried');
    });

    run('a shared body is purged only when every part is delivered', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@fabrikam.com'] });
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      const [, child] = await f.store.assignRoutes(await heldLease(f.store, id), [{ route: 'a', recipients: ['a@contoso.com'] }, { route: 'b', recipients: ['b@fabrikam.com'] }], T0);
      await f.store.claim({ owner: 'n1', route: 'a', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]));
      assert.equal(await f.store.purgeDeliveredBodies(T0 + DAY), 0, 'the other part still needs the body');
      assert.ok((await read(f.store.openBody((await f.store.get(id))!.bodyId))).length > 0);
      await f.store.claim({ owner: 'n1', route: 'b', limit: 1, leaseMs: 60_000, now: T0 });
      await f.store.finishAttempt(await heldLease(f.store, child!), attempt(T0, 'delivered', [{ address: 'b@fabrikam.com', state: 'delivered', outcome: accepted }]));
      assert.equal(await f.store.purgeDeliveredBodies(T0 + DAY), 1);
    });

    run('removeOrphanBodies removes bodies no message refers to (a crash before the commit), and only those', async (f) => {
      const kept = await put(f.store);
      for (let i = 0; i < 3; i++) {
        const w = f.store.createBody(newMessageId());
        // large enough to be a file (small bodies are only ever written inside the commit)
        w.stream.end(`From: x\r\n\r\n${'never acknowledged\r\n'.repeat(10_000)}`);
        await w.finish();
      }
      assert.equal(await f.store.removeOrphanBodies(), 3);
      assert.equal(await f.store.removeOrphanBodies(), 0);
      assert.ok((await read(f.store.openBody((await f.store.get(kept))!.bodyId))).equals(bodyFor(kept)));
    });
  });

  describe(`store contract: ${name}: inventory, counts, lists`, () => {
    run('device inventory: counters add up, last seen moves forward, known details are kept', async (f) => {
      await f.store.recordDeviceActivity({ device: 'mfp-3f', clientIp: '192.0.2.10', at: T0, authMechanism: 'LOGIN', tlsVersion: 'TLSv1', listener: 'legacy', accepted: 1 });
      await f.store.recordDeviceActivity({ device: 'mfp-3f', clientIp: '192.0.2.10', at: T0 - 5000, rejected: 2 });
      await f.store.recordDeviceActivity({ device: 'mfp-3f', clientIp: '192.0.2.10', at: T0 + 5000, accepted: 3 });
      await f.store.recordDeviceActivity({ device: 'ups', clientIp: '192.0.2.50', at: T0, accepted: 1 });
      await f.store.recordDeviceFailure('mfp-3f', '192.0.2.10');
      await f.store.recordDeviceFailure('mfp-3f', '192.0.2.10');
      const seen = await f.store.devicesSeen();
      assert.deepEqual(seen.map((d) => d.device), ['mfp-3f', 'ups']);
      assert.deepEqual(seen[0], {
        device: 'mfp-3f', clientIp: '192.0.2.10', lastSeen: T0 + 5000, authMechanism: 'LOGIN', tlsVersion: 'TLSv1', listener: 'legacy',
        accepted: 4, rejected: 2, failed: 2,
      });
    });

    run('counts has every state, zero included', async (f) => {
      assert.deepEqual(await f.store.counts(), Object.fromEntries(MESSAGE_STATES.map((s) => [s, 0])));
      const a = await put(f.store);
      await put(f.store);
      await routeTo(f.store, a, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      const c = await f.store.counts();
      assert.deepEqual([c.incoming, c.active, c.delivered], [1, 1, 0]);
    });

    run('list filters by state, device, sender, recipient and route, newest first', async (f) => {
      const older = await put(f.store, { receivedAt: T0 - 10, sender: 'ups@contoso.com', origin: { device: 'ups', clientIp: '192.0.2.50', listener: 'main' } });
      const newer = await put(f.store, { receivedAt: T0, recipients: ['boss@fabrikam.com'] });
      await routeTo(f.store, older, 'relay');
      assert.deepEqual((await f.store.list({})).map((m) => m.id), [newer, older]);
      assert.deepEqual((await f.store.list({ device: 'ups' })).map((m) => m.id), [older]);
      assert.deepEqual((await f.store.list({ sender: 'ups@' })).map((m) => m.id), [older]);
      assert.deepEqual((await f.store.list({ recipient: 'fabrikam' })).map((m) => m.id), [newer]);
      assert.deepEqual((await f.store.list({ route: 'relay' })).map((m) => m.id), [older]);
      assert.deepEqual((await f.store.list({ states: ['incoming'] })).map((m) => m.id).sort(), [newer, older].sort());
      assert.deepEqual((await f.store.list({ states: ['failed'] })), []);
      assert.deepEqual((await f.store.list({ limit: 1 })).map((m) => m.id), [newer]);
      assert.deepEqual((await f.store.list({ before: T0 })).map((m) => m.id), [older]);
    });
  });
}
