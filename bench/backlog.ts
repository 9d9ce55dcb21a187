/**
 * Ingest with a big queue (PRODUCT.md: ingest with 100,000 messages already
 * queued ≥ 0.8 × ingest with an empty queue).
 *
 * The relay gets two upstreams: `sink` (smtp-sink, counting) and `down`, a
 * loopback server that answers every connection with "421 4.3.2" (an
 * upstream that is down), with a routing rule that sends the recipient
 * domain down.example to `down` and everything else to `sink`.
 *
 * The backlog: BENCH_BACKLOG messages of 10 KB for down.example, written
 * once into a data directory by the relay's own store API (openStore from
 * the same configuration file, createBody, accept with the routes the relay's
 * route table gives them), in concurrent batches so that acceptance commits
 * are grouped as when many devices send at once. On disk this is what the
 * relay leaves after accepting them over SMTP (same tables, same inline
 * bodies, same trail, same device inventory), in a fraction of the time. They
 * stay queued: due now, routed to an upstream that refuses them, so the
 * scheduler claims from them, finds the route down and keeps polling the
 * queue while the load runs, as it would while an upstream is out.
 *
 * The history: BENCH_BACKLOG_HISTORY messages to the load's own recipient,
 * accepted, claimed and recorded as delivered through the same API, as a
 * relay keeps them after weeks of one office's scans to one mailbox (the
 * rows of delivered messages stay; only their bodies go after
 * queue.keepDelivered). Every delivery result of the load then updates a
 * recipient whose address has that many rows before it.
 *
 * Each repetition starts the relay twice, in alternating order: on an empty
 * data directory, and on the backlog's (kept between repetitions); each start
 * gets a fresh smtp-sink and down server, a warm-up, then smtp-source with
 * 20 sessions × N × 10 KB, one connection per message, as in the ingest part.
 * Ingest = messages / wall time of smtp-source; the ratio is the median with
 * the backlog over the median on an empty queue. At the end the queue is read
 * through the store API again: the backlog must still be queued.
 */
import { mkdtempSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configYaml, startRelay, type RelayInstance, type RelayOptions } from './authrelay.js';
import { FROM, TO, smtpSource } from './lib/load.js';
import { LOOPBACK, claimDir, onCleanup, orphanedDirs } from './lib/proc.js';
import { headlineBytes, maxPeak, sampleMemory, treeCpuMs, type MemoryPeak } from './lib/procfs.js';
import { startSink } from './lib/sink.js';
import { median } from './report.js';
import { loadConfigFile } from '../src/config/load.js';
import { newMessageId } from '../src/core/ids.js';
import { mailDate } from '../src/core/mail-date.js';
import { LOOPBACK_DEVICE } from '../src/identity/devices.js';
import { openStore } from '../src/spool/open.js';
import { RouteTable } from '../src/route/rules.js';
import type { MessageState, NewMessage } from '../src/spool/store.js';
import { withLogged } from './scenarios.js';

const DIR_PREFIX = 'authrelay-bench-backlog-';
/** Recipient domain of the queued messages; routed to the upstream that is down. */
export const BACKLOG_DOMAIN = 'down.example';
/** Messages accepted concurrently while filling (one group of commits). */
const FILL_BATCH = 500;

export interface BacklogOptions {
  /** Messages already queued. */
  backlog: number;
  /** Messages already delivered to the load's recipient, kept in the queue's history. */
  history: number;
  /** Messages of the measured load (and its sessions, size). */
  messages: number;
  sessions: number;
  size: number;
  warmup: number;
  reps: number;
  concurrency: number;
  phaseTimeoutMs: number;
  drainTimeoutMs: number;
  relayNodeArgs: string[];
  progress?: (line: string) => void;
}

export interface BacklogRun {
  queue: 'empty' | 'backlog';
  rep: number;
  startupMs: number;
  ingestMsgPerSec: number;
  /** Messages over first connection until smtp-sink had them all; null if they never all arrived. */
  endToEndMsgPerSec: number | null;
  /** Acknowledged but not received by smtp-sink within the drain timeout. */
  undelivered: number;
  /** The relay's CPU per message of the load. */
  cpuMsPerMessage: number;
  /** The relay's peak memory during the load: Σ VmHWM (Σ PSS if it runs as several processes). */
  peakRssBytes: number;
  memory: MemoryPeak;
  /** Connections the down upstream refused during this start (the scheduler trying the queued messages). */
  downConnections: number;
}

