/**
 * Three relay nodes (the real binary) sharing one PostgreSQL store, behind
 * "one address": the load generator spreads its connections over the three
 * nodes' ports, as a TCP load balancer would. Nodes are killed with SIGKILL
 * at random moments and restarted; one node is also killed and left down
 * for longer than the delivery lease, so the other nodes must take its
 * messages over. Afterwards every message that got 250 has reached the
 * upstream at least once, byte for byte; duplicates are counted and
 * reported; the shared queue holds nothing unfinished.
 *
 * Bounded in `npm test`; RELIABILITY_FULL=1 kills more often for longer.
 * AUTHRELAY_CRASH_SEED=N replays the random moments.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/tools.js';
import { sleep, startRelayProcess, tempDir, until, writeConfig, type RelayProcess } from '../helpers/relay-process.js';
import { missingSeqs, prng, startLoad, tallyDeliveries } from '../helpers/crash-load.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { report } from '../helpers/reliability-report.js';

const FULL = process.env.RELIABILITY_FULL === '1';
const SEED = Number(process.env.AUTHRELAY_CRASH_SEED ?? Date.now() % 1_000_000);
const KILLS = FULL ? 24 : 6;
const NODES = 3;
const LEASE_S = 3;

let pg: TestPostgres;

before(async () => {
  pg = await startPostgres();
});

after(async () => {
  await pg?.stop();
});

function configText(dir: string, i: number, port: number, url: string, upstreamPort: number): string {
  return `# node ${i} of ${NODES}, one shared PostgreSQL store
hostname: relay.test
dataDir: ${join(dir, `node${i}`)}
listeners: [{ name: main, host: 127.0.0.1, port: ${port}, tls: none }]
store: { type: postgres, url: "${url}", node: node${i}, poolSize: 6 }
admin: { listen: 127.0.0.1:0 }
upstreams: { up: { type: smtp, host: 127.0.0.1, port: ${upstreamPort}, tls: none, concurrency: 4, connectTimeout: 2s } }
queue: { pollInterval: 100ms, minBackoff: 1s, maxBackoff: 2s, destinationMinBackoff: 1s, destinationMaxBackoff: 2s, lease: ${LEASE_S}s }
log: { level: info }
`;
}

test(`${NODES} nodes on PostgreSQL, SIGKILLed at random under load, one left down past its lease: every acknowledged message is delivered`, { timeout: 900_000 }, async (t) => {
  const rand = prng(SEED);
  const dir = tempDir('authrelay-pg-crash-');
  const db = await pg.createDatabase('crash');
  const url = pg.url(db);
  const up = await startUpstream();
  up.dataDelayMs = 20; // deliveries take a moment, so kills also find messages active
  const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
  const configs = ports.map((p, i) => writeConfig(dir, configText(dir, i + 1, p, url, up.port), `node${i + 1}.yaml`));
  const nodes: (RelayProcess | undefined)[] = [];
  // Nodes start together: the migrations run once, under the lock.
  const started = await Promise.all(configs.map((c) => startRelayProcess(c, { keepLogs: false })));
  started.forEach((n, i) => (nodes[i] = n));
  let rr = 0;
  const load = startLoad(() => ports[rr++ % NODES]!, 6, rand);
  let kills = 0;
  try {
    for (let k = 0; k < KILLS; k++) {
      await sleep(600 + Math.floor(rand() * 1000));
      const i = Math.floor(rand() * NODES);
      const node = nodes[i]!;
      const st = await node.kill('SIGKILL');
      assert.equal(st.signal, 'SIGKILL', `node ${i + 1} should die of SIGKILL: ${node.stderr()}`);
      kills++;
      // Once, the node stays down past its lease: the others must take its messages over.
      const downMs = k === 1 ? (LEASE_S + 2) * 1000 : Math.floor(rand() * 300);
      await sleep(downMs);
      nodes[i] = await startRelayProcess(configs[i]!, { keepLogs: false });
    }
    await sleep(1000);
    await load.stop();
    const acked = load.stats.acked.size;
    assert.ok(acked >= 100, `too few messages acknowledged to mean anything: ${acked}`);
    assert.deepEqual(load.stats.refusals, [], 'the nodes refused messages');

    let d = tallyDeliveries(up.received, load.stats.sizes);
    await until(() => {
      d = tallyDeliveries(up.received, load.stats.sizes, d);
      return missingSeqs(load.stats.acked, d).length === 0 ? true : undefined;
    }, 60_000, () => `acknowledged messages never delivered: seq ${missingSeqs(load.stats.acked, d).slice(0, 20).join(', ')}`, 250);
    assert.deepEqual(d.corrupt, [], 'delivered copies that differ from what was sent');

    // The shared queue ends with nothing unfinished, and every acknowledged id is a delivered row.
    const unfinished = await until(async () => {
      const rows = await pg.query<{ n: string }>(db, "SELECT count(*) AS n FROM messages WHERE state IN ('incoming', 'active', 'deferred')");
      return Number(rows[0]!.n) === 0 ? 0 : undefined;
    }, 30_000, () => 'the queue still has unfinished messages', 250);
    assert.equal(unfinished, 0);
    const ids = [...load.stats.acked.values()];
    const rows = await pg.query<{ id: string; state: string }>(db, 'SELECT id, state FROM messages WHERE id = ANY($1)', [ids]);
    assert.equal(rows.length, ids.length, 'every acknowledged message has its row');
    assert.ok(rows.every((r) => r.state === 'delivered'), 'and it is delivered');

    const counts = [...d.count.values()];
    const figures = {
      seed: SEED, nodes: NODES, kills, acknowledged: acked, 'delivered (distinct)': d.count.size,
      duplicates: counts.filter((n) => n > 1).length, lost: missingSeqs(load.stats.acked, d).length, 'connection errors': load.stats.connectionErrors,
    };
    t.diagnostic(`postgres crash run: ${JSON.stringify(figures)}`);
    report('crash (PostgreSQL, three nodes)', 'SIGKILL at random, one node down past its lease', figures);

    for (const [i, n] of nodes.entries()) {
      const st = await n!.stop();
      assert.equal(st.code, 0, `node ${i + 1} stops cleanly: ${JSON.stringify(st)} ${n!.stderr()}`);
    }
  } finally {
    await load.stop();
    await Promise.all(nodes.map((n) => n?.stop().catch(() => undefined)));
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
