/**
 * What the relay's main process and its receive workers (`workers` > 1,
 * docs/architecture.md "Receive on every core") say to each other over the
 * IPC channel of child_process.fork.
 *
 * The main process binds every listening socket. While it serves few
 * sessions it accepts alone; once several are open at once it passes each
 * listening socket to the workers with the `socket` message, to `accept` on
 * too (the kernel hands each connection to one process), and once the load
 * has passed it tells them to stop (`stop-accepting`: a worker closes its
 * copies, its sessions go on). A worker that starts while they accept gets
 * the sockets with its configuration. A worker runs the receive stage on its own
 * store connection and tells the main process what the single places of the
 * relay need: wake the scheduler, count metrics, feed the session watch, and
 * the log lines. Failed-login counts and device message rates stay in the
 * main process, asked for with `call` (a guesser gets no more attempts for
 * there being several processes); locks are copied to every worker as they
 * are set, for the connect-time check.
 *
 * Each side sends at most one `batch` per turn of its event loop (a group
 * commit answers many accepts at once: one write, not one per message); only
 * a `socket` message, which carries a handle, goes on its own. A worker's
 * first item is `hello`, once it listens for messages: a message (and a
 * listening socket) sent before would reach no one, so nothing is sent before it.
 */
import type { Config } from '../config/schema.js';
import type { CertificatePair } from '../receive/tls.js';
import type { ConfigVersion } from './snapshot.js';
import type { DeviceActivity, NewMessage } from '../spool/store.js';

/** Main process → worker, inside a `ToWorkerBatch` but for `socket`, which carries the listening socket as its handle. */
export type ToWorker =
  | { t: 'config'; config: Config; version: ConfigVersion; certificate?: CertificatePair | undefined; worker: number; spool: 'main' | 'own'; accepting: boolean }
  // A listening socket, for the configuration that follows; with `accept`, to accept on now (the main process
  // has more sessions open than it serves best alone), until `stop-accepting`.
  | { t: 'socket'; name: string; accept?: true }
  | { t: 'stop-accepting' }
  | { t: 'reply'; id: number; value?: unknown; error?: string }
  | { t: 'locks'; entries: [string, number][] }
  | { t: 'drain'; deadline: number };

/** Calls a worker makes to the main process's Lockout and RateLimiter. */
export type WorkerCall =
  | { m: 'begin'; keys: string[] }
  | { m: 'end'; ticket: number }
  | { m: 'fail'; keys: string[] }
  | { m: 'succeed'; keys: string[] }
  | { m: 'take'; key: string; limit: { messages: number; per: number } }
  // With SQLite the main process is the spool's only writer: a worker writes the body (a file, or kept
  // inline up to 128 KB) and the main process commits the row in its next group.
  | { m: 'accept'; message: NewMessage; bodyId: string; inline?: Uint8Array | undefined }
  | { m: 'activity'; activity: DeviceActivity };

/** Worker → main process, always inside a `batch`. */
export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready' }
  | { t: 'applied'; version: string }
  | { t: 'failed'; error: string }
  | { t: 'log'; line: string }
  | { t: 'telemetry'; m: string; a: unknown[] }
  | { t: 'watch'; m: string; a: unknown[] }
  | { t: 'accepted'; routing: boolean }
  | { t: 'call'; id: number; call: WorkerCall }
  | { t: 'drained'; sessions: number; cutOff: number };

export interface Batch {
  t: 'batch';
  items: FromWorker[];
}

export interface ToWorkerBatch {
  t: 'batch';
  items: ToWorker[];
}

/** How many receive processes a `workers` setting means on this machine. */
export function workerCount(setting: number | 'auto', cores: number): number {
  return setting === 'auto' ? Math.max(1, Math.min(cores, 8)) : setting;
}
