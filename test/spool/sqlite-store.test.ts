/**
 * The SQLite spool passes the store contract, on a fresh directory per test;
 * a queue made before the decoded Subject was kept gets it when opened.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import { leaseOf, type Store } from '../../src/spool/store.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accepted, attempt, put, routeTo, storeContract, T0 as T } from '../contract/store-contract.js';
import { openSpoolDb } from '../helpers/sqlite.js';

storeContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-store-'));
  let store: Store = new SqliteStore({ dir });
  await store.init();
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = new SqliteStore({ dir });
      await store.init();
      return store;
    },
    destroy: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('a queue made before subject_text: opening it fills in the decoded Subject of the messages already there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-store-'));
  try {
    const old = new SqliteStore({ dir });
    await old.init();
    const id = await put(old, { subject: `=?UTF-8?B?${Buffer.from('請求書 3月分', 'utf8').toString('base64')}?=` });
    await old.close();
    // Back to how an earlier version left it: no subject_text column, migration 6 not applied.
    const db = openSpoolDb(join(dir, 'queue.db'));
    db.run('ALTER TABLE messages DROP COLUMN subject_text');
    db.run('DELETE FROM schema_migrations WHERE version = 6');
    db.close();
    const store = new SqliteStore({ dir });
    await store.init();
    try {
      assert.deepEqual((await store.list({ subject: '請求書', limit: 10 })).map((m) => m.id), [id]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh store in a directory of its own, closed and removed after fn. */
async function withStore(fn: (store: SqliteStore, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-store-'));
  const store = new SqliteStore({ dir });
  await store.init();
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the spool connection keeps SQLite page cache at 2 MB, not the default 16 MB (the steady-state memory target)', () => withStore(async (store) => {
  for (let i = 0; i < 50; i++) await put(store);
  // The store's own connection (the setting is per connection and not kept in the file).
  const db = (store as unknown as { db: { pragma(p: string, o: { simple: true }): unknown } }).db;
  assert.equal(db.pragma('cache_size', { simple: true }), -SqliteStore.CACHE_KIB);
  assert.equal(SqliteStore.CACHE_KIB, 2048);
}));

test('a claim walks messages_due in order and stops at its limit; a recipient\'s result is found through its message, not its address', () => withStore(async (store, dir) => {
  for (let i = 0; i < 20; i++) await put(store);
  const db = openSpoolDb(join(dir, 'queue.db'));
  try {
    const plan = (sql: string, params: unknown) => db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params).map((r) => r.detail);
    for (const unrouted of [false, true]) {
      const steps = plan(SqliteStore.claimSql(unrouted), { route: 'relay', now: T, limit: 20 });
      // One ordered index walk per state (incoming, deferred, active), no gathering of every due row for one sort.
      assert.equal(steps.filter((d) => /^SEARCH messages USING INDEX messages_due \(state=\? AND route=\?/.test(d)).length, 3, steps.join('\n'));
      assert.ok(!steps.some((d) => d.includes('MULTI-INDEX OR') || d.startsWith('SCAN messages')), steps.join('\n'));
      assert.equal(steps.filter((d) => d.includes('TEMP B-TREE')).length, 1, `only the final merge of at most 3 × limit rows is sorted:\n${steps.join('\n')}`);
    }
    const result = plan(SqliteStore.RECIPIENT_RESULT_SQL, ['delivered', T, '{}', 'id', 'a@contoso.com']);
    assert.deepEqual(result, ['SEARCH recipients USING INDEX sqlite_autoindex_recipients_1 (message_id=?)']);
  } finally {
    db.close();
  }
}));

test('results of one turn are written in one transaction: fewer WAL pages than one commit each, and a result that fails leaves the others written', () => withStore(async (store, dir) => {
  const db = openSpoolDb(join(dir, 'queue.db'));
  const pageSize = db.get<{ page_size: number }>('PRAGMA page_size')!.page_size;
  /** WAL frames written by fn, from an empty WAL. */
  const framesOf = async (fn: () => Promise<unknown>) => {
    db.get('PRAGMA wal_checkpoint(TRUNCATE)');
    assert.equal(statSync(join(dir, 'queue.db-wal')).size, 0);
    await fn();
    return (statSync(join(dir, 'queue.db-wal')).size - 32) / (pageSize + 24);
  };
  const claimTen = async () => {
    for (let i = 0; i < 10; i++) {
      const id = await put(store, { receivedAt: T - 10 + i });
      await routeTo(store, id, 'relay');
    }
    const claimed = await store.claim({ owner: 'n1', route: 'relay', limit: 10, leaseMs: 30_000, now: T });
    assert.equal(claimed.length, 10);
    return claimed;
  };
  const delivered = attempt(T + 1_000, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]);
  try {
    const one = await claimTen();
    const apart = await framesOf(async () => {
      for (const m of one) assert.equal(await store.finishAttempt(leaseOf(m), delivered), true);
    });
    const ten = await claimTen();
    const together = await framesOf(() => Promise.all(ten.map((m) => store.finishAttempt(leaseOf(m), delivered))));
    assert.ok(together * 3 < apart, `10 results in one turn wrote ${together} WAL pages, one at a time ${apart}`);
    // A result that cannot be written (its outcome cannot be serialised) fails alone; its message keeps its lease.
    const more = await claimTen();
    const broken = attempt(T + 1_000, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: { ...accepted, code: 10n as unknown as number } }]);
    const answers = await Promise.allSettled(more.map((m, i) => store.finishAttempt(leaseOf(m), i === 4 ? broken : delivered)));
    assert.deepEqual(answers.map((a) => a.status), [...Array(4).fill('fulfilled'), 'rejected', ...Array(5).fill('fulfilled')]);
    const states = await Promise.all(more.map(async (m) => (await store.get(m.id))?.state));
    assert.deepEqual(states, [...Array(4).fill('delivered'), 'active', ...Array(5).fill('delivered')]);
    assert.deepEqual((await store.get(more[4]!.id))?.recipientRecords.map((r) => r.state), ['pending'], 'nothing of the failed result stayed');
  } finally {
    db.close();
  }
}));

test('a result that fills the disk takes its whole group back: none is written and each is told so, and each can be written again', () => withStore(async (store) => {
  const db = (store as unknown as { db: { pragma(p: string, o?: { simple: true }): unknown } }).db;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const id = await put(store, { receivedAt: T - 10 + i });
    await routeTo(store, id, 'relay', T - 10 + i);
    ids.push(id);
  }
  const claimed = await store.claim({ owner: 'n1', route: 'relay', limit: 4, leaseMs: 30_000, now: T });
  assert.deepEqual(claimed.map((m) => m.id), ids);
  const delivered = attempt(T + 1_000, 'delivered', [{ address: 'a@contoso.com', state: 'delivered', outcome: accepted }]);
  const large = { ...delivered, summary: 'x'.repeat(200_000) };
  // The database may not grow: SQLite rolls the whole transaction back when the large result needs a page.
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const answers = await Promise.allSettled(claimed.map((m, i) => store.finishAttempt(leaseOf(m), i === 1 ? large : delivered)));
  assert.deepEqual(answers.map((a) => a.status), ['rejected', 'rejected', 'rejected', 'rejected'], 'no result is reported written or refused when nothing was written');
  assert.deepEqual(await Promise.all(ids.map(async (id) => (await store.get(id))?.state)), ['active', 'active', 'active', 'active']);
  db.pragma('max_page_count = 1073741823');
  assert.deepEqual(await Promise.all(claimed.map((m, i) => store.finishAttempt(leaseOf(m), i === 1 ? large : delivered))), [true, true, true, true]);
}));
