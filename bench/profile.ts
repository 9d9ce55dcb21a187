/**
 * Where the CPU goes per message: authrelay under the 20-session ingest
 * (10 KB, one connection per message, relaying to smtp-sink) with
 * `--cpu-prof` in every process, then the samples attributed to the stages
 * (lib/cpu-profile.ts) and divided by the messages. The process tree's CPU
 * time from /proc is printed beside it (the profiles do not see the time
 * spent in the kernel and in libuv's thread pool: fsync, file writes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRelay } from './authrelay.js';
import { stageTimes, topFunctions } from './lib/cpu-profile.js';
import { smtpSource } from './lib/load.js';
import { treeCpuMs } from './lib/procfs.js';
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
  wallMs: number;
}

export async function runProfile(o: { messages: number; sessions: number; size: number; workers?: number }): Promise<ProfileResult> {
  const profDir = mkdtempSync(join(tmpdir(), 'authrelay-bench-prof-'));
  const sink = await startSink();
  const relay = await startRelay({
    upstreamPort: sink.port, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    ...(o.workers !== undefined ? { extra: { workers: o.workers } } : {}),
  });
  try {
    await smtpSource(relay.port, { sessions: o.sessions, messages: 200, size: o.size, timeoutMs: 60_000 });
    await sink.waitFor(200, 60_000);
    const cpu0 = treeCpuMs(relay.pid);
    const t0 = performance.now();
    await smtpSource(relay.port, { sessions: o.sessions, messages: o.messages, size: o.size, timeoutMs: 600_000 });
    await sink.waitFor(200 + o.messages, 600_000);
    const wallMs = performance.now() - t0;
    const cpuMs = treeCpuMs(relay.pid) - cpu0;
    await relay.stop();
    const t = stageTimes(profDir);
    // The profiles cover the whole run (start, warm-up, load): per message over every message sent.
    const perMessage: Record<string, number> = {};
    const all = 200 + o.messages;
    for (const [stage, ms] of Object.entries(t.ms)) perMessage[stage] = Math.round((ms / all) * 1000) / 1000;
    return {
      messages: o.messages, sessions: o.sessions, size: o.size, perMessage,
      profiledPerMessage: Math.round((t.totalMs / all) * 1000) / 1000,
      processPerMessage: Math.round((cpuMs / o.messages) * 1000) / 1000,
      processes: t.profiles, top: topFunctions(profDir), wallMs: Math.round(wallMs),
    };
  } finally {
    await relay.stop().catch(() => undefined);
    await sink.stop();
    rmSync(profDir, { recursive: true, force: true });
  }
}

export function printProfile(r: ProfileResult): string[] {
  const lines = [`CPU per message, ${r.sessions} sessions x ${r.messages} x ${r.size / 1024} KB, ${r.processes} process(es)/thread(s) profiled:`];
  for (const [stage, ms] of Object.entries(r.perMessage).sort((a, b) => b[1] - a[1])) lines.push(`  ${stage.padEnd(22)} ${ms.toFixed(3)} ms`);
  lines.push(`  ${'profiled total'.padEnd(22)} ${r.profiledPerMessage.toFixed(3)} ms   (process tree, /proc: ${r.processPerMessage.toFixed(3)} ms incl. kernel and thread pool)`);
  lines.push('  heaviest functions (self time over the whole run):');
  for (const f of r.top) lines.push(`    ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.url}`);
  return lines;
}