export interface BacklogFill {
  messages: number;
  /** Of them, delivered to the load's recipient (the history). */
  delivered: number;
  seconds: number;
  /** Size of the data directory after filling. */
  bytes: number;
}

export interface BacklogSummary {
  queue: 'empty' | 'backlog';
  runs: number;
  ingestMsgPerSec: number | null;
  ingestRuns: number[];
  endToEndMsgPerSec: number | null;
  undelivered: number;
  startupMs: number | null;
  cpuMsPerMessage: number | null;
  peakRssMB: number | null;
  /** The largest peak of its runs. */
  memory: MemoryPeak | undefined;
}

export interface BacklogResult {
  backlog: number;
  history: number;
  messages: number;
  sessions: number;
  size: number;
  fill: BacklogFill | undefined;
  runs: BacklogRun[];
  empty: BacklogSummary;
  withBacklog: BacklogSummary;
  /** Median ingest with the backlog / median ingest on an empty queue. */
  ratio: number | null;
  /** Messages of the backlog's data directory still waiting (incoming, deferred, active) after the last run. */
  queuedAfter: Partial<Record<MessageState, number>> | undefined;
  stillQueued: number | undefined;
  failures: { scenario: string; error: string }[];
}

/** Removes backlog data directories left by a harness that was killed outright. */
export function sweepStaleBacklogs(): string[] {
  const stale = orphanedDirs(DIR_PREFIX);
  for (const dir of stale) rmSync(dir, { recursive: true, force: true });
  return stale;
}

