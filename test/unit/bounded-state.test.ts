/**
 * State kept per key that outsiders choose stays bounded: per-mailbox pacing
 * (the mailbox may come from a device's From header), SMTP AUTH lockout and
 * device rates (client addresses, user names), the admin sign-in lockout
 * (client addresses). Each is fed 100,000 distinct keys on a clock that moves
 * on, so that entries expire; the number of keys kept stays near the keys in
 * use, and the heap does not grow with the keys seen. The limits themselves
 * still hold for the keys that are in use (a lock taken at the start is still
 * there at the end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryPacing } from '../../src/spool/pacing.js';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import { Lockout, RateLimiter } from '../../src/identity/lockout.js';
import { AdminAuth } from '../../src/admin/auth/admin-auth.js';
import type { AdminDb } from '../../src/admin/auth/admin-db.js';

const KEYS = 100_000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection (MB). */
function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/**
 * Feeds KEYS keys through `feed` (which may be async) and returns the largest
 * size seen and the heap growth between a tenth of the way and the end.
 */
async function run(feed: (i: number) => void | Promise<void>, size: () => number): Promise<{ most: number; sizes: number[]; growthMb: number }> {
  let most = 0;
  let early = 0;
  const sizes: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    await feed(i);
    most = Math.max(most, size());
    if (i === KEYS / 10) early = heapMb();
    if ((i + 1) % (KEYS / 5) === 0) sizes.push(size());
  }
  return { most, sizes, growthMb: heapMb() - early };
}

test('pacing counts (MemoryPacing): 100,000 distinct mailboxes keep only the last minute\'s keys', { timeout: 60_000 }, async () => {
  const pacing = new MemoryPacing();
  const limits = { concurrency: 4, messagesPerMinute: 30 };
  // One new mailbox every 100 ms: about 600 have sent within the last minute at any time.
  const r = await run(async (i) => {
    const now = T0 + i * 100;
    const a = await pacing.acquire({ key: `graph/sender${i}@example.com`, recipients: 1, limits, now, maxPauseMs: 60_000 });
    assert.ok(a.ok);
    await pacing.release(a.slot);
    if (i % 100 === 0) await pacing.pause(`graph/sender${i}@example.com`, now + 5_000);
  }, () => pacing.size());
  assert.ok(r.most <= 1_000, `at most ${r.most} keys kept (600 in use)`);
  assert.ok(r.sizes.every((s) => s <= 1_000), `sizes ${r.sizes.join(', ')}`);
  assert.ok(r.growthMb < 8, `heap grew ${r.growthMb.toFixed(1)} MB over 90,000 more mailboxes`);

  // A key in use keeps its counts however many others pass: its per-minute quota still holds.
  const busy = new MemoryPacing();
  const t = T0 + KEYS * 100;
  for (let n = 0; n < 30; n++) {
    const a = await busy.acquire({ key: 'graph/scanner@contoso.com', recipients: 1, limits, now: t, maxPauseMs: 60_000 });
    assert.ok(a.ok);
    await busy.release(a.slot);
  }
  for (let i = 0; i < 10_000; i++) {
    const a = await busy.acquire({ key: `graph/other${i}@example.com`, recipients: 1, limits, now: t + i, maxPauseMs: 60_000 });
    if (a.ok) await busy.release(a.slot);
  }
  const held = await busy.acquire({ key: 'graph/scanner@contoso.com', recipients: 1, limits, now: t + 10_000, maxPauseMs: 60_000 });
  assert.ok(!held.ok && held.kind === 'quota', `the 31st message within the minute is held back: ${JSON.stringify(held)}`);
});

test('recipients per day: a mailbox\'s counts stay for a day, then go', { timeout: 30_000 }, async () => {
  const pacing = new MemoryPacing();
  const limits = { concurrency: 4, recipientsPerDay: 10 };
  const take = async (key: string, recipients: number, now: number, l: typeof limits | { concurrency: number } = limits) => {
    const a = await pacing.acquire({ key, recipients, limits: l, now, maxPauseMs: 0 });
    if (a.ok) await pacing.release(a.slot);
    return a;
  };
  assert.ok((await take('k', 10, T0)).ok);
  for (let i = 0; i < 100; i++) await take(`o${i}`, 1, T0 + 1000 + i);
  assert.equal(pacing.size(), 101);
  const held = await take('k', 1, T0 + 86_399_000);
  assert.ok(!held.ok && held.kind === 'quota', 'still counted a second before the day is over');
  assert.equal(pacing.size(), 101, 'nothing dropped within the day');
  // A day after the last of them, a few calls for other keys clear them out.
  for (let i = 0; i < 50; i++) await take(`p${i}`, 1, T0 + 86_401_100 + i, { concurrency: 4 });
  assert.ok(pacing.size() <= 8, `${pacing.size()} keys left: the day-old ones were dropped`);
  assert.ok((await take('k', 10, T0 + 86_401_200)).ok);
});

