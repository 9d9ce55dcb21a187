/**
 * The PostgreSQL spool passes the store contract against a real server
 * (test/helpers/postgres.ts): each test on a fresh schema of this file's
 * database, reopened as a restart would.
 */
import { PostgresStore } from '../../src/spool/postgres/postgres-store.js';
import type { Store } from '../../src/spool/store.js';
import { storeContract } from '../contract/store-contract.js';
import { usePostgres } from '../helpers/postgres.js';

const pg = usePostgres();
let database: Promise<string> | undefined;

storeContract('postgres', async () => {
  const server = pg.get();
  const url = await server.createSchema(await (database ??= server.createDatabase('contract')));
  let store: Store = new PostgresStore({ url, poolSize: 4 });
  await store.init();
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = new PostgresStore({ url, poolSize: 4 });
      await store.init();
      return store;
    },
    destroy: async () => {
      await store.close();
    },
  };
});
