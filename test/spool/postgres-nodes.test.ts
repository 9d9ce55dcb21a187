/**
 * What the PostgreSQL spool adds to the store contract: several nodes on one
 * database. Two nodes claiming at once never get the same message; the
 * leases of a node that was killed are taken over once they expire (its
 * messages and the body it was receiving); three nodes starting at the same
 * moment apply the migrations once; a body another live node is receiving is
 * never taken for an orphan; a 30 MB body is stored and read chunk by chunk.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newMessageId } from '../../src/core/ids.js';
import { CHUNK_SIZE } from '../../src/spool/postgres/bodies.js';
import { MIGRATIONS } from '../../src/spool/postgres/migrations.js';
import { PostgresStore } from '../../src/spool/postgres/postgres-store.js';
import { T0, bodyFor, put, read } from '../contract/store-contract.js';
import { usePostgres, type TestPostgres } from '../helpers/postgres.js';

const pg = usePostgres();
let server: TestPostgres;
let database: string;

/** The file's server and database (each test then makes a schema of its own). */
async function setUp(): Promise<void> {
  server = pg.get();
  database ??= await server.createDatabase('nodes');
}

/** Stores opened by a test, closed at its end. */
function nodes() {
  const open: PostgresStore[] = [];
  return {
    async store(url: string, opts: { writerName?: string; bodyLeaseMs?: number; init?: boolean } = {}): Promise<PostgresStore> {
      const s = new PostgresStore({ url, poolSize: 4, ...opts });
      open.push(s);
      if (opts.init !== false) await s.init();
      return s;
    },
    close: () => Promise.all(open.map((s) => s.close())),
  };
}

/** The schema of a URL made by createSchema (its search_path). */
function schemaOf(url: string): string {
  return /search_path%3D(\w+)/.exec(url)![1]!;
}