/** A loopback SMTP server that is down: every connection gets 421 and is closed. */
async function startDownUpstream(): Promise<{ port: number; connections(): number; stop(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end('421 4.3.2 upstream down for the benchmark, try again later\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const unregister = onCleanup(() => server.close());
  return {
    port,
    connections: () => connections,
    stop: () => {
      unregister();
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The relay configuration of this part: `sink` for the load, `down` for the backlog's domain. */
function relayOptions(sinkPort: number, downPort: number, o: Pick<BacklogOptions, 'concurrency' | 'relayNodeArgs'>, dataDir?: string): RelayOptions {
  return {
    upstreams: {
      sink: { type: 'smtp', host: LOOPBACK, port: sinkPort, tls: 'none', concurrency: o.concurrency },
      down: { type: 'smtp', host: LOOPBACK, port: downPort, tls: 'none', concurrency: o.concurrency },
    },
    routes: [
      { name: 'upstream down', when: { recipientDomain: [BACKLOG_DOMAIN] }, use: 'down' },
      { name: 'sink', use: 'sink' },
    ],
    concurrency: o.concurrency,
    nodeArgs: o.relayNodeArgs,
    ...(dataDir ? { dataDir } : {}),
  };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

/**
 * Runs fn with the event loop held open: the store may wait for handles that
 * do not keep a process alive (a worker thread it has unref'd), and at those
 * moments the harness has nothing else running.
 */
async function keepingAlive<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Opens the store of the relay configured by configFile, as the relay does (same file, same store type and path). */
function openRelayStore(configFile: string) {
  const { config } = loadConfigFile(configFile, { env: process.env });
  return { config, store: openStore(config) };
}

/** An smtp-source-like body of `size` bytes: lines of X, CRLF. */
function bodyOf(size: number): Buffer {
  const line = `${'X'.repeat(78)}\r\n`;
  const text = line.repeat(Math.ceil(size / line.length)).slice(0, size);
  return Buffer.from(text.endsWith('\r\n') ? text : `${text.slice(0, -2)}\r\n`, 'latin1');
}

/**
 * Writes `count` messages for the backlog domain into the store that the
 * relay configured by configFile uses, through the store's own API, as the
 * receive stage does: body through createBody (with the Received field the
 * relay adds), then accept with the routes the relay's route table chooses.
 */
export async function fillBacklog(configFile: string, count: number, size: number, progress: (line: string) => void = () => undefined, history = 0): Promise<BacklogFill> {
  const t0 = performance.now();
  const { config, store } = openRelayStore(configFile);
  const routes = new RouteTable(config.routes);
  const body = bodyOf(size);
  const hostname = config.hostname ?? 'authrelay';
  await store.init();
  try {
    let done = 0;
    let reported = 0;
    const one = async (n: number, recipient = `queued${n}@${BACKLOG_DOMAIN}`): Promise<void> => {
      const now = Date.now();
      const id = newMessageId(now);
      const header = Buffer.from(
        `Received: from ${LOOPBACK_DEVICE} ([${LOOPBACK}])\r\n\tby ${hostname} (authrelay) with ESMTP id ${id};\r\n\t${mailDate(new Date(now))}\r\n`
        + `From: <${FROM}>\r\nTo: <${recipient}>\r\nDate: ${mailDate(new Date(now))}\r\nMessage-Id: <backlog.${n}@${hostname}>\r\nSubject: queued ${n}\r\n\r\n`,
        'latin1');
      const writer = store.createBody(id);
      await new Promise<void>((resolve, reject) => {
        writer.stream.once('error', reject);
        writer.stream.end(Buffer.concat([header, body]), () => resolve());
      });
      const bytes = await writer.finish();
      const message: NewMessage = {
        id, receivedAt: now, expiresAt: now + config.queue.maxLifetime, sender: FROM, recipients: [recipient], size: bytes,
        origin: { device: LOOPBACK_DEVICE, clientIp: LOOPBACK, listener: 'bench', heloName: 'localhost' },
        kind: 'message', notes: [], subject: `queued ${n}`, headerFrom: FROM, messageIdHeader: `<backlog.${n}@${hostname}>`,
        routes: routes.resolve({ device: LOOPBACK_DEVICE, sender: FROM, recipients: [recipient] }).map((g) => ({ route: g.route, recipients: g.recipients, rule: g.rule })),
      };
      await store.accept(message);
    };
    while (done < count) {
      const batch = Math.min(FILL_BATCH, count - done);
      await Promise.all(Array.from({ length: batch }, (_, i) => one(done + i)));
      done += batch;
      if (done - reported >= 20_000 && done < count) {
        reported = done;
        progress(`${done} `);
      }
    }
    // The history: accepted for the load's recipient, then claimed and recorded as delivered, a batch at a time.
    const route = routes.resolve({ device: LOOPBACK_DEVICE, sender: FROM, recipients: [TO] })[0]!.route;
    for (let delivered = 0; delivered < history;) {
      const batch = Math.min(FILL_BATCH, history - delivered);
      await Promise.all(Array.from({ length: batch }, (_, i) => one(count + delivered + i, TO)));
      const now = Date.now();
      const claimed = await store.claim({ owner: 'bench-history', route, limit: batch, leaseMs: 600_000, now });
      for (const m of claimed) {
        await store.finishAttempt({ id: m.id, owner: m.leaseOwner!, token: m.leaseToken! }, {
          at: now, durationMs: 1, route, state: 'delivered', nextAttemptAt: now, summary: `delivered to ${TO}`,
          recipients: [{ address: TO, state: 'delivered', outcome: { action: 'delivered', category: 'delivered', code: 250, response: '250 2.0.0 Ok: queued' } }],
        });
      }
      delivered += claimed.length;
      if (claimed.length === 0) throw new Error(`history: no message of route ${route} could be claimed after ${delivered} of ${history}`);
    }
  } finally {
    await store.close();
  }
  const dataDir = config.dataDir;
  return { messages: count + history, delivered: history, seconds: (performance.now() - t0) / 1000, bytes: dirBytes(dataDir) };
}

/** Message counts per state, read through the store API. */
async function queueCounts(configFile: string): Promise<Record<MessageState, number>> {
  const { store } = openRelayStore(configFile);
  await store.init();
  try {
    return await store.counts();
  } finally {
    await store.close();
  }
}

async function runOnce(o: BacklogOptions, queue: 'empty' | 'backlog', rep: number, dataDir: string | undefined): Promise<BacklogRun> {
  const sink = await startSink();
  const down = await startDownUpstream();
  let relay: RelayInstance | undefined;
  try {
    relay = await startRelay(relayOptions(sink.port, down.port, o, dataDir));
    const pid = relay.pid;
    const load = { sessions: o.sessions, size: o.size, timeoutMs: o.phaseTimeoutMs };
    if (o.warmup > 0) {
      await smtpSource(relay.port, { ...load, messages: o.warmup });
      await sink.waitFor(o.warmup, o.drainTimeoutMs);
    }
    const cpu0 = treeCpuMs(pid);
    const sampler = sampleMemory(() => [pid]);
    const t0 = performance.now();
    const ingest = await smtpSource(relay.port, { ...load, messages: o.messages }).catch((err: unknown) => {
      sampler.stop();
      throw err;
    });
    const target = o.warmup + o.messages;
    const reached = await sink.waitFor(target, o.drainTimeoutMs);
    const memory = sampler.stop();
    return {
      queue, rep, startupMs: relay.startupMs,
      ingestMsgPerSec: ingest.msgPerSec,
      endToEndMsgPerSec: reached.at === undefined ? null : o.messages / ((reached.at - t0) / 1000),
      undelivered: Math.max(0, target - reached.count),
      cpuMsPerMessage: (treeCpuMs(pid) - cpu0) / o.messages,
      peakRssBytes: headlineBytes(memory),
      memory,
      downConnections: down.connections(),
    };
  } catch (err) {
    throw withLogged(err, 'relay', relay?.warnings() ?? []);
  } finally {
    await relay?.stop();
    await down.stop();
    await sink.stop();
  }
}

function summarise(runs: BacklogRun[], queue: 'empty' | 'backlog'): BacklogSummary {
  const rs = runs.filter((r) => r.queue === queue);
  const peak = rs.length ? Math.max(...rs.map((r) => r.peakRssBytes)) : null;
  return {
    queue, runs: rs.length,
    ingestMsgPerSec: median(rs.map((r) => r.ingestMsgPerSec)),
    ingestRuns: rs.map((r) => Math.round(r.ingestMsgPerSec)),
    endToEndMsgPerSec: median(rs.flatMap((r) => (r.endToEndMsgPerSec === null ? [] : [r.endToEndMsgPerSec]))),
    undelivered: rs.reduce((s, r) => s + r.undelivered, 0),
    startupMs: median(rs.map((r) => r.startupMs)),
    cpuMsPerMessage: median(rs.map((r) => r.cpuMsPerMessage)),
    peakRssMB: peak === null ? null : Math.round((peak / 1024 / 1024) * 10) / 10,
    memory: rs.reduce<MemoryPeak | undefined>((m, r) => maxPeak(m, r.memory), undefined),
  };
}

export async function runBacklog(o: BacklogOptions): Promise<BacklogResult> {
  const progress = o.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  const unregister = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'authrelay.yaml');
  const runs: BacklogRun[] = [];
  const failures: { scenario: string; error: string }[] = [];
  let fill: BacklogFill | undefined;
  let queuedAfter: Record<MessageState, number> | undefined;
  try {
    // The ports are the relay's business at each start; the filler only needs the store and the routes.
    writeFileSync(configFile, configYaml(dataDir, relayOptions(9, 9, o)));
    const t0 = Date.now();
    progress(`  backlog: filling the queue with ${o.backlog} messages and ${o.history} delivered through the store API ... `);
    try {
      fill = await keepingAlive(() => fillBacklog(configFile, o.backlog, o.size, progress, o.history));
      progress(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(fill.bytes / 1024 / 1024).toFixed(0)} MB on disk)\n`);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      progress(`FAILED\n${error}\n`);
      failures.push({ scenario: `filling the queue with ${o.backlog} messages`, error });
    }
    if (fill) {
      for (let rep = 1; rep <= o.reps; rep++) {
        const order: ('empty' | 'backlog')[] = rep % 2 === 1 ? ['empty', 'backlog'] : ['backlog', 'empty'];
        for (const queue of order) {
          const label = `backlog, repetition ${rep}/${o.reps}: ${queue === 'empty' ? 'empty queue' : `${o.backlog} queued`}`;
          const t1 = Date.now();
          progress(`  ${label} ... `);
          try {
            runs.push(await runOnce(o, queue, rep, queue === 'backlog' ? dataDir : undefined));
            progress(`done in ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            progress(`FAILED\n${error}\n`);
            failures.push({ scenario: label, error });
          }
        }
      }
      queuedAfter = await keepingAlive(() => queueCounts(configFile));
    }
  } finally {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  }
  const empty = summarise(runs, 'empty');
  const withBacklog = summarise(runs, 'backlog');
  const ratio = empty.ingestMsgPerSec && withBacklog.ingestMsgPerSec ? Math.round((withBacklog.ingestMsgPerSec / empty.ingestMsgPerSec) * 100) / 100 : null;
  const stillQueued = queuedAfter ? queuedAfter.incoming + queuedAfter.deferred + queuedAfter.active : undefined;
  return { backlog: o.backlog, history: o.history, messages: o.messages, sessions: o.sessions, size: o.size, fill, runs, empty, withBacklog, ratio, queuedAfter, stillQueued, failures };
}
