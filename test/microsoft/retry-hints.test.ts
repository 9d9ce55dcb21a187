/**
 * The queue waits as long as a transport's retry hint says, not its own
 * backoff: a Graph 429 whose Retry-After (30 s) is longer than the transport
 * waits inside an attempt (10 s), and a message the pacer holds back because
 * Microsoft paused its mailbox ('paced', with the time the pause ends).
 *
 * Seen through the queue, not by timing: the deferred message's next attempt
 * is set to the attempt's end plus the hint, and it is not tried earlier. The
 * queue's own backoff here is 1 s (±25 %) for a first retry, so a relay that
 * ignored the hints would try again within 1.25 s.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { plainText } from '../fixtures/corpus.js';
import { contoso, deviceSend, graphUpstream } from '../helpers/m365.js';
import { attemptsOf, sleep, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
});

/** First retry after 0.75–1.25 s; hints up to 4 × maxBackoff (120 s) are followed as they are. */
const QUEUE = { pollInterval: '100ms', minBackoff: '1s', maxBackoff: '30s', destinationMinBackoff: '1s', destinationMaxBackoff: '30s' };

/** The first attempt's end (from the trail) and the next attempt the queue set for the deferred message. */
async function deferral(relay: TestRelay, id: string): Promise<{ at: number; next: number; category: string | undefined }> {
  const m = await relay.waitFor(id, ['deferred', 'delivered', 'failed'], 30_000);
  assert.equal(m.state, 'deferred', JSON.stringify(m.lastError));
  assert.equal(m.attempts, 1);
  const [attempt] = await attemptsOf(relay, id);
  assert.ok(attempt, 'the attempt is in the trail');
  return { at: attempt.at, next: m.nextAttemptAt, category: m.lastError?.category };
}

test('a Graph 429 with Retry-After: 30 (longer than the in-attempt wait): the next attempt is 30 s later, not on the queue\'s backoff', { timeout: 120_000 }, async () => {
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c) }, routes: [{ use: 'm365' }], queue: QUEUE });
  try {
    emu.fault({ target: 'graph', mailbox: c.scanner, fault: { throttle: true, retryAfterSeconds: 30 }, count: 1 });
    const m = plainText(c.scanner, [c.alice]);
    const id = await deviceSend(relay, m.from, m.to, m.raw);
    const d = await deferral(relay, id);
    assert.equal(d.category, 'throttled');
    const wait = d.next - d.at;
    assert.ok(wait >= 29_900 && wait <= 30_100, `next attempt ${wait} ms after the 429, Retry-After asked for 30,000`);

    // Well past the queue's own backoff, the message is still waiting and nothing more went to Graph.
    await sleep(3_000);
    const still = await relay.store.get(id);
    assert.equal(still?.state, 'deferred', `the message is ${still?.state} ${Date.now() - d.at} ms after the 429`);
    assert.equal(still?.attempts, 1);
    const graph = () => emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase());
    assert.equal(graph().length, 1, 'one Graph request (the 429)');

    // Then it goes, once the time has come.
    const done = await relay.waitFor(id, ['delivered', 'failed'], 60_000);
    assert.equal(done.state, 'delivered');
    const attempts = await attemptsOf(relay, id);
    assert.equal(attempts.length, 2);
    const accepted = graph().filter((r) => r.status === 202);
    assert.equal(accepted.length, 1);
    assert.ok((accepted[0]!.startedAt ?? 0) >= d.next, `the second request started ${(accepted[0]!.startedAt ?? 0) - d.next} ms after the time set`);
  } finally {
    await relay.close();
  }
});

test('a message the pacer holds back (its mailbox paused 90 s by a 429) is tried again when the pause ends, not on the queue\'s backoff', { timeout: 120_000 }, async () => {
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c) }, routes: [{ use: 'm365' }], queue: QUEUE });
  try {
    // The first message meets a 429 asking for 90 s: longer than the pacer lets a message wait for a slot (60 s).
    emu.fault({ target: 'graph', mailbox: c.scanner, fault: { throttle: true, retryAfterSeconds: 90 }, count: 1 });
    const first = plainText(c.scanner, [c.alice]);
    const firstId = await deviceSend(relay, first.from, first.to, first.raw);
    const d1 = await deferral(relay, firstId);
    assert.equal(d1.category, 'throttled');
    const pauseEnds = d1.next;
    assert.ok(Math.abs(pauseEnds - d1.at - 90_000) <= 100, `first message: next attempt ${pauseEnds - d1.at} ms after the 429`);

    // A second message for the same mailbox does not reach Graph: the pacer answers 'paced' with the time left.
    await sleep(500);
    const second = plainText(c.scanner, [c.bob]);
    const secondId = await deviceSend(relay, second.from, second.to, second.raw);
    const d2 = await deferral(relay, secondId);
    assert.equal(d2.category, 'paced');
    assert.ok(d2.next - d2.at >= 80_000, `second message: next attempt ${d2.next - d2.at} ms after it was held back`);
    assert.ok(Math.abs(d2.next - pauseEnds) <= 1_000, `the second message is due ${d2.next - pauseEnds} ms from the end of the pause`);

    await sleep(3_000);
    for (const id of [firstId, secondId]) {
      const m = await relay.store.get(id);
      assert.equal(m?.state, 'deferred', `${id} is ${m?.state} after the queue's own backoff had passed`);
      assert.equal(m?.attempts, 1);
    }
    const graph = emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase());
    assert.equal(graph.length, 1, 'one Graph request (the 429)');
  } finally {
    await relay.close();
  }
});
