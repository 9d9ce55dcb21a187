/**
 * Opening the spool named by the configuration: SQLite in dataDir (one node)
 * or PostgreSQL shared by several nodes. The one place that turns store
 * settings into a Store, used by the composition root, the CLI and doctor.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Store } from './store.js';
import { leaseOwner, sqliteQueueDir, sqliteQueueFile } from './names.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PostgresStore } from './postgres/postgres-store.js';

export function openStore(config: Config, log?: Logger): Store {
  const s = config.store;
  if (s.type === 'postgres') {
    return new PostgresStore({
      url: s.url, poolSize: s.poolSize, applicationName: `authrelay ${leaseOwner(config)}`.slice(0, 63),
      ...(s.ssl ? { ssl: { rejectUnauthorized: s.ssl.rejectUnauthorized, ...(s.ssl.ca ? { ca: readFileSync(s.ssl.ca, 'utf8') } : {}) } } : {}),
      ...(log ? { onIdleError: (err: Error) => log.warn({ event: 'store-connection-lost', err: err.message }, `a PostgreSQL connection was lost (${err.message}); it is replaced on next use`) } : {}),
    });
  }
  return new SqliteStore({ dir: sqliteQueueDir(config), file: sqliteQueueFile(config) });
}
