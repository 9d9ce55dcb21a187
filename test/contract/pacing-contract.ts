/**
 * The contract every PacingCoordinator passes (MemoryPacing, PgPacing):
 * slots up to the concurrency per key, per-minute and per-day quotas with the
 * time until the next message may start, pauses, and two nodes counting
 * against the same limits. Times are passed in, so nothing waits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PacingCoordinator, SlotAnswer, SlotLimits } from '../../src/spool/pacing.js';

export interface PacingFixture {
  /** A node's coordinator. */
  a: PacingCoordinator;
  /** Another node's, on the same counts (the same instance when there is only one process). */
  b: PacingCoordinator;
  destroy(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;

function take(c: PacingCoordinator, key: string, limits: SlotLimits, now: number, recipients = 1, maxPauseMs = 60_000): Promise<SlotAnswer> {
  return c.acquire({ key, recipients, limits, now, maxPauseMs });
}

function slotOf(a: SlotAnswer): string {
  assert.ok(a.ok, `a slot was given: ${JSON.stringify(a)}`);
  return a.slot;
}

export function pacingContract(name: string, factory: () => Promise<PacingFixture>): void {
  const run = (title: string, fn: (f: PacingFixture) => Promise<void>) =>
    test(title, async () => {
      const f = await factory();
      try {
        await fn(f);
      } finally {
        await f.destroy();
      }
    });

  describe(`pacing contract: ${name}`, () => {
    run('slots up to the concurrency per key; a released slot can be taken again; keys are independent', async ({ a }) => {
      const limits = { concurrency: 2 };
      const s1 = slotOf(await take(a, 'graph/scanner@contoso.com', limits, T0));
      slotOf(await take(a, 'graph/scanner@contoso.com', limits, T0));
      assert.deepEqual(await take(a, 'graph/scanner@contoso.com', limits, T0), { ok: false, kind: 'busy', inFlight: 2 });
      slotOf(await take(a, 'graph/alice@contoso.com', limits, T0));
      await a.release(s1);
      slotOf(await take(a, 'graph/scanner@contoso.com', limits, T0 + 1));
      assert.equal((await take(a, 'graph/scanner@contoso.com', limits, T0 + 2)).ok, false);
    });

    run('messages per minute: the next start waits until the oldest of the last minute is a minute old', async ({ a }) => {
      const limits = { concurrency: 100, messagesPerMinute: 3 };
      for (const t of [0, 10, 20]) await a.release(slotOf(await take(a, 'k', limits, T0 + t)));
      const held = await take(a, 'k', limits, T0 + 30);
      assert.equal(held.ok, false);
      if (!held.ok) {
        assert.equal(held.kind, 'quota');
        if (held.kind === 'quota') {
          assert.equal(held.waitMs, MINUTE - 30);
          assert.match(held.reason, /at most 3 messages per minute/);
        }
      }
      assert.equal((await take(a, 'k', limits, T0 + MINUTE - 1)).ok, false, 'not a millisecond early');
      slotOf(await take(a, 'k', limits, T0 + MINUTE));
      const next = await take(a, 'k', limits, T0 + MINUTE + 1);
      assert.ok(!next.ok && next.kind === 'quota' && next.waitMs === 10 + MINUTE - (MINUTE + 1), JSON.stringify(next));
      slotOf(await take(a, 'other', limits, T0 + 30));
    });

    run('recipients per day: a message waits until enough of the last day\'s recipients have aged out; one bigger than the quota goes', async ({ a }) => {
      const limits = { concurrency: 100, recipientsPerDay: 10 };
      slotOf(await take(a, 'k', limits, T0, 4));
      slotOf(await take(a, 'k', limits, T0 + 1000, 4));
      const held = await take(a, 'k', limits, T0 + 2000, 3);
      assert.ok(!held.ok && held.kind === 'quota', JSON.stringify(held));
      if (!held.ok && held.kind === 'quota') {
        assert.equal(held.waitMs, DAY - 2000, 'until the first message (4 recipients) is a day old');
        assert.match(held.reason, /at most 10 recipients per day/);
      }
      const tooMany = await take(a, 'k', limits, T0 + 2000, 7);
      assert.ok(!tooMany.ok && tooMany.kind === 'quota' && tooMany.waitMs === DAY - 1000, `7 more need both earlier messages gone: ${JSON.stringify(tooMany)}`);
      slotOf(await take(a, 'k', limits, T0 + 2000, 2));
      slotOf(await take(a, 'k', limits, T0 + 3000, 11));
      assert.ok(!(await take(a, 'k', limits, T0 + 4000, 1)).ok, 'the big one was counted too');
      slotOf(await take(a, 'k', limits, T0 + DAY + 3000, 1));
    });

    run('a pause: answered at once when longer than the caller may wait, otherwise a slot is given; the later pause wins', async ({ a, b }) => {
      const limits = { concurrency: 4 };
      await a.pause('k', T0 + 5000);
      await a.pause('k', T0 + 3000);
      assert.equal(await b.pausedUntil('k', T0), T0 + 5000, 'every node sees the pause');
      assert.equal(await b.pausedUntil('other', T0), 0);
      const paused = await take(b, 'k', limits, T0, 1, 1000);
      assert.ok(!paused.ok && paused.kind === 'paused' && paused.waitMs === 5000, JSON.stringify(paused));
      slotOf(await take(b, 'k', limits, T0, 1, 10_000));
      slotOf(await take(a, 'other', limits, T0, 1, 0));
      assert.equal(await a.pausedUntil('k', T0 + 5000), 0, 'over once the time has come');
      slotOf(await take(a, 'k', limits, T0 + 5000, 1, 0));
    });

    run('a daily budget (no slot): counted when it fits, refused with the time until it fits, shared by both nodes; a pause refuses it', async ({ a, b }) => {
      assert.deepEqual(await a.spend({ key: 'budget/scanner@contoso.com', recipients: 4, perDay: 10, now: T0 }), { ok: true, used: 4 });
      assert.deepEqual(await b.spend({ key: 'budget/scanner@contoso.com', recipients: 5, perDay: 10, now: T0 + 1000 }), { ok: true, used: 9 });
      const over = await a.spend({ key: 'budget/scanner@contoso.com', recipients: 2, perDay: 10, now: T0 + 2000 });
      assert.ok(!over.ok && over.kind === 'quota' && over.waitMs === DAY - 2000 && over.used === 9, JSON.stringify(over));
      assert.equal(await b.spent('budget/scanner@contoso.com', T0 + 2000), 9, 'the refused message was not counted');
      assert.deepEqual(await b.spend({ key: 'budget/scanner@contoso.com', recipients: 1, perDay: 10, now: T0 + 2000 }), { ok: true, used: 10 });
      assert.equal(await a.spent('budget/scanner@contoso.com', T0 + DAY), 6, 'the first message has aged out');
      assert.deepEqual(await a.spend({ key: 'budget/other@contoso.com', recipients: 3, perDay: 10, now: T0 }), { ok: true, used: 3 });
      await b.pause('budget/other@contoso.com', T0 + 60_000);
      const paused = await a.spend({ key: 'budget/other@contoso.com', recipients: 1, perDay: 10, now: T0 + 1000 });
      assert.ok(!paused.ok && paused.kind === 'paused' && paused.waitMs === 59_000, JSON.stringify(paused));
      assert.match(paused.ok ? '' : paused.reason, /daily sending limit/);
      assert.equal((await a.spend({ key: 'budget/other@contoso.com', recipients: 1, perDay: 10, now: T0 + 60_000 })).ok, true);
    });

    run('a dry run of the daily budget answers as spending would and counts nothing', async ({ a, b }) => {
      const key = 'budget/dry@contoso.com';
      assert.deepEqual(await a.spend({ key, recipients: 8, perDay: 10, now: T0, dryRun: true }), { ok: true, used: 0 });
      assert.equal(await b.spent(key, T0), 0, 'nothing counted');
      assert.deepEqual(await a.spend({ key, recipients: 8, perDay: 10, now: T0 }), { ok: true, used: 8 });
      const over = await b.spend({ key, recipients: 3, perDay: 10, now: T0 + 1000, dryRun: true });
      assert.ok(!over.ok && over.kind === 'quota' && over.waitMs === DAY - 1000 && over.used === 8, JSON.stringify(over));
      assert.deepEqual(await b.spend({ key, recipients: 2, perDay: 10, now: T0 + 1000, dryRun: true }), { ok: true, used: 8 });
      assert.equal(await a.spent(key, T0 + 1000), 8, 'still only what was spent');
    });

    run('two nodes count against the same limits: of many requests at once, exactly the concurrency get a slot', async ({ a, b }) => {
      const limits = { concurrency: 4, messagesPerMinute: 30 };
      const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => take(i % 2 ? a : b, 'graph/scanner@contoso.com', limits, T0 + i)));
      const granted = answers.filter((x) => x.ok);
      assert.equal(granted.length, 4);
      assert.ok(answers.every((x) => x.ok || x.kind === 'busy'));
      // Slots are released by whichever node holds them; then the others get their turn.
      for (const [i, g] of answers.entries()) if (g.ok) await (i % 2 ? a : b).release(g.slot);
      const second = await Promise.all(Array.from({ length: 24 }, (_, i) => take(i % 2 ? b : a, 'graph/scanner@contoso.com', limits, T0 + 100 + i)));
      assert.equal(second.filter((x) => x.ok).length, 4);
    });
  });
}
