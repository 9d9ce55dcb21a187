/**
 * The SQLite spool passes the store contract, on a fresh directory per test;
 * a queue made before the decoded Subject was kept gets it when opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import type { Store } from '../../src/spool/store.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, storeContract } from '../contract/store-contract.js';
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

test('the spool connection keeps SQLite page cache at 2 MB, not the default 16 MB (the steady-state memory target)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-store-'));
  const store = new SqliteStore({ dir });
  await store.init();
  try {
    for (let i = 0; i < 50; i++) await put(store);
    // The store's own connection (the setting is per connection and not kept in the file).
    const db = (store as unknown as { db: { pragma(p: string, o: { simple: true }): unknown } }).db;
    assert.equal(db.pragma('cache_size', { simple: true }), -SqliteStore.CACHE_KIB);
    assert.equal(SqliteStore.CACHE_KIB, 2048);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
