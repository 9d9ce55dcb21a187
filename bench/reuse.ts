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
import { smtpSource } from './lib/load.js';
import { sampleMax } from './lib/procfs.js';
import { startSink, type DumpSummary } from './lib/sink.js';
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
  peakMemoryBytes: number;
}

export async function runReuse(system: SystemName, spec: ReuseSpec, limits: Limits): Promise<ReuseResult> {
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
    const sampler = sampleMax(() => s.memory());
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
    const peakMemoryBytes = sampler.stop();
    return {
      ...spec, system, startupMs: server.startupMs, sent,
      ingestMsgPerSec: ingest.msgPerSec,
      endToEndMsgPerSec: doneAt === undefined || received.distinct < sent ? null : spec.messages / ((doneAt - t0) / 1000),
      received,
      lost: Math.max(0, sent - received.distinct),
      peakMemoryBytes,
    };
  } catch (err) {
    throw withLogged(err, system, server?.warnings() ?? []);
  } finally {
    await server?.stop();
    await sink.stop();
  }
}
