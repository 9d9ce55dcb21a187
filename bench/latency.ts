/**
 * Acknowledgement latency at a fixed offered rate: each system (authrelay and
 * the private Postfix, both relaying to smtp-sink) is started fresh, warmed
 * up with smtp-source, then gets `rate` new connections per second for
 * `seconds` from the paced client (lib/paced.ts), one 10 KB message each.
 * Reported: p50/p90/p99/max of the time from the end of DATA to the 250, how
 * many were acknowledged, and whether the sink received them all.
 */
import { smtpSource } from './lib/load.js';
import { pacedLoad, type PacedResult } from './lib/paced.js';
import { sampleMemory, type MemoryPeak } from './lib/procfs.js';
import { startSink } from './lib/sink.js';
import { startServer, withLogged, type Limits, type Server, type SystemName } from './scenarios.js';

export interface LatencyResult extends PacedResult {
  system: SystemName;
  rate: number;
  seconds: number;
  size: number;
  /** Acknowledged (warm-up included) but not received by smtp-sink within the drain timeout. */
  undelivered: number;
  /** Peak memory during the paced load. */
  memory: MemoryPeak;
  /** Wall time: start, warm-up, paced load, the wait for the sink. */
  wallS: number;
}

export interface LatencySpec {
  rate: number;
  seconds: number;
  size: number;
  warmup: number;
  sessions: number;
}

export async function runLatency(system: SystemName, spec: LatencySpec, limits: Limits): Promise<LatencyResult> {
  const started = performance.now();
  const sink = await startSink();
  let server: Server | undefined;
  try {
    server = await startServer(system, sink.port, limits);
    const pid = server.pid;
    if (spec.warmup > 0) {
      await smtpSource(server.port, { sessions: spec.sessions, messages: spec.warmup, size: spec.size, timeoutMs: limits.phaseTimeoutMs });
      await sink.waitFor(spec.warmup, limits.drainTimeoutMs);
    }
    const sampler = sampleMemory(() => [pid]);
    const r = await pacedLoad({ port: server.port, rate: spec.rate, seconds: spec.seconds, size: spec.size }).catch((err: unknown) => {
      sampler.stop();
      throw err;
    });
    const memory = sampler.stop();
    const reached = await sink.waitFor(spec.warmup + r.acknowledged, limits.drainTimeoutMs);
    return { ...r, system, rate: spec.rate, seconds: spec.seconds, size: spec.size, undelivered: Math.max(0, spec.warmup + r.acknowledged - reached.count), memory, wallS: (performance.now() - started) / 1000 };
  } catch (err) {
    throw withLogged(err, system, server?.warnings() ?? []);
  } finally {
    await server?.stop();
    await sink.stop();
  }
}
