/**
 * Counting upstream: Postfix's smtp-sink on a loopback port with running
 * counters (-c). Both systems relay to it, so "delivered end-to-end" means
 * "received by this sink".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export interface CountingSink {
  port: number;
  /** Messages received so far (every "." the sink accepted). */
  count(): number;
  /** Waits until count() >= target or timeoutMs passes. */
  waitFor(target: number, timeoutMs: number): Promise<Reached>;
  stop(): Promise<void>;
}

export async function startSink(): Promise<CountingSink> {
  const port = await freePort();
  // -u root: stay root (no privilege drop needed on loopback); 256: listen backlog.
  const child = spawn(SMTP_SINK, ['-u', 'root', '-c', `${LOOPBACK}:${port}`, '256'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A pid file in an owned temp dir lets a later run kill this sink if the harness dies by SIGKILL.
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
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
