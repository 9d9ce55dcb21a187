/**
 * The listening sockets of the receive stage, kept apart from the SMTP
 * servers that serve them (maddy's listener tracker, smtp-server's public
 * `connect`): each listener owns one listening socket, keyed by its name (or
 * host:port), and hands every connection it accepts to the listener's current
 * smtp-server. A reload that changes a listener's settings makes a new
 * smtp-server for it and points the same socket at it: sessions already open
 * stay with the old server and its settings until they end, new connections
 * get the new ones, and the port is never closed. A listener added is bound
 * before the reload is committed (a port that cannot be bound refuses the
 * whole reload); a listener removed stops accepting, and its open sessions
 * finish on their own.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenerConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { UserError } from '../core/user-error.js';
import type { RelayConnection, RelaySmtpServer } from './relay-smtp-server.js';

export type NamedListener = ListenerConfig & { name: string };

export interface BoundListener {
  name: string;
  host: string;
  port: number;
  tls: ListenerConfig['tls'];
}

interface Entry {
  key: string;
  listener: NamedListener;
  /** What the server was built from: a change of any of it makes a new server. */
  fingerprint: string;
  socket: Server;
  port: number;
  server: RelaySmtpServer;
}

/** A listener's name: as configured, or made from its TLS mode and port. */
export function listenerName(l: ListenerConfig, index: number): string {
  return l.name ?? `${l.tls}-${l.port || index}`;
}

/** The SMTP listeners of a configuration, named as in the whole list (an unnamed listener's name holds its index there). */
export function smtpListenersOf(listeners: readonly ListenerConfig[]): NamedListener[] {
  return listeners.map((l, i) => ({ ...l, name: listenerName(l, i) })).filter((l) => l.protocol === 'smtp');
}

/** A port that cannot be bound, said so that a person can act on it. */
export class ListenError extends UserError {
  constructor(readonly listener: NamedListener, readonly code: string, cause: string) {
    super(listenHint(listener, code, cause));
  }
}

function listenHint(l: NamedListener, code: string, cause: string): string {
  const where = `listener ${l.name} (${l.host}:${l.port})`;
  if (code === 'EADDRINUSE') {
    return `${where}: port ${l.port} is already in use by another program. Find it with \`ss -ltnp 'sport = :${l.port}'\`, stop it, or choose another port for this listener`;
  }
  if (code === 'EACCES') {
    return `${where}: not allowed to listen on port ${l.port}` + (l.port < 1024
      ? '. Ports below 1024 need the CAP_NET_BIND_SERVICE capability (the systemd unit in deploy/ grants it), or use a port of 1024 or above (2525, 2465)'
      : ` (${cause})`);
  }
  if (code === 'EADDRNOTAVAIL') return `${where}: ${l.host} is not an address of this machine; use one of its addresses, or 0.0.0.0 (all IPv4) or :: (all)`;
  return `${where}: cannot listen (${cause})`;
}

export class ListenerSet {
  private readonly entries = new Map<string, Entry>();
  /** Servers replaced by a reload, still serving the sessions they had. */
  private readonly retired = new Set<RelaySmtpServer>();
  private closed = false;

  /**
   * In a receive worker process: the listening socket of a listener, bound
   * by the primary and passed over IPC, taken instead of binding one.
   */
  constructor(private readonly log: Logger, private readonly adopt?: (l: NamedListener) => Server) {}

  /** The listening socket of a listener (the primary passes it on to its receive workers). */
  socketOf(name: string): Server | undefined {
    for (const e of this.entries.values()) if (e.listener.name === name) return e.socket;
    return undefined;
  }

  /** The listeners as bound now, in configuration order. */
  get bound(): BoundListener[] {
    return [...this.entries.values()].map((e) => ({ name: e.listener.name, host: e.listener.host, port: e.port, tls: e.listener.tls }));
  }

  /** The listeners' settings as bound now (with their actual ports). */
  settings(): { listener: NamedListener; port: number }[] {
    return [...this.entries.values()].map((e) => ({ listener: e.listener, port: e.port }));
  }

  /** Every server with sessions: current and retired. */
  servers(): RelaySmtpServer[] {
    return [...[...this.entries.values()].map((e) => e.server), ...this.retired];
  }

  /**
   * Works out what the next configuration changes and binds the new ports.
   * `make` builds an smtp-server for a listener. Nothing changes for running
   * sessions until the plan is committed; abort() undoes the binding.
   */
  async plan(listeners: { listener: NamedListener; fingerprint: string }[], make: (l: NamedListener) => RelaySmtpServer): Promise<ListenerPlan> {
    const next: Planned[] = [];
    const opened: Entry[] = [];
    try {
      for (const { listener, fingerprint } of listeners) {
        const key = keyOf(listener);
        const old = this.entries.get(key);
        if (old && old.listener.host === listener.host && (listener.port === 0 || old.port === listener.port)) {
          next.push(old.fingerprint === fingerprint ? { entry: old } : { entry: old, change: { listener, fingerprint, server: make(listener) } });
          continue;
        }
        const entry = await this.open(key, listener, fingerprint, make(listener));
        opened.push(entry);
        next.push({ entry });
      }
    } catch (err) {
      for (const e of opened) e.socket.close();
      throw err;
    }
    return new ListenerPlan(this, next, opened);
  }

