/**
 * A receive worker process (`workers` > 1): the receive stage alone, on the
 * listening sockets the main process bound and passed over IPC, storing what
 * it accepts through its own connection to the store. Everything else (the
 * scheduler, deliveries, the admin server, metrics, the session watch, the
 * failed-login counts) stays in the main process; see worker-ipc.ts.
 *
 * It is started by the main process (root/workers.ts) and never on its own:
 * without an IPC channel it exits. It ignores SIGINT, SIGTERM and SIGHUP (a
 * terminal's Ctrl-C reaches the whole process group): the main process stops
 * it with `drain`, and when the main process is gone (the IPC channel closes)
 * it closes its listening sockets at once and finishes the messages in
 * progress before it exits.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../core/log.js';
import { tuneHeap } from '../core/heap.js';
import { TurnBatch } from '../core/turn-batch.js';
import { deepFreeze } from '../core/freeze.js';
import { relayHostname, sqliteBodiesDir } from '../spool/names.js';
import type { ReceiveStore } from '../spool/store.js';
import { BodyFiles, trackedBody } from '../spool/sqlite/bodies.js';
import { ReceiveStage } from '../receive/server.js';
import { smtpListenersOf } from '../receive/listener-set.js';
import type { ReceiveSnapshot } from '../receive/snapshot.js';
import type { LoginLimits, MessageRates } from '../identity/lockout.js';
import type { ReceiveTelemetry, SessionWatchSink } from '../core/telemetry.js';
import { buildReceive } from './snapshot.js';
import type { Batch, FromWorker, ToWorker, ToWorkerBatch, WorkerCall } from './worker-ipc.js';

tuneHeap();
if (!process.send) {
  process.stderr.write('receive-worker: started without the main process (it is run by `authrelay serve` when workers > 1)\n');
  process.exit(2);
}

// ---- the channel to the main process: one batch per event-loop turn ----
/**
 * What only reports (metrics, session-view events, log lines) waits up to this long for a batch
 * that must go (a call, an answer), instead of waking the main process for every SMTP command.
 */
const REPORT_WAIT_MS = 50;
const outbox = new TurnBatch<FromWorker>((items) => {
  if (process.connected) process.send!({ t: 'batch', items } satisfies Batch);
}, REPORT_WAIT_MS);
const send = (item: FromWorker) => outbox.push(item);
const report = (item: FromWorker) => outbox.later(item);
const flush = () => outbox.flush();

let nextCall = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function call<T>(c: WorkerCall): Promise<T> {
  const id = nextCall++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    send({ t: 'call', id, call: c });
  });
}

// ---- the main process's counters, seen from here ----
/** Locks as the main process set them (copied here as they are set): the connect-time check reads them. */
const locks = new Map<string, number>();
function noteLocks(entries: [string, number][]): void {
  const now = Date.now();
  for (const [k, until] of entries) {
    if (until > now) locks.set(k, until);
    else locks.delete(k);
  }
  if (locks.size > 10_000) for (const [k, until] of locks) if (until <= now) locks.delete(k);
}
const loginLimits: LoginLimits = {
  async begin(keys) {
    const r = await call<{ ticket: number; locks: [string, number][] }>({ m: 'begin', keys });
    noteLocks(r.locks);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      send({ t: 'call', id: 0, call: { m: 'end', ticket: r.ticket } });
    };
  },
  isLocked: (keys, now) => keys.some((k) => (locks.get(k) ?? 0) > now),
  async fail(keys) {
    const r = await call<{ locked: boolean; locks: [string, number][] }>({ m: 'fail', keys });
    noteLocks(r.locks);
    return r.locked;
  },
  succeed: (keys) => send({ t: 'call', id: 0, call: { m: 'succeed', keys } }),
};
const rates: MessageRates = { take: (key, limit) => call<number>({ m: 'take', key, limit }) };

const telemetry = new Proxy({}, { get: (_t, m: string) => (...a: unknown[]) => report({ t: 'telemetry', m, a }) }) as ReceiveTelemetry;
const watch = new Proxy({}, { get: (_t, m: string) => (...a: unknown[]) => report({ t: 'watch', m, a }) }) as SessionWatchSink;

