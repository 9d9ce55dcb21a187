/**
 * A small authoritative DNS server for tests: UDP on 127.0.0.1, port chosen
 * by the system, answers from zones the test sets (MX, A, AAAA, TXT), NXDOMAIN
 * for names it does not know, an empty answer (NODATA) for a known name
 * without records of the asked type. It records every query, so a test can
 * tell whether (and how often) the relay asked. Point node:dns at it with
 * `resolver.setServers([server.address])` or a transport's `dnsServers`.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

export interface DnsRecords {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  /** Each entry is one TXT record; an array is one record made of several strings (long SPF records). */
  TXT?: (string | string[])[];
  /** TTL of every record of the name (seconds, default 300). */
  ttl?: number;
}

export interface DnsQuery {
  name: string;
  type: string;
  at: number;
}

export interface TestDnsServer {
  /** "127.0.0.1:PORT", as node:dns setServers and dnsServers take it. */
  readonly address: string;
  readonly port: number;
  /** Sets (replaces) the records of a name. */
  set(name: string, records: DnsRecords): void;
  remove(name: string): void;
  /** Queries received, in order. */
  readonly queries: DnsQuery[];
  close(): Promise<void>;
}

const NXDOMAIN = 3;
const NOTIMP = 4;

function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function answersFor(name: string, type: string, r: DnsRecords): Answer[] {
  const ttl = r.ttl ?? 300;
  switch (type) {
    case 'MX':
      return (r.MX ?? []).map((data) => ({ type: 'MX', name, ttl, class: 'IN', data }));
    case 'A':
      return (r.A ?? []).map((data) => ({ type: 'A', name, ttl, class: 'IN', data }));
    case 'AAAA':
      return (r.AAAA ?? []).map((data) => ({ type: 'AAAA', name, ttl, class: 'IN', data }));
    case 'TXT':
      return (r.TXT ?? []).map((data) => ({ type: 'TXT', name, ttl, class: 'IN', data }));
    default:
      return [];
  }
}

export async function startDnsServer(zones: Record<string, DnsRecords> = {}): Promise<TestDnsServer> {
  const records = new Map<string, DnsRecords>(Object.entries(zones).map(([n, r]) => [key(n), r]));
  const queries: DnsQuery[] = [];
  const socket = createSocket('udp4');

  socket.on('message', (msg: Buffer, peer: RemoteInfo) => {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: ignore, as a real server would
    }
    const q = query.questions?.[0];
    let rcode = 0;
    let answers: Answer[] = [];
    if (!q) {
      rcode = NOTIMP;
    } else {
      queries.push({ name: key(q.name), type: q.type, at: Date.now() });
      const r = records.get(key(q.name));
      if (!r) rcode = NXDOMAIN;
      else answers = answersFor(q.name, q.type, r);
    }
    const reply = dnsPacket.encode({
      id: query.id ?? 0,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: query.questions ?? [],
      answers,
    });
    socket.send(reply, peer.port, peer.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    set: (name, r) => void records.set(key(name), r),
    remove: (name) => void records.delete(key(name)),
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
