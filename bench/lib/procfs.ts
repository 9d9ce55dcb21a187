/**
 * Readings from /proc: a process's own peak memory (VmHWM), the summed
 * proportional set size (PSS) of a process tree, which is the fair figure
 * for many-process servers such as Postfix (their RSS double-counts shared
 * pages), and CPU time used. Every system of every row is measured the same
 * way (sampleMemory): the peak of the summed VmHWM of its processes, and for
 * a system with more than one process the peak of their summed PSS; the peak
 * counters are reset at the start of a measurement (clear_refs), so the
 * figure belongs to that measurement and not to what ran before it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';

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

/** Memory of a process tree at one moment. */
export interface TreeMemory {
  processes: number;
  /** Σ VmHWM: each process's peak resident set since its start (or since resetPeaks). */
  hwmBytes: number;
  /** Σ VmRSS now. */
  rssBytes: number;
  /** Σ PSS now (read only when asked or when the tree has more than one process). */
  pssBytes: number | undefined;
}

/** Memory of the trees under these roots (pids of exited processes count for nothing). */
export function treeMemory(roots: number[], pss: 'auto' | 'always' = 'auto'): TreeMemory {
  let processes = 0;
  let hwmBytes = 0;
  let rssBytes = 0;
  const live: number[] = [];
  for (const pid of new Set(roots.flatMap((r) => processTree(r)))) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const rss = kb('VmRSS');
    if (rss === 0) continue; // a zombie, or a kernel thread
    processes++;
    live.push(pid);
    rssBytes += rss;
    hwmBytes += kb('VmHWM');
  }
  return { processes, hwmBytes, rssBytes, pssBytes: pss === 'always' || processes > 1 ? live.reduce((t, p) => t + pssBytes(p), 0) : undefined };
}

/**
 * Resets the peak resident set (VmHWM) of every process of the trees to its
 * present size (writing 5 to /proc/PID/clear_refs; nothing else changes), so
 * that a later VmHWM is the peak of what came after. False when that was not
 * allowed for some process (the peak then counts from the process's start).
 */
export function resetPeaks(roots: number[]): boolean {
  let ok = true;
  for (const pid of new Set(roots.flatMap((r) => processTree(r)))) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      if (statusBytes(pid, 'VmRSS') !== undefined) ok = false; // gone meanwhile is fine
    }
  }
  return ok;
}

/** The peak memory of a system during one measurement (see sampleMemory). */
export interface MemoryPeak {
  /** Largest Σ VmHWM seen: the peak RSS of all its processes together. */
  rssBytes: number;
  /** Largest Σ PSS seen, when the system ran as several processes; else undefined. */
  pssBytes: number | undefined;
  /** Most processes seen at once. */
  processes: number;
  /** Whether the peak counters were reset at the start (else they count from each process's start). */
  fromStart: boolean;
}

export interface MemorySampler {
  /** Stops sampling (one last sample included) and returns the peak. */
  stop(): MemoryPeak;
}

/**
 * Samples the memory of the process trees under roots() every intervalMs
 * (roots are read again each time: a relay may start or replace processes),
 * after resetting their peak counters.
 */
export function sampleMemory(roots: () => number[], intervalMs = 200): MemorySampler {
  const fromStart = !resetPeaks(roots());
  let peak: MemoryPeak = { rssBytes: 0, pssBytes: undefined, processes: 0, fromStart };
  const sample = () => {
    const m = treeMemory(roots());
    peak = {
      rssBytes: Math.max(peak.rssBytes, m.hwmBytes),
      pssBytes: m.pssBytes === undefined ? peak.pssBytes : Math.max(peak.pssBytes ?? 0, m.pssBytes),
      processes: Math.max(peak.processes, m.processes),
      fromStart,
    };
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** The figure a target is judged on: summed PSS for a system of several processes, else the peak RSS. */
export const headlineBytes = (m: MemoryPeak): number => (m.processes > 1 && m.pssBytes !== undefined ? m.pssBytes : m.rssBytes);

/** The larger of two peaks (over repetitions). */
export function maxPeak(a: MemoryPeak | undefined, b: MemoryPeak | undefined): MemoryPeak | undefined {
  if (!a || !b) return a ?? b;
  return {
    rssBytes: Math.max(a.rssBytes, b.rssBytes),
    pssBytes: a.pssBytes === undefined && b.pssBytes === undefined ? undefined : Math.max(a.pssBytes ?? 0, b.pssBytes ?? 0),
    processes: Math.max(a.processes, b.processes),
    fromStart: a.fromStart || b.fromStart,
  };
}

/** "RSS 182 MB", or for several processes "PSS Σ 92 MB (RSS Σ 626 MB, 74 processes)". */
export function memoryText(m: MemoryPeak | undefined): string {
  if (!m || m.processes === 0) return '—';
  const mb = (b: number) => `${(b / MB).toFixed(0)} MB`;
  const since = m.fromStart ? ', since start' : '';
  if (m.processes > 1 && m.pssBytes !== undefined) return `PSS Σ ${mb(m.pssBytes)} (RSS Σ ${mb(m.rssBytes)}, ${m.processes} processes${since})`;
  return `RSS ${mb(m.rssBytes)}${since}`;
}

/** Socket inodes of TCP sockets listening on this local port (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ... uid timeout inode
      if (f.length < 10 || f[3] !== '0A') continue;
      if ((f[1] ?? '').split(':')[1] === hexPort) inodes.add(f[9] as string);
    }
  }
  return inodes;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The server listening on this local port, as the roots of its process trees:
 * the topmost process holding the listening socket (a master whose workers
 * share it), or, when several processes have sockets of their own on the port
 * (SO_REUSEPORT workers), their common parent if it runs the same program,
 * else all of them. Empty when nothing listens there, when the owner cannot be
 * seen (another user's process without root, another network namespace), or
 * when it is a port forwarder (docker-proxy and the like), not the server.
 */
export function serverListeningOn(port: number): number[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const owners: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${name}/fd/${fd}`));
        if (m && inodes.has(m[1] as string)) {
          owners.push(Number(name));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  const set = new Set(owners);
  const tops = owners.filter((p) => !set.has(parentOf(p) ?? -1));
  if (tops.some((p) => /^(docker-proxy|rootlesskit|slirp4netns|socat|sshd|kubectl)$/.test(commOf(p)))) return [];
  const parents = new Set(tops.map((p) => parentOf(p)));
  const parent = parents.size === 1 ? [...parents][0] : undefined;
  if (tops.length > 1 && parent !== undefined && parent > 1 && commOf(parent) === commOf(tops[0] as number)) return [parent];
  return tops;
}
