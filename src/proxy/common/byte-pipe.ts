/**
 * After the login the proxy stops parsing and only copies bytes, both ways
 * (Dovecot's login_proxy_detach): IDLE, literals, a 30 MB FETCH or RETR all
 * pass as they are. socket.pipe() gives backpressure: when one side cannot
 * take more, the other side is paused, so a session holds at most a few
 * socket buffers (tens of KB), never a message.
 *
 * The session ends when either side closes (the other is ended after what
 * is in flight has been written), on an error (both destroyed), after
 * idleTimeoutMs without a byte either way, or when stop() is called.
 */
import type { Duplex } from 'node:stream';

const CLOSE_GRACE_MS = 5_000;

export interface PipeResult {
  /** Bytes sent to the upstream (client commands), leftover included. */
  toUpstream: number;
  /** Bytes sent to the client (server responses), leftover included. */
  toClient: number;
  endedBy: 'client' | 'upstream' | 'idle' | 'error' | 'stopped';
  error?: string;
}

export interface BytePipe {
  done: Promise<PipeResult>;
  /** Ends the session now (drain deadline, shutdown). */
  stop(): void;
}

export function startBytePipe(
  client: Duplex & { setTimeout?: (ms: number, cb?: () => void) => unknown },
  upstream: Duplex,
  opts: { clientLeftover: Buffer; upstreamLeftover: Buffer; idleTimeoutMs: number },
): BytePipe {
  let toUpstream = opts.clientLeftover.length;
  let toClient = opts.upstreamLeftover.length;
  let endedBy: PipeResult['endedBy'] | undefined;
  let error: string | undefined;
  let closed = 0;
  let resolveDone: (r: PipeResult) => void = () => undefined;
  const done = new Promise<PipeResult>((r) => (resolveDone = r));

  const end = (by: PipeResult['endedBy'], err?: Error) => {
    endedBy ??= by;
    if (err && !error) error = err.message;
  };
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  const onClose = () => {
    closed += 1;
    if (closed === 2) {
      client.setTimeout?.(0);
      resolveDone({ toUpstream, toClient, endedBy: endedBy ?? 'client', ...(error ? { error } : {}) });
    }
  };

  client.on('data', (c: Buffer) => (toUpstream += c.length));
  upstream.on('data', (c: Buffer) => (toClient += c.length));
  client.once('end', () => end('client'));
  upstream.once('end', () => end('upstream'));
  client.on('error', (err: Error) => {
    end('error', err);
    destroyBoth();
  });
  upstream.on('error', (err: Error) => {
    end('error', err);
    destroyBoth();
  });
  // A side that closes takes the other with it: what is in flight is written, then a
  // peer that does not close its own side in a few seconds is cut off.
  const closeLater = (s: Duplex) => {
    if (s.destroyed) return;
    s.end();
    setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
  };
  client.once('close', () => {
    end('client');
    closeLater(upstream);
    onClose();
  });
  upstream.once('close', () => {
    end('upstream');
    closeLater(client);
    onClose();
  });
  client.setTimeout?.(opts.idleTimeoutMs, () => {
    end('idle');
    destroyBoth();
  });

  if (opts.clientLeftover.length) upstream.write(opts.clientLeftover);
  if (opts.upstreamLeftover.length) client.write(opts.upstreamLeftover);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.resume();

  return {
    done,
    stop: () => {
      end('stopped');
      destroyBoth();
    },
  };
}
