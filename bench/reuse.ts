/**
 * Several messages per connection (PRODUCT.md: zero loss). smtp-source -d
 * keeps each of its sessions on one connection and sends MAIL, RCPT, DATA
 * again for the next message, so 20 sessions × 5000 messages carry about 250
 * messages per connection. Each system (authrelay, the private Postfix) is
 * started fresh with a fresh smtp-sink that keeps every message it receives
 * (-D); after the load, the dump is read: every message must have arrived,
 * and arrived once. A message is told apart by the queue id in the Received
 * field its relay added (one per accepted message) and its Message-ID, so a
 * relay that delivers the right number of messages but one of them twice and
 * another never (a spool file named after the connection and overwritten by
 * the next message on it) counts as losing one.
 */
import { startRelay, type RelayInstance } from './authrelay.js';
import { smtpSource } from './lib/load.js';
import { sleep, waitForPort } from './lib/proc.js';
import { headlineBytes, sampleMemory, type MemoryPeak } from './lib/procfs.js';
import { startSink, type DumpSummary } from './lib/sink.js';
import { sendMailStats, type SendMailStats } from './m365.js';
import type { BenchTenant } from './peer.js';
import { startServer, withLogged, type Limits, type Server, type SystemName } from './scenarios.js';

export interface ReuseSpec {
  sessions: number;
  messages: number;
  size: number;
  warmup: number;
}

export interface ReuseResult extends ReuseSpec {
  system: SystemName;
  startupMs: number;
  /** Messages acknowledged: warm-up and load (smtp-source stops at the first refusal). */
  sent: number;
  ingestMsgPerSec: number;
  /** Load messages over first connection until the sink had every message; null if it never did. */
  endToEndMsgPerSec: number | null;
  /** What the sink received, warm-up included. */
  received: DumpSummary;
  /** Sent but never received (by distinct message). */
  lost: number;
  /** headlineBytes(memory). */
  peakMemoryBytes: number;
  memory: MemoryPeak;
  /** Wall time of the run: start, warm-up, load and the wait for the sink. */
  wallS: number;
}

export async function runReuse(system: SystemName, spec: ReuseSpec, limits: Limits): Promise<ReuseResult> {
  const started = performance.now();
  const sink = await startSink({ dump: true });
  let server: Server | undefined;
  try {
    server = await startServer(system, sink.port, limits);
    const load = { sessions: spec.sessions, size: spec.size, timeoutMs: limits.phaseTimeoutMs, reuse: true };
    if (spec.warmup > 0) {
      await smtpSource(server.port, { ...load, messages: spec.warmup });
      await sink.waitFor(spec.warmup, limits.drainTimeoutMs);
    }
    const s = server;
    const sampler = sampleMemory(() => [s.pid]);
    const t0 = performance.now();
    const ingest = await smtpSource(server.port, { ...load, messages: spec.messages }).catch((err: unknown) => {
      sampler.stop();
      throw err;
    });
    const sent = spec.warmup + spec.messages;
    const deadline = performance.now() + limits.drainTimeoutMs;
    const reached = await sink.waitFor(sent, limits.drainTimeoutMs);
    let doneAt = reached.at;
    let received = await sink.dumpSummary();
    // The count can reach the target before every message did (one arrived twice), and
    // the dump can trail the counter by a moment: wait for more until the deadline.
    while (received.distinct < sent && performance.now() < deadline) {
      const more = await sink.waitFor(Math.max(sink.count(), received.messages) + 1, Math.min(1000, deadline - performance.now()));
      received = await sink.dumpSummary();
      doneAt = more.at ?? performance.now();
    }
    const memory = sampler.stop();
    return {
      ...spec, system, startupMs: server.startupMs, sent,
      ingestMsgPerSec: ingest.msgPerSec,
      endToEndMsgPerSec: doneAt === undefined || received.distinct < sent ? null : spec.messages / ((doneAt - t0) / 1000),
      received,
      lost: Math.max(0, sent - received.distinct),
      peakMemoryBytes: headlineBytes(memory),
      memory,
      wallS: (performance.now() - started) / 1000,
    };
  } catch (err) {
    throw withLogged(err, system, server?.warnings() ?? []);
  } finally {
    await server?.stop();
    await sink.stop();
  }
}

/** What the Graph emulator received, told apart by Message-ID. */
export interface GraphReceived {
  messages: number;
  /** Different Message-IDs (messages without one each count as different). */
  distinct: number;
  /** Messages whose Message-ID was received before. */
  duplicates: number;
  withoutMessageId: number;
}

/** The Message-ID field of a MIME message (its header section only), unfolded; undefined without one. */
export function messageIdOf(mime: Buffer): string | undefined {
  const head = mime.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const unfolded = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^message-id:\s*(.*?)\s*$/im.exec(unfolded)?.[1] || undefined;
}

export function countByMessageId(mimes: Buffer[]): GraphReceived {
  const seen = new Set<string>();
  let duplicates = 0;
  let withoutMessageId = 0;
  for (const m of mimes) {
    const id = messageIdOf(m);
    if (id === undefined) withoutMessageId++;
    else if (seen.has(id)) duplicates++;
    else seen.add(id);
  }
  return { messages: mimes.length, distinct: seen.size + withoutMessageId, duplicates, withoutMessageId };
}

