/**
 * A TCP forwarder on 127.0.0.1 in front of a real server, for tests that need
 * the server to disappear and come back at the same address: `down()` stops
 * listening and cuts every open connection (like a host that died), `up()`
 * listens again on the same port. Bytes pass through untouched, so STARTTLS
 * and certificate checks are end to end with the server behind it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let connections = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        connections++;
        const upstream = createConnection({ host: targetHost, port: targetPort });
        pair(client, upstream, open);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      for (const sock of open) sock.destroy();
      open.clear();
      if (!s) return resolve();
      s.close(() => resolve());
    });
  await listen();
  return {
    get port() {
      return port;
    },
    get connections() {
      return connections;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}

/** Tracks a client and its upstream connection in `open` and closes both when either ends (the caller pipes them). */
export function pair(client: Socket, upstream: Socket, open: Set<Socket>): void {
  open.add(client);
  open.add(upstream);
  const drop = () => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
}
