/**
 * Crash tests with the real binary: the relay is killed with SIGKILL at
 * random moments while senders stream messages to it, and restarted on the
 * same port. Every message that got "250 ... queued as" must reach the
 * upstream at least once, byte for byte (duplicates are allowed: delivery is
 * at least once), and the spool must end clean: nothing active or queued, no
 * body file without a row, no row without its body file.
 *
 * SIGKILL tests ordering (nothing is acknowledged before it is written), not
 * power loss: the page cache survives a killed process. The fsync order is
 * checked separately (fsync-order.test.ts).
 *
 * AUTHRELAY_CRASH_SEED=N replays the random kill moments and message sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/tools.js';
import { cli, cliJson, sleep, startRelayProcess, tempDir, until, writeConfig, type RelayProcess } from '../helpers/relay-process.js';
import { report } from '../helpers/reliability-report.js';
import { inspectSpool, missingSeqs, prng, startLoad, tallyDeliveries, type Deliveries, type LoadStats } from '../helpers/crash-load.js';

const SEED = Number(process.env.AUTHRELAY_CRASH_SEED ?? Date.now() % 1_000_000);
/** Kills under load: 6 in the bounded run, 30 in the full reliability suite (RELIABILITY_FULL=1). */
const KILLS = process.env.RELIABILITY_FULL === '1' ? 30 : 6;

function configText(dataDir: string, port: number, upstreamPort: number, workers = 1): string {
  return `# crash test
hostname: relay.test
workers: ${workers}
dataDir: ${dataDir}
admin: { listen: "127.0.0.1:0" }
listeners: [{ name: main, host: 127.0.0.1, port: ${port}, tls: none }]
upstreams: { up: { type: smtp, host: 127.0.0.1, port: ${upstreamPort}, tls: none, concurrency: 8, connectTimeout: 2s } }
queue: { pollInterval: 100ms, minBackoff: 1s, maxBackoff: 2s, destinationMinBackoff: 1s, destinationMaxBackoff: 2s }
log: { level: info }
`;
}

interface Counts { incoming: number; active: number; deferred: number; held: number; delivered: number; failed: number }

async function queueCounts(config: string): Promise<Counts> {
  return (await cliJson<{ counts: Counts }>(['queue', 'list', '--config', config, '--limit', '1'])).counts;
}

/** Kills and restarts; remembers what each restart found in the spool. */
class Crasher {
  relay!: RelayProcess;
  kills = 0;
  orphansRemoved = 0;
  recovered = 0;
  constructor(private readonly config: string) {}

  async start(): Promise<void> {
    this.relay = await startRelayProcess(this.config, { keepLogs: false });
    for (const l of this.relay.logs) {
      if (l.event === 'spool-cleanup') this.orphansRemoved += Number(l.orphans);
      if (l.event === 'recovered') this.recovered += Number(l.count);
    }
  }

  async crash(downMs: number): Promise<void> {
    const st = await this.relay.kill('SIGKILL');
    assert.equal(st.signal, 'SIGKILL', `the relay should die of SIGKILL, not ${JSON.stringify(st)}: ${this.relay.stderr()}`);
    this.kills++;
    await sleep(downMs);
    await this.start();
  }
}

/** Waits until the upstream has every acknowledged message, then returns the tally. */
async function waitDelivered(up: TestUpstream, stats: LoadStats, config: string, relay: RelayProcess, timeoutMs: number): Promise<Deliveries> {
  let d = tallyDeliveries(up.received, stats.sizes);
  try {
    await until(() => {
      d = tallyDeliveries(up.received, stats.sizes, d);
      return missingSeqs(stats.acked, d).length === 0 ? true : undefined;
    }, timeoutMs, () => 'acknowledged messages not delivered', 200);
  } catch {
    const missing = missingSeqs(stats.acked, d);
    const first = stats.acked.get(missing[0]!)!;
    const show = await cli(['queue', 'show', first, '--config', config]);
    assert.fail(`${missing.length} acknowledged message(s) never reached the upstream: seq ${missing.slice(0, 20).join(', ')}\n` +
      `queue show ${first} (exit ${show.code}):\n${show.stdout}${show.stderr}\nrelay log (last lines):\n${relay.stdout().split('\n').slice(-40).join('\n')}`);
  }
  return d;
}

