/**
 * Readings from /proc: a process's own peak memory (VmHWM), the summed
 * proportional set size (PSS) of a process tree, which is the fair figure
 * for many-process servers such as Postfix (their RSS double-counts shared
 * pages), and CPU time used.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const MB = 1024 * 1024;

/** A "Name:   123 kB" field of /proc/PID/status in bytes, or undefined if the process is gone. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/PID/stat after "pid (comm)": [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime, [14] cstime. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses, so cut at the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time in ms of the process, plus its children that it has waited for (which is how exited Postfix daemons are counted). */
function cpuMsOf(pid: number, withReapedChildren: boolean): number {
  const f = statFields(pid);
  if (!f) return 0;
  const idx = withReapedChildren ? [11, 12, 13, 14] : [11, 12];
  return (idx.reduce((s, i) => s + Number(f[i] ?? 0), 0) * 1000) / TICKS_PER_SECOND;
}

/** CPU ms used so far by a process tree: every live member, and the children the root has reaped. */
export function treeCpuMs(root: number): number {
  return processTree(root).reduce((s, pid) => s + cpuMsOf(pid, pid === root), 0);
}

/** The pid and all its descendants that exist right now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed PSS of a process tree, and how many processes it has. */
export function treePss(root: number): { bytes: number; processes: number } {
  const pids = processTree(root);
  return { bytes: pids.reduce((s, p) => s + pssBytes(p), 0), processes: pids.length };
}

export interface Sampler {
  /** Stops sampling; returns the largest value seen (one last sample included). */
  stop(): number;
}

/** Calls read() every intervalMs and keeps the maximum. */
export function sampleMax(read: () => number, intervalMs = 200): Sampler {
  let max = read();
  const timer = setInterval(() => (max = Math.max(max, read())), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      max = Math.max(max, read());
      return max;
    },
  };
}

export const toMB = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : Math.round((bytes / MB) * 10) / 10);

/** Total and idle CPU ticks of the machine so far (/proc/stat, first line). */
function cpuTicks(): { total: number; idle: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0);
  // idle + iowait
  return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/** Share of the machine's CPU (0–1) busy during the next `ms` milliseconds: other work running before the benchmark starts. */
export async function machineBusy(ms = 2000): Promise<number> {
  const a = cpuTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTicks();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}
