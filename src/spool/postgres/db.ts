/**
 * The connection pool of the PostgreSQL spool and the two ways it is used:
 * one statement, or a transaction on one connection. Times are BIGINT
 * milliseconds and come back as numbers; text parameters are cleaned of NUL
 * characters, which PostgreSQL text cannot hold (a device or an upstream may
 * send one; it is stored as U+FFFD instead of failing the statement).
 * The driver is loaded on first use, so a relay on SQLite never loads it.
 */
import type pg from 'pg';
import type { ConnectionOptions } from 'node:tls';

export interface PoolOptions {
  /** postgres://user:password@host:port/database (libpq-style parameters allowed). */
  url: string;
  /** Connections at most (default 10). */
  poolSize?: number;
  /** TLS to the server: true, or the options (ca, rejectUnauthorized, servername). Absent: as the URL says. */
  ssl?: boolean | ConnectionOptions;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** How long to wait for a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Errors of idle connections (the server restarted); the pool replaces them. */
  onIdleError?: (err: Error) => void;
}

const INT8 = 20;
const INT8_ARRAY = 1016;

type Parser = (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;

/** BIGINT as a JavaScript number: every value stored is a time in ms, a size or a count, far below 2^53. */
function typeParsers(driver: typeof pg): pg.CustomTypesConfig {
  const builtin = driver.types.getTypeParser as unknown as Parser;
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8) return (v: string) => Number(v);
      if (oid === INT8_ARRAY) {
        const parse = builtin(INT8_ARRAY, 'text') as (v: string) => (string | null)[];
        return (v: string) => parse(v).map((x) => (x === null ? null : Number(x)));
      }
      return builtin(oid, format ?? 'text');
    }) as unknown as pg.CustomTypesConfig['getTypeParser'],
  };
}

type Param = unknown;

function clean(v: Param): Param {
  if (typeof v === 'string') return v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
  if (Array.isArray(v)) return v.map(clean);
  return v;
}

export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: Param[]): Promise<pg.QueryResult<R>>;
}

/** One connection inside a transaction. */
export class Tx implements Queryable {
  constructor(private readonly client: pg.PoolClient) {}

  query<R extends pg.QueryResultRow>(sql: string, params: Param[] = []): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(sql, params.map(clean));
  }
}

export class Db implements Queryable {
  private pool: pg.Pool | undefined;
  private opening: Promise<pg.Pool> | undefined;
  private ended = false;

  constructor(private readonly opts: PoolOptions) {}

  /** The pool, made on first use. */
  private open(): Promise<pg.Pool> {
    if (this.ended) return Promise.reject(new Error('the PostgreSQL store is closed'));
    this.opening ??= import('pg').then(({ default: driver }) => {
      const o = this.opts;
      const pool = new driver.Pool({
        connectionString: o.url,
        max: o.poolSize ?? 10,
        connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
        idleTimeoutMillis: 30_000,
        // TCP keepalive: a connection to a server that vanished (failover, network) is noticed.
        keepAlive: true,
        application_name: o.applicationName ?? 'authrelay',
        types: typeParsers(driver),
        ...(o.ssl !== undefined ? { ssl: o.ssl } : {}),
      });
      pool.on('error', (err) => o.onIdleError?.(err));
      this.pool = pool;
      return pool;
    });
    return this.opening;
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: Param[] = []): Promise<pg.QueryResult<R>> {
    return (await this.open()).query<R>(sql, params.map(clean));
  }

  /**
   * Runs fn in a transaction (READ COMMITTED). `begin` is the first statement,
   * e.g. to set synchronous_commit for this transaction only.
   */
  async tx<T>(fn: (tx: Tx) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await (await this.open()).connect();
    let broken = false;
    try {
      await client.query(begin);
      const out = await fn(new Tx(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async end(): Promise<void> {
    this.ended = true;
    await this.opening?.catch(() => undefined);
    await this.pool?.end();
  }
}
