/** backoff.ts is pure: retry waits and the destination health state machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationHealth, destinationBackoff, jitter, messageBackoff, type BackoffOptions } from '../../src/deliver/backoff.js';

const o: BackoffOptions = { minBackoff: 60_000, maxBackoff: 3_600_000, destinationMinBackoff: 30_000, destinationMaxBackoff: 600_000 };
const fixed = (r: number) => () => r;

test('jitter spreads a wait over 75 %..125 %', () => {
  assert.equal(jitter(1000, fixed(0)), 750);
  assert.equal(jitter(1000, fixed(0.5)), 1000);
  assert.equal(jitter(1000, fixed(0.999999)), 1250);
  for (let i = 0; i < 1000; i++) {
    const j = jitter(1000);
    assert.ok(j >= 750 && j <= 1250, String(j));
  }
});

test('message backoff doubles from minBackoff per attempt and stops at maxBackoff', () => {
  const mid = fixed(0.5);
  assert.deepEqual([1, 2, 3, 4].map((n) => messageBackoff(n, o, mid)), [60_000, 120_000, 240_000, 480_000]);
  assert.equal(messageBackoff(0, o, mid), 60_000, 'attempt 0 counts as the first');
  assert.equal(messageBackoff(7, o, mid), 3_600_000);
  assert.equal(messageBackoff(50, o, fixed(0.999)), 3_600_000, 'jitter never goes past maxBackoff');
  assert.equal(messageBackoff(1000, o, mid), 3_600_000, 'no overflow with many attempts');
});

test('destination backoff doubles from destinationMinBackoff and stops at destinationMaxBackoff', () => {
  const mid = fixed(0.5);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => destinationBackoff(n, o, mid)), [30_000, 60_000, 120_000, 240_000, 480_000, 600_000]);
  assert.equal(destinationBackoff(3, o, fixed(0)), 90_000);
});

test('DestinationHealth: a failure pauses the route and starts probing; failures during a pause count once', () => {
  const h = new DestinationHealth();
  assert.ok(h.available(0));
  const until = h.fail(1_000, o, 'connection refused');
  assert.ok(until >= 1_000 + 22_500 && until <= 1_000 + 37_500, String(until));
  assert.deepEqual([h.failures, h.probing, h.lastError, h.available(1_001), h.available(until)], [1, true, 'connection refused', false, true]);
  assert.equal(h.fail(2_000, o, 'again'), until, 'messages already in flight when it went down do not lengthen the pause');
  assert.equal(h.failures, 1);
  const next = h.fail(until, o, 'probe failed');
  assert.equal(h.failures, 2);
  assert.ok(next - until >= 45_000 && next - until <= 75_000, 'the second pause is about twice as long');
  h.succeed();
  assert.deepEqual([h.failures, h.pausedUntil, h.probing, h.lastError], [0, 0, false, undefined]);
});

test('DestinationHealth: a Retry-After hint sets the pause (never under one second)', () => {
  const h = new DestinationHealth();
  assert.equal(h.fail(0, o, '429', 120_000), 120_000);
  const g = new DestinationHealth();
  assert.equal(g.fail(0, o, '429', 0), 1000);
});