/** A relay measured through the Graph emulator's forward proxy. */
export interface GraphReuseTarget {
  /** 'authrelay via proxy' or the peer's HOST:PORT. */
  name: string;
  host: string;
  port: number;
  /** Roots of its process tree for memory; empty when not known (a peer whose process cannot be seen). */
  pids: () => number[];
}

export interface GraphReuseResult extends ReuseSpec {
  system: string;
  /** Acknowledged: warm-up and load. */
  sent: number;
  ingestMsgPerSec: number;
  /** Load messages over first connection until Graph had every message; null if it never did. */
  endToEndMsgPerSec: number | null;
  received: GraphReceived;
  lost: number;
  /** From the first connection of the load until the wait ended (everything arrived, or nothing new for a while). */
  waitedS: number;
  /** Undefined when the relay's process is not known. */
  memory: MemoryPeak | undefined;
  /** sendMail timings and 429s during the run (warm-up included). */
  graph: SendMailStats;
  wallS: number;
}

/**
 * Several messages per connection through a relay that delivers to the Graph
 * emulator (authrelay configured for the forward proxy, or the peer): a
 * warm-up and the load, both with smtp-source -d; then the messages Graph
 * accepted are told apart by Message-ID. The wait ends when every message
 * arrived, when nothing new arrived for idleMs, or at the drain timeout.
 */
export async function runReuseThroughGraph(s: BenchTenant, target: GraphReuseTarget, spec: ReuseSpec, o: { phaseTimeoutMs: number; drainTimeoutMs: number; idleMs: number }): Promise<GraphReuseResult> {
  const started = performance.now();
  try {
    await waitForPort(target.port, 5000, target.host);
  } catch {
    throw new Error(`nothing accepts connections at ${target.host}:${target.port} (is the relay running?)`);
  }
  s.emu.reset();
  const load = { sessions: spec.sessions, size: spec.size, timeoutMs: o.phaseTimeoutMs, reuse: true };
  const sampler = target.pids().length > 0 ? sampleMemory(target.pids) : undefined;
  const stopOnError = (err: unknown): never => {
    sampler?.stop();
    throw err;
  };
  if (spec.warmup > 0) {
    await smtpSource(target.port, { ...load, messages: spec.warmup }, target.host).catch(stopOnError);
    await waitQuiet(s, spec.warmup, Math.min(o.drainTimeoutMs, 120_000), 5000);
    if (s.emu.sent().length === 0) {
      const proxied = s.emu.requests().filter((r) => r.service === 'proxy').length;
      stopOnError(new Error(`${target.name} acknowledged ${spec.warmup} warm-up messages but Graph accepted none (${proxied} requests reached the proxy): is it pointed at ${s.emu.proxyUrl}, trusting ${s.emu.caFile}? (--print-peer-setup)`));
    }
  }
  const t0 = performance.now();
  const ingest = await smtpSource(target.port, { ...load, messages: spec.messages }, target.host).catch(stopOnError);
  const sent = spec.warmup + spec.messages;
  const done = await waitQuiet(s, sent, o.drainTimeoutMs, o.idleMs);
  const memory = sampler?.stop();
  const received = countByMessageId(s.emu.sent().map((m) => m.mime));
  return {
    ...spec, system: target.name, sent,
    ingestMsgPerSec: ingest.msgPerSec,
    endToEndMsgPerSec: done.at === undefined || received.distinct < sent ? null : spec.messages / ((done.at - t0) / 1000),
    received,
    lost: Math.max(0, sent - received.distinct),
    waitedS: ((done.at ?? performance.now()) - t0) / 1000,
    memory,
    graph: sendMailStats(s.emu),
    wallS: (performance.now() - started) / 1000,
  };
}

/** Until the emulator holds `count` messages (at = then), nothing new arrived for idleMs, or timeoutMs passed (at undefined). */
async function waitQuiet(s: BenchTenant, count: number, timeoutMs: number, idleMs: number): Promise<{ at: number | undefined }> {
  const deadline = performance.now() + timeoutMs;
  let last = -1;
  let lastChange = performance.now();
  while (performance.now() < deadline) {
    const n = s.emu.sent().length;
    if (n >= count) return { at: performance.now() };
    if (n !== last) {
      last = n;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > idleMs) return { at: undefined };
    await sleep(20);
  }
  return { at: undefined };
}

/** authrelay as a GraphReuseTarget: started fresh on the emulator's forward proxy, run, stopped. */
export async function reuseAuthrelayThroughGraph(s: BenchTenant, spec: ReuseSpec, o: { phaseTimeoutMs: number; drainTimeoutMs: number; idleMs: number; nodeArgs: string[] }): Promise<GraphReuseResult> {
  let relay: RelayInstance | undefined;
  try {
    relay = await startRelay({ upstreams: { m365: s.upstreamViaProxy }, nodeArgs: o.nodeArgs });
    const r = relay;
    return await runReuseThroughGraph(s, { name: 'authrelay via proxy', host: '127.0.0.1', port: r.port, pids: () => [r.pid] }, spec, o);
  } catch (err) {
    throw withLogged(err, 'authrelay', relay?.warnings() ?? []);
  } finally {
    await relay?.stop();
  }
}
