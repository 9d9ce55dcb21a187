/**
 * Where the CPU time of a relay went, by stage: reads the V8 CPU profiles a
 * relay wrote with `--cpu-prof` (one per process or thread) and attributes
 * every sample to the innermost frame of the call stack that belongs to a
 * stage of authrelay or a library serving one (smtp-server -> receive,
 * better-sqlite3 and the spool's code -> spool, nodemailer -> deliver, pino
 * -> logging...). Node's own code (streams, net, TLS) counts for the stage
 * that called it; samples with no stage frame on the stack are "node"
 * (event loop, timers, I/O callbacks), and V8's own buckets stay apart:
 * "(garbage collector)", "(program)" (native code outside JavaScript, e.g.
 * the SQLite C library and syscalls made synchronously).
 *
 * A window (from, to) limits the count to the samples taken within it: the
 * profiles' times are CLOCK_MONOTONIC microseconds, the clock of
 * process.hrtime() in every process of the machine (nowUs()), so the harness
 * can name the window of its load and leave out start-up and warm-up.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Ordered: the first rule that matches a frame's URL names its stage. */
const STAGES: [RegExp, string][] = [
  [/\/node_modules\/smtp-server\//, 'receive'],
  [/\/dist\/src\/receive\//, 'receive'],
  [/\/dist\/src\/identity\//, 'receive'],
  [/\/node_modules\/better-sqlite3\//, 'spool'],
  [/\/node_modules\/pg(-[a-z]+)?\//, 'spool'],
  [/\/dist\/src\/spool\//, 'spool'],
  [/\/dist\/src\/route\//, 'route'],
  [/\/node_modules\/nodemailer\//, 'deliver'],
  [/\/dist\/src\/deliver\//, 'deliver'],
  [/\/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify)\//, 'logging'],
  [/\/dist\/src\/core\/log/, 'logging'],
  [/\/dist\/src\/report\//, 'report'],
  [/\/node_modules\/(fastify|prom-client|@fastify)/, 'admin'],
  [/\/dist\/src\/admin\//, 'admin'],
  [/\/dist\/src\/(root|main|control|cli|config)\b/, 'root'],
  [/\/dist\/src\/core\//, 'core'],
];

function stageOf(url: string): string | undefined {
  for (const [re, stage] of STAGES) if (re.test(url)) return stage;
  return undefined;
}

export interface StageTimes {
  /** CPU ms per stage, over every profile read. */
  ms: Record<string, number>;
  totalMs: number;
  profiles: number;
}

/** Now on the profiles' clock (CLOCK_MONOTONIC, µs). */
export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** A time window on the profiles' clock (see nowUs). */
export interface Window {
  fromUs: number;
  toUs: number;
}

/** The time of each sample: startTime plus the deltas up to it. */
function sampleTimes(profile: CpuProfile): number[] {
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) {
    t += d;
    times.push(t);
  }
  return times;
}

/** Adds one profile's samples (those within the window, if given) to `into`. */
export function attribute(profile: CpuProfile, into: Record<string, number>, window?: Window): number {
  const times = window ? sampleTimes(profile) : [];
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageCache = new Map<number, string>();
  const stageForNode = (id: number): string => {
    const cached = stageCache.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let s: string;
    if (name === '(garbage collector)' || name === '(program)' || name === '(idle)') s = name;
    else {
      s = 'node';
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const st = stageOf(byId.get(cur)!.callFrame.url);
        if (st) {
          s = st;
          break;
        }
      }
    }
    stageCache.set(id, s);
    return s;
  };
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (window && ((times[i] ?? 0) < window.fromUs || (times[i] ?? 0) > window.toUs)) continue;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const s = stageForNode(profile.samples[i]!);
    if (s === '(idle)') continue;
    into[s] = (into[s] ?? 0) + dt;
    total += dt;
  }
  return total;
}

/** Every .cpuprofile in `dir`, attributed by stage (only the samples within the window, if given). */
export function stageTimes(dir: string, window?: Window): StageTimes {
  const ms: Record<string, number> = {};
  let totalMs = 0;
  let profiles = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    totalMs += attribute(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile, ms, window);
    profiles++;
  }
  return { ms, totalMs, profiles };
}

/** The heaviest functions (self time), for the details of the report. */
export function topFunctions(dir: string, n = 15, window?: Window): { name: string; url: string; ms: number }[] {
  const self = new Map<string, { name: string; url: string; ms: number }>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((x) => [x.id, x]));
    const times = window ? sampleTimes(p) : [];
    for (let i = 0; i < p.samples.length; i++) {
      if (window && ((times[i] ?? 0) < window.fromUs || (times[i] ?? 0) > window.toUs)) continue;
      const node = byId.get(p.samples[i]!)!;
      if (node.callFrame.functionName === '(idle)') continue;
      const url = node.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/');
      const key = `${node.callFrame.functionName}|${url}`;
      const e = self.get(key) ?? { name: node.callFrame.functionName || '(anonymous)', url, ms: 0 };
      e.ms += (p.timeDeltas[i] ?? 0) / 1000;
      self.set(key, e);
    }
  }
  return [...self.values()].sort((a, b) => b.ms - a.ms).slice(0, n);
}
