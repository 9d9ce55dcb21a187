/**
 * The shared contract every Store passes (sqlite/ now, postgres/ later). All
 * times are passed in explicitly, so leases and due times are tested without
 * waiting. The split into two files keeps each part readable: this one covers
 * accepting, claiming and routing; store-contract-states.ts the rest.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { newMessageId } from '../../src/core/ids.js';
import type { DeliveryOutcome } from '../../src/core/outcome.js';
import { leaseOf, type AttemptResult, type LeaseRef, type NewMessage, type Store } from '../../src/spool/store.js';
import { storeStateContract } from './store-contract-states.js';
import { storeActivityContract } from './store-contract-activity.js';
import { storeMigrationContract } from './store-contract-migration.js';

export interface StoreFixture {
  store: Store;
  /** Closes the store and opens a new one on the same data, like a restart. */
  reopen(): Promise<Store>;
  /** Closes whatever is open and removes the data. */
  destroy(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
export const DAY = 86_400_000;

export function bodyFor(id: string): Buffer {
  return Buffer.from(`From: scanner@contoso.com\r\nTo: a@contoso.com\r\nSubject: scan ${id}\r\nMessage-ID: <${id}@contoso.com>\r\n\r\n${'scan data '.repeat(50)}\r\n`);
}

/** Writes a body and accepts the message, as the receive stage does. */
export async function put(store: Store, o: Partial<NewMessage> & { recipients?: string[] } = {}): Promise<string> {
  const id = o.id ?? newMessageId();
  const body = bodyFor(id);
  const w = store.createBody(id);
  w.stream.end(body);
  const size = await w.finish();
  assert.equal(size, body.length);
  await store.accept({
    id, receivedAt: T0, expiresAt: T0 + 5 * DAY, sender: 'scanner@contoso.com', recipients: ['a@contoso.com'], size,
    origin: { device: 'mfp-3f', clientIp: '192.0.2.10', listener: 'main' }, kind: 'message', ...o,
  });
  return id;
}

export async function read(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export const accepted: DeliveryOutcome = { action: 'delivered', category: 'accepted', code: 250, response: '250 2.0.0 Ok' };
export const refused: DeliveryOutcome = { action: 'fail', scope: 'message', category: 'bad-recipient', code: 550, enhancedCode: '5.1.1', response: '550 5.1.1 User unknown' };
export const deferredOutcome: DeliveryOutcome = { action: 'retry', scope: 'message', category: 'deferred', code: 450, response: '450 4.2.1 Mailbox busy' };

export function attempt(at: number, state: AttemptResult['state'], recipients: AttemptResult['recipients'], nextAttemptAt = at): AttemptResult {
  return { at, durationMs: 12, route: 'relay', state, nextAttemptAt, recipients, summary: `${state} via relay` };
}

/** The lease the message holds now (as its claim returned it). */
export async function heldLease(store: Store, id: string): Promise<LeaseRef> {
  const m = await store.get(id);
  assert.ok(m, `message ${id} exists`);
  return leaseOf(m);
}

/** Claims the unrouted message and routes all its recipients to one upstream. */
export async function routeTo(store: Store, id: string, route: string, now = T0): Promise<void> {
  for (;;) {
    const [m] = await store.claim({ owner: `router-${id}`, route: null, limit: 1, leaseMs: 60_000, now });
    assert.ok(m, `message ${id} could be claimed for routing`);
    await store.assignRoutes(leaseOf(m), [{ route: m.id === id ? route : 'elsewhere', recipients: m.recipients }], now);
    if (m.id === id) return;
  }
}

export function storeContract(name: string, factory: StoreFactory): void {
  const run = (title: string, fn: (f: StoreFixture) => Promise<void>) =>
    test(title, async () => {
      const f = await factory();
      try {
        await fn(f);
      } finally {
        await f.destroy();
      }
    });

  describe(`store contract: ${name}: accepting`, () => {
    run('a subject search matches the Subject as received and as decoded (MIME encoded-words), in every part of a split message', async (f) => {
      const encoded = `=?UTF-8?B?${Buffer.from('請求書 3月分 スキャン', 'utf8').toString('base64')}?=`;
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@fabrikam.com'], subject: encoded });
      const plain = await put(f.store, { recipients: ['c@contoso.com'], subject: 'Invoice 3' });
      const found = async (subject: string) => (await f.store.list({ subject, limit: 10 })).map((m) => m.id).sort();
      assert.deepEqual(await found('請求書'), [id], 'the decoded words');
      assert.deepEqual(await found('3月分 スキャン'), [id]);
      assert.deepEqual(await found('=?utf-8?b?'), [id], 'the Subject as received, any case');
      assert.deepEqual(await found('invoice'), [plain]);
      assert.deepEqual(await found('納品書'), []);
      assert.equal((await f.store.get(id))?.subject, encoded, 'the Subject itself stays as received');
      // Routed to two upstreams, the message becomes two: both are found by the decoded words.
      for (;;) {
        const [m] = await f.store.claim({ owner: 'router', route: null, limit: 1, leaseMs: 60_000, now: T0 });
        assert.ok(m);
        if (m.id !== id) {
          await f.store.assignRoutes(leaseOf(m), [{ route: 'relay', recipients: m.recipients }], T0);
          continue;
        }
        await f.store.assignRoutes(leaseOf(m), [{ route: 'relay', recipients: ['a@contoso.com'] }, { route: 'other', recipients: ['b@fabrikam.com'] }], T0);
        break;
      }
      const parts = await found('請求書');
      assert.equal(parts.length, 2, JSON.stringify(parts));
      assert.ok(parts.includes(id));
    });

    run('an accepted message is readable with everything it was given, and survives a restart', async (f) => {
      const id = await put(f.store, {
        recipients: ['a@contoso.com', 'Bcc.Only@fabrikam.com'], subject: 'Scan 42', headerFrom: 'scanner@contoso.com',
        messageIdHeader: '<x@contoso.com>', sendAs: 'scanner@contoso.com', notes: ['sender rewritten'], eightBit: true, configVersion: '3 (sha256 0123456789ab)',
        origin: { device: 'mfp-3f', clientIp: '192.0.2.10', listener: 'main', tlsVersion: 'TLSv1.2', authUser: 'mfp', authMechanism: 'LOGIN' },
      });
      for (const restart of [false, true]) {
        const store = restart ? await f.reopen() : f.store;
        const m = await store.get(id);
        assert.ok(m);
        assert.equal(m.state, 'incoming');
        assert.equal(m.route, null);
        assert.equal(m.parentId, null);
        assert.ok((await read(store.openBody(m.bodyId))).equals(bodyFor(id)));
        assert.equal(m.attempts, 0);
        assert.equal(m.kind, 'message');
        assert.equal(m.sender, 'scanner@contoso.com');
        assert.deepEqual(m.recipients, ['a@contoso.com', 'Bcc.Only@fabrikam.com']);
        assert.deepEqual(m.recipientRecords.map((r) => [r.address, r.state, r.attempts]), [['a@contoso.com', 'pending', 0], ['Bcc.Only@fabrikam.com', 'pending', 0]]);
        assert.equal(m.subject, 'Scan 42');
        assert.equal(m.sendAs, 'scanner@contoso.com');
        assert.deepEqual(m.notes, ['sender rewritten']);
        assert.equal(m.eightBit, true);
        assert.deepEqual(m.origin, { device: 'mfp-3f', clientIp: '192.0.2.10', listener: 'main', tlsVersion: 'TLSv1.2', authUser: 'mfp', authMechanism: 'LOGIN' });
        assert.equal(m.receivedAt, T0);
        assert.equal(m.expiresAt, T0 + 5 * DAY);
        assert.ok(m.nextAttemptAt <= T0, 'a new message is due at once');
        assert.ok((await read(store.openBody(m.bodyId))).equals(bodyFor(id)));
        const trail = await store.trail(id);
        assert.equal(trail[0]?.kind, 'received');
        assert.match(trail[0]!.text, /under configuration 3 \(sha256 0123456789ab\)$/);
        assert.equal(trail[0]!.data?.configVersion, '3 (sha256 0123456789ab)');
      }
    });

    run('100 concurrent accepts are all committed (grouped commits), none lost or mixed up', async (f) => {
      const recipients = (i: number) => [`user${i}@contoso.com`, `copy${i}@fabrikam.com`];
      const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => put(f.store, { recipients: recipients(i), subject: `n${i}` })));
      assert.equal(new Set(ids).size, 100);
      assert.equal((await f.store.counts()).incoming, 100);
      const store = await f.reopen();
      for (const [i, id] of ids.entries()) {
        const m = await store.get(id);
        assert.equal(m?.subject, `n${i}`);
        assert.deepEqual(m?.recipients, recipients(i));
      }
      assert.ok((await read(store.openBody((await store.get(ids[73]!))!.bodyId))).equals(bodyFor(ids[73]!)));
    });

    run('a message routed at acceptance is stored as one message per route, sharing one body', async (f) => {
      const id = await put(f.store, {
        recipients: ['a@contoso.com', 'b@fabrikam.com', 'c@contoso.com'],
        routes: [{ route: 'm365', recipients: ['a@contoso.com', 'c@contoso.com'] }, { route: 'partner', recipients: ['b@fabrikam.com'], rule: 'partner mail' }],
      });
      const first = await f.store.get(id);
      const second = await f.store.get(`${id}.1`);
      assert.ok(first && second);
      assert.deepEqual([first.route, first.state, first.parentId, first.recipients], ['m365', 'incoming', null, ['a@contoso.com', 'c@contoso.com']]);
      assert.deepEqual([second.route, second.state, second.parentId, second.recipients], ['partner', 'incoming', id, ['b@fabrikam.com']]);
      assert.equal(second.bodyId, first.bodyId);
      assert.ok((await read(f.store.openBody(second.bodyId))).equals(bodyFor(id)));
      assert.match((await f.store.trail(second.id)).find((e) => e.kind === 'routed')?.text ?? '', /^routed to partner \(partner mail\): b@fabrikam\.com$/);
      assert.equal((await f.store.counts()).incoming, 2);
      assert.deepEqual(await f.store.claim({ owner: 'n1', route: null, limit: 5, leaseMs: 1000, now: T0 }), [], 'nothing left to route');
      assert.deepEqual((await f.store.claim({ owner: 'n1', route: 'partner', limit: 5, leaseMs: 1000, now: T0 })).map((m) => m.id), [second.id]);
    });

    run('accepting a device\'s message counts it in the device inventory; a notice does not', async (f) => {
      const origin = { device: 'mfp-3f', clientIp: '192.0.2.10', listener: 'main', tlsVersion: 'TLSv1.2', authUser: 'mfp', authMechanism: 'LOGIN' };
      await put(f.store, { origin });
      await put(f.store, { origin, receivedAt: T0 + 1000 });
      await put(f.store, { kind: 'notice', sender: '', origin: { device: null, clientIp: '127.0.0.1', listener: 'notice' } });
      const seen = await f.store.devicesSeen();
      assert.deepEqual(seen.map((d) => [d.device, d.clientIp, d.accepted, d.lastSeen, d.authMechanism, d.tlsVersion]), [
        ['mfp-3f', '192.0.2.10', 2, T0 + 1000, 'LOGIN', 'TLSv1.2'],
      ]);
    });

    run('a body that is aborted leaves nothing behind', async (f) => {
      const w = f.store.createBody(newMessageId());
      w.stream.write('partial');
      await w.abort();
      assert.equal(await f.store.removeOrphanBodies(), 0);
    });
  });

  describe(`store contract: ${name}: leases`, () => {
    run('claim takes due messages of one route, up to the limit, oldest due first', async (f) => {
      const a = await put(f.store, { receivedAt: T0 - 2000 });
      const b = await put(f.store, { receivedAt: T0 - 1000 });
      await put(f.store, { receivedAt: T0 + 60_000 }); // not due yet
      const claimed = await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 30_000, now: T0 });
      assert.deepEqual(claimed.map((m) => m.id), [a]);
      assert.equal(claimed[0]!.state, 'active');
      assert.equal(claimed[0]!.leaseOwner, 'n1');
      assert.equal(claimed[0]!.leaseUntil, T0 + 30_000);
      assert.deepEqual((await f.store.claim({ owner: 'n1', route: null, limit: 10, leaseMs: 30_000, now: T0 })).map((m) => m.id), [b]);
      assert.deepEqual(await f.store.claim({ owner: 'n1', route: 'relay', limit: 10, leaseMs: 30_000, now: T0 }), [], 'no routed messages yet');
    });

    run('a claimed message is not claimed again until its lease expires', async (f) => {
      const id = await put(f.store);
      const [c] = await f.store.claim({ owner: 'n1', route: null, limit: 10, leaseMs: 30_000, now: T0 });
      assert.ok(c?.leaseToken, 'a claim gives the message a lease token');
      const n1 = leaseOf(c);
      assert.equal((await f.store.claim({ owner: 'n2', route: null, limit: 10, leaseMs: 30_000, now: T0 + 29_000 })).length, 0);
      assert.deepEqual(await f.store.renewLease([n1], 30_000, T0 + 29_000), [id], 'the holder renews its lease');
      assert.equal((await f.store.claim({ owner: 'n2', route: null, limit: 10, leaseMs: 30_000, now: T0 + 45_000 })).length, 0, 'a renewed lease holds');
      assert.deepEqual(await f.store.renewLease([{ ...n1, owner: 'n2' }], 600_000, T0 + 45_000), [], 'another owner cannot renew it');
      assert.deepEqual(await f.store.renewLease([{ ...n1, token: 'forged' }], 600_000, T0 + 45_000), [], 'nor can another claim of the same owner');
      assert.equal((await f.store.get(id))?.leaseUntil, T0 + 59_000, 'only the holder renews a lease');
      const taken = await f.store.claim({ owner: 'n2', route: null, limit: 10, leaseMs: 30_000, now: T0 + 60_000 });
      assert.deepEqual(taken.map((m) => [m.id, m.leaseOwner]), [[id, 'n2']], 'an expired lease is taken over');
      assert.notEqual(taken[0]!.leaseToken, n1.token);
    });

    run('releaseLeases gives claimed messages back to the queue at once, only for the holder', async (f) => {
      const id = await put(f.store);
      const [c] = await f.store.claim({ owner: 'n1', route: null, limit: 10, leaseMs: 300_000, now: T0 });
      assert.equal(await f.store.releaseLeases([{ ...leaseOf(c!), owner: 'n2' }], T0 + 500), 0, 'another owner cannot release it');
      assert.equal((await f.store.get(id))?.state, 'active');
      assert.equal(await f.store.releaseLeases([leaseOf(c!)], T0 + 1_000), 1);
      const m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.leaseOwner, m?.leaseToken, m?.leaseUntil], ['incoming', null, null, null]);
      const taken = await f.store.claim({ owner: 'n2', route: null, limit: 10, leaseMs: 30_000, now: T0 + 1_000 });
      assert.deepEqual(taken.map((x) => [x.id, x.leaseOwner, x.attempts]), [[id, 'n2', 0]]);
      assert.equal(await f.store.releaseLeases([leaseOf(c!)], T0 + 2_000), 0, 'a released lease cannot be released again');
      assert.equal((await f.store.get(id))?.leaseOwner, 'n2', 'and the new holder keeps it');
    });

    run('a stale holder whose lease was taken over cannot finish, renew, route or release: the new owner\'s work stands', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@contoso.com'] });
      await routeTo(f.store, id, 'relay');
      const [first] = await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 30_000, now: T0 });
      const stale = leaseOf(first!);
      // n1 stalls past its lease; n2 takes the message over and is delivering it.
      const [second] = await f.store.claim({ owner: 'n2', route: 'relay', limit: 1, leaseMs: 30_000, now: T0 + 31_000 });
      assert.equal(second?.leaseOwner, 'n2');
      const fresh = leaseOf(second!);
      const late = attempt(T0 + 32_000, 'delivered', [
        { address: 'a@contoso.com', state: 'delivered', outcome: accepted }, { address: 'b@contoso.com', state: 'delivered', outcome: accepted },
      ]);
      assert.equal(await f.store.finishAttempt(stale, late), false, 'the stale result is refused');
      let m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.leaseOwner, m?.leaseToken, m?.leaseUntil, m?.attempts], ['active', 'n2', fresh.token, T0 + 61_000, 0], 'n2\'s lease is untouched');
      assert.deepEqual(m?.recipientRecords.map((r) => [r.state, r.attempts]), [['pending', 0], ['pending', 0]], 'no recipient changed');
      assert.equal((await f.store.trail(id)).filter((e) => e.kind === 'attempt').length, 0, 'no attempt recorded');
      assert.deepEqual(await f.store.renewLease([stale], 30_000, T0 + 32_000), []);
      assert.equal(await f.store.releaseLeases([stale], T0 + 32_000), 0);
      assert.equal((await f.store.claim({ owner: 'n3', route: 'relay', limit: 1, leaseMs: 30_000, now: T0 + 40_000 })).length, 0, 'a third node cannot claim it while n2 holds it');
      // The same owner name with an older claim is stale too (a node restarted under a stable name, or a second claim of one node).
      assert.equal(await f.store.finishAttempt({ ...stale, owner: 'n2' }, late), false);
      assert.equal(await f.store.finishAttempt(fresh, attempt(T0 + 45_000, 'deferred', [
        { address: 'a@contoso.com', state: 'delivered', outcome: accepted }, { address: 'b@contoso.com', state: 'pending', outcome: deferredOutcome },
      ], T0 + 100_000)), true, 'the holder finishes');
      m = await f.store.get(id);
      assert.deepEqual([m?.state, m?.leaseOwner, m?.attempts, m?.nextAttemptAt], ['deferred', null, 1, T0 + 100_000]);
      assert.deepEqual(m?.recipientRecords.map((r) => [r.state, r.attempts]), [['delivered', 1], ['pending', 1]]);
      assert.equal(await f.store.finishAttempt(fresh, late), false, 'a lease ends with its attempt');
    });

    run('results given in the same turn are each written, or refused for a lost lease, on their own', async (f) => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const id = await put(f.store, { receivedAt: T0 - 10 + i });
        // Due one after another, so that the claim's order is theirs on every store (ties are ordered differently).
        await routeTo(f.store, id, 'relay', T0 - 10 + i);
        ids.push(id);
      }
      const claimed = await f.store.claim({ owner: 'n1', route: 'relay', limit: 4, leaseMs: 30_000, now: T0 });
      assert.deepEqual(claimed.map((m) => m.id), ids);
      const delivered = attempt(T0 + 1_000, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]);
      const stale = { ...leaseOf(claimed[2]!), token: 'not-the-token' };
      const answers = await Promise.all(claimed.map((m, i) => f.store.finishAttempt(i === 2 ? stale : leaseOf(m), delivered)));
      assert.deepEqual(answers, [true, true, false, true]);
      const states = await Promise.all(ids.map(async (id) => (await f.store.get(id))?.state));
      assert.deepEqual(states, ['delivered', 'delivered', 'active', 'delivered'], 'the refused result changed nothing, the others are written');
      assert.deepEqual(await Promise.all(ids.map(async (id) => (await f.store.trail(id)).filter((e) => e.kind === 'attempt').length)), [1, 1, 0, 1]);
    });

    run('a stale router cannot route a message another claim took over', async (f) => {
      const id = await put(f.store);
      const [first] = await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 1_000, now: T0 });
      const [second] = await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 30_000, now: T0 + 2_000 });
      assert.equal(second?.id, id, 'the same node claimed it again after the lease ran out');
      await assert.rejects(f.store.assignRoutes(leaseOf(first!), [{ route: 'relay', recipients: ['a@contoso.com'] }], T0 + 2_001));
      assert.deepEqual(await f.store.assignRoutes(leaseOf(second!), [{ route: 'relay', recipients: ['a@contoso.com'] }], T0 + 2_001), [id]);
    });

    run('recoverActive returns this owner\'s active messages and expired leases to the queue', async (f) => {
      const mine = await put(f.store, { receivedAt: T0 - 3 });
      const theirsLive = await put(f.store, { receivedAt: T0 - 2 });
      const theirsDead = await put(f.store, { receivedAt: T0 - 1 });
      await f.store.claim({ owner: 'me', route: null, limit: 1, leaseMs: 300_000, now: T0 });
      await f.store.claim({ owner: 'live', route: null, limit: 1, leaseMs: 300_000, now: T0 });
      await f.store.claim({ owner: 'dead', route: null, limit: 1, leaseMs: 1_000, now: T0 });
      assert.equal(await f.store.recoverActive('me', T0 + 5_000), 2);
      assert.equal((await f.store.get(mine))?.state, 'incoming');
      assert.equal((await f.store.get(theirsDead))?.state, 'incoming');
      assert.equal((await f.store.get(theirsDead))?.leaseOwner, null);
      assert.equal((await f.store.get(theirsLive))?.state, 'active', 'a live lease of another node is left alone');
      assert.equal(await f.store.recoverActive('me', T0 + 5_000), 0);
    });

    run('a message recovered after an attempt was made is deferred, not new', async (f) => {
      const id = await put(f.store);
      await routeTo(f.store, id, 'relay');
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 });
      assert.equal(await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0, 'deferred', [{ address: 'a@contoso.com', state: 'pending', outcome: deferredOutcome }], T0 + 1000)), true);
      await f.store.claim({ owner: 'n1', route: 'relay', limit: 1, leaseMs: 60_000, now: T0 + 1000 });
      assert.equal(await f.store.recoverActive('n1', T0 + 2000), 1);
      const m = await f.store.get(id);
      assert.equal(m?.state, 'deferred');
      assert.ok(m && m.nextAttemptAt <= T0 + 2000);
    });
  });

  describe(`store contract: ${name}: routing`, () => {
    run('assignRoutes splits a message into one per route, sharing one body', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@fabrikam.com', 'c@contoso.com'] });
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      const ids = await f.store.assignRoutes(await heldLease(f.store, id), [
        { route: 'm365', recipients: ['a@contoso.com', 'c@contoso.com'] },
        { route: 'partner', recipients: ['b@fabrikam.com'] },
      ], T0 + 10);
      assert.equal(ids.length, 2);
      assert.equal(ids[0], id);
      const [first, second] = await Promise.all(ids.map((x) => f.store.get(x)));
      assert.ok(first && second);
      assert.deepEqual([first.route, first.state, first.leaseOwner, first.recipients], ['m365', 'incoming', null, ['a@contoso.com', 'c@contoso.com']]);
      assert.deepEqual([second.route, second.state, second.parentId, second.recipients], ['partner', 'incoming', id, ['b@fabrikam.com']]);
      assert.equal(second.bodyId, first.bodyId);
      assert.equal(second.sender, first.sender);
      assert.equal(second.expiresAt, first.expiresAt);
      assert.ok((await read(f.store.openBody(second.bodyId))).equals(bodyFor(id)));
      assert.ok((await f.store.trail(ids[1]!)).some((e) => e.kind === 'routed'));
      assert.deepEqual((await f.store.queuedRoutes()).sort(), ['m365', 'partner']);
      assert.deepEqual((await f.store.claim({ owner: 'n1', route: 'partner', limit: 5, leaseMs: 1, now: T0 + 10 })).map((m) => m.id), [ids[1]]);
    });

    run('assignRoutes refuses a message the caller has not leased', async (f) => {
      const id = await put(f.store);
      await assert.rejects(f.store.assignRoutes({ id, owner: 'n1', token: 'none' }, [{ route: 'relay', recipients: ['a@contoso.com'] }], T0));
      const [c] = await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      await assert.rejects(f.store.assignRoutes({ ...leaseOf(c!), owner: 'n2' }, [{ route: 'relay', recipients: ['a@contoso.com'] }], T0));
    });

    run('a message split once can be released and split again', async (f) => {
      const id = await put(f.store, { recipients: ['a@contoso.com', 'b@fabrikam.com', 'c@northwind.com'] });
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 });
      const first = await f.store.assignRoutes(await heldLease(f.store, id), [
        { route: 'capture', recipients: ['a@contoso.com', 'c@northwind.com'] },
        { route: 'partner', recipients: ['b@fabrikam.com'] },
      ], T0);
      await f.store.claim({ owner: 'n1', route: 'capture', limit: 1, leaseMs: 60_000, now: T0 });
      const held: DeliveryOutcome = { action: 'hold', category: 'captured' };
      await f.store.finishAttempt(await heldLease(f.store, id), attempt(T0, 'held', ['a@contoso.com', 'c@northwind.com'].map((address) => ({ address, state: 'held' as const, outcome: held }))));
      assert.equal(await f.store.release(id, T0 + 1, 'admin'), true);
      await f.store.claim({ owner: 'n1', route: null, limit: 1, leaseMs: 60_000, now: T0 + 1 });
      const second = await f.store.assignRoutes(await heldLease(f.store, id), [
        { route: 'm365', recipients: ['a@contoso.com'] },
        { route: 'northwind', recipients: ['c@northwind.com'] },
      ], T0 + 1);
      assert.equal(second[0], id);
      assert.equal(new Set([...first, ...second]).size, 3, 'the new part gets an id of its own');
      assert.deepEqual((await f.store.get(second[1]!))?.recipients, ['c@northwind.com']);
      assert.deepEqual((await f.store.get(first[1]!))?.recipients, ['b@fabrikam.com'], 'the earlier part is untouched');
    });
  });

  storeStateContract(name, run);
  storeActivityContract(name, run);
  storeMigrationContract(name, run);
}
