/**
 * Microsoft 365 route benchmark: authrelay (a child process) delivering to the
 * Graph emulator of the test suite over real HTTPS, with real tokens.
 *   - end-to-end: smtp-source sends N small messages; the time until the
 *     emulator has accepted all of them gives messages per second; zero loss
 *     is required (every acknowledged message accepted by Graph);
 *   - with a peer (--peer HOST:PORT, another relay pointed at the emulator's
 *     forward proxy): the same load through the peer, and through authrelay
 *     configured the same way (proxy, Microsoft's host names), for the ratio;
 *   - memory: 20 scans of 25 MB (a PDF attachment) sent at once; they go the
 *     draft + upload-session way; the relay's peak RSS (VmHWM) is reported;
 *   - one 100 MB message: peak RSS, time until Graph accepted it, and whether
 *     the attachment arrived byte for byte.
 * Run by `npm run bench` (parts e2e and memory), or alone with
 * `node dist/bench/m365.js` (BENCH_M365_MESSAGES, BENCH_M365_SESSIONS).
 * The relay runs with the same Node.js options as in the other parts
 * (BENCH_RELAY_NODE_ARGS, default --max-semi-space-size=2, as the service
 * unit and `npm start` run it).
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startRelay, type RelayInstance } from './authrelay.js';
import { smtpSource } from './lib/load.js';
import { sleep, waitForPort } from './lib/proc.js';
import { sampleMax, treeCpuMs } from './lib/procfs.js';
import { setupTenant, startPeerEmulator, type BenchTenant } from './peer.js';
import type { Peer } from './settings.js';
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator } from '../test/emulator/api.js';
import { pdfScan } from '../test/fixtures/corpus.js';

const MB = 1024 * 1024;

export interface EndToEnd {
  /** 'authrelay', 'authrelay via proxy', or the peer's HOST:PORT. */
  system: string;
  messages: number;
  sessions: number;
  ingestMsgPerSec: number;
  endToEndMsgPerSec: number | null;
  /** Acknowledged but not accepted by Graph when the wait ended. */
  lost: number;
  waitedS: number;
  /** The relay's CPU per message (authrelay only: the peer's process is not known). */
  cpuMsPerMessage: number | undefined;
  tokenRequests: number;
  /** Graph requests that came through the forward proxy. */
  proxiedGraphRequests: number;
}

export interface MemoryRun {
  messages: number;
  sizeMB: number;
  peakRssMB: number;
  delivered: number;
  seconds: number;
}

export interface HugeRun {
  sizeMB: number;
  attachmentMB: number;
  peakRssMB: number;
  /** Until Graph accepted it; null if it never did within the wait. */
  seconds: number | null;
  delivered: boolean;
  /** The attachment Graph received is byte for byte the one sent. */
  intact: boolean;
  uploadRequests: number;
  via: string | undefined;
}

export interface M365Result {
  endToEnd?: EndToEnd;
  viaProxy?: EndToEnd;
  peer?: EndToEnd;
  memory?: MemoryRun;
  huge?: HugeRun;
  failures: { scenario: string; error: string }[];
}

export interface M365Options {
  /** End-to-end messages (0 skips end-to-end). */
  messages: number;
  sessions: number;
  /** Concurrent big messages for the memory run (0 skips it). */
  bigMessages: number;
  bigSizeMB: number;
  /** Size of the single huge message (0 skips it). */
  hugeSizeMB: number;
  peer?: Peer;
  peerDir?: string;
  peerProxyPort?: number;
  drainTimeoutS?: number;
  /** Progress lines go here. */
  progress?: (line: string) => void;
  /** Node.js options of the relay process, as in the other parts (BENCH_RELAY_NODE_ARGS; default none). */
  relayNodeArgs?: string[];
}

async function waitSent(emu: Emulator, count: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emu.sent().length >= count) return performance.now();
    await sleep(20);
  }
  return undefined;
}

/** smtp-source into host:port, then the wait until the emulator has accepted every message. */
async function measure(s: BenchTenant, system: string, target: { host: string; port: number; pid?: number }, messages: number, sessions: number, drainS: number): Promise<EndToEnd> {
  s.emu.reset();
  const cpu0 = target.pid === undefined ? 0 : treeCpuMs(target.pid);
  const t0 = performance.now();
  const ingest = await smtpSource(target.port, { sessions, messages, size: 10_240, timeoutMs: 600_000 }, target.host);
  const done = await waitSent(s.emu, messages, drainS * 1000);
  const records = s.emu.requests();
  return {
    system, messages, sessions,
    ingestMsgPerSec: ingest.msgPerSec,
    endToEndMsgPerSec: done === undefined ? null : messages / ((done - t0) / 1000),
    lost: Math.max(0, messages - s.emu.sent().length),
    waitedS: ((done ?? performance.now()) - t0) / 1000,
    cpuMsPerMessage: target.pid === undefined ? undefined : (treeCpuMs(target.pid) - cpu0) / messages,
    tokenRequests: records.filter((r) => r.service === 'token').length,
    proxiedGraphRequests: records.filter((r) => r.service === 'graph' && r.proxy !== undefined).length,
  };
}

