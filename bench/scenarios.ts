/**
 * One benchmark scenario on one freshly started system: start a counting sink
 * and the server relaying to it, warm up, run the load phases, wait for the
 * sink to receive everything, stop both.
 */
import { startRelay } from './authrelay.js';
import { startPostfix } from './postfix.js';
import { smtpSource, type LoadSpec } from './lib/load.js';
import { headlineBytes, sampleMemory, treeCpuMs, treeMemory, type MemoryPeak, type TreeMemory } from './lib/procfs.js';
import { startSink, type CountingSink } from './lib/sink.js';


/** The error of a failed measurement, with the last warnings the system under test logged (if any). */
export function withLogged(err: unknown, who: string, logged: readonly string[]): unknown {
  if (logged.length === 0) return err;
  return new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${who} logged ---\n${logged.slice(-10).join('\n')}`, { cause: err });
}

export type SystemName = 'postfix' | 'authrelay';

export interface Server {
  port: number;
  startupMs: number;
  /** The root of its process tree (Postfix: master; authrelay: the process started), for memory and CPU. */
  pid: number;
  /** Memory right after it accepted connections (Σ RSS; Σ PSS for several processes). */
  startupMemory: TreeMemory;
  /** CPU time used so far (all its processes), in ms. */
  cpuMs(): number;
  /** Warnings and errors the server logged so far (most recent last, bounded). */
  warnings(): string[];
  stop(): Promise<void>;
}

export const MEMORY_KIND: Record<SystemName, string> = {
  postfix: 'PSS summed over master and all its children (the fair figure for many processes: their RSS double-counts shared pages), and Σ VmHWM beside it; sampled every 200 ms, peak counters reset at the start of each measurement',
  authrelay: 'VmHWM (peak RSS) of the relay process, summed over its processes if it runs several (then also Σ PSS); peak counter reset at the start of each measurement',
};

export async function startServer(system: SystemName, upstreamPort: number, limits: Limits): Promise<Server> {
  const { concurrency } = limits;
  if (system === 'postfix') {
    const pf = await startPostfix({ relayPort: upstreamPort, concurrency });
    return {
      port: pf.port,
      startupMs: pf.startupMs,
      pid: pf.pid,
      startupMemory: treeMemory([pf.pid], 'always'),
      cpuMs: () => treeCpuMs(pf.pid),
      warnings: () => pf.warnings(),
      stop: () => pf.stop(),
    };
  }
  const relay = await startRelay({ upstreamPort, concurrency, nodeArgs: limits.relayNodeArgs, ...(limits.relayWorkers !== undefined ? { extra: { workers: limits.relayWorkers } } : {}) });
  return {
    port: relay.port,
    startupMs: relay.startupMs,
    pid: relay.pid,
    startupMemory: relay.startupMemory,
    cpuMs: () => treeCpuMs(relay.pid),
    warnings: () => relay.warnings(),
    stop: () => relay.stop(),
  };
}

export interface PhaseSpec {
  name: string;
  sessions: number;
  messages: number;
  size: number;
  /** PRODUCT.md's target for authrelay's ingest divided by Postfix's in this phase, if it has one. */
  target?: number;
}

export interface PhaseResult extends PhaseSpec {
  ingestMs: number;
  ingestMsgPerSec: number;
  /** Messages over the time from the first connection until the sink had them all; null if they never all arrived. */
  endToEndMsgPerSec: number | null;
  /** Acknowledged but not received by the sink within the drain timeout. */
  undelivered: number;
  /** headlineBytes(memory): Σ PSS for several processes, else the peak RSS. */
  peakMemoryBytes: number;
  memory: MemoryPeak;
  /** Wall time of the phase: load and the wait for the sink. */
  wallMs: number;
  /** Server CPU time (receiving, storing and delivering) per message. */
  cpuMsPerMessage: number;
}

export interface Limits {
  /** Longest run of one smtp-source. */
  phaseTimeoutMs: number;
  /** Longest wait for the sink to receive what was acknowledged. */
  drainTimeoutMs: number;
  concurrency: number;
  /** Extra node options for the relay (profiling). */
  relayNodeArgs: string[];
  /** The relay's `workers` setting (absent: the configuration's default, 1). */
  relayWorkers?: number | 'auto';
}

/** expectedBefore: messages acknowledged in earlier phases (late deliveries of those never count for this one). */
async function runPhase(server: Server, sink: CountingSink, spec: PhaseSpec, limits: Limits, expectedBefore: number): Promise<PhaseResult> {
  const target = expectedBefore + spec.messages;
  const sampler = sampleMemory(() => [server.pid]);
  const cpu0 = server.cpuMs();
  const t0 = performance.now();
  const load: LoadSpec = { sessions: spec.sessions, messages: spec.messages, size: spec.size, timeoutMs: limits.phaseTimeoutMs };
  const ingest = await smtpSource(server.port, load).catch((err: unknown) => {
    sampler.stop();
    throw err;
  });
  const reached = await sink.waitFor(target, limits.drainTimeoutMs);
  const memory = sampler.stop();
  const cpuMsPerMessage = (server.cpuMs() - cpu0) / spec.messages;
  return {
    ...spec,
    wallMs: performance.now() - t0,
    memory,
    peakMemoryBytes: headlineBytes(memory),
    ingestMs: ingest.ms,
    ingestMsgPerSec: ingest.msgPerSec,
    endToEndMsgPerSec: reached.at === undefined ? null : spec.messages / ((reached.at - t0) / 1000),
    undelivered: Math.max(0, target - reached.count),
    cpuMsPerMessage,
  };
}

export interface ScenarioResult {
  system: SystemName;
  startupMs: number;
  startupMemory: TreeMemory;
  warmup: PhaseResult | undefined;
  phases: PhaseResult[];
  /** What the server logged as warning or error during the scenario (bounded). */
  warnings: string[];
}

/** Fresh sink and server, warm-up, then each phase in order; always stops what it started. */
export async function runScenario(system: SystemName, warmup: PhaseSpec | undefined, phases: PhaseSpec[], limits: Limits): Promise<ScenarioResult> {
  const sink = await startSink();
  let server: Server | undefined;
  try {
    server = await startServer(system, sink.port, limits);
    let expected = 0;
    let warm: PhaseResult | undefined;
    if (warmup && warmup.messages > 0) {
      warm = await runPhase(server, sink, warmup, limits, expected);
      expected += warmup.messages;
    }
    const results: PhaseResult[] = [];
    for (const spec of phases) {
      results.push(await runPhase(server, sink, spec, limits, expected));
      expected += spec.messages;
    }
    return { system, startupMs: server.startupMs, startupMemory: server.startupMemory, warmup: warm, phases: results, warnings: server.warnings() };
  } catch (err) {
    throw withLogged(err, system, server?.warnings() ?? []);
  } finally {
    await server?.stop();
    await sink.stop();
  }
}
