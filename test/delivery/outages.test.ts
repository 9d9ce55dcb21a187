/**
 * The upstream goes away: nothing listening, connections dropped after the
 * message was sent, and Postfix's smtp-sink as a third-party upstream (plain,
 * dropping, deferring, refusing). The route is paused and probed, not stormed;
 * nothing is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from '../helpers/upstream.js';
import { freePort, startSmtpSink } from '../helpers/tools.js';
import { attemptsOf, sendMail, sleep, smtpUpstream, startRelay } from '../helpers/delivery.js';

test('upstream down, then up: the route is paused and probed one message at a time, then everything is delivered', async () => {
  const port = await freePort();
  const relay = await startRelay({
    upstreams: { relay: smtpUpstream(port, { concurrency: 4 }) },
    queue: { pollInterval: '50ms', minBackoff: '200ms', maxBackoff: '400ms', destinationMinBackoff: '1s', destinationMaxBackoff: '1s' },
  });
  let up: Awaited<ReturnType<typeof startUpstream>> | undefined;
  try {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await sendMail(relay, { to: [`user${i}@contoso.com`], subject: `while down ${i}` }));
    await sleep(3_200);
    const status = relay.scheduler.destinationStatus().find((d) => d.route === 'relay');
    assert.ok(status && status.failures >= 1 && status.pausedUntil > 0, JSON.stringify(status));
    for (const id of ids) {
      const m = await relay.store.get(id);
      assert.ok(m && ['deferred', 'incoming', 'active'].includes(m.state), `${id} is ${m?.state}`);
    }
    const failed = (await Promise.all(ids.map((id) => attemptsOf(relay, id)))).flat();
    assert.ok(failed.every((e) => e.text.startsWith('deferred')));
    const at = failed.map((e) => e.at).sort((x, y) => x - y);
    // Messages already in flight when the upstream is found down fail together (at most `concurrency`);
    // after that the route is paused (at least 750 ms here) and one message at a time probes it.
    const firstWave = at.filter((t) => t <= at[0]! + 500);
    const probes = at.filter((t) => t > at[0]! + 500);
    const shape = `attempts at +${at.map((t) => t - at[0]!).join(', +')} ms`;
    assert.ok(firstWave.length <= 4, shape);
    assert.ok(probes.length >= 2 && probes.length <= 4, shape);
    assert.ok(probes[0]! - at[0]! >= 700, `the first probe waits for the pause: ${shape}`);
    for (let i = 1; i < probes.length; i++) assert.ok(probes[i]! - probes[i - 1]! >= 700, `probes are a pause apart: ${shape}`);
    // Without the pause, 6 messages retried every 200-400 ms would have made about 50 attempts by now.
    const last = (await relay.store.get(ids[0]!))!.lastError;
    assert.equal(last?.scope, 'destination');
    assert.equal(last?.category, 'connection');

    up = await startUpstream({ port });
    for (const id of ids) await relay.waitFor(id, ['delivered'], 10_000);
    assert.equal(up.received.length, 6, 'each message arrived once');
    assert.equal(relay.scheduler.destinationStatus().find((d) => d.route === 'relay')?.failures, 0, 'the route is healthy again');
  } finally {
    await relay.close();
    await up?.kill();
  }
});

test('connection dropped after the message was sent: retried, logged as a possible duplicate, delivered', async () => {
  const up = await startUpstream();
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) } });
  try {
    up.dropAfterData = true;
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    await relay.waitFor(id, ['deferred']);
    up.dropAfterData = false;
    const m = await relay.waitFor(id, ['delivered']);
    assert.equal(m.attempts, 2);
    const [first] = await attemptsOf(relay, id);
    const rcpt = (first!.data!.recipients as { outcome: { possibleDuplicate?: boolean } }[])[0]!;
    assert.equal(rcpt.outcome.possibleDuplicate, true);
    assert.ok(relay.logs.some((l) => l.event === 'possible-duplicate' && l.id === id));
    assert.equal(up.received.length, 1);
  } finally {
    await relay.close();
    await up.kill();
  }
});

test('smtp-sink -q . (drops after the end of data): retried as a possible duplicate until a working upstream takes it', async () => {
  const sink = await startSmtpSink(['-q', '.']);
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(sink.port) } });
  let up: Awaited<ReturnType<typeof startUpstream>> | undefined;
  try {
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    await relay.waitFor(id, ['deferred']);
    assert.ok(relay.logs.some((l) => l.event === 'possible-duplicate' && l.id === id));
    assert.equal((await relay.store.get(id))?.lastError?.possibleDuplicate, true);
    await sink.stop();
    up = await startUpstream({ port: sink.port });
    const m = await relay.waitFor(id, ['delivered'], 10_000);
    assert.ok(m.attempts >= 2);
    assert.ok(up.received.length >= 1, 'delivered at least once');
  } finally {
    await relay.close();
    await sink.stop();
    await up?.kill();
  }
});

test('Postfix smtp-sink as the upstream: a batch of 50 messages is delivered', async () => {
  const sink = await startSmtpSink();
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(sink.port, { concurrency: 4 }) } });
  try {
    const ids = (await Promise.all(Array.from({ length: 5 }, async (_, s) => {
      const mine: string[] = [];
      for (let i = 0; i < 10; i++) mine.push(await sendMail(relay, { to: [`user${s}-${i}@contoso.com`, `copy${i}@fabrikam.com`], subject: `batch ${s}/${i}` }));
      return mine;
    }))).flat();
    assert.equal(new Set(ids).size, 50);
    for (const id of ids) {
      const m = await relay.waitFor(id, ['delivered'], 20_000);
      assert.equal(m.attempts, 1);
      assert.ok(m.recipientRecords.every((r) => r.state === 'delivered'));
    }
    assert.equal((await relay.store.counts()).delivered, 50);
  } finally {
    await relay.close();
    await sink.stop();
  }
});

test('smtp-sink answering DATA with 4xx defers; answering RCPT with 5xx fails', async () => {
  const soft = await startSmtpSink(['-r', 'DATA']);
  const hard = await startSmtpSink(['-f', 'RCPT']);
  const relay = await startRelay({
    upstreams: { soft: smtpUpstream(soft.port), hard: smtpUpstream(hard.port) },
    routes: [{ when: { recipientDomain: ['fabrikam.com'] }, use: 'hard' }, { use: 'soft' }],
    notices: { toSender: false },
  });
  try {
    const deferred = await sendMail(relay, { to: ['alice@contoso.com'] });
    const failed = await sendMail(relay, { to: ['bob@fabrikam.com'] });
    const d = await relay.waitFor(deferred, ['deferred']);
    assert.equal(d.lastError?.scope, 'message');
    assert.match(d.lastError?.response ?? '', /^4\d\d/);
    const f = await relay.waitFor(failed, ['failed']);
    assert.match(f.recipientRecords[0]!.last?.response ?? '', /^5\d\d/);
  } finally {
    await relay.close();
    await soft.stop();
    await hard.stop();
  }
});