async function relayEndToEnd(s: BenchTenant, system: string, upstream: Record<string, unknown>, messages: number, sessions: number, drainS: number, nodeArgs: string[]): Promise<EndToEnd> {
  const relay = await startRelay({ upstreams: { m365: upstream }, nodeArgs });
  try {
    s.emu.reset();
    // A short warm-up (token, connections), as the peer gets.
    await smtpSource(relay.port, { sessions: Math.min(sessions, 5), messages: 20, size: 10_240, timeoutMs: 120_000 });
    await waitSent(s.emu, 20, 60_000);
    return await measure(s, system, { host: '127.0.0.1', port: relay.port, pid: relay.pid }, messages, sessions, drainS);
  } finally {
    await relay.stop();
  }
}

async function peerEndToEnd(s: BenchTenant, peer: Peer, messages: number, sessions: number, drainS: number): Promise<EndToEnd> {
  const name = `${peer.host}:${peer.port}`;
  try {
    await waitForPort(peer.port, 5000, peer.host);
  } catch {
    throw new Error(`nothing accepts connections at ${name} (is the peer relay running?)`);
  }
  s.emu.reset();
  const warm = 20;
  await smtpSource(peer.port, { sessions: Math.min(sessions, 5), messages: warm, size: 10_240, timeoutMs: 120_000 }, peer.host);
  if ((await waitSent(s.emu, warm, 60_000)) === undefined) {
    const proxied = s.emu.requests().filter((r) => r.service === 'proxy').length;
    throw new Error(
      `${name} acknowledged ${warm} warm-up messages but the emulator accepted ${s.emu.sent().length} within 60 s ` +
        `(${proxied} requests reached the proxy): is it pointed at ${s.emu.proxyUrl}, trusting ${s.emu.caFile}? (--print-peer-setup)`,
    );
  }
  await sleep(1000); // late duplicates of the warm-up must not count
  const r = await measure(s, name, { host: peer.host, port: peer.port }, messages, sessions, drainS);
  if (r.proxiedGraphRequests === 0 && s.emu.sent().length > 0) throw new Error(`${name}: messages arrived but not through the proxy`);
  return r;
}

async function memory(s: BenchTenant, count: number, sizeMB: number, nodeArgs: string[]): Promise<MemoryRun> {
  const relay: RelayInstance = await startRelay({ upstreams: { m365: s.upstream }, nodeArgs });
  try {
    s.emu.reset();
    // One scan, sent 20 times at once: a PDF attachment of (size - base64 growth) bytes. It is
    // sent by smtp-source, one session per message, as the smtp-sink part sends its messages,
    // so that both rows measure the relay under the same load (smtp-source writes CRLF).
    const scan = pdfScan(s.mailbox, [s.recipient], Math.floor((sizeMB * MB * 3) / 4) - 4096, 'bench scan');
    const file = join(tmpdir(), `authrelay-bench-scan-${process.pid}.eml`);
    writeFileSync(file, scan.raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const sampler = sampleMax(() => relay.peakRss() ?? 0, 100);
    const t0 = performance.now();
    try {
      await smtpSource(relay.port, { sessions: count, messages: count, size: 0, file, timeoutMs: 600_000 });
    } finally {
      rmSync(file, { force: true });
    }
    const done = await waitSent(s.emu, count, 600_000);
    const peak = sampler.stop();
    return { messages: count, sizeMB: Math.round((scan.raw.length / MB) * 10) / 10, peakRssMB: Math.round((peak / MB) * 10) / 10, delivered: s.emu.sent().length, seconds: ((done ?? performance.now()) - t0) / 1000 };
  } finally {
    await relay.stop();
  }
}

/** One message of about sizeMB (a PDF scan, base64): through draft + upload sessions; checked byte for byte. */
async function huge(s: BenchTenant, sizeMB: number, nodeArgs: string[]): Promise<HugeRun> {
  const relay = await startRelay({ upstreams: { m365: s.upstream }, nodeArgs });
  try {
    s.emu.reset();
    // base64 in 76-character lines grows the PDF by 78/57.
    const pdfSize = Math.floor((sizeMB * MB * 57) / 78) - 8192;
    const scan = pdfScan(s.mailbox, [s.recipient], pdfSize, 'bench 100 MB scan');
    const original = scan.attachments.get('scan0001.pdf')?.bytes;
    const want = original ? createHash('sha256').update(original).digest('hex') : '';
    const sampler = sampleMax(() => relay.peakRss() ?? 0, 100);
    const t0 = performance.now();
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, secure: false, ignoreTLS: true, socketTimeout: 600_000 });
    try {
      await t.sendMail({ envelope: { from: s.mailbox, to: [s.recipient] }, raw: scan.raw });
    } finally {
      t.close();
    }
    const done = await waitSent(s.emu, 1, 600_000);
    const peak = sampler.stop();
    const msg = s.emu.sent()[0];
    const att = msg?.attachments.find((a) => a.name === 'scan0001.pdf');
    const got = att ? createHash('sha256').update(att.content).digest('hex') : undefined;
    return {
      sizeMB: Math.round((scan.raw.length / MB) * 10) / 10,
      attachmentMB: Math.round((pdfSize / MB) * 10) / 10,
      peakRssMB: Math.round((peak / MB) * 10) / 10,
      seconds: done === undefined ? null : (done - t0) / 1000,
      delivered: msg !== undefined,
      intact: got !== undefined && got === want && att?.size === original?.length,
      uploadRequests: s.emu.requests().filter((r) => r.service === 'upload' && r.method === 'PUT').length,
      via: msg?.via,
    };
  } finally {
    await relay.stop();
  }
}

