/**
 * A TCP load balancer in front of the relay for the PROXY protocol tests. It
 * accepts clients on 127.0.0.1, connects to the relay (from localAddress when
 * given), sends the PROXY header it was given, then forwards bytes both ways
 * untouched (TLS stays end to end). With withFirstBytes the header goes out
 * in one write together with the client's first bytes (a TLS ClientHello),
 * the way a proxy often sends them; otherwise at once, before the relay's
 * greeting.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { pair } from './tcp-proxy.js';

export interface ProxyLb {
  readonly port: number;
  close(): Promise<void>;
}

export async function startProxyLb(opts: { target: number; header: Buffer; withFirstBytes?: boolean; localAddress?: string }): Promise<ProxyLb> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: opts.target, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    pair(client, upstream, open);
    upstream.pipe(client);
    if (opts.withFirstBytes) {
      client.once('data', (first: Buffer) => {
        upstream.write(Buffer.concat([opts.header, first]));
        client.pipe(upstream);
      });
    } else {
      upstream.write(opts.header);
      client.pipe(upstream);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => {
      for (const s of open) s.destroy();
      server.close(() => r());
    }),
  };
}