// ---- the spool ----
/**
 * With SQLite the main process is the spool's only writer (processes that
 * each commit would wait for each other's write lock, blocking their event
 * loops): bodies are written here, in files of the same directory or kept
 * inline up to 128 KB, and the main process commits the row in its next group
 * and answers; the 250 follows that answer.
 */
function spoolThroughMain(dir: string): ReceiveStore & { init(): Promise<void>; close(): Promise<void> } {
  const bodies = new BodyFiles(dir);
  const writers = new Map<string, { readonly bodyId: string; inline(): Buffer | undefined }>();
  return {
    init: async () => {
      await bodies.init();
      bodies.fill();
    },
    close: () => bodies.close(),
    createBody: (id) => trackedBody(bodies, writers, id),
    async accept(message) {
      const w = writers.get(message.id);
      writers.delete(message.id);
      await call<true>({ m: 'accept', message, bodyId: w?.bodyId ?? message.id, inline: w?.inline() });
    },
    async recordDeviceActivity(activity) {
      await call<true>({ m: 'activity', activity });
    },
  };
}

// ---- the receive stage ----
/** A listening socket passed by the main process, and the connections it took before a listener did. */
interface Passed {
  socket: Server;
  held: Socket[];
  hold: (s: Socket) => void;
}
/**
 * Listening sockets passed for the configuration being applied, or to accept
 * on. A passed socket accepts at once; connections it takes before the
 * listener's SMTP server is attached are held and handed over right after.
 */
const sockets = new Map<string, Passed>();
function received(name: string, socket: Server): void {
  const held: Socket[] = [];
  const hold = (s: Socket) => {
    s.on('error', () => undefined);
    held.push(s);
  };
  socket.on('connection', hold);
  sockets.get(name)?.socket.close();
  sockets.set(name, { socket, held, hold });
}
let log: Logger | undefined;
let store: (ReceiveStore & { close(): Promise<void> }) | undefined;
let stage: ReceiveStage | undefined;
let snapshot: ReceiveSnapshot | undefined;
let stopping: Promise<void> | undefined;
let worker = 0;
/** Accepting on the listening sockets (the main process says when: see worker-ipc.ts). */
let accepting = false;
/** Configurations and accept / stop-accepting, applied one after the other in the order they came. */
let serial: Promise<unknown> = Promise.resolve();

function stepFailed(err: unknown): void {
  log?.error({ event: 'worker-accepting-failed', err }, `receive worker ${worker}: ${(err as Error).message}`);
}

/** Runs after the configurations and accept / stop-accepting that came before; a failure ends only its own step. */
function inOrder<T>(step: () => T | Promise<T>): Promise<T> {
  const run = serial.then(step);
  serial = run.catch(() => undefined);
  return run;
}

/** A passed socket's held connections go to the listener that took it; one not taken is closed, with them. */
function settle(passed: Passed, taken: boolean): void {
  passed.socket.removeListener('connection', passed.hold);
  if (taken) for (const s of passed.held) passed.socket.emit('connection', s);
  else {
    passed.socket.close();
    for (const s of passed.held) s.destroy();
  }
}

/** Accepts on a socket just passed to accept on; connections it took meanwhile go to its listener. */
function acceptOnPassed(name: string, socket: Server): void {
  const passed = sockets.get(name);
  // Passed again since, or taken by a configuration's plan: nothing more to do here.
  if (!passed || passed.socket !== socket || !stage) return;
  sockets.delete(name);
  accepting = true;
  settle(passed, stage.acceptOn(name, passed.socket));
}

/** Log lines go to the main process, which writes them where its own go. */
function logger(level: string): Logger {
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      report({ t: 'log', line: chunk.toString('utf8') });
      cb();
    },
  });
  return createLogger(level, out).child({ worker });
}