export async function runM365(o: M365Options): Promise<M365Result> {
  const progress = o.progress ?? (() => undefined);
  const drainS = Math.max(o.drainTimeoutS ?? 120, 300);
  const emu = o.peer && o.peerDir ? await startPeerEmulator(o.peerDir, o.peerProxyPort ?? 3128) : await startEmulator();
  const result: M365Result = { failures: [] };
  const nodeArgs = o.relayNodeArgs ?? [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const t0 = Date.now();
    progress(`  ${name} ... `);
    try {
      const r = await fn();
      progress(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      return r;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      progress(`FAILED\n${error}\n`);
      result.failures.push({ scenario: name, error });
      return undefined;
    }
  };
  try {
    const s = setupTenant(emu);
    if (o.messages > 0) {
      result.endToEnd = await step('end-to-end to the Graph emulator: authrelay', () => relayEndToEnd(s, 'authrelay', s.upstream, o.messages, o.sessions, drainS, nodeArgs));
      if (o.peer) {
        const peer = o.peer;
        result.viaProxy = await step('end-to-end through the emulator proxy: authrelay', () => relayEndToEnd(s, 'authrelay via proxy', s.upstreamViaProxy, o.messages, o.sessions, drainS, nodeArgs));
        result.peer = await step(`end-to-end through the emulator proxy: peer ${peer.host}:${peer.port}`, () => peerEndToEnd(s, peer, o.messages, o.sessions, drainS));
      }
    }
    if (o.bigMessages > 0) result.memory = await step(`memory, ${o.bigMessages} × ${o.bigSizeMB} MB to Graph at once: authrelay`, () => memory(s, o.bigMessages, o.bigSizeMB, nodeArgs));
    if (o.hugeSizeMB > 0) result.huge = await step(`one ${o.hugeSizeMB} MB message through upload sessions: authrelay`, () => huge(s, o.hugeSizeMB, nodeArgs));
    return result;
  } finally {
    await emu.close();
  }
}

export function printM365(r: M365Result): void {
  for (const e of [r.endToEnd, r.viaProxy, r.peer]) {
    if (!e) continue;
    const e2e = e.endToEndMsgPerSec === null ? `not all delivered within ${e.waitedS.toFixed(0)} s` : `${e.endToEndMsgPerSec.toFixed(0)} msg/s`;
    const cpu = e.cpuMsPerMessage === undefined ? '' : `; ${e.cpuMsPerMessage.toFixed(2)} CPU ms/msg`;
    console.log(`  ${e.system}: smtp-source -s ${e.sessions} -m ${e.messages} -l 10240: ingest ${e.ingestMsgPerSec.toFixed(0)} msg/s; end-to-end ${e2e}; lost ${e.lost}${cpu}; ${e.tokenRequests} token request(s); ${e.proxiedGraphRequests} Graph requests via the proxy`);
  }
  if (r.memory) {
    const m = r.memory;
    console.log(`  ${m.messages} × ${m.sizeMB} MB scans at once (draft + upload sessions): peak RSS ${m.peakRssMB} MB (target ≤ 150 MB), ${m.delivered}/${m.messages} delivered in ${m.seconds.toFixed(1)} s`);
  }
  if (r.huge) {
    const h = r.huge;
    console.log(`  one ${h.sizeMB} MB message (${h.attachmentMB} MB PDF, ${h.uploadRequests} upload PUTs, ${h.via ?? 'not sent'}): peak RSS ${h.peakRssMB} MB, ${h.seconds === null ? 'not accepted' : `${h.seconds.toFixed(1)} s`}, ${h.intact ? 'intact' : 'NOT intact'}`);
  }
  for (const f of r.failures) console.log(`  FAILED ${f.scenario}: ${f.error.split('\n')[0]}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const int = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
  runM365({
    messages: int('BENCH_M365_MESSAGES', 2000), sessions: int('BENCH_M365_SESSIONS', 20), bigMessages: int('BENCH_BIG_MESSAGES', 20),
    bigSizeMB: int('BENCH_BIG_SIZE_MB', 25), hugeSizeMB: int('BENCH_HUGE_SIZE_MB', 100), progress: (l) => process.stderr.write(l),
    relayNodeArgs: (process.env.BENCH_RELAY_NODE_ARGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean),
  })
    .then((r) => {
      printM365(r);
      process.exit(r.failures.length === 0 && (r.endToEnd?.lost ?? 0) === 0 ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
