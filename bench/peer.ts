/**
 * The Microsoft 365 emulator set up for the benchmark: one tenant, one app
 * with a client secret, the sending mailbox smtp-source uses and its
 * recipient. The ids are fixed, and with --peer the emulator keeps its CA and
 * keys in BENCH_PEER_DIR and listens as a forward proxy on a fixed port, so
 * another relay can be configured once (--print-peer-setup) and then be
 * measured by every later run.
 */
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator } from '../test/emulator/api.js';
import { FROM, TO } from './lib/load.js';
import { serverListeningOn } from './lib/procfs.js';
import type { Peer } from './settings.js';

const MB = 1024 * 1024;

/** Fixed so that a relay configured once keeps working across runs. */
export const BENCH_TENANT_ID = '5e7a1c3d-2b4f-4a6e-9c8d-0f1e2d3c4b5a';
export const BENCH_TENANT_DOMAIN = 'authrelay-bench.onmicrosoft.com';
export const BENCH_CLIENT_ID = 'a1b2c3d4-e5f6-4789-8abc-def012345678';
/** A credential the emulator accepts; it opens nothing else. */
export const BENCH_CLIENT_SECRET = 'bench-emulator-secret~not-a-real-credential';

export interface BenchTenant {
  emu: Emulator;
  /** A graph upstream for authrelay, talking to the emulator's own address. */
  upstream: Record<string, unknown>;
  /** The same through the forward proxy, to login.microsoftonline.com and graph.microsoft.com as in production. */
  upstreamViaProxy: Record<string, unknown>;
  mailbox: string;
  recipient: string;
  /** Sending mailboxes of the multi-mailbox row (sender-1@contoso.example, ...), created on first use. */
  senders(n: number): string[];
}

export function setupTenant(emu: Emulator): BenchTenant {
  const tenant = emu.addTenant({ id: BENCH_TENANT_ID, domains: [BENCH_TENANT_DOMAIN, 'contoso.example'] });
  emu.addApp(tenant.id, { clientId: BENCH_CLIENT_ID, secrets: [{ value: BENCH_CLIENT_SECRET }], graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  const mailbox = emu.addMailbox(tenant.id, { address: FROM, maxMessageSize: 150 * MB }).address;
  emu.addMailbox(tenant.id, { address: TO });
  const common = { type: 'graph', tenant: tenant.id, clientId: BENCH_CLIENT_ID, clientSecret: BENCH_CLIENT_SECRET, ca: emu.caFile, mailbox, concurrency: 16 };
  // The benchmark sends more than Exchange's 10,000 recipients a day from one mailbox over a
  // whole run (every relay, warm-ups, the reuse and multi-mailbox rows): that limit is not what
  // is measured here, so the emulator's is raised (the relay keeps its own, per fresh start).
  emu.recipientsPerDay = 10_000_000;
  const senders: string[] = [];
  return {
    emu, mailbox, recipient: TO,
    senders: (n) => {
      while (senders.length < n) senders.push(emu.addMailbox(tenant.id, { address: `sender-${senders.length + 1}@contoso.example` }).address);
      return senders.slice(0, n);
    },
    upstream: { ...common, endpoints: { authority: emu.authorityHost, graph: emu.graphUrl } },
    upstreamViaProxy: { ...common, proxy: emu.proxyUrl },
  };
}

/** The emulator as --peer needs it: kept certificates, proxy on the fixed port. */
export async function startPeerEmulator(dir: string, proxyPort: number): Promise<Emulator> {
  try {
    return await startEmulator({ keepCertificatesIn: dir, proxyPort });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${proxyPort} is in use: set BENCH_PEER_PROXY_PORT to a free port (and point the peer there)`, { cause: err });
    throw err;
  }
}

export function peerSetupText(emu: Emulator, dir: string): string {
  const proxy = new URL(emu.proxyUrl);
  return `Pointing another relay at the Microsoft 365 emulator (for npm run bench -- --peer HOST:PORT)

While the benchmark runs with --peer, the emulator answers as an HTTP forward proxy at
  proxy URL        ${emu.proxyUrl}
It takes CONNECT to login.microsoftonline.com:443 and graph.microsoft.com:443 (and absolute-form
requests such as POST https://graph.microsoft.com/v1.0/...), and refuses every other destination.

Configure the relay to compare with:
  outbound proxy   ${emu.proxyUrl}   (for sign-in and Graph; e.g. HTTPS_PROXY=${emu.proxyUrl})
  trust this CA    ${emu.caFile}
                   (a Node.js relay: NODE_EXTRA_CA_CERTS=${emu.caFile} in its environment)
  authority        https://login.microsoftonline.com/${BENCH_TENANT_ID}
  tenant id        ${BENCH_TENANT_ID}   (or the domain ${BENCH_TENANT_DOMAIN})
  client id        ${BENCH_CLIENT_ID}
  client secret    ${BENCH_CLIENT_SECRET}
  permissions      Mail.Send, Mail.ReadWrite (application)
  send as          ${FROM}  (smtp-source's envelope sender and From; that mailbox exists)
  recipient        ${TO}
  SMTP listener    any port on this machine, accepting mail from 127.0.0.1 without AUTH or TLS
The proxy listens on 127.0.0.1 only: a relay in a container needs the host's network (docker run --network host).

For example, an SMTP2Graph config.yml:
  mode: full
  send:
    appReg: { tenant: ${BENCH_TENANT_ID}, id: ${BENCH_CLIENT_ID}, secret: "${BENCH_CLIENT_SECRET}" }
  receive:
    port: 2526
  httpProxy: { host: ${proxy.hostname}, port: ${proxy.port}, protocol: http }
started with NODE_EXTRA_CA_CERTS=${emu.caFile}; then: npm run bench -- --only e2e --peer 127.0.0.1:2526

The CA, server certificate and token-signing key are kept in ${dir}
and reused by every run, so the relay can stay configured and running between runs (the proxy
port and the ids above do not change either). Change the port with BENCH_PEER_PROXY_PORT, the
directory with BENCH_PEER_DIR.
`;
}

/**
 * The processes of a peer relay, for its memory: BENCH_PEER_PID if set, else
 * the server listening on its port on this machine (serverListeningOn), else
 * none (a peer on another host, in another network namespace, or behind a
 * port forwarder such as docker-proxy: then give BENCH_PEER_PID).
 */
export function peerPids(peer: Peer): number[] {
  const given = process.env.BENCH_PEER_PID;
  if (given) return given.split(',').map(Number).filter((p) => Number.isInteger(p) && p > 0);
  if (!['127.0.0.1', 'localhost', '::1', '0.0.0.0'].includes(peer.host)) return [];
  return serverListeningOn(peer.port);
}
