/**
 * A private, throw-away PostgreSQL server for the scaling benchmark: its own
 * data directory in a temporary folder, 127.0.0.1 on a free port, a socket
 * directory of its own, trust authentication for loopback, default
 * durability (fsync on, synchronous commit). Run as the "postgres" user with
 * runuser (we are root); stopped and removed afterwards, also when the
 * harness is interrupted. The system's clusters are never touched.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK, claimDir, exec, freePort, onCleanup, orphanedDirs } from './proc.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const RUNUSER = '/usr/sbin/runuser';
const DIR_PREFIX = 'authrelay-bench-pg-';

export interface PostgresInstance {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/db */
  url(db: string): string;
  createDatabase(name: string): Promise<void>;
  /** The postmaster's pid (for memory and CPU readings). */
  pid: number | undefined;
  stop(): Promise<void>;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export function checkPostgresPrerequisites(): string | undefined {
  if (process.getuid?.() !== 0) return 'the private PostgreSQL needs root (it runs as the "postgres" user through runuser)';
  for (const f of [join(PG_BIN, 'initdb'), join(PG_BIN, 'pg_ctl'), join(PG_BIN, 'postgres'), RUNUSER]) if (!existsSync(f)) return `${f} is missing (apt-get install postgresql-15)`;
  if (!postgresIds()) return 'user "postgres" is missing (the Debian postgresql package creates it)';
  return undefined;
}

const asPostgres = (cmd: string, args: string[]) => [RUNUSER, ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]] as const;

function stopSync(dir: string): void {
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  const [cmd, args] = asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop']);
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
}

/** Stops and removes servers left behind by a harness that was killed outright. */
export function sweepStalePostgres(): string[] {
  const stale = orphanedDirs(DIR_PREFIX);
  for (const dir of stale) {
    stopSync(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  return stale;
}

export async function startPostgres(): Promise<PostgresInstance> {
  const problem = checkPostgresPrerequisites();
  if (problem) throw new Error(problem);
  const ids = postgresIds() as { uid: number; gid: number };
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const sock = join(dir, 'socket');
  for (const d of [data, sock]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, ids.uid, ids.gid);
  }
  const unregister = onCleanup(() => {
    stopSync(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  const log = join(sock, 'server.log');
  const fail = (what: string, detail: string): never => {
    unregister();
    stopSync(dir);
    let tail = '';
    try {
      tail = readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n');
    } catch {
      // no log yet
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`private PostgreSQL: ${what}\n${detail.trim()}${tail ? `\n--- server log ---\n${tail}` : ''}`);
  };
  // --no-sync only speeds up initdb itself; the server runs with fsync on.
  const [initCmd, initArgs] = asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const init = await exec(initCmd, [...initArgs], { timeoutMs: 120_000, cwd: dir });
  if (init.code !== 0) fail('initdb failed', init.stderr || init.stdout);
  const port = await freePort();
  const options = `-p ${port} -k ${sock} -c listen_addresses=${LOOPBACK} -c max_connections=200`;
  const [ctl, ctlArgs] = asPostgres('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
  const start = await exec(ctl, [...ctlArgs], { timeoutMs: 90_000, cwd: dir });
  if (start.code !== 0) fail('pg_ctl start failed', start.stderr || start.stdout);
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    pid = undefined;
  }
  return {
    port,
    pid,
    url: (db) => `postgres://postgres@${LOOPBACK}:${port}/${db}`,
    createDatabase: async (name) => {
      const [cmd, args] = asPostgres('createdb', ['-h', LOOPBACK, '-p', String(port), '-U', 'postgres', name]);
      const r = await exec(cmd, [...args], { timeoutMs: 60_000, cwd: dir });
      if (r.code !== 0) throw new Error(`createdb ${name} failed: ${(r.stderr || r.stdout).trim()}`);
    },
    stop: async () => {
      unregister();
      const [cmd, args] = asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      await exec(cmd, [...args], { timeoutMs: 45_000, cwd: dir });
      stopSync(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
