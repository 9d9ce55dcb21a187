/**
 * The receive workers of the main process (`workers` > 1): extra processes
 * that accept SMTP on the same listening sockets as the main process, each
 * with its own connection to the store (docs/architecture.md "Receive on
 * every core"; the messages in worker-ipc.ts).
 *
 * The main process stays the only place for what must be counted once: the
 * failed-login counts and device rates (asked for by the workers), the
 * scheduler (woken by them), metrics and the session watch (fed by them), the
 * log (their lines are written to it). A worker that ends unexpectedly is
 * started again after a pause; the messages it had acknowledged are in the
 * store, the ones it had not are sent again by their clients.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from '../core/log.js';
import { TurnBatch } from '../core/turn-batch.js';
import type { Lockout, RateLimiter } from '../identity/lockout.js';
import type { ReceiveTelemetry, SessionWatchSink } from '../core/telemetry.js';
import type { Batch, FromWorker, ToWorker, ToWorkerBatch, WorkerCall } from './worker-ipc.js';
import type { DeviceActivity, NewMessage } from '../spool/store.js';

export interface WorkerDeps {
  log: Logger;
  lockout: Lockout;
  rates: RateLimiter;
  telemetry: ReceiveTelemetry;
  watch: SessionWatchSink;
  /** A message a worker received is committed; `routing`: it waits for a route (see Scheduler.accepted). */
  accepted: (routing: boolean) => void;
  /** With SQLite: the store, the spool's only writer (workers pass it what they accepted). */
  spool?: SpoolWriter | undefined;
  /** The listening sockets as bound now, by listener name (a restarted worker gets them all). */
  sockets: () => Map<string, Server>;
  /** SMTP sessions open in the main process now. */
  sessions: () => number;
}

export type WorkerConfig = Omit<Extract<ToWorker, { t: 'config' }>, 't' | 'worker' | 'spool' | 'accepting'>;

/**
 * When the workers accept too. With one session at a time (a device sending
 * its scans one after the other) a message a worker received waits for the
 * main process's answer over IPC, and the main process serves it faster
 * alone (docs/architecture.md, "Receive on every core").
 *
 * The sessions open in all processes are looked at every `LOOK_MS`. The
 * workers accept as well once `ACCEPT_AT` sessions have been open on average
 * over the last `ACCEPT_LOOKS` looks, or at once when `ACCEPT_AT_ONCE` are
 * open as a session opens (a burst); they stop once no more than `ALONE_AT`
 * have been open on average over the last `ALONE_LOOKS` looks (two seconds).
 *
 * Averages, not single looks: a device sending its messages one after the
 * other opens its next connection as soon as the last one is answered, and
 * the close of the last one is often seen after the next one opened (a
 * worker reports its sessions with its next IPC message, up to 50 ms later).
 * Such a device showed two, sometimes three sessions at a look. When every
 * look had to find at most one session, the workers never stopped accepting
 * after a burst, and each of the device's messages paid the worker's round
 * trip to the main process. While the workers accept, such a device still
 * shows two sessions at about half the looks (a worker's count lags), so
 * the average they stop at is two: what the main process serves alone
 * anyway, since they join only at three.
 */
const LOOK_MS = 250;
const ACCEPT_AT = 3;
const ACCEPT_LOOKS = 2;
const ACCEPT_AT_ONCE = 6;
const ALONE_AT = 2;
const ALONE_LOOKS = 8;

export interface SpoolWriter {
  acceptWritten(message: NewMessage, body: { bodyId: string; inline?: Buffer | undefined }): Promise<void>;
  recordDeviceActivity(activity: DeviceActivity): Promise<void>;
}

interface Worker {
  n: number;
  child: ChildProcess;
  /** Login checks it has begun and not ended (ended for it if it dies). */
  tickets: Set<number>;
  /** Resolves when it listens for messages (its `hello`). */
  hello: Promise<void>;
  helloSeen?: () => void;
  /** The answer awaited from it: ready at start, applied after a reload. */
  waiting?: { resolve: () => void; reject: (err: Error) => void };
  drained?: (r: { sessions: number; cutOff: number }) => void;
  exited: Promise<void>;
  /** Messages for it not sent yet: one batch per turn (see post). */
  outbox: TurnBatch<ToWorker>;
  /** Its SMTP sessions open now (from its session-view events). */
  sessions: number;
  /** It has applied its first configuration. */
  configured: boolean;
}