async function apply(msg: Extract<ToWorker, { t: 'config' }>): Promise<void> {
  const next = deepFreeze(msg.config);
  worker = msg.worker;
  accepting = msg.accepting;
  const shared = { lockout: loginLimits, rates };
  const receive = buildReceive(next, msg.version, shared);
  if (!stage) {
    log = logger(next.log.level);
    // The store is loaded only for a spool of its own (PostgreSQL): with SQLite the main process commits.
    const own = msg.spool === 'own' ? (await import('../spool/open.js')).openStore(next, log) : spoolThroughMain(sqliteBodiesDir(next));
    await own.init();
    store = own;
    const s = own;
    stage = new ReceiveStage({
      store: s, log, current: () => snapshot!, telemetry, watch,
      // With SQLite the main process wakes its scheduler when it commits the message; a store of this
      // process's own (PostgreSQL) committed it here.
      onAccepted: msg.spool === 'own' ? (_id, routed) => send({ t: 'accepted', routing: !routed }) : () => undefined,
      adopt: (l) => {
        const passed = sockets.get(l.name);
        // Not accepting: a socket that listens on nothing, until the main process passes the listener's.
        if (!passed && !accepting) return createServer();
        if (!passed) throw new Error(`listener ${l.name}: the main process passed no socket`);
        passed.socket.removeListener('connection', passed.hold);
        return passed.socket;
      },
    });
  }
  log!.level = next.log.level;
  // The first version is in effect from the first connection (the passed sockets accept during the plan).
  snapshot ??= receive;
  const plan = await stage.plan({ listeners: smtpListenersOf(next.listeners), hostname: relayHostname(next), certificate: msg.certificate });
  snapshot = receive;
  plan.commit();
  // A socket passed and not taken (the listener was not opened here after all) is closed, with what it held.
  for (const [name, passed] of sockets) settle(passed, stage.socketOf(name) === passed.socket);
  sockets.clear();
}

function stop(deadline: number): Promise<void> {
  return (stopping ??= (async () => {
    const result = stage ? await stage.drain(deadline) : { sessions: 0, cutOff: 0 };
    await store?.close();
    send({ t: 'drained', ...result });
    flush();
    // The last batch is written before the channel closes.
    await new Promise((r) => setTimeout(r, 50));
    process.exit(0);
  })());
}

process.on('message', (msg: ToWorker | ToWorkerBatch, handle?: unknown) => {
  if (msg.t === 'batch') for (const item of msg.items) handleMessage(item);
  else handleMessage(msg, handle);
});

function handleMessage(msg: ToWorker, handle?: unknown): void {
  switch (msg.t) {
    case 'socket': {
      const socket = handle as Server;
      received(msg.name, socket);
      if (msg.accept) inOrder(() => acceptOnPassed(msg.name, socket)).catch(stepFailed);
      return;
    }
    case 'stop-accepting':
      inOrder(() => {
        accepting = false;
        stage?.stopAccepting();
      }).catch(stepFailed);
      return;
    case 'config': {
      let first = false;
      inOrder(() => {
        first = !stage;
        return apply(msg);
      }).then(
        () => send(first ? { t: 'ready' } : { t: 'applied', version: msg.version.label }),
        (err: unknown) => {
          send({ t: 'failed', error: (err as Error).message });
          if (first) {
            flush();
            setTimeout(() => process.exit(1), 50);
          }
        },
      );
      return;
    }
    case 'reply': {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error));
      else p?.resolve(msg.value);
      return;
    }
    case 'locks':
      noteLocks(msg.entries);
      return;
    case 'drain':
      void stop(msg.deadline);
      return;
  }
}

// The main process is gone (killed, or stopped at once): this process ends at once too. Messages it
// acknowledged are in the store; a session cut here had no 250 yet, and its client sends again. It does
// not finish them: a relay started again would clear unfinished bodies from the spool meanwhile.
process.on('disconnect', () => {
  process.exit(stopping ? 0 : 1);
});
// Now that messages are listened for, the main process may send the sockets and the configuration.
send({ t: 'hello' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
process.on('uncaughtException', (err) => {
  log?.error({ event: 'uncaught', err }, `receive worker ${worker}: ${err.message}`);
  flush();
});
process.on('unhandledRejection', (err) => {
  log?.error({ event: 'unhandled-rejection', err }, `receive worker ${worker}: ${(err as Error)?.message ?? String(err)}`);
  flush();
});
