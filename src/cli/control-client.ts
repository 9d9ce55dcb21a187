/**
 * The command line's side of the control socket (src/control/server.ts): asks
 * the relay that runs on this data directory to reload, or streams what a
 * device's sessions do. No relay listening is an answer of its own (the
 * change applies at the next start), never an error.
 */
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function controlSocket(dataDir: string): string {
  return join(dataDir, 'control.sock');
}

/** One request, one answer; undefined when no relay listens on the socket. */
export function askRelay<T>(dataDir: string, request: Record<string, unknown>, timeoutMs = 60_000): Promise<T | undefined> {
  const path = controlSocket(dataDir);
  if (!existsSync(path)) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const socket = connect(path);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the relay did not answer on ${path} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      resolve(JSON.parse(buffered.slice(0, nl)) as T);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A socket file without a relay behind it (the relay was killed): nobody to ask.
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
  });
}

/** Streams answers to a request until the relay closes or stop() is called; false when no relay listens. */
export function streamRelay(dataDir: string, request: Record<string, unknown>, onAnswer: (answer: Record<string, unknown>) => void): { done: Promise<boolean>; stop(): void } {
  const path = controlSocket(dataDir);
  if (!existsSync(path)) return { done: Promise.resolve(false), stop: () => undefined };
  const socket = connect(path);
  const done = new Promise<boolean>((resolve, reject) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onAnswer(JSON.parse(line) as Record<string, unknown>);
      }
    });
    socket.on('close', () => resolve(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
  return { done, stop: () => socket.end() };
}
