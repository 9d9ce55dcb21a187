/**
 * Per-mailbox pacing counted in PostgreSQL: the pacing contract with two
 * nodes (two stores on one database), the slots of a node that stopped
 * renewing freed when their lease runs out, and the deliver stage's pacer on
 * two nodes keeping Graph's 4 requests per mailbox for both together.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import { PostgresStore } from '../../src/spool/postgres/postgres-store.js';
import { pacingContract } from '../contract/pacing-contract.js';
import { usePostgres } from '../helpers/postgres.js';

const pg = usePostgres();
let database: Promise<string> | undefined;

async function twoNodes(): Promise<{ one: PostgresStore; two: PostgresStore; schema: string; close(): Promise<void> }> {
  const server = pg.get();
  const url = await server.createSchema(await (database ??= server.createDatabase('pacing')));
  const one = new PostgresStore({ url, poolSize: 6 });
  const two = new PostgresStore({ url, poolSize: 6 });
  await Promise.all([one.init(), two.init()]);
  const schema = /search_path%3D(\w+)/.exec(url)![1]!;
  return { one, two, schema, close: async () => void (await Promise.all([one.close(), two.close()])) };
}

pacingContract('postgres', async () => {
  const n = await twoNodes();
  return { a: n.one.pacing('node-a'), b: n.two.pacing('node-b'), destroy: n.close };
});

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const limits = { concurrency: 4 };

describe('postgres pacing: several nodes', () => {
  test('the slots of a node that stopped renewing free up when their lease runs out; a renewed lease holds', async () => {
    const n = await twoNodes();
    try {
      let clock = T0;
      const dead = n.one.pacing('dead-node', { leaseMs: 1000, clock: () => clock });
      const live = n.two.pacing('live-node', { leaseMs: 1000, clock: () => clock });
      for (let i = 0; i < 4; i++) assert.ok((await dead.acquire({ key: 'k', recipients: 1, limits, now: T0, maxPauseMs: 0 })).ok);
      assert.deepEqual(await live.acquire({ key: 'k', recipients: 1, limits, now: T0 + 999, maxPauseMs: 0 }), { ok: false, kind: 'busy', inFlight: 4 });
      const taken = await live.acquire({ key: 'k', recipients: 1, limits, now: T0 + 1001, maxPauseMs: 0 });
      assert.ok(taken.ok, 'the dead node\'s slots were freed after their lease');
      const holders = await pg.get().query<{ holder: string }>(await database!, `SELECT holder FROM ${n.schema}.pacing_slots`);
      assert.deepEqual(holders.map((h) => h.holder), ['live-node']);

      // A node that renews keeps its slots past the first lease.
      clock = T0 + 1001;
      for (let i = 0; i < 3; i++) assert.ok((await live.acquire({ key: 'k', recipients: 1, limits, now: T0 + 1001, maxPauseMs: 0 })).ok);
      clock = T0 + 1900;
      await live.renew();
      assert.equal((await dead.acquire({ key: 'k', recipients: 1, limits, now: T0 + 2500, maxPauseMs: 0 })).ok, false, 'renewed to T0 + 2900');
      assert.equal((await dead.acquire({ key: 'k', recipients: 1, limits, now: T0 + 2901, maxPauseMs: 0 })).ok, true);
    } finally {
      await n.close();
    }
  });

  test('two nodes\' pacers together never hold more than 4 slots for a mailbox; a 429 seen by one holds the other', { timeout: 60_000 }, async () => {
    const n = await twoNodes();
    try {
      const pacers = [n.one, n.two].map((s, i) => new MailboxPacer({ concurrency: 4, maxWaitMs: 30_000 }, undefined,
        { scope: 'm365', coordinator: s.pacing(`node-${i}`, { pollMs: 20 }) }));
      let inFlight = 0;
      let peak = 0;
      const send = async (i: number) => {
        const g = await pacers[i % 2]!.acquire(i % 3 ? 'Scanner@contoso.com' : 'scanner@CONTOSO.com', 1);
        assert.ok(g.ok, JSON.stringify(g));
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 150));
        inFlight--;
        g.release();
      };
      await Promise.all(Array.from({ length: 24 }, (_, i) => send(i)));
      assert.equal(peak, 4, `at most 4 in flight for the mailbox across both nodes, and all 4 used (peak ${peak})`);
      assert.ok((pacers[0]!.peak.get('scanner@contoso.com') ?? 0) <= 4);

      const started = Date.now();
      pacers[0]!.pause('scanner@contoso.com', 400);
      await new Promise((r) => setTimeout(r, 50));
      const waited = await pacers[1]!.whenOpen('SCANNER@contoso.com');
      assert.ok(Date.now() - started >= 380 && waited > 0, `the other node waited out the pause (${Date.now() - started} ms)`);
    } finally {
      await n.close();
    }
  });
});