test('the mailbox pacer (MailboxPacer): 100,000 distinct From mailboxes keep only the recently used ones', { timeout: 60_000 }, async () => {
  let now = T0;
  const coordinator = new MemoryPacing();
  const pacer = new MailboxPacer({ concurrency: 4, messagesPerMinute: 30 }, () => now, { coordinator, scope: 'm365' });
  // One new mailbox every second; the pacer forgets a mailbox 10 minutes after its last use.
  const r = await run(async (i) => {
    now = T0 + i * 1_000;
    const g = await pacer.acquire(`device${i}@printer.local`, 1);
    assert.ok(g.ok);
    if (i % 100 === 0) pacer.pause(`device${i}@printer.local`, 5_000);
    g.release();
  }, () => pacer.size());
  assert.ok(r.most <= 1_000, `at most ${r.most} mailboxes kept (600 used in the last 10 minutes)`);
  assert.ok(pacer.peak.size <= 1_000, `${pacer.peak.size} peaks kept`);
  assert.ok(coordinator.size() <= 200, `${coordinator.size()} keys counted (60 in the last minute)`);
  assert.ok(r.growthMb < 8, `heap grew ${r.growthMb.toFixed(1)} MB over 90,000 more mailboxes`);
  // A pause still holds for its mailbox.
  pacer.pause('scanner@contoso.com', 30_000);
  now += 20_000;
  assert.equal(pacer.pausedUntil('scanner@contoso.com'), now + 10_000);
});

test('SMTP AUTH lockout: 100,000 distinct user names and addresses keep only the window\'s; a lock holds to its end', { timeout: 60_000 }, async () => {
  const lockout = new Lockout({ limit: 5, windowMs: MINUTE, lockMs: 60 * MINUTE });
  for (let n = 0; n < 5; n++) lockout.fail(['ip:192.0.2.7', 'user:victim'], T0);
  assert.ok(lockout.isLocked(['user:victim'], T0));
  // One failure every 20 ms from a new address with a new user name: 3,000 of each in the last minute.
  const r = await run((i) => {
    lockout.fail([`ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user:guess${i}`], T0 + i * 20);
  }, () => lockout.size());
  const end = T0 + KEYS * 20;
  assert.ok(r.most <= 9_000, `at most ${r.most} keys kept (6,000 failed in the last minute)`);
  assert.ok(r.growthMb < 8, `heap grew ${r.growthMb.toFixed(1)} MB over 180,000 more keys`);
  assert.ok(lockout.isLocked(['ip:192.0.2.7'], end) && lockout.isLocked(['user:victim'], end), 'the lock taken first is still there after 33 minutes');
  assert.equal(lockout.lockedUntil('user:victim', end), T0 + 60 * MINUTE);
  assert.equal(lockout.failures(`user:guess${KEYS - 1}`, end), 1, 'a recent failure is still counted');
  assert.equal(lockout.isLocked(['user:victim'], T0 + 60 * MINUTE), false, 'the lock ends on time');
});

test('device rate limits: 100,000 distinct keys keep only the windows still open', { timeout: 60_000 }, async () => {
  const rates = new RateLimiter();
  const limit = { messages: 2, per: MINUTE };
  const r = await run((i) => {
    assert.equal(rates.take(`device${i}`, limit, T0 + i * 20), 0);
  }, () => rates.size());
  assert.ok(r.most <= 5_000, `at most ${r.most} windows kept (3,000 open)`);
  const t = T0 + KEYS * 20;
  assert.equal(rates.take('mfp', limit, t), 0);
  assert.equal(rates.take('mfp', limit, t + 1), 0);
  assert.equal(rates.take('mfp', limit, t + 2), MINUTE - 2, 'the limit still holds');
});

test('admin sign-in lockout: 100,000 distinct client addresses keep only the recent ones; a locked address stays locked to the end', { timeout: 60_000 }, async () => {
  const auth = new AdminAuth({} as AdminDb, { sessionLifetimeMs: 3_600_000, failureLimit: 5, failureWindowMs: 15 * MINUTE, lockoutMs: 15 * MINUTE });
  const victim = '198.51.100.9';
  let lockedAt = 0;
  // Each address fails 5 times and is locked for 15 minutes, one new address every 100 ms: 9,000 locked at any time.
  const r = await run((i) => {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const now = T0 + i * 100;
    for (let n = 0; n < 5; n++) auth.tokenFailed(ip, now);
    assert.equal(auth.lockedFor(ip, now), 15 * MINUTE);
    // Half way, one more address is locked; 14 minutes (8,400 addresses) later it still is, to the millisecond.
    if (i === KEYS / 2) {
      for (let n = 0; n < 5; n++) auth.signInFailed(victim, now);
      lockedAt = now;
    }
    if (i === KEYS / 2 + 8_400) assert.equal(auth.lockedFor(victim, now), lockedAt + 15 * MINUTE - now);
  }, () => auth.trackedAddresses());
  assert.ok(r.most <= 12_000, `at most ${r.most} addresses kept (9,000 locked)`);
  assert.ok(r.growthMb < 8, `heap grew ${r.growthMb.toFixed(1)} MB over 90,000 more addresses`);
  assert.equal(auth.lockedFor(victim, lockedAt + 15 * MINUTE), 0, 'the lock ends after its 15 minutes');
});
