/**
 * Process helpers for the benchmark: bounded command runs, loopback ports,
 * and a cleanup registry that also runs on Ctrl-C, SIGTERM and crashes so
 * that no Postfix instance, sink or relay outlives the harness.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';

/** The only address the benchmark ever talks to. */
export const LOOPBACK = '127.0.0.1';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Blocks the thread (for synchronous cleanup in exit handlers). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs a command to completion, killing it after timeoutMs. Never rejects for a non-zero exit. */
export function exec(cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string }): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => (stdout = (stdout + c.toString('utf8')).slice(-20_000)));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-20_000)));
    const unregister = onCleanup(() => child.kill('SIGKILL'));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      unregister();
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      unregister();
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, LOOPBACK, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once host:port (127.0.0.1 unless given) accepts a connection; rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, host = LOOPBACK): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Whether a process with this pid still exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Marks a temp directory as belonging to this harness process. */
export function claimDir(dir: string): void {
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
}

/**
 * Temp directories with this prefix whose owning harness is gone (it was
 * killed with SIGKILL, so its cleanup never ran). Running harnesses' dirs are left alone.
 */
export function orphanedDirs(prefix: string): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith(prefix))
    .map((name) => join(tmpdir(), name))
    .filter((dir) => {
      try {
        return !isAlive(Number(readFileSync(join(dir, 'owner.pid'), 'utf8')));
      } catch {
        return false; // no owner file yet: being set up right now
      }
    });
}

/** Notes a child's pid in dir (for sweeping after a SIGKILL of the harness). */
export function recordPid(dir: string, name: string, pid: number | undefined): void {
  if (pid !== undefined) writeFileSync(join(dir, `${name}.pid`), String(pid));
}

/** SIGKILLs the pid recorded in dir/name.pid if it is still alive and its command line contains marker (pids get reused). */
export function killRecorded(dir: string, name: string, marker: string): void {
  try {
    const pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
    if (isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) process.kill(pid, 'SIGKILL');
  } catch {
    // no pid file, or the process is gone
  }
}

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();

/** Registers a synchronous cleanup step; returns a function that unregisters it. */
export function onCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered cleanup once, newest first. */
export function runCleanups(): void {
  const all = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of all) {
    try {
      fn();
    } catch (err) {
      console.error('cleanup failed:', err);
    }
  }
}

/** Cleans up on normal exit, signals, and crashes; aborts the whole run after maxMs. */
export function installExitHandlers(maxMs: number): void {
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping everything the benchmark started`);
      runCleanups();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('benchmark crashed:', err);
    runCleanups();
    process.exit(1);
  });
  const watchdog = setTimeout(() => {
    console.error(`benchmark exceeded its time limit of ${Math.round(maxMs / 1000)} s; stopping`);
    runCleanups();
    process.exit(2);
  }, maxMs);
  watchdog.unref();
}
