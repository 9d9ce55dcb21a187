/** The SQLite spool passes the store contract, on a fresh directory per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import type { Store } from '../../src/spool/store.js';
import { storeContract } from '../contract/store-contract.js';

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
