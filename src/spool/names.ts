/**
 * Names and places the spool settings give, without opening a store: where the
 * SQLite spool keeps body files, the owner named in delivery leases and the
 * relay's host name. Kept apart from open.ts so that a receive worker, which
 * never opens the SQLite spool, loads no store.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';

/** The SQLite spool's directory (queue.db, unless store.path names another file, and bodies/). */
export function sqliteQueueDir(config: Config): string {
  return join(config.dataDir, 'queue');
}

/** The SQLite spool's database file: store.path, else queue.db in its directory. */
export function sqliteQueueFile(config: Config): string {
  return (config.store.type === 'sqlite' ? config.store.path : undefined) ?? join(sqliteQueueDir(config), 'queue.db');
}

/** Where the SQLite spool keeps body files (receive workers write theirs there too). */
export function sqliteBodiesDir(config: Config): string {
  return join(sqliteQueueDir(config), 'bodies');
}

/**
 * The owner named in delivery leases. One node (SQLite): the relay's host
 * name. Several nodes sharing PostgreSQL: store.node, or the system host name
 * and process id, so that no two live processes share a name.
 */
export function leaseOwner(config: Config): string {
  if (config.store.type === 'postgres') return config.store.node ?? `${osHostname()}:${process.pid}`;
  return relayHostname(config);
}

/** The name in the SMTP greeting and Received headers. */
export function relayHostname(config: Pick<Config, 'hostname'>): string {
  return config.hostname ?? osHostname();
}
