/**
 * The per-mailbox pacer: slots per mailbox, and waits that end as soon as the
 * relay shuts down (an aborted attempt must not sit out the pacer's wait).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MailboxPacer } from '../../src/deliver/pacing.js';

describe('pacing', () => {
  test('a slot per mailbox up to the concurrency; a released slot goes to the next waiter', async () => {
    const pacer = new MailboxPacer({ concurrency: 1, maxWaitMs: 5_000 });
    const a = await pacer.acquire('Scanner@contoso.com', 1);
    assert.ok(a.ok);
    const other = await pacer.acquire('alice@contoso.com', 1);
    assert.ok(other.ok, 'another mailbox has its own slots');
    const waiting = pacer.acquire('scanner@contoso.com', 1);
    setTimeout(() => a.release(), 50);
    const b = await waiting;
    assert.ok(b.ok, 'the same mailbox (any case) waited for the slot');
    b.release();
    other.release();
  });

  test('shutdown ends a wait for a slot at once', async () => {
    const pacer = new MailboxPacer({ concurrency: 1, maxWaitMs: 30_000 });
    const held = await pacer.acquire('scanner@contoso.com', 1);
    assert.ok(held.ok);
    const ac = new AbortController();
    const started = Date.now();
    const waiting = pacer.acquire('scanner@contoso.com', 1, ac.signal);
    setTimeout(() => ac.abort(), 50);
    const grant = await waiting;
    assert.ok(Date.now() - started < 2_000, `the wait ended ${Date.now() - started} ms after it began`);
    assert.equal(grant.ok, false);
    if (!grant.ok) assert.match(grant.reason, /shutting down/);
    held.release();
    const again = await pacer.acquire('scanner@contoso.com', 1);
    assert.ok(again.ok, 'the aborted waiter left no trace: the slot is free');
  });

  test('an already aborted signal: no wait for a Retry-After', async () => {
    const pacer = new MailboxPacer({ concurrency: 1 });
    pacer.pause('scanner@contoso.com', 20_000);
    const ac = new AbortController();
    ac.abort();
    const started = Date.now();
    await pacer.whenOpen('scanner@contoso.com', ac.signal);
    assert.ok(Date.now() - started < 1_000);
  });
});
