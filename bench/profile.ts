/**
 * Where the CPU goes per message: authrelay under the 20-session ingest
 * (10 KB, one connection per message, relaying to smtp-sink) with
 * `--cpu-prof` in every process, then the samples attributed to the stages
 * (lib/cpu-profile.ts) and divided by the messages; only the samples taken
 * during the load count (start-up and warm-up left out). Run by
 * `npm run bench -- --only profile`. The process tree's CPU
 * time from /proc is printed beside it (the profiles do not see the time
 * spent in the kernel and in libuv's thread pool: fsync, file writes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRelay } from './authrelay.js';
import { nowUs, stageTimes, topFunctions } from './lib/cpu-profile.js';
import { smtpSource } from './lib/load.js';
import { claimDir, orphanedDirs } from './lib/proc.js';
import { memoryText, sampleMemory, treeCpuMs, type MemoryPeak } from './lib/procfs.js';
import { startSink } from './lib/sink.js';

export interface ProfileResult {
  messages: number;
  sessions: number;
  size: number;
  /** CPU ms per message by stage (from the profiles). */
  perMessage: Record<string, number>;
  /** Sum of perMessage. */
  profiledPerMessage: number;
  /** User + system CPU of the relay's process tree per message (/proc), start-up and warm-up excluded. */
  processPerMessage: number;
  processes: number;
  top: { name: string; url: string; ms: number }[];
  /** The load: first connection until smtp-sink had every message. */
  wallMs: number;
  ingestMsgPerSec: number;
  /** The relay's peak memory during the load (under the profiler, which costs some). */
  memory: MemoryPeak;
  /** Wall time of the whole part: start, warm-up, load, stop, reading the profiles. */
  partS: number;
}

const DIR_PREFIX = 'authrelay-bench-prof-';

/** Removes profile directories left by a harness that was killed outright. */
export function sweepStaleProfiles(): string[] {
  const stale = orphanedDirs(DIR_PREFIX);
  for (const dir of stale) rmSync(dir, { recursive: true, force: true });
  return stale;
}

export async function runProfile(o: { messages: number; sessions: number; size: number; workers?: number; warmup?: number; nodeArgs?: string[]; drainTimeoutMs?: number }): Promise<ProfileResult> {
  const started = performance.now();
  const warmup = o.warmup ?? 200;
  const drainMs = o.drainTimeoutMs ?? 600_000;
  const profDir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(profDir);
  const sink = await startSink();
  const relay = await startRelay({
    upstreamPort: sink.port, nodeArgs: [...(o.nodeArgs ?? []), '--cpu-prof', `--cpu-prof-dir=${profDir}`],
    ...(o.workers !== undefined ? { extra: { workers: o.workers } } : {}),
  }).catch((err: unknown) => {
    void sink.stop();
    rmSync(profDir, { recursive: true, force: true });
    throw err;
  });
  try {
    if (warmup > 0) {
      await smtpSource(relay.port, { sessions: o.sessions, messages: warmup, size: o.size, timeoutMs: 120_000 });
      if ((await sink.waitFor(warmup, drainMs)).at === undefined) throw new Error(`warm-up: smtp-sink received ${sink.count()} of ${warmup}`);
    }
    const cpu0 = treeCpuMs(relay.pid);
    const sampler = sampleMemory(() => [relay.pid]);
    const fromUs = nowUs();
    const t0 = performance.now();
    const ingest = await smtpSource(relay.port, { sessions: o.sessions, messages: o.messages, size: o.size, timeoutMs: 600_000 }).catch((err: unknown) => {
      sampler.stop();
      throw err;
    });
    const reached = await sink.waitFor(warmup + o.messages, drainMs);
    const window = { fromUs, toUs: nowUs() };
    const memory = sampler.stop();
    if (reached.at === undefined) throw new Error(`smtp-sink received ${reached.count} of ${warmup + o.messages} within ${Math.round(drainMs / 1000)} s`);
    const wallMs = performance.now() - t0;
    const cpuMs = treeCpuMs(relay.pid) - cpu0;
    await relay.stop();
    // Only the samples taken during the load (start-up and warm-up left out): per message of the load.
    const t = stageTimes(profDir, window);
    if (t.profiles === 0) throw new Error(`the relay wrote no CPU profile into ${profDir} (did it stop cleanly?)`);
    const perMessage: Record<string, number> = {};
    const all = o.messages;
    for (const [stage, ms] of Object.entries(t.ms)) perMessage[stage] = Math.round((ms / all) * 1000) / 1000;
    return {
      messages: o.messages, sessions: o.sessions, size: o.size, perMessage,
      profiledPerMessage: Math.round((t.totalMs / all) * 1000) / 1000,
      processPerMessage: Math.round((cpuMs / o.messages) * 1000) / 1000,
      processes: t.profiles, top: topFunctions(profDir, 15, window), wallMs: Math.round(wallMs),
      ingestMsgPerSec: ingest.msgPerSec, memory, partS: (performance.now() - started) / 1000,
    };
  } finally {
    await relay.stop().catch(() => undefined);
    await sink.stop();
    rmSync(profDir, { recursive: true, force: true });
  }
}

export function printProfile(r: ProfileResult): string[] {
  const lines = [`CPU per message, ${r.sessions} sessions x ${r.messages} x ${r.size / 1024} KB, ${r.processes} process(es)/thread(s) profiled; load ${(r.wallMs / 1000).toFixed(1)} s, ingest ${r.ingestMsgPerSec.toFixed(0)} msg/s under the profiler, peak memory ${memoryText(r.memory)}:`];
  for (const [stage, ms] of Object.entries(r.perMessage).sort((a, b) => b[1] - a[1])) lines.push(`  ${stage.padEnd(22)} ${ms.toFixed(3)} ms`);
  lines.push(`  ${'profiled total'.padEnd(22)} ${r.profiledPerMessage.toFixed(3)} ms   (process tree, /proc: ${r.processPerMessage.toFixed(3)} ms incl. kernel and thread pool)`);
  lines.push('  heaviest functions (self time during the load):');
  for (const f of r.top) lines.push(`    ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.url}`);
  return lines;
}
