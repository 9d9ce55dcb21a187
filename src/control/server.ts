/**
 * The control socket of the running relay: a Unix socket in its data
 * directory (dataDir/control.sock, mode 0600: only the relay's own user, and
 * root, can use it), through which the command line reaches the relay that
 * runs: `authrelay reload`, the device commands (which reload after editing
 * the file), `authrelay device watch`. One JSON request per line, JSON
 * answers per line; a watch keeps streaming until the client closes.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import type { ReloadResult } from '../core/reload-result.js';

/** Longest Unix socket path Linux takes (sun_path is 108 bytes with its terminating zero). */
const MAX_PATH = 107;

export interface ControlHandlers {
  reload(by: string, file?: string): Promise<ReloadResult>;
  /**
   * Streams what a device's sessions do (device watch): calls send for each
   * event (the recent ones first) until the returned function is called.
   */
  watch?(device: string, send: (event: unknown) => void): (() => void) | { error: string };
  /** What the relay is (for `authrelay status` and the checks of the other commands). */
  status(): Record<string, unknown>;
}

/** Whether something listens on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'control.sock');
}

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(private readonly path: string, private readonly handlers: ControlHandlers, private readonly log: Logger) {}

  /** Listens; a path that is too long or a directory that cannot hold the socket is logged, never fatal. */
  async start(): Promise<boolean> {
    if (this.path.length > MAX_PATH) {
      this.log.warn({ event: 'control-unavailable', path: this.path },
        `the control socket ${this.path} is longer than the ${MAX_PATH} bytes a Unix socket path may have; \`authrelay reload\` cannot reach this relay (send SIGHUP instead, or use a shorter dataDir)`);
      return false;
    }
    if (existsSync(this.path)) {
      if (await answers(this.path)) {
        this.log.warn({ event: 'control-unavailable', path: this.path },
          `another relay answers on ${this.path} (two relays on one data directory?); this one opens no control socket, so \`authrelay reload\` reaches the other. Give each relay its own dataDir`);
        return false;
      }
      // A socket file left by a relay that was killed: nothing listens on it any more.
      rmSync(this.path, { force: true });
    }
    const server = createServer((socket) => this.serve(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      chmodSync(this.path, 0o600);
    } catch (err) {
      this.log.warn({ event: 'control-unavailable', path: this.path, err: (err as Error).message },
        `the control socket ${this.path} could not be opened (${(err as Error).message}); \`authrelay reload\` cannot reach this relay (send SIGHUP instead)`);
      return false;
    }
    server.on('error', (err: Error) => this.log.warn({ event: 'control-error', err: err.message }, `control socket: ${err.message}`));
    this.server = server;
    return true;
  }

  private serve(socket: Socket): void {
    this.clients.add(socket);
    let buffered = '';
    let stop: (() => void) | undefined;
    const send = (v: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(v)}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('close', () => {
      stop?.();
      this.clients.delete(socket);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 64 * 1024) {
        send({ ok: false, error: 'request too long' });
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void this.handle(line, send, (s) => (stop = s)).catch((err: unknown) => send({ ok: false, error: (err as Error).message }));
      }
    });
  }

  private async handle(line: string, send: (v: unknown) => void, onStop: (s: () => void) => void): Promise<void> {
    let req: { cmd?: unknown; by?: unknown; file?: unknown; device?: unknown };
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      send({ ok: false, error: 'not a JSON request' });
      return;
    }
    const by = typeof req.by === 'string' && req.by ? req.by.slice(0, 200) : 'the control socket';
    switch (req.cmd) {
      case 'reload':
        send(await this.handlers.reload(by, typeof req.file === 'string' ? req.file : undefined));
        return;
      case 'status':
        send({ ok: true, ...this.handlers.status() });
        return;
      case 'watch': {
        if (typeof req.device !== 'string' || !this.handlers.watch) {
          send({ ok: false, error: 'watch needs a device name' });
          return;
        }
        const r = this.handlers.watch(req.device, (event) => send({ ok: true, event }));
        if (typeof r === 'function') {
          onStop(r);
          // The past sessions have been sent: what follows is live.
          send({ ok: true, live: true });
        } else send({ ok: false, error: r.error });
        return;
      }
      default:
        send({ ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` });
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    rmSync(this.path, { force: true });
  }
}
