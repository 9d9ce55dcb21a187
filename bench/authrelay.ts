/**
 * Starts the built relay as a child process (`node dist/src/cli/main.js serve
 * --config FILE`) with a fresh data directory (or a given one), one plain listener on a
 * system-chosen 127.0.0.1 port and, optionally, an SMTP upstream on loopback.
 * Ready means: the "listening" line appeared on its stdout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { LOOPBACK, claimDir, killRecorded, onCleanup, orphanedDirs, recordPid } from './lib/proc.js';
import { treeMemory, type TreeMemory } from './lib/procfs.js';

/** dist/bench/authrelay.js -> dist/src/cli/main.js */
export const RELAY_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const DIR_PREFIX = 'authrelay-bench-relay-';

export interface RelayOptions {
  /** smtp-sink port on 127.0.0.1; without it messages stay in the capture route. */
  upstreamPort?: number;
  /** Parallel deliveries to the upstream. */
  concurrency?: number;
  startTimeoutMs?: number;
  /** Extra node options for the relay process, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: string[];
  /** Upstreams instead of the smtp-sink one (e.g. a graph upstream on the Microsoft 365 emulator); the first is the route. */
  upstreams?: Record<string, Record<string, unknown>>;
  /** The store section of the config (default: SQLite in the data directory), e.g. { type: 'postgres', url }. */
  store?: Record<string, unknown>;
  /** The routes section (default: everything to the first upstream). */
  routes?: Record<string, unknown>[];
  /** An existing data directory (a filled queue) instead of a fresh one; it is left in place at stop. */
  dataDir?: string;
  /** More top-level settings (e.g. { workers: 1 }). */
  extra?: Record<string, unknown>;
}

export interface RelayInstance {
  port: number;
  pid: number;
  dir: string;
  /** From spawn() until the "listening" line was read. */
  startupMs: number;
  /** Peak resident memory of the relay's processes so far (Σ VmHWM over the process and its children). */
  peakRss(): number | undefined;
  /** Resident memory (Σ VmRSS, and Σ PSS if it runs as several processes) right after it started listening. */
  startupMemory: TreeMemory;
  /** Last log lines (for diagnostics). */
  recentLog(): string[];
  /** Log lines at warn level or above, and stderr, apart from the expected start-up lines (bounded). */
  warnings(): string[];
  stop(): Promise<void>;
}

export function checkRelayBuilt(): string | undefined {
  return existsSync(RELAY_MAIN) ? undefined : `${RELAY_MAIN} does not exist (npm run build)`;
}

/** The relay's configuration file for these options (also read by the backlog filler, bench/backlog.ts). */
export function configYaml(dataDir: string, o: RelayOptions): string {
  const config: Record<string, unknown> = {
    dataDir,
    hostname: 'authrelay-bench.localdomain',
    trustLoopback: true,
    listeners: [{ name: 'bench', host: LOOPBACK, port: 0, tls: 'none' }],
    log: { level: 'warn' },
  };
  if (o.store) config.store = o.store;
  // The console is not used here: its port is the system's choice, so relays started at once never collide on 8025.
  config.admin = { listen: `${LOOPBACK}:0` };
  if (o.extra) Object.assign(config, o.extra);
  if (o.upstreams) {
    config.upstreams = o.upstreams;
    config.routes = o.routes ?? [{ use: Object.keys(o.upstreams)[0] }];
  } else if (o.upstreamPort !== undefined) {
    config.upstreams = { sink: { type: 'smtp', host: LOOPBACK, port: o.upstreamPort, tls: 'none', concurrency: o.concurrency ?? 20 } };
    config.routes = [{ use: 'sink' }];
  }
  return stringify(config);
}

/** Kills relays left behind by a harness that was killed outright and removes their directories. */
export function sweepStaleRelays(): string[] {
  const stale = orphanedDirs(DIR_PREFIX);
  for (const dir of stale) {
    killRecorded(dir, 'relay', join(dir, 'authrelay.yaml'));
    rmSync(dir, { recursive: true, force: true });
  }
  return stale;
}

export async function startRelay(o: RelayOptions = {}): Promise<RelayInstance> {
  const problem = checkRelayBuilt();
  if (problem) throw new Error(problem);
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  const configFile = join(dir, 'authrelay.yaml');
  writeFileSync(configFile, configYaml(o.dataDir ?? join(dir, 'data'), o));

  const t0 = performance.now();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), RELAY_MAIN, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  recordPid(dir, 'relay', child.pid);
  const unregister = onCleanup(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const recent: string[] = [];
  const warnings: string[] = [];
  const remember = (line: string, warning: boolean) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
    if (warning && warnings.length < 50) warnings.push(line.slice(0, 500));
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // Keep reading stdout for the whole life of the process: a full pipe would stall the relay.
  let partial = '';
  let onListening: ((port: number) => void) | undefined;
  child.stdout.on('data', (c: Buffer) => {
    const lines = (partial + c.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let rec: { event?: unknown; port?: unknown; level?: unknown } = {};
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        // not JSON: kept as a warning below
      }
      // Expected at every fresh start: no admin password set yet (the console is not used here).
      const expected = rec.event === 'listening' || rec.event === 'capture-default' || rec.event === 'admin-setup';
      // pino writes the level as a label here ("warn"), or as a number (40) with default formatters.
      const serious = rec.level === undefined || ['warn', 'error', 'fatal'].includes(String(rec.level)) || Number(rec.level) >= 40;
      remember(line, serious && !expected);
      if (onListening && rec.event === 'listening' && typeof rec.port === 'number') onListening(rec.port);
    }
  });
  child.stderr.on('data', (c: Buffer) => remember(c.toString('utf8').trimEnd(), true));

  const timeoutMs = o.startTimeoutMs ?? 15_000;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line within ${timeoutMs} ms`)), timeoutMs);
      onListening = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`relay exited with ${child.exitCode ?? child.signalCode} before listening`));
      });
      child.once('error', reject);
    });
  } catch (err) {
    unregister();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- relay output ---\n${recent.join('\n')}`, { cause: err });
  }
  onListening = undefined;
  const startupMs = performance.now() - t0;
  const pid = child.pid as number;
  const startupMemory = treeMemory([pid]);

  return {
    port,
    pid,
    dir,
    startupMs,
    startupMemory,
    peakRss: () => {
      const m = treeMemory([pid]);
      return m.processes > 0 ? m.hwmBytes : undefined;
    },
    recentLog: () => [...recent],
    warnings: () => [...warnings],
    stop: async () => {
      unregister();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