describe('postgres store: several nodes', () => {
  test('two nodes claiming at the same time never get the same message', async () => {
    await setUp();
    const n = nodes();
    try {
      const url = await server.createSchema(database);
      const a = await n.store(url, { writerName: 'node-a' });
      const b = await n.store(url, { writerName: 'node-b' });
      const ids = await Promise.all(Array.from({ length: 600 }, (_, i) =>
        put(i % 2 ? a : b, { receivedAt: T0 - i, routes: [{ route: 'relay', recipients: ['a@contoso.com'] }] })));
      const got = new Map<string, string[]>([['node-a', []], ['node-b', []]]);
      const worker = async (store: PostgresStore, owner: string) => {
        for (;;) {
          const batch = await store.claim({ owner, route: 'relay', limit: 5, leaseMs: 600_000, now: T0 });
          if (batch.length === 0) return;
          for (const m of batch) {
            assert.equal(m.leaseOwner, owner);
            got.get(owner)!.push(m.id);
          }
        }
      };
      await Promise.all([1, 2, 3, 4].flatMap(() => [worker(a, 'node-a'), worker(b, 'node-b')]));
      // A claim that found every due row locked by the other node returns nothing: pick up what is left.
      await worker(a, 'node-a');
      const all = [...got.get('node-a')!, ...got.get('node-b')!];
      assert.equal(new Set(all).size, all.length, 'no message was claimed twice');
      assert.deepEqual(all.sort(), [...ids].sort(), 'every message was claimed');
      assert.ok(got.get('node-a')!.length > 0 && got.get('node-b')!.length > 0, 'both nodes claimed messages');
      const owners = await server.query<{ lease_owner: string; n: string }>(database,
        `SELECT lease_owner, COUNT(*) AS n FROM ${schemaOf(url)}.messages WHERE state = 'active' GROUP BY lease_owner ORDER BY lease_owner`);
      assert.deepEqual(owners.map((o) => [o.lease_owner, Number(o.n)]), [['node-a', got.get('node-a')!.length], ['node-b', got.get('node-b')!.length]]);
    } finally {
      await n.close();
    }
  });

  test('the leases of a killed node are taken over when they expire: its messages and the body it was receiving', async () => {
    await setUp();
    const n = nodes();
    const url = await server.createSchema(database);
    const a = await n.store(url, { writerName: 'node-a' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await put(a, { receivedAt: T0 - 10 + i, routes: [{ route: 'relay', recipients: ['a@contoso.com'] }] }));
    const child = spawn(process.execPath, [fileURLToPath(new URL('../helpers/pg-node.js', import.meta.url)), url, String(T0), '60000', '3000'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`the node exited (${code}) before it was ready: ${err}`)));
      });
      const doomed = JSON.parse(line) as { claimed: string[]; bodyId: string };
      assert.deepEqual(doomed.claimed.sort(), [...ids].sort(), 'the node that dies holds every message');
      const chunks = async () => Number((await server.query<{ n: string }>(database,
        `SELECT COUNT(*) AS n FROM ${schemaOf(url)}.body_chunks WHERE body_id = $1`, [doomed.bodyId]))[0]!.n);
      assert.equal(await chunks(), 4, 'the body being received is stored as it arrives');

      // While the node lives, its body lease (3 s) is renewed: after one and a half leases the body is still not an orphan.
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(await a.removeOrphanBodies(), 0, 'a body another live node is receiving is left alone');
      assert.equal(await chunks(), 4);

      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));

      // Delivery leases (60 s from T0) hold until they expire, then other nodes take the messages over.
      assert.deepEqual(await a.claim({ owner: 'node-a', route: 'relay', limit: 10, leaseMs: 60_000, now: T0 + 59_999 }), []);
      assert.equal(await a.recoverActive('node-a', T0 + 59_999), 0);
      const taken = await a.claim({ owner: 'node-a', route: 'relay', limit: 3, leaseMs: 60_000, now: T0 + 60_001 });
      assert.equal(taken.length, 3);
      assert.ok(taken.every((m) => m.leaseOwner === 'node-a' && m.state === 'active' && m.leaseUntil === T0 + 120_001));
      const c = await n.store(url, { writerName: 'node-c' });
      assert.equal(await c.recoverActive('node-c', T0 + 60_001), 3, 'the rest go back to the queue; node-a\'s fresh leases stay');
      assert.deepEqual((await c.list({ states: ['incoming'] })).map((m) => m.id).sort(), ids.filter((id) => !taken.some((m) => m.id === id)).sort());
      assert.ok((await read(c.openBody(taken[0]!.bodyId))).equals(bodyFor(taken[0]!.id)), 'any node reads any body');

      // The body lease (3 s on the database clock) runs out, and the next clean-up removes the body;
      // a clean-up while the lease clearly still runs (100 ms of margin) must leave it.
      let removedWhileLive = false;
      let removed = 0;
      for (let i = 0; i < 100 && removed === 0; i++) {
        const [lease] = await server.query<{ live: boolean }>(database,
          `SELECT lease_until > now() + interval '100 milliseconds' AS live FROM ${schemaOf(url)}.bodies WHERE body_id = $1`, [doomed.bodyId]);
        removed = await c.removeOrphanBodies();
        if (removed > 0 && lease?.live) removedWhileLive = true;
        if (removed === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(removed, 1, 'removed once its lease ran out');
      assert.equal(removedWhileLive, false, 'not while its lease still ran');
      assert.equal(await chunks(), 0, 'its chunks went with it');
    } finally {
      child.kill('SIGKILL');
      await n.close();
    }
  });

  test('three nodes starting at the same moment apply the migrations once', async () => {
    await setUp();
    const n = nodes();
    try {
      const logFrom = server.log().length;
      const url = await server.createSchema(database);
      const stores = await Promise.all([1, 2, 3].map((i) => n.store(url, { writerName: `node-${i}`, init: false })));
      const results = await Promise.all(stores.map((s) => s.migrate()));
      assert.deepEqual(results.map((r) => r.ran.length).sort(), [0, 0, MIGRATIONS.length], 'one node ran them, the others found nothing to do');
      for (const r of results) assert.deepEqual(r.status.pending, []);
      const rows = await server.query<{ version: number }>(database, `SELECT version FROM ${schemaOf(url)}.authrelay_migrations ORDER BY version`);
      assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));

      // And init() of three fresh nodes at once on another schema: all start, the schema is made once.
      const url2 = await server.createSchema(database);
      const three = await Promise.all([1, 2, 3].map((i) => n.store(url2, { writerName: `node-${i}` })));
      const id = await put(three[0]!);
      assert.equal((await three[2]!.get(id))?.id, id);
      const rows2 = await server.query<{ version: number }>(database, `SELECT version FROM ${schemaOf(url2)}.authrelay_migrations ORDER BY version`);
      assert.deepEqual(rows2.map((r) => r.version), MIGRATIONS.map((m) => m.version));
      assert.doesNotMatch(server.log().slice(logFrom), /ERROR/, 'no statement failed on the server');
    } finally {
      await n.close();
    }
  });

  test('a body whose writer lost it is never acknowledged', async () => {
    await setUp();
    const n = nodes();
    try {
      const url = await server.createSchema(database);
      const a = await n.store(url, { writerName: 'node-a' });
      const b = await n.store(url, { writerName: 'node-b' });
      // Two full chunks stored while receiving; another live node's clean-up leaves them alone.
      const id = newMessageId();
      const w = a.createBody(id);
      await new Promise<void>((resolve, reject) => w.stream.write(Buffer.alloc(2 * CHUNK_SIZE, 0x62), (err) => (err ? reject(err) : resolve())));
      assert.equal(await b.removeOrphanBodies(), 0);
      const size = await w.finish();
      // The body is removed under the writer (as a node would once the writer's lease had run out).
      await server.query(database, `DELETE FROM ${schemaOf(url)}.bodies WHERE body_id = $1`, [w.bodyId]);
      await assert.rejects(a.accept({
        id, receivedAt: T0, expiresAt: T0 + 1000, sender: 's@contoso.com', recipients: ['a@contoso.com'], size,
        origin: { device: 'mfp', clientIp: '192.0.2.1', listener: 'main' },
      }), /removed before it was stored/);
      assert.equal(await a.get(id), undefined, 'the message was not stored');
      // A writer whose body goes while data still arrives fails at its next chunk.
      const w2 = a.createBody(newMessageId());
      await new Promise<void>((resolve, reject) => w2.stream.write(Buffer.alloc(CHUNK_SIZE + 10), (err) => (err ? reject(err) : resolve())));
      await server.query(database, `DELETE FROM ${schemaOf(url)}.bodies WHERE body_id = $1`, [w2.bodyId]);
      w2.stream.write(Buffer.alloc(CHUNK_SIZE));
      await assert.rejects(w2.finish(), /was removed while it was written/);
      await w2.abort();
      // Messages accepted alongside are not affected.
      const ok = await put(a);
      assert.ok((await read(b.openBody((await b.get(ok))!.bodyId))).equals(bodyFor(ok)));
    } finally {
      await n.close();
    }
  });

  test('a 30 MB body is written and read in chunks, never whole', { timeout: 180_000 }, async () => {
    await setUp();
    const n = nodes();
    try {
      const url = await server.createSchema(database);
      const schema = schemaOf(url);
      const a = await n.store(url, { writerName: 'node-a' });
      const b = await n.store(url, { writerName: 'node-b' });
      const id = newMessageId();
      const w = a.createBody(id);
      const total = 30 * 1024 * 1024;
      const piece = 64 * 1024;
      const sent = createHash('sha256');
      let prefix: ReturnType<typeof createHash> | undefined;
      let maxBuffered = 0;
      let chunksWhileWriting = 0;
      for (let off = 0; off < total; off += piece) {
        if (off === total - CHUNK_SIZE) prefix = sent.copy();
        const data = Buffer.alloc(piece, (off / piece) % 251);
        data.write(`offset ${off}\r\n`);
        sent.update(data);
        if (!w.stream.write(data)) await new Promise((r) => w.stream.once('drain', r));
        maxBuffered = Math.max(maxBuffered, w.stream.writableLength);
        if (off === 10 * 1024 * 1024) {
          chunksWhileWriting = Number((await server.query<{ n: string }>(database, `SELECT COUNT(*) AS n FROM ${schema}.body_chunks WHERE body_id = $1`, [w.bodyId]))[0]!.n);
        }
      }
      assert.ok(chunksWhileWriting >= 38, `chunks are stored while the body arrives (${chunksWhileWriting} after 10 MB)`);
      assert.ok(maxBuffered <= 2 * CHUNK_SIZE, `the writer holds at most a chunk or two (${maxBuffered} bytes buffered)`);
      const size = await w.finish();
      assert.equal(size, total);
      await a.accept({
        id, receivedAt: T0, expiresAt: T0 + 1000, sender: 's@contoso.com', recipients: ['a@contoso.com'], size,
        origin: { device: 'mfp', clientIp: '192.0.2.1', listener: 'main' },
      });
      const [stats] = await server.query<{ n: string; biggest: number; total: string }>(database,
        `SELECT COUNT(*) AS n, MAX(octet_length(data)) AS biggest, SUM(octet_length(data)) AS total FROM ${schema}.body_chunks WHERE body_id = $1`, [w.bodyId]);
      assert.deepEqual([Number(stats!.n), stats!.biggest, Number(stats!.total)], [total / CHUNK_SIZE, CHUNK_SIZE, total]);

      // Read on another node. After the first chunk, the last one is changed in the database: the
      // reader returns the changed bytes, so it fetched that chunk only when the reading got there.
      const body = b.openBody((await b.get(id))!.bodyId);
      const got = createHash('sha256');
      const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const first = await it.next();
      assert.equal(first.value!.length, CHUNK_SIZE);
      got.update(first.value!);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(body.readableLength <= CHUNK_SIZE, `the reader holds at most one chunk ahead (${body.readableLength} bytes)`);
      const changed = Buffer.alloc(CHUNK_SIZE, 0x5a);
      await server.query(database, `UPDATE ${schema}.body_chunks SET data = $1 WHERE body_id = $2 AND seq = $3`, [changed, w.bodyId, total / CHUNK_SIZE - 1]);
      let readBytes = CHUNK_SIZE;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        assert.ok(r.value.length <= CHUNK_SIZE);
        got.update(r.value);
        readBytes += r.value.length;
      }
      assert.equal(readBytes, total);
      assert.equal(got.digest('hex'), prefix!.update(changed).digest('hex'), 'everything read, the last chunk as it was when reached');
    } finally {
      await n.close();
    }
  });
});
