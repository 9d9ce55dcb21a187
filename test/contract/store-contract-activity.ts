/**
 * Store contract, activity and search (see store-contract.ts): accepted,
 * delivered and failed counts per time bucket from explicit timestamps, and
 * listing by subject and by a received-time range.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { T0, accepted, attempt, heldLease, put, refused, type StoreFixture } from './store-contract.js';

type Run = (title: string, fn: (f: StoreFixture) => Promise<void>) => ReturnType<typeof test>;

const HOUR = 3_600_000;

export function storeActivityContract(name: string, run: Run): void {
  describe(`store contract: ${name}: activity and search`, () => {
    run('activity counts accepted by received time, delivered and failed by the time of the last attempt', async (f) => {
      // Each message is routed to an upstream of its own at acceptance, so each attempt claims exactly it.
      const put1 = (receivedAt: number, route: string, recipients = ['a@contoso.com']) =>
        put(f.store, { receivedAt, recipients, routes: [{ route, recipients }] });
      const finish = async (id: string, route: string, at: number, state: 'delivered' | 'failed', address = 'a@contoso.com') => {
        const claimed = await f.store.claim({ owner: 'n1', route, limit: 10, leaseMs: 60_000, now: at });
        assert.deepEqual(claimed.map((m) => m.id), [id]);
        await f.store.finishAttempt(await heldLease(f.store, id), attempt(at, state, [{ address, state, outcome: state === 'delivered' ? accepted : refused }]));
      };
      // Accepted: two in hour 0, one in hour 1 (split in two parts at acceptance), one in hour 3, one before the window.
      const a = await put1(T0 + 10, 'ra');
      const b = await put1(T0 + HOUR - 1, 'rb');
      const c = await put(f.store, { receivedAt: T0 + HOUR, recipients: ['x@contoso.com', 'y@fabrikam.com'],
        routes: [{ route: 'rc1', recipients: ['x@contoso.com'] }, { route: 'rc2', recipients: ['y@fabrikam.com'] }] });
      await put1(T0 + 3 * HOUR + 5, 'rd');
      const early = await put1(T0 - 1, 're');
      // Finished: early delivered in hour 0, a delivered in hour 1, b failed in hour 2, c's parts delivered in hours 2 and 3.
      await finish(early, 're', T0 + 30, 'delivered');
      await finish(a, 'ra', T0 + HOUR + 20, 'delivered');
      await finish(b, 'rb', T0 + 2 * HOUR, 'failed');
      await finish(c, 'rc1', T0 + 2 * HOUR + 1, 'delivered', 'x@contoso.com');
      await finish(`${c}.1`, 'rc2', T0 + 3 * HOUR + 1, 'delivered', 'y@fabrikam.com');

      const buckets = await f.store.activity({ since: T0, until: T0 + 4 * HOUR, bucketMs: HOUR });
      assert.deepEqual(buckets, [
        { start: T0, accepted: 2, delivered: 1, failed: 0 },
        { start: T0 + HOUR, accepted: 1, delivered: 1, failed: 0 },
        { start: T0 + 2 * HOUR, accepted: 0, delivered: 1, failed: 1 },
        { start: T0 + 3 * HOUR, accepted: 1, delivered: 1, failed: 0 },
      ]);
      const wide = await f.store.activity({ since: T0 - 2 * HOUR, until: T0 + 4 * HOUR, bucketMs: 3 * HOUR });
      assert.deepEqual(wide.map((x) => [x.start, x.accepted, x.delivered, x.failed]), [
        [T0 - 2 * HOUR, 3, 1, 0], [T0 + HOUR, 2, 3, 1],
      ], 'the message received before T0 counts in the wider window');

      // A retried message leaves the failed bucket until its next attempt.
      assert.equal(await f.store.retry(b, T0 + 3 * HOUR, T0 + 9 * HOUR, 'test'), true);
      const after = await f.store.activity({ since: T0, until: T0 + 4 * HOUR, bucketMs: HOUR });
      assert.deepEqual(after.map((x) => x.failed), [0, 0, 0, 0]);
      assert.deepEqual(after.map((x) => x.accepted), [2, 1, 0, 1], 'accepted counts do not move');
    });

    run('activity: empty windows are all zeros, a window with no whole bucket count rounds up, bad queries are refused', async (f) => {
      assert.deepEqual(await f.store.activity({ since: T0, until: T0 + 2 * HOUR, bucketMs: HOUR }), [
        { start: T0, accepted: 0, delivered: 0, failed: 0 }, { start: T0 + HOUR, accepted: 0, delivered: 0, failed: 0 },
      ]);
      await put(f.store, { receivedAt: T0 + 90 * 60_000 });
      assert.deepEqual((await f.store.activity({ since: T0, until: T0 + 90 * 60_000 + 1, bucketMs: HOUR })).map((x) => x.accepted), [0, 1]);
      await assert.rejects(async () => f.store.activity({ since: T0, until: T0, bucketMs: HOUR }), RangeError);
      await assert.rejects(async () => f.store.activity({ since: T0, until: T0 + HOUR, bucketMs: 0 }), RangeError);
      await assert.rejects(async () => f.store.activity({ since: 0, until: T0, bucketMs: 1 }), RangeError);
    });

    run('list filters by subject (substring, any case, wildcards taken literally) and by a received-time range', async (f) => {
      const scan = await put(f.store, { receivedAt: T0 - HOUR, subject: 'Scan from MFP-3F' });
      const invoice = await put(f.store, { receivedAt: T0, subject: 'Invoice 100% paid' });
      const none = await put(f.store, { receivedAt: T0 + HOUR });
      const jp = await put(f.store, { receivedAt: T0 + 2 * HOUR, subject: 'スキャンデータ 送信' });
      assert.deepEqual((await f.store.list({ subject: 'scan' })).map((m) => m.id), [scan]);
      assert.deepEqual((await f.store.list({ subject: 'mfp-3F' })).map((m) => m.id), [scan]);
      assert.deepEqual((await f.store.list({ subject: '100%' })).map((m) => m.id), [invoice]);
      assert.deepEqual((await f.store.list({ subject: '%' })).map((m) => m.id), [invoice], '% is a character, not a wildcard');
      assert.deepEqual((await f.store.list({ subject: '_' })), []);
      assert.deepEqual((await f.store.list({ subject: 'スキャン' })).map((m) => m.id), [jp]);
      assert.deepEqual((await f.store.list({ since: T0 })).map((m) => m.id), [jp, none, invoice]);
      assert.deepEqual((await f.store.list({ since: T0, before: T0 + 2 * HOUR })).map((m) => m.id), [none, invoice]);
      assert.deepEqual((await f.store.list({ since: T0 - HOUR, before: T0, subject: 'scan' })).map((m) => m.id), [scan]);
      assert.deepEqual((await f.store.list({ since: T0 + 3 * HOUR })), []);
    });
  });
}
