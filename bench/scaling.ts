/**
 * Scaling with several relay nodes sharing one PostgreSQL store: for 1, 2, 3
 * nodes (each a child process with its own listener and data directory, all
 * with `store: { type: postgres, url }` on one fresh database of a private
 * PostgreSQL server), smtp-source sends the same number of messages, split
 * evenly over the nodes and run against all of them at once, and smtp-sink
 * counts what arrives. Delivery throughput = messages / (first connection
 * until the sink had them all); any node may deliver any node's messages.
 *
 * Runs only when the PostgreSQL store is built (dist/src/spool/postgres);
 * otherwise it reports why it did not measure.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRelay, type RelayInstance } from './authrelay.js';
import { smtpSource } from './lib/load.js';
import { sampleMemory, treeCpuMs, type MemoryPeak } from './lib/procfs.js';
import { checkPostgresPrerequisites, startPostgres } from './lib/postgres.js';
import { startSink } from './lib/sink.js';
import { withLogged } from './scenarios.js';

/** dist/bench/scaling.js -> dist/src/spool/postgres */
export const POSTGRES_STORE_DIR = fileURLToPath(new URL('../src/spool/postgres', import.meta.url));

export interface ScalingPoint {
  nodes: number;
  messages: number;
  sessions: number;
  ingestMsgPerSec: number;
  endToEndMsgPerSec: number | null;
  undelivered: number;
  /** CPU of all relay nodes per message (the database server not included). */
  relayCpuMsPerMessage: number;
  /** CPU of the PostgreSQL server per message. */
  databaseCpuMsPerMessage: number | undefined;
  /** Peak memory of all relay nodes together during the load, and of the PostgreSQL server (all its processes). */
  relayMemory: MemoryPeak;
  databaseMemory: MemoryPeak | undefined;
  wallS: number;
}

export type ScalingResult =
  | { measured: true; points: ScalingPoint[]; failures: { nodes: number; error: string }[] }
  | { measured: false; reason: string };

export interface ScalingOptions {
  maxNodes: number;
  messages: number;
  sessions: number;
  warmup: number;
  concurrency: number;
  phaseTimeoutMs: number;
  drainTimeoutMs: number;
  progress?: (line: string) => void;
}

/** Why the scenario cannot run here, or undefined. */
export function scalingUnavailable(): string | undefined {
  if (!existsSync(POSTGRES_STORE_DIR)) return 'PostgreSQL store not built';
  return checkPostgresPrerequisites();
}

/** n parts of total as even as can be. */
function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

async function point(o: ScalingOptions, nodes: number, url: string, databasePid: number | undefined): Promise<ScalingPoint> {
  const started = performance.now();
  const sink = await startSink();
  const relays: RelayInstance[] = [];
  try {
    // One after the other: the first one creates the schema.
    for (let i = 0; i < nodes; i++) relays.push(await startRelay({ upstreamPort: sink.port, concurrency: o.concurrency, store: { type: 'postgres', url } }));
    const sessions = split(o.sessions, nodes).map((s) => Math.max(1, s));
    const run = async (count: number) => {
      const parts = split(count, nodes);
      const results = await Promise.all(relays.map((r, i) => (parts[i] as number) > 0
        ? smtpSource(r.port, { sessions: Math.min(sessions[i] as number, parts[i] as number), messages: parts[i] as number, size: 10_240, timeoutMs: o.phaseTimeoutMs })
        : Promise.resolve({ ms: 0, msgPerSec: 0 })));
      return Math.max(...results.map((r) => r.ms));
    };
    if (o.warmup > 0) {
      await run(o.warmup);
      await sink.waitFor(o.warmup, o.drainTimeoutMs);
    }
    const cpu0 = relays.reduce((s, r) => s + treeCpuMs(r.pid), 0);
    const db0 = databasePid === undefined ? 0 : treeCpuMs(databasePid);
    const relayMem = sampleMemory(() => relays.map((r) => r.pid));
    const dbMem = databasePid === undefined ? undefined : sampleMemory(() => [databasePid]);
    const t0 = performance.now();
    const ingestMs = await run(o.messages).catch((err: unknown) => {
      relayMem.stop();
      dbMem?.stop();
      throw err;
    });
    const reached = await sink.waitFor(o.warmup + o.messages, o.drainTimeoutMs);
    const relayMemory = relayMem.stop();
    const databaseMemory = dbMem?.stop();
    const cpu = relays.reduce((s, r) => s + treeCpuMs(r.pid), 0) - cpu0;
    const db = databasePid === undefined ? undefined : treeCpuMs(databasePid) - db0;
    return {
      nodes, messages: o.messages, sessions: sessions.reduce((a, b) => a + b, 0),
      ingestMsgPerSec: o.messages / (ingestMs / 1000),
      endToEndMsgPerSec: reached.at === undefined ? null : o.messages / ((reached.at - t0) / 1000),
      undelivered: Math.max(0, o.warmup + o.messages - reached.count),
      relayCpuMsPerMessage: cpu / o.messages,
      databaseCpuMsPerMessage: db === undefined ? undefined : db / o.messages,
      relayMemory, databaseMemory, wallS: (performance.now() - started) / 1000,
    };
  } catch (err) {
    throw withLogged(err, 'relays', relays.flatMap((r) => r.warnings()));
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    await sink.stop();
  }
}

export async function runScaling(o: ScalingOptions): Promise<ScalingResult> {
  const unavailable = scalingUnavailable();
  if (unavailable) return { measured: false, reason: unavailable };
  const progress = o.progress ?? (() => undefined);
  const pg = await startPostgres();
  const points: ScalingPoint[] = [];
  const failures: { nodes: number; error: string }[] = [];
  try {
    for (let nodes = 1; nodes <= o.maxNodes; nodes++) {
      const t0 = Date.now();
      progress(`  scaling, ${nodes} node${nodes > 1 ? 's' : ''} on one PostgreSQL ... `);
      try {
        const db = `bench_${nodes}_nodes`;
        await pg.createDatabase(db);
        points.push(await point(o, nodes, pg.url(db), pg.pid));
        progress(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        progress(`FAILED\n${error}\n`);
        failures.push({ nodes, error });
        // A store that cannot start one node will not start two.
        if (nodes === 1) break;
      }
    }
  } finally {
    await pg.stop();
  }
  return { measured: true, points, failures };
}