  /** @internal Swaps in the planned entries. */
  commit(next: Planned[]): { added: string[]; changed: string[]; removed: string[] } {
    const keep = new Set(next.map((p) => p.entry));
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    for (const e of this.entries.values()) {
      if (keep.has(e)) continue;
      // Removed (or moved to another address): stop accepting; open sessions end on their own.
      e.socket.close();
      this.retire(e.server);
      removed.push(e.listener.name);
    }
    const existing = new Set(this.entries.values());
    for (const { entry, change } of next) {
      if (!existing.has(entry)) added.push(entry.listener.name);
      else if (change) {
        // The same socket now hands new connections to the new server; the old one keeps its sessions.
        this.retire(entry.server);
        Object.assign(entry, change);
        changed.push(entry.listener.name);
      }
    }
    this.entries.clear();
    for (const { entry } of next) this.entries.set(entry.key, entry);
    return { added, changed, removed };
  }

  private retire(server: RelaySmtpServer): void {
    if (server.connections.size === 0) return;
    this.retired.add(server);
    server.onIdle = () => this.retired.delete(server);
  }

  /** Sessions open now, in every server (current and retired). */
  openSessions(): number {
    let n = 0;
    for (const server of this.servers()) n += server.connections.size;
    return n;
  }

  /**
   * In a receive worker: accept on this listening socket, passed again by the
   * main process, for the listener of that name. False when there is no such
   * listener here (the socket is then not used) or the set is stopping.
   */
  acceptOn(name: string, socket: Server): boolean {
    if (this.closed) return false;
    for (const e of this.entries.values()) {
      if (e.listener.name !== name) continue;
      if (e.socket !== socket) {
        e.socket.close();
        e.socket = socket;
        this.route(e);
      }
      return true;
    }
    return false;
  }

  /**
   * In a receive worker: stop accepting. Its copies of the listening sockets
   * close; the main process keeps its own and accepts alone. Sessions go on.
   */
  stopAccepting(): void {
    for (const e of this.entries.values()) {
      e.socket.close();
      e.socket = createServer();
    }
  }

  /** New connections on the entry's socket go to its current server; the socket's errors are logged. */
  private route(entry: Entry): void {
    entry.socket.on('connection', (s: Socket) => {
      // Handed to the listener's current server; smtp-server's own (never listening) net.Server takes it from there.
      entry.server.server.emit('connection', s);
    });
    const name = entry.listener.name;
    entry.socket.on('error', (err: Error) => this.log.warn({ event: 'smtp-error', listener: name, err: err.message }, `listener ${name}: ${err.message}`));
  }

  private open(key: string, listener: NamedListener, fingerprint: string, server: RelaySmtpServer): Promise<Entry> {
    const adopted = this.adopt?.(listener);
    const socket = adopted ?? createServer();
    const entry: Entry = { key, listener, fingerprint, socket, port: listener.port, server };
    if (adopted) {
      this.route(entry);
      const addr = adopted.address();
      entry.port = typeof addr === 'object' && addr ? addr.port : listener.port;
      return Promise.resolve(entry);
    }
    return new Promise<Entry>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(listener, err.code ?? 'ERROR', err.message)));
      socket.listen(listener.port, listener.host, () => {
        socket.removeAllListeners('error');
        this.route(entry);
        const addr = socket.address();
        entry.port = typeof addr === 'object' && addr ? addr.port : listener.port;
        resolve(entry);
      });
    });
  }

  /**
   * The graceful stop: every listening socket closes (new connections are
   * refused), connections still before their session are dropped, idle
   * sessions get 421 at once, busy ones when their message is answered.
   * Resolves true when every session has ended before the deadline.
   */
  async drain(deadline: number): Promise<{ sessions: number; cutOff: number }> {
    this.closed = true;
    let sessions = 0;
    for (const e of this.entries.values()) e.socket.close();
    for (const server of this.servers()) {
      server.draining = true;
      for (const pending of server._pendingSockets.values()) pending.destroy();
      sessions += server.connections.size;
      for (const c of [...server.connections]) (c as RelayConnection).closeIfIdle();
    }
    let cutOff = 0;
    if (!(await this.whenEmpty(deadline))) {
      const left = this.servers().flatMap((s) => [...s.connections] as RelayConnection[]);
      cutOff = left.length;
      for (const c of left) c.shutDown();
      // A client that does not close its side after the 421 is cut off shortly after.
      if (!(await this.whenEmpty(Date.now() + 2_000))) {
        for (const c of left) c._socket.destroy();
        await this.whenEmpty(Date.now() + 2_000);
      }
    }
    return { sessions, cutOff };
  }

  /** Closes the listening sockets without waiting for sessions (a start that failed half way). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.socket.close();
  }

  private async whenEmpty(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.servers().every((s) => s.connections.size === 0)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
    }
  }
}

/** A listener change worked out and bound, not yet in effect. */
export class ListenerPlan {
  private done = false;

  constructor(private readonly set: ListenerSet, private readonly next: Planned[], private readonly opened: Entry[]) {}

  /** The listeners this plan binds a new socket for (added, or moved to another address or port). */
  get openedNames(): string[] {
    return this.opened.map((e) => e.listener.name);
  }

  commit(): { added: string[]; changed: string[]; removed: string[] } {
    this.done = true;
    return this.set.commit(this.next);
  }

  /** Undoes the binding of new ports (the reload was refused). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const e of this.opened) e.socket.close();
  }
}

/** A listener of the next configuration: an entry kept (with new settings when changed) or opened. */
interface Planned {
  entry: Entry;
  change?: { listener: NamedListener; fingerprint: string; server: RelaySmtpServer };
}

function keyOf(l: NamedListener): string {
  return l.name;
}
