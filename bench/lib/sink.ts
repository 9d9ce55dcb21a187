/**
 * Counting upstream: Postfix's smtp-sink on a loopback port with running
 * counters (-c). Both systems relay to it, so "delivered end-to-end" means
 * "received by this sink". With `dump`, the sink also appends every message
 * it receives to a file (-D), from which dumpSummary() tells how many distinct
 * messages arrived: a relay that delivers the right count but some message
 * twice and another never (an overwritten spool file) is caught there.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK, claimDir, freePort, killRecorded, onCleanup, orphanedDirs, recordPid, waitForPort } from './proc.js';

export const SMTP_SINK = '/usr/sbin/smtp-sink';
const DIR_PREFIX = 'authrelay-bench-sink-';

/** Kills sinks left behind by a harness that was killed outright. */
export function sweepStaleSinks(): string[] {
  const stale = orphanedDirs(DIR_PREFIX);
  for (const dir of stale) {
    killRecorded(dir, 'smtp-sink', 'smtp-sink');
    rmSync(dir, { recursive: true, force: true });
  }
  return stale;
}

export interface Reached {
  /** Messages received when the wait ended. */
  count: number;
  /** performance.now() when the target was reached, or undefined on timeout. */
  at: number | undefined;
}

/** What a dump holds (see dumpSummary). */
export interface DumpSummary {
  /** Messages in the dump. */
  messages: number;
  /** Distinct messages: by the queue ids of the relays they went through and their Message-ID. */
  distinct: number;
  /** Messages whose key was seen before (delivered more than once). */
  duplicates: number;
  /** Messages without any relay queue id in their Received fields (the key is then the Message-ID alone). */
  withoutRelayId: number;
}

/**
 * Reads a multi-message dump of smtp-sink (-D): each message starts with the
 * sink's "X-Client-Addr:" record, then its own Received field, then the
 * message as received. A message's key is the ids in the Received fields the
 * relays added (authrelay's queue id, Postfix's queue id), which are one per
 * accepted message, together with the Message-ID smtp-source wrote.
 */
export async function summariseDump(file: string): Promise<DumpSummary> {
  const keys = new Set<string>();
  let messages = 0;
  let duplicates = 0;
  let withoutRelayId = 0;
  let inHeader = false;
  let ids: string[] = [];
  let messageId = '';
  let received = '';
  const endReceived = () => {
    // Folded fields arrive as several lines; one Received field is complete here.
    const m = /\bby (\S+) \(([^)]*)\) with \S+ id ([^;\s]+)/.exec(received);
    if (m && m[2] !== 'smtp-sink') ids.push(m[3] as string);
    received = '';
  };
  const endMessage = () => {
    if (messages === 0) return;
    endReceived();
    if (ids.length === 0) withoutRelayId++;
    const key = `${ids.join(',')}|${messageId}`;
    if (keys.has(key)) duplicates++;
    else keys.add(key);
  };
  if (!existsSync(file)) return { messages: 0, distinct: 0, duplicates: 0, withoutRelayId: 0 };
  const lines = createInterface({ input: createReadStream(file, { encoding: 'latin1' }), crlfDelay: Infinity });
  for await (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('X-Client-Addr: ')) {
      endMessage();
      messages++;
      inHeader = true;
      ids = [];
      messageId = '';
      received = '';
      continue;
    }
    if (!inHeader) continue;
    if (line === '') {
      endReceived();
      inHeader = false;
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (received) received += line;
      continue;
    }
    endReceived();
    if (/^received:/i.test(line)) received = line;
    else if (/^message-id:/i.test(line)) messageId = line.slice(line.indexOf(':') + 1).trim();
  }
  endMessage();
  return { messages, distinct: keys.size, duplicates, withoutRelayId };
}

export interface SinkOptions {
  /** Keep every message received in a dump file, for dumpSummary(). */
  dump?: boolean;
}

export interface CountingSink {
  port: number;
  /** Messages received so far (every "." the sink accepted). */
  count(): number;
  /** Waits until count() >= target or timeoutMs passes. */
  waitFor(target: number, timeoutMs: number): Promise<Reached>;
  /** Distinct messages received so far (only with the dump option). */
  dumpSummary(): Promise<DumpSummary>;
  stop(): Promise<void>;
}

export async function startSink(options: SinkOptions = {}): Promise<CountingSink> {
  const port = await freePort();
  // A pid file in an owned temp dir lets a later run kill this sink if the harness dies by SIGKILL.
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  const dumpFile = join(dir, 'messages.dump');
  // -u root: stay root (no privilege drop needed on loopback); 256: listen backlog. The dump
  // template goes through strftime: the temp dir's name has no "%".
  const child = spawn(SMTP_SINK, ['-u', 'root', '-c', ...(options.dump ? ['-D', dumpFile] : []), `${LOOPBACK}:${port}`, '256'], { stdio: ['ignore', 'pipe', 'pipe'] });
  recordPid(dir, 'smtp-sink', child.pid);
  const unregister = onCleanup(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let count = 0;
  let tail = '';
  let stderr = '';
  const waiters = new Set<{ target: number; done: (r: Reached) => void }>();
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  // Counter records look like "sess=1 quit=1 mesg=500\r"; "mesg" is cumulative.
  child.stdout.on('data', (c: Buffer) => {
    const text = tail + c.toString('latin1');
    const cut = Math.max(text.lastIndexOf('\r'), text.lastIndexOf('\n'));
    tail = text.slice(cut + 1);
    const complete = text.slice(0, cut + 1);
    const all = [...complete.matchAll(/mesg=(\d+)/g)];
    const last = all[all.length - 1];
    if (!last) return;
    count = Math.max(count, Number(last[1]));
    const now = performance.now();
    for (const w of waiters) {
      if (count >= w.target) {
        waiters.delete(w);
        w.done({ count, at: now });
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, 5000),
      exited.then(() => {
        throw new Error(`smtp-sink exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    unregister();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    count: () => count,
    waitFor: (target, timeoutMs) =>
      new Promise<Reached>((resolve) => {
        if (count >= target) return resolve({ count, at: performance.now() });
        const w = {
          target,
          done: (r: Reached) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          resolve({ count, at: undefined });
        }, timeoutMs);
        waiters.add(w);
      }),
    dumpSummary: () => {
      if (!options.dump) return Promise.reject(new Error('this sink keeps no dump'));
      return summariseDump(dumpFile);
    },
    stop: async () => {
      unregister();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
