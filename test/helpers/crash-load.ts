/**
 * Load and bookkeeping for the crash tests: concurrent senders (one
 * connection per message, a unique X-Test-Seq each), what the relay
 * acknowledged, what the upstream got, and what is left in the spool.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSpoolDb } from './sqlite.js';
import { SmtpWire, sendRaw } from './smtp-wire.js';
import type { Received } from './upstream.js';
import { sleep } from './relay-process.js';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with AUTHRELAY_CRASH_SEED. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The body of message seq: deterministic, so the delivered copy can be compared byte for byte. */
export function bodyOf(seq: number, size: number): string {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const line = `seq ${seq} line ${i} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
    lines.push(line);
    n += line.length;
  }
  lines.push(`END ${seq}\r\n`);
  return lines.join('');
}

export function messageOf(seq: number, size: number): string {
  return `From: device@printer.test\r\nTo: sink@dest.example\r\nSubject: crash ${seq}\r\nX-Test-Seq: ${seq}\r\n` +
    `Message-ID: <seq-${seq}@crash.test>\r\n\r\n${bodyOf(seq, size)}`;
}

export interface LoadStats {
  attempted: number;
  /** seq → queue id, for every message answered with 250. */
  acked: Map<number, string>;
  /** seq → body size in bytes. */
  sizes: Map<number, number>;
  /** Attempts that ended without any reply to the data (connection refused, reset, closed). */
  connectionErrors: number;
  /** Final replies other than 250 (a healthy relay gives none). */
  refusals: string[];
}

export interface Load {
  stats: LoadStats;
  /** Stops starting new messages and waits for those in flight. */
  stop(): Promise<void>;
}

/**
 * Starts `workers` senders against 127.0.0.1:port, each sending one message per connection until stopped.
 * `port` may be a function choosing the port of each message (several nodes behind one address).
 */
export function startLoad(port: number | (() => number), workers: number, rand: () => number): Load {
  const portOf = typeof port === 'number' ? () => port : port;
  const stats: LoadStats = { attempted: 0, acked: new Map(), sizes: new Map(), connectionErrors: 0, refusals: [] };
  let next = 1;
  let stopped = false;
  const one = async (seq: number, size: number): Promise<void> => {
    let w: SmtpWire | undefined;
    try {
      w = await SmtpWire.open(portOf());
      if (w.greeting?.code !== 220) throw new Error(`greeting ${w.greeting?.raw}`);
      const ehlo = await w.cmd('EHLO loadgen.test');
      if (ehlo.code !== 250) return void stats.refusals.push(`EHLO: ${ehlo.raw}`);
      const r = await sendRaw(w, `device@printer.test`, ['sink@dest.example'], `${messageOf(seq, size)}.\r\n`);
      const last = r.end ?? r.data ?? r.rcpt[0] ?? r.mail;
      if (r.end?.code === 250) {
        const m = /queued as ([A-Z0-9.]+)/.exec(r.end.raw);
        if (!m) return void stats.refusals.push(`250 without an id: ${r.end.raw}`);
        stats.acked.set(seq, m[1]!);
      } else stats.refusals.push(`seq ${seq}: ${last.raw}`);
    } catch {
      stats.connectionErrors++;
    } finally {
      w?.close();
    }
  };
  const worker = async () => {
    while (!stopped) {
      const seq = next++;
      // mostly small messages, some large ones so that kills also land in the middle of DATA
      const size = rand() < 0.85 ? 200 + Math.floor(rand() * 3000) : 30_000 + Math.floor(rand() * 250_000);
      stats.sizes.set(seq, size);
      stats.attempted++;
      const before = stats.connectionErrors;
      await one(seq, size);
      if (stats.connectionErrors > before) await sleep(50); // the relay is down: do not spin
    }
  };
  const all = Array.from({ length: workers }, () => worker());
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(all);
    },
  };
}

export interface Deliveries {
  /** seq → how many times the upstream got it. */
  count: Map<number, number>;
  /** Delivered copies whose body differs from what was sent. */
  corrupt: number[];
}

/** Reads what the upstream received so far (incrementally: pass the same object again). */
export function tallyDeliveries(received: readonly Received[], sizes: ReadonlyMap<number, number>, into?: Deliveries & { seen?: number }): Deliveries & { seen: number } {
  const d = { count: new Map<number, number>(), corrupt: [] as number[], seen: 0, ...into };
  for (; d.seen < received.length; d.seen++) {
    const text = received[d.seen]!.data.toString('latin1');
    const m = /^X-Test-Seq: (\d+)\r?$/m.exec(text);
    if (!m) {
      d.corrupt.push(-1);
      continue;
    }
    const seq = Number(m[1]);
    d.count.set(seq, (d.count.get(seq) ?? 0) + 1);
    const size = sizes.get(seq);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    if (size === undefined || body !== bodyOf(seq, size)) d.corrupt.push(seq);
  }
  return d;
}

export function missingSeqs(acked: ReadonlyMap<number, string>, delivered: Deliveries): number[] {
  return [...acked.keys()].filter((s) => !delivered.count.has(s)).sort((a, b) => a - b);
}

export interface SpoolReport {
  states: Record<string, number>;
  rows: number;
  /** seq (from the stored Subject) → state. */
  seqState: Map<number, string>;
  ids: Set<string>;
  orphanBodies: string[];
  missingBodies: string[];
  otherFiles: string[];
}

/** Reads the spool of a stopped relay: states, body files without rows and rows without body files. */
export function inspectSpool(dataDir: string): SpoolReport {
  const dir = join(dataDir, 'queue');
  const db = openSpoolDb(join(dir, 'queue.db'), { fileMustExist: true });
  try {
    const rows = db.all<{ id: string; body_id: string; body_present: number; inline: number; state: string; subject: string | null }>(
      'SELECT id, body_id, body_present, EXISTS (SELECT 1 FROM bodies b WHERE b.body_id = m.body_id) AS inline, state, subject FROM messages m');
    const states: Record<string, number> = {};
    const seqState = new Map<number, string>();
    for (const r of rows) {
      states[r.state] = (states[r.state] ?? 0) + 1;
      const m = /^crash (\d+)$/.exec(r.subject ?? '');
      if (m) seqState.set(Number(m[1]), r.state);
    }
    const files = readdirSync(join(dir, 'bodies'));
    const bodyIds = new Set(rows.map((r) => r.body_id));
    const orphanBodies = files.filter((f) => f.endsWith('.eml') && !bodyIds.has(f.slice(0, -4)));
    const otherFiles = files.filter((f) => !f.endsWith('.eml'));
    // A small body lives in its row (inline); a larger one in bodies/<body_id>.eml.
    const missingBodies = rows.filter((r) => r.body_present === 1 && !r.inline && !existsSync(join(dir, 'bodies', `${r.body_id}.eml`))).map((r) => r.id);
    return { states, rows: rows.length, seqState, ids: new Set(rows.map((r) => r.id)), orphanBodies, missingBodies, otherFiles };
  } finally {
    db.close();
  }
}
