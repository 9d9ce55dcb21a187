/**
 * A private PostgreSQL server for the tests: initdb in a temporary
 * directory, the server on a free loopback port (and a socket in that
 * directory), stopped and removed at the end. PostgreSQL refuses to run as
 * root, so as root both run as the `postgres` user in a directory that user
 * owns. A missing PostgreSQL is a failure that says what to install, never
 * a skip.
 *
 * One server per test file (usePostgres()); the file makes its own
 * database, and each test may take a fresh schema of it (a URL whose
 * search_path points there).
 */
import { after, before } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './tools.js';

export interface TestPostgres {
  port: number;
  /** The directory holding the server's Unix socket. */
  socketDir: string;
  /** URL of a database on this server, optionally with a search_path. */
  url(database: string, schema?: string): string;
  /** Makes a database and answers its name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Makes a schema in the database and answers a URL whose search_path is that schema. */
  createSchema(database: string): Promise<string>;
  /** Runs one statement in a database on a short-lived connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** The server's log so far. */
  log(): string;
  stop(): Promise<void>;
}

const ROOTS = ['/usr/lib/postgresql'];

/** The directory with initdb and postgres (the newest version installed), or an error saying what to install. */
export function postgresBinDir(): string {
  for (const root of ROOTS) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = join(root, v, 'bin');
      if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
    }
  }
  throw new Error('PostgreSQL server binaries (initdb, postgres) were not found under /usr/lib/postgresql/*/bin; ' +
    'install PostgreSQL to run these tests (Debian/Ubuntu: apt-get install postgresql)');
}

const isRoot = process.getuid?.() === 0;

/** argv to run a PostgreSQL program: as the postgres user when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

let counter = 0;

/**
 * Starts the file's server before its tests and stops it after them. get()
 * answers the server, or throws why it could not start, so that every test
 * of the file fails with that reason (e.g. PostgreSQL not installed).
 */
export function usePostgres(): { get(): TestPostgres } {
  let server: TestPostgres | undefined;
  let failure: Error | undefined;
  before(async () => {
    try {
      server = await startPostgres();
    } catch (err) {
      failure = err as Error;
    }
  });
  after(() => server?.stop());
  return {
    get() {
      if (!server) throw failure ?? new Error('the PostgreSQL server has not started');
      return server;
    },
  };
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-pg-'));
  if (isRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error('running as root, but there is no postgres user to run the PostgreSQL server as (installing postgresql creates it)');
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  const [initCmd, initArgs] = asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }

  let child: ChildProcess | undefined;
  let port = 0;
  let log = '';
  for (let tries = 0; ; tries++) {
    port = await freePort();
    const [cmd, args] = asServerUser(join(bin, 'postgres'), [
      '-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port),
      '-c', 'max_connections=300', '-c', 'shared_buffers=32MB', '-c', 'log_min_messages=warning',
    ]);
    log = '';
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (b: Buffer) => (log += b.toString('utf8')));
    c.stderr!.on('data', (b: Buffer) => (log += b.toString('utf8')));
    const up = await waitUntilReady(port, c);
    if (up) {
      child = c;
      break;
    }
    if (tries >= 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the PostgreSQL server did not start: ${log}`);
    }
  }
  const server = child;

  // If the test process ends without stop(), the server goes with it.
  const killOnExit = () => {
    const pid = postmasterPid(data);
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  const url = (database: string, schema?: string) =>
    `postgres://postgres@127.0.0.1:${port}/${database}${schema ? `?options=${encodeURIComponent(`-c search_path=${schema}`)}` : ''}`;
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ connectionString: url(database) });
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  let stopped: Promise<void> | undefined;
  return {
    port,
    socketDir: dir,
    url,
    query,
    log: () => log,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${process.pid}_${++counter}`;
      await query('postgres', `CREATE DATABASE ${name}`);
      return name;
    },
    async createSchema(database) {
      const schema = `s${++counter}`;
      await query(database, `CREATE SCHEMA ${schema}`);
      return url(database, schema);
    },
    stop: () => (stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      const pid = postmasterPid(data);
      const exited = new Promise<void>((r) => (server.exitCode !== null || server.signalCode !== null ? r() : server.once('exit', () => r())));
      // SIGINT: fast shutdown (sessions are ended, the server stops cleanly).
      if (pid) process.kill(pid, 'SIGINT');
      else server.kill('SIGINT');
      const t = setTimeout(() => {
        const p = postmasterPid(data);
        if (p) process.kill(p, 'SIGKILL');
        server.kill('SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    })()),
  };
}

function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the server takes connections; false when it exited first (e.g. the port was taken meanwhile). */
async function waitUntilReady(port: number, child: ChildProcess): Promise<boolean> {
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) return false;
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  return false;
}
