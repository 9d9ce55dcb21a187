/**
 * Benchmark settings from the environment, with defaults from
 * shared/reference/performance.md (median of 3, 20 × 5000 and 1 × 1000 messages of 10 KB).
 */
import { fileURLToPath } from 'node:url';
import type { SystemName } from './scenarios.js';

export interface Settings {
  reps: number;
  messages: number;
  messagesSingle: number;
  warmup: number;
  size: number;
  sessions: number;
  bigMessages: number;
  bigSizeMB: number;
  bigReps: number;
  concurrency: number;
  phaseTimeoutS: number;
  drainTimeoutS: number;
  timeoutMin: number;
  systems: SystemName[];
  relayNodeArgs: string[];
  m365Messages: number;
  out: string;
}

function int(name: string, dflt: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  return v;
}

function systems(): SystemName[] {
  const raw = process.env.BENCH_SYSTEMS ?? 'postfix,authrelay';
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (s !== 'postfix' && s !== 'authrelay') throw new Error(`BENCH_SYSTEMS: unknown system "${s}" (postfix, authrelay)`);
  return list as SystemName[];
}

export function readSettings(): Settings {
  return {
    reps: int('BENCH_REPS', 3, 1, 20),
    messages: int('BENCH_MESSAGES', 5000, 1, 1_000_000),
    messagesSingle: int('BENCH_MESSAGES_SINGLE', 1000, 0, 1_000_000),
    warmup: int('BENCH_WARMUP', 200, 0, 100_000),
    size: int('BENCH_SIZE', 10_240, 1, 10_000_000),
    sessions: int('BENCH_SESSIONS', 20, 1, 200),
    bigMessages: int('BENCH_BIG_MESSAGES', 20, 0, 200),
    bigSizeMB: int('BENCH_BIG_SIZE_MB', 25, 1, 140),
    bigReps: int('BENCH_BIG_REPS', 1, 0, 10),
    concurrency: int('BENCH_CONCURRENCY', 20, 1, 200),
    phaseTimeoutS: int('BENCH_PHASE_TIMEOUT_S', 300, 5, 3600),
    drainTimeoutS: int('BENCH_DRAIN_TIMEOUT_S', 120, 1, 3600),
    timeoutMin: int('BENCH_TIMEOUT_MIN', 60, 1, 600),
    systems: systems(),
    relayNodeArgs: (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
    m365Messages: int('BENCH_M365_MESSAGES', 2000, 0, 1_000_000),
    out: process.env.BENCH_OUT || fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url)),
  };
}

/** The environment variables, for --help. */
export const SETTINGS_HELP = `Environment (defaults in brackets):
  BENCH_REPS [3]              repetitions per system; medians are reported
  BENCH_MESSAGES [5000]       messages in the many-sessions phase
  BENCH_SESSIONS [20]         parallel sessions in that phase
  BENCH_MESSAGES_SINGLE [1000] messages in the 1-session phase (0 skips it)
  BENCH_WARMUP [200]          warm-up messages after each fresh start (not measured)
  BENCH_SIZE [10240]          body size in bytes
  BENCH_BIG_MESSAGES [20]     concurrent large messages for the memory test (0 skips it)
  BENCH_BIG_SIZE_MB [25]      their size
  BENCH_BIG_REPS [1]          memory-test repetitions
  BENCH_CONCURRENCY [20]      parallel deliveries to the upstream (both systems)
  BENCH_PHASE_TIMEOUT_S [300] longest smtp-source run
  BENCH_DRAIN_TIMEOUT_S [120] longest wait for the upstream to receive everything
  BENCH_TIMEOUT_MIN [60]      the whole run is stopped after this
  BENCH_SYSTEMS [postfix,authrelay]
  BENCH_RELAY_NODE_ARGS []    extra node options for the relay, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  BENCH_M365_MESSAGES [2000]  messages end-to-end through the Graph emulator (0 skips the Microsoft 365 part)
  BENCH_OUT [bench/results/latest.json]`;
