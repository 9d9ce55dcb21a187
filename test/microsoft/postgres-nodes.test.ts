/**
 * Two relay nodes sharing a PostgreSQL store send through Graph for one
 * mailbox: the per-mailbox limit (4 requests in flight) holds for both nodes
 * together, as Microsoft counts it, not 4 per node; every message is sent
 * once, whichever node received it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { plainText } from '../fixtures/corpus.js';
import { contoso, deviceSend, graphUpstream } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import { usePostgres } from '../helpers/postgres.js';
import type { TestRelay } from '../helpers/relay.js';

const pg = usePostgres();
let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu?.close();
});

test('two nodes on one PostgreSQL store never put more than 4 Graph requests in flight for a mailbox together', { timeout: 120_000 }, async () => {
  const server = pg.get();
  const db = await server.createDatabase('graph_nodes');
  const c = contoso(emu);
  // Each request takes a while, so that without shared pacing the two nodes would overlap (up to 8 at once).
  emu.fault({ target: 'graph', mailbox: c.scanner, fault: { delayMs: 300 } });
  const relays: TestRelay[] = [];
  try {
    for (const node of ['relay-a', 'relay-b']) {
      relays.push(await startRelay({
        store: { type: 'postgres', url: server.url(db), node, poolSize: 6 },
        upstreams: { m365: graphUpstream(emu, c, { concurrency: 16 }) }, routes: [{ use: 'm365' }],
      }));
    }
    const before = emu.sent().length;
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => {
      const m = plainText(c.scanner, [c.alice]);
      return deviceSend(relays[i % 2]!, m.from, m.to, m.raw);
    }));
    for (const id of ids) assert.equal((await relays[0]!.waitFor(id, ['delivered', 'failed'], 90_000)).state, 'delivered');
    assert.ok(emu.peakConcurrency(c.scanner) <= 4, `peak ${emu.peakConcurrency(c.scanner)} requests in flight for one mailbox from both nodes`);
    assert.equal(emu.sent().length - before, 24, 'each message sent once');
    const delivered = await relays[1]!.store.list({ states: ['delivered'], limit: 100 });
    assert.deepEqual(delivered.map((m) => m.id).sort(), [...ids].sort(), 'either node sees every message delivered');
  } finally {
    emu.clearFaults();
    for (const r of relays) await r.close();
  }
});