const SCRIPT = fileURLToPath(new URL('./receive-worker.js', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const RESTART_PAUSE_MS = 1_000;

export class ReceiveWorkers {
  private readonly workers = new Map<number, Worker>();
  private readonly ends = new Map<number, () => void>();
  private nextTicket = 1;
  private config: WorkerConfig | undefined;
  private stopping = false;
  /** The workers accept too (see ACCEPT_AT). */
  private accepting = false;
  /** A reload is being applied: accepting does not change meanwhile. */
  private updating = false;
  /** The sessions open at the last looks (at most ALONE_LOOKS), since the workers began or stopped accepting. */
  private looks: number[] = [];
  /** Looks at the sessions open every LOOK_MS. */
  private check: NodeJS.Timeout | undefined;
  /** The main process's log stream: worker lines are written to it as they are. */
  private readonly stream: { write(line: string): void } | undefined;

  constructor(private readonly deps: WorkerDeps) {
    this.stream = (deps.log as unknown as Record<symbol, { write(line: string): void } | undefined>)[pino.symbols.streamSym];
    // Every lock set in the main process (by any process's failures, SMTP or IMAP/POP3) is copied to the workers.
    deps.lockout.onLock = (key, until) => this.broadcast({ t: 'locks', entries: [[key, until]] });
  }

  get pids(): number[] {
    return [...this.workers.values()].map((w) => w.child.pid ?? 0);
  }

  /** Starts `count` workers with the first configuration; resolves once every one accepts. */
  async start(count: number, config: WorkerConfig): Promise<void> {
    this.config = config;
    await Promise.all(Array.from({ length: count }, (_, i) => this.spawn(i + 1)));
    if (!this.stopping) {
      this.check = setInterval(() => this.look(), LOOK_MS);
      this.check.unref();
    }
  }

  /** A reload: the new configuration, and the sockets of listeners it opened; resolves once every worker has applied it. */
  async update(config: WorkerConfig, opened: string[]): Promise<void> {
    this.config = config;
    this.updating = true;
    const sockets = this.deps.sockets();
    try {
      await Promise.all([...this.workers.values()].map((w) => this.configure(w, opened.map((name) => [name, sockets.get(name)!] as const)).catch((err: unknown) => {
        this.deps.log.error({ event: 'worker-reload-failed', worker: w.n, err: (err as Error).message }, `receive worker ${w.n} could not apply the configuration: ${(err as Error).message}; it is restarted`);
        w.child.kill('SIGKILL');
      })));
    } finally {
      this.updating = false;
    }
  }

  /** A session opened in the main process: with `ACCEPT_AT_ONCE` open at once, the workers accept too. */
  sessionOpened(): void {
    if (this.accepting || !this.steady()) return;
    const open = this.openSessions();
    if (open >= ACCEPT_AT_ONCE) this.acceptToo(open);
  }

  /** A look at the sessions open: the workers begin or stop accepting on the average of the last looks. */
  private look(): void {
    if (!this.steady()) return;
    const open = this.openSessions();
    this.looks.push(open);
    if (this.looks.length > ALONE_LOOKS) this.looks.shift();
    if (!this.accepting) {
      if (this.looks.length >= ACCEPT_LOOKS && mean(this.looks.slice(-ACCEPT_LOOKS)) >= ACCEPT_AT) this.acceptToo(open);
      return;
    }
    if (this.looks.length < ALONE_LOOKS || mean(this.looks) > ALONE_AT) return;
    this.accepting = false;
    this.looks = [];
    this.broadcast({ t: 'stop-accepting' });
    this.deps.log.debug({ event: 'workers-stop-accepting', sessions: open }, `${open} SMTP session(s) open: the main process accepts alone`);
  }

  private acceptToo(open: number): void {
    this.accepting = true;
    this.looks = [];
    const sockets = [...this.deps.sockets()];
    for (const w of this.workers.values()) {
      if (!w.child.connected) continue;
      for (const [name, socket] of sockets) w.child.send({ t: 'socket', name, accept: true } satisfies ToWorker, socket);
    }
    this.deps.log.debug({ event: 'workers-accept', sessions: open }, `${open} SMTP sessions open: the receive workers accept too`);
  }

  /** Every worker configured, and no stop or reload under way (what the workers accept on does not change then). */
  private steady(): boolean {
    return !this.stopping && !this.updating && [...this.workers.values()].every((w) => w.configured && !w.waiting);
  }

  private openSessions(): number {
    let open = this.deps.sessions();
    for (const w of this.workers.values()) open += w.sessions;
    return open;
  }

  /** The graceful stop of every worker (see ReceiveStage.drain); sums their sessions. */
  async drain(deadline: number): Promise<{ sessions: number; cutOff: number }> {
    this.stopping = true;
    clearInterval(this.check);
    const results = await Promise.all([...this.workers.values()].map(async (w) => {
      const result = new Promise<{ sessions: number; cutOff: number }>((resolve) => (w.drained = resolve));
      this.post(w, { t: 'drain', deadline });
      // A worker that does not answer within the deadline (and a margin for its 421s) is ended.
      const late = setTimeout(() => w.child.kill('SIGKILL'), Math.max(0, deadline - Date.now()) + 10_000);
      const r = await Promise.race([result, w.exited.then(() => ({ sessions: 0, cutOff: 0 }))]);
      await w.exited;
      clearTimeout(late);
      return r;
    }));
    return results.reduce((a, r) => ({ sessions: a.sessions + r.sessions, cutOff: a.cutOff + r.cutOff }), { sessions: 0, cutOff: 0 });
  }

  /** Ends every worker at once (a start that failed). */
  kill(): void {
    this.stopping = true;
    clearInterval(this.check);
    for (const w of this.workers.values()) w.child.kill('SIGKILL');
  }

  private spawn(n: number): Promise<void> {
    const child = fork(SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')) });
    let helloSeen!: () => void;
    const hello = new Promise<void>((r) => (helloSeen = r));
    const outbox = new TurnBatch<ToWorker>((items) => {
      if (child.connected) child.send({ t: 'batch', items } satisfies ToWorkerBatch);
    });
    const w: Worker = { n, child, tickets: new Set(), outbox, sessions: 0, configured: false, exited: new Promise((r) => child.once('exit', () => r())), hello, helloSeen };
    this.workers.set(n, w);
    child.on('message', (msg: Batch) => {
      if (msg?.t === 'batch') for (const item of msg.items) this.handle(w, item);
    });
    child.on('error', (err) => this.deps.log.warn({ event: 'worker-error', worker: n, err: err.message }, `receive worker ${n}: ${err.message}`));
    child.once('exit', (code, signal) => {
      for (const t of w.tickets) this.ends.get(t)?.();
      w.waiting?.reject(new Error(`receive worker ${n} ended (${signal ?? `exit code ${code}`}) before it was ready`));
      w.drained?.({ sessions: 0, cutOff: 0 });
      if (this.workers.get(n) === w) this.workers.delete(n);
      if (this.stopping) return;
      this.deps.log.error({ event: 'worker-exit', worker: n, pid: child.pid, code, signal },
        `receive worker ${n} (pid ${child.pid}) ended unexpectedly (${signal ?? `exit code ${code}`}); starting it again. Messages it had acknowledged are in the queue; its open sessions were cut and their clients send again`);
      setTimeout(() => {
        if (!this.stopping) this.spawn(n).catch((err: unknown) => this.deps.log.error({ event: 'worker-start-failed', worker: n, err: (err as Error).message }, `receive worker ${n} could not start again: ${(err as Error).message}`));
      }, RESTART_PAUSE_MS).unref();
    });
    const ended = w.exited.then(() => {
      throw new Error(`receive worker ${n} ended before it was ready`);
    });
    return Promise.race([w.hello, ended]).then(() => this.configure(w, [...this.deps.sockets()])).then(() => {
      w.configured = true;
    }, (err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
  }

  /** The configuration for a worker, with the sockets it needs: only while the workers accept. */
  private configure(w: Worker, sockets: (readonly [string, Server])[]): Promise<void> {
    const accepting = this.accepting;
    if (accepting) for (const [name, socket] of sockets) w.child.send({ t: 'socket', name } satisfies ToWorker, socket);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receive worker ${w.n} did not answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      w.waiting = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.post(w, { t: 'config', ...this.config!, worker: w.n, spool: this.deps.spool ? 'main' : 'own', accepting });
    });
  }

  /** Queued for the worker's next batch, sent at the end of this turn. */
  private post(w: Worker, msg: ToWorker): void {
    if (w.child.connected) w.outbox.push(msg);
  }

  private broadcast(msg: ToWorker): void {
    for (const w of this.workers.values()) this.post(w, msg);
  }

  private handle(w: Worker, item: FromWorker): void {
    switch (item.t) {
      case 'log':
        if (this.stream) this.stream.write(item.line);
        return;
      case 'accepted':
        this.deps.accepted(item.routing);
        return;
      case 'telemetry':
        (this.deps.telemetry as unknown as Record<string, (...a: unknown[]) => void>)[item.m]?.(...item.a);
        return;
      case 'watch':
        if (item.m === 'begin') w.sessions++;
        else if (item.m === 'end') w.sessions = Math.max(0, w.sessions - 1);
        (this.deps.watch as unknown as Record<string, (...a: unknown[]) => void>)[item.m]?.(...item.a);
        return;
      case 'call':
        this.call(w, item.id, item.call);
        return;
      case 'hello':
        w.helloSeen?.();
        return;
      case 'ready':
      case 'applied': {
        const waiting = w.waiting;
        w.waiting = undefined;
        waiting?.resolve();
        return;
      }
      case 'failed': {
        const waiting = w.waiting;
        w.waiting = undefined;
        waiting?.reject(new Error(item.error));
        return;
      }
      case 'drained':
        w.drained?.({ sessions: item.sessions, cutOff: item.cutOff });
        return;
    }
  }

  private call(w: Worker, id: number, c: WorkerCall): void {
    const { lockout, rates } = this.deps;
    const reply = (value: unknown) => this.post(w, { t: 'reply', id, value });
    const lockState = (keys: string[]): [string, number][] => keys.map((k) => [k, lockout.lockedUntil(k, Date.now())]);
    switch (c.m) {
      case 'begin':
        void lockout.begin(c.keys).then((end) => {
          const ticket = this.nextTicket++;
          this.ends.set(ticket, () => {
            this.ends.delete(ticket);
            w.tickets.delete(ticket);
            end();
          });
          w.tickets.add(ticket);
          reply({ ticket, locks: lockState(c.keys) });
        });
        return;
      case 'end':
        this.ends.get(c.ticket)?.();
        return;
      case 'fail': {
        const locked = lockout.fail(c.keys, Date.now());
        reply({ locked, locks: lockState(c.keys) });
        return;
      }
      case 'succeed':
        lockout.succeed(c.keys);
        return;
      case 'take':
        reply(rates.take(c.key, c.limit, Date.now()));
        return;
      case 'accept': {
        const inline = c.inline ? Buffer.from(c.inline.buffer, c.inline.byteOffset, c.inline.byteLength) : undefined;
        this.deps.spool!.acceptWritten(c.message, { bodyId: c.bodyId, inline }).then(
          () => {
            reply(true);
            // Committed here: the scheduler is woken here, as for a message this process received.
            this.deps.accepted(!c.message.routes?.length);
          },
          (err: unknown) => this.post(w, { t: 'reply', id, error: (err as Error).message }),
        );
        return;
      }
      case 'activity':
        this.deps.spool!.recordDeviceActivity(c.activity).then(
          () => reply(true),
          (err: unknown) => this.post(w, { t: 'reply', id, error: (err as Error).message }),
        );
        return;
    }
  }
}

function mean(values: number[]): number {
  return values.reduce((a, n) => a + n, 0) / values.length;
}