/** The end state after the final restart: queue empty of work, spool consistent, every row delivered. */
async function checkEnd(t: { diagnostic(s: string): void; name: string }, crasher: Crasher, config: string, dataDir: string, stats: LoadStats, d: Deliveries): Promise<void> {
  await until(async () => {
    const c = await queueCounts(config);
    return c.incoming + c.active + c.deferred === 0 ? c : undefined;
  }, 20_000, async () => `queue still has work: ${JSON.stringify(await queueCounts(config))}`, 250);
  const st = await crasher.relay.stop();
  assert.equal(st.code, 0, `graceful stop: ${JSON.stringify(st)} ${crasher.relay.stderr()}`);

  const spool = inspectSpool(dataDir);
  assert.deepEqual(spool.orphanBodies, [], 'body files without a row');
  assert.deepEqual(spool.missingBodies, [], 'rows whose body file is gone');
  assert.deepEqual(spool.otherFiles, [], 'stray files in the body directory');
  assert.equal(spool.states.active ?? 0, 0, 'nothing active');
  assert.deepEqual(spool.states, { delivered: spool.rows }, 'every stored message delivered');
  for (const [seq, id] of stats.acked) {
    assert.ok(spool.ids.has(id), `seq ${seq} was acknowledged as ${id} but there is no such row`);
    assert.equal(spool.seqState.get(seq), 'delivered', `seq ${seq} (${id})`);
  }
  // Every stored message was delivered, and nothing was delivered that was not stored.
  assert.deepEqual([...d.count.keys()].sort((a, b) => a - b), [...spool.seqState.keys()].sort((a, b) => a - b));
  assert.deepEqual(d.corrupt, [], 'delivered copies that differ from what was sent');
  assert.deepEqual(stats.refusals, [], 'the relay refused messages');

  const delivered = [...d.count.values()];
  const numbers = {
    seed: SEED, kills: crasher.kills, attempted: stats.attempted, acked: stats.acked.size, connectionErrors: stats.connectionErrors,
    stored: spool.rows, deliveredDistinct: d.count.size, deliveredTotal: delivered.reduce((a, b) => a + b, 0),
    duplicates: delivered.filter((n) => n > 1).length, storedNotAcked: spool.rows - stats.acked.size,
    orphansRemovedAtStart: crasher.orphansRemoved, activeRecoveredAtStart: crasher.recovered,
  };
  t.diagnostic(`crash run: ${JSON.stringify(numbers)}`);
  report('crash (SQLite, one node)', t.name, {
    seed: SEED, kills: crasher.kills, acknowledged: stats.acked.size, stored: spool.rows, 'delivered (distinct)': d.count.size,
    duplicates: numbers.duplicates, lost: stats.acked.size - [...stats.acked.keys()].filter((n) => d.count.has(n)).length,
  });
}

// With one process, and with two receiving (workers: 2; the kill hits the main process, the worker ends with it).
for (const workers of [1, 2]) test(`SIGKILL at random moments under continuous load: every acknowledged message is delivered (workers: ${workers})`, { timeout: 600_000 }, async (t) => {
  const rand = prng(SEED);
  const dir = tempDir('authrelay-crash-');
  const up = await startUpstream();
  up.dataDelayMs = 20; // deliveries take a moment, so kills also find messages active
  const port = await freePort();
  const config = writeConfig(dir, configText(join(dir, 'data'), port, up.port, workers));
  const crasher = new Crasher(config);
  await crasher.start();
  const load = startLoad(port, 6, rand);
  const ackedAtKill: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      await sleep(800 + Math.floor(rand() * 1200));
      ackedAtKill.push(load.stats.acked.size);
      await crasher.crash(Math.floor(rand() * 200));
    }
    await sleep(1000);
    await load.stop();
    t.diagnostic(`acknowledged before each kill: ${ackedAtKill.join(', ')}; in all ${load.stats.acked.size}`);
    assert.ok(load.stats.acked.size >= 100, `too few messages acknowledged to mean anything: ${load.stats.acked.size}`);
    // The kills must land while mail flows: most intervals between two kills acknowledge something
    // (a restart on a grown spool may occasionally take most of one short interval).
    const stalled = ackedAtKill.filter((n, i) => n <= (ackedAtKill[i - 1] ?? 0)).length;
    assert.ok(stalled <= Math.floor(KILLS / 10), `no progress between two kills ${stalled} times: ${ackedAtKill.join(', ')}`);
    const d = await waitDelivered(up, load.stats, config, crasher.relay, 30_000);
    await checkEnd(t, crasher, config, join(dir, 'data'), load.stats, d);
  } finally {
    await load.stop();
    await crasher.relay.stop();
    await up.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL while the upstream is down: queued messages survive and are delivered once it is back', { timeout: 120_000 }, async (t) => {
  const rand = prng(SEED + 1);
  const dir = tempDir('authrelay-crash-down-');
  const upPort = await freePort(); // nothing listens here yet: connections are refused
  const port = await freePort();
  const config = writeConfig(dir, configText(join(dir, 'data'), port, upPort));
  const crasher = new Crasher(config);
  await crasher.start();
  const load = startLoad(port, 4, rand);
  let up: TestUpstream | undefined;
  try {
    for (let k = 0; k < 2; k++) {
      await sleep(600 + Math.floor(rand() * 900));
      await crasher.crash(Math.floor(rand() * 200));
    }
    await sleep(800);
    await load.stop();
    const acked = load.stats.acked.size;
    assert.ok(acked >= 30, `too few messages acknowledged: ${acked}`);

    // Everything acknowledged is queued, and some of it has already failed an attempt.
    const before = await until(async () => {
      const c = await queueCounts(config);
      return c.deferred > 0 && c.active === 0 ? c : undefined;
    }, 10_000, async () => `no deferred message: ${JSON.stringify(await queueCounts(config))}`);
    assert.equal(before.delivered, 0);
    assert.ok(before.incoming + before.deferred >= acked, `queued ${JSON.stringify(before)} < acknowledged ${acked}`);

    // Kill it again with the messages queued, restart, then bring the upstream up.
    await crasher.crash(0);
    const after = await queueCounts(config);
    assert.equal(after.incoming + after.deferred + after.active, before.incoming + before.deferred, 'the queue survived the kill');
    up = await startUpstream({ port: upPort });
    const d = await waitDelivered(up, load.stats, config, crasher.relay, 30_000);
    t.diagnostic(`queued while the upstream was down: ${JSON.stringify(before)}`);
    await checkEnd(t, crasher, config, join(dir, 'data'), load.stats, d);
  } finally {
    await load.stop();
    await crasher.relay.stop();
    await up?.close();
  }
  rmSync(dir, { recursive: true, force: true });
});
