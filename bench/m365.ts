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
import { memoryText, sampleMax, sampleMemory, statusBytes, treeCpuMs, type MemoryPeak } from './lib/procfs.js';
import { median } from './report.js';
import { withLogged } from './scenarios.js';
import { peerPids, setupTenant, startPeerEmulator, type BenchTenant } from './peer.js';
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
  /** The relay's peak memory during the measurement; undefined when its process is not known (a peer elsewhere). */
  memory: MemoryPeak | undefined;
  /** sendMail timings, 429s and concurrency the emulator saw during the measurement. */
  graph: SendMailStats;
  /** Graph's bound for this load: 4 requests per mailbox ÷ the median sendMail time (msg/s); null without timings. */
  boundMsgPerSec: number | null;
  /** Wall time: start of the relay (authrelay), warm-up, load and the wait. */
  wallS: number;
}

/** What the emulator saw of sendMail: how long it took, how many were throttled. */
export interface SendMailStats {
  /** sendMail requests answered 202. */
  requests: number;
  /** Median and 90th percentile of their time in the emulator (request arrived to answer finished), ms. */
  medianMs: number | null;
  p90Ms: number | null;
  /** 429 ApplicationThrottled answers (Graph and upload requests): the relay went over 4 at once for a mailbox. */
  throttled: number;
  /** Mailboxes that sent. */
  mailboxes: number;
  /** Highest number of requests in flight at once for one mailbox. */
  peakConcurrency: number;
  /** Graph's requests in flight per app and mailbox (4). */
  mailboxLimit: number;
}

export function sendMailStats(emu: Emulator): SendMailStats {
  const records = emu.requests();
  const sends = records.filter((r) => r.service === 'graph' && r.method === 'POST' && /\/sendMail$/.test(r.path) && r.status === 202);
  const times = sends.map((r) => r.at - (r.startedAt ?? r.at)).sort((a, b) => a - b);
  const mailboxes = [...new Set(sends.map((r) => (r.mailbox ?? '').toLowerCase()).filter(Boolean))];
  return {
    requests: sends.length,
    medianMs: median(times),
    p90Ms: times.length ? (times[Math.min(times.length - 1, Math.floor(times.length * 0.9))] as number) : null,
    throttled: records.filter((r) => r.status === 429 && (r.service === 'graph' || r.service === 'upload')).length,
    mailboxes: mailboxes.length,
    peakConcurrency: Math.max(0, ...mailboxes.map((m) => emu.peakConcurrency(m))),
    mailboxLimit: emu.graphMailboxConcurrency,
  };
}

/** 4 requests per mailbox ÷ the median sendMail time, in msg/s (a time under 1 ms counts as 1 ms: the emulator's clock has ms steps). */
export function graphBound(g: SendMailStats, mailboxes: number): number | null {
  return g.medianMs === null ? null : (g.mailboxLimit * mailboxes) / (Math.max(g.medianMs, 1) / 1000);
}

/** One point of the multi-mailbox row: N sending mailboxes through one relay at once. */
export interface MailboxPoint {
  mailboxes: number;
  messagesPerMailbox: number;
  /** smtp-source sessions per mailbox (the sessions split over the mailboxes). */
  sessionsPerMailbox: number;
  ingestMsgPerSec: number;
  endToEndMsgPerSec: number | null;
  lost: number;
  waitedS: number;
  graph: SendMailStats;
  boundMsgPerSec: number | null;
  memory: MemoryPeak;
  cpuMsPerMessage: number;
  /** Extra time the emulator waited before answering each sendMail (BENCH_GRAPH_DELAY_MS). */
  graphDelayMs: number;
  wallS: number;
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
  /** The relay's RSS just before the message was sent: what the peak is measured against. */
  rssBeforeMB: number;
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
  /** The multi-mailbox row, one point per mailbox count. */
  mailboxes?: MailboxPoint[];
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
  /** Each step's wall time goes here (for the run-time table). */
  timing?: (step: string, seconds: number, ok: boolean) => void;
  /** Node.js options of the relay process, as in the other parts (BENCH_RELAY_NODE_ARGS; default none). */
  relayNodeArgs?: string[];
  /** The multi-mailbox row: mailbox counts (e.g. [1, 2, 4]; empty skips it) and messages per mailbox. */
  mailboxCounts?: number[];
  mailboxMessages?: number;
  /** Extra time before the emulator answers each sendMail in the multi-mailbox row (ms; 0: as fast as it can). */
  graphDelayMs?: number;
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
async function measure(s: BenchTenant, system: string, target: { host: string; port: number; pid?: number; pids: number[] }, messages: number, sessions: number, drainS: number, started: number): Promise<EndToEnd> {
  s.emu.reset();
  const cpu0 = target.pid === undefined ? 0 : treeCpuMs(target.pid);
  const sampler = target.pids.length > 0 ? sampleMemory(() => target.pids) : undefined;
  const t0 = performance.now();
  const ingest = await smtpSource(target.port, { sessions, messages, size: 10_240, timeoutMs: 600_000 }, target.host).catch((err: unknown) => {
    sampler?.stop();
    throw err;
  });
  const done = await waitSent(s.emu, messages, drainS * 1000);
  const memory = sampler?.stop();
  const records = s.emu.requests();
  const graph = sendMailStats(s.emu);
  return {
    system, messages, sessions,
    ingestMsgPerSec: ingest.msgPerSec,
    endToEndMsgPerSec: done === undefined ? null : messages / ((done - t0) / 1000),
    lost: Math.max(0, messages - s.emu.sent().length),
    waitedS: ((done ?? performance.now()) - t0) / 1000,
    cpuMsPerMessage: target.pid === undefined ? undefined : (treeCpuMs(target.pid) - cpu0) / messages,
    tokenRequests: records.filter((r) => r.service === 'token').length,
    proxiedGraphRequests: records.filter((r) => r.service === 'graph' && r.proxy !== undefined).length,
    memory, graph, boundMsgPerSec: graphBound(graph, Math.max(1, graph.mailboxes)),
    wallS: (performance.now() - started) / 1000,
  };
}

async function relayEndToEnd(s: BenchTenant, system: string, upstream: Record<string, unknown>, messages: number, sessions: number, drainS: number, nodeArgs: string[]): Promise<EndToEnd> {
  const started = performance.now();
  const relay = await startRelay({ upstreams: { m365: upstream }, nodeArgs });
  try {
    s.emu.reset();
    // A short warm-up (token, connections), as the peer gets.
    await smtpSource(relay.port, { sessions: Math.min(sessions, 5), messages: 20, size: 10_240, timeoutMs: 120_000 });
    await waitSent(s.emu, 20, 60_000);
    return await measure(s, system, { host: '127.0.0.1', port: relay.port, pid: relay.pid, pids: [relay.pid] }, messages, sessions, drainS, started);
  } catch (err) {
    throw withLogged(err, 'authrelay', relay.warnings());
  } finally {
    await relay.stop();
  }
}

async function peerEndToEnd(s: BenchTenant, peer: Peer, messages: number, sessions: number, drainS: number): Promise<EndToEnd> {
  const name = `${peer.host}:${peer.port}`;
  const started = performance.now();
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
  const r = await measure(s, name, { host: peer.host, port: peer.port, pids: peerPids(peer) }, messages, sessions, drainS, started);
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
    const before = statusBytes(relay.pid, 'VmRSS') ?? 0;
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
      rssBeforeMB: Math.round((before / MB) * 10) / 10,
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

/**
 * N sending mailboxes through one relay at once: one graph upstream as in the
 * end-to-end row but without a fixed mailbox, so each message goes as its
 * From address (chooseMailbox), and N smtp-source processes at once, each
 * sending as its own mailbox (sender-i@contoso.example) over sessions / N
 * sessions. The upstream's concurrency is the e2e row's 16, or 4 × N if more.
 */
async function multiMailbox(s: BenchTenant, n: number, perMailbox: number, sessions: number, drainS: number, nodeArgs: string[], delayMs: number): Promise<MailboxPoint> {
  const started = performance.now();
  const senders = s.senders(n);
  const { mailbox: _fixed, ...upstream } = s.upstream;
  const relay = await startRelay({ upstreams: { m365: { ...upstream, concurrency: Math.max(Number(upstream.concurrency ?? 16), 4 * n) } }, nodeArgs });
  const slow = () => {
    if (delayMs > 0) s.emu.fault({ target: 'graph', fault: { delayMs }, method: 'POST', path: /\/sendMail$/ });
  };
  const perSender = Math.max(1, Math.round(sessions / n));
  try {
    s.emu.reset();
    slow();
    // A warm-up per mailbox (token, connections), as in the end-to-end row.
    const warm = 10;
    await Promise.all(senders.map((from) => smtpSource(relay.port, { sessions: Math.min(perSender, 5), messages: warm, size: 10_240, timeoutMs: 120_000, from })));
    if ((await waitSent(s.emu, warm * n, 60_000)) === undefined) throw new Error(`warm-up: Graph accepted ${s.emu.sent().length} of ${warm * n} within 60 s`);
    s.emu.reset();
    slow();
    const cpu0 = treeCpuMs(relay.pid);
    const sampler = sampleMemory(() => [relay.pid]);
    const t0 = performance.now();
    const loads = await Promise.all(senders.map((from) => smtpSource(relay.port, { sessions: perSender, messages: perMailbox, size: 10_240, timeoutMs: 600_000, from }))).catch((err: unknown) => {
      sampler.stop();
      throw err;
    });
    const total = n * perMailbox;
    const done = await waitSent(s.emu, total, drainS * 1000);
    const memory = sampler.stop();
    const graph = sendMailStats(s.emu);
    const ingestS = Math.max(...loads.map((l) => l.ms)) / 1000;
    return {
      mailboxes: n, messagesPerMailbox: perMailbox, sessionsPerMailbox: perSender,
      ingestMsgPerSec: total / ingestS,
      endToEndMsgPerSec: done === undefined ? null : total / ((done - t0) / 1000),
      lost: Math.max(0, total - s.emu.sent().length),
      waitedS: ((done ?? performance.now()) - t0) / 1000,
      graph, boundMsgPerSec: graphBound(graph, n), memory,
      cpuMsPerMessage: (treeCpuMs(relay.pid) - cpu0) / total,
      graphDelayMs: delayMs,
      wallS: (performance.now() - started) / 1000,
    };
  } catch (err) {
    throw withLogged(err, 'authrelay', relay.warnings());
  } finally {
    s.emu.clearFaults();
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
      o.timing?.(name, (Date.now() - t0) / 1000, true);
      return r;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      o.timing?.(name, (Date.now() - t0) / 1000, false);
      progress(`FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s\n${error}\n`);
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
    const counts = o.mailboxCounts ?? [];
    if (counts.length > 0 && (o.mailboxMessages ?? 0) > 0) {
      result.mailboxes = [];
      for (const n of counts) {
        const p = await step(`end-to-end, ${n} sending mailbox${n > 1 ? 'es' : ''} at once: authrelay`, () => multiMailbox(s, n, o.mailboxMessages as number, o.sessions, drainS, nodeArgs, o.graphDelayMs ?? 0));
        if (p) result.mailboxes.push(p);
      }
    }
    if (o.bigMessages > 0) result.memory = await step(`memory, ${o.bigMessages} × ${o.bigSizeMB} MB to Graph at once: authrelay`, () => memory(s, o.bigMessages, o.bigSizeMB, nodeArgs));
    if (o.hugeSizeMB > 0) result.huge = await step(`one ${o.hugeSizeMB} MB message through upload sessions: authrelay`, () => huge(s, o.hugeSizeMB, nodeArgs));
    return result;
  } finally {
    await emu.close();
  }
}

/** "bound 82 msg/s (4 × 1 mailbox ÷ median sendMail 48.5 ms), 97 % reached, 0 × 429, peak 4 in flight". */
export function boundText(rate: number | null, bound: number | null, g: SendMailStats): string {
  if (bound === null) return `no sendMail timings, ${g.throttled} × 429`;
  const reached = rate === null ? '' : `, ${((rate / bound) * 100).toFixed(0)} % reached`;
  return `bound ${bound.toFixed(0)} msg/s (${g.mailboxLimit} × ${Math.max(1, g.mailboxes)} mailbox${g.mailboxes > 1 ? 'es' : ''} ÷ median sendMail ${(g.medianMs ?? 0).toFixed(1)} ms)${reached}, ${g.throttled} × 429, peak ${g.peakConcurrency} in flight per mailbox`;
}

export function printM365(r: M365Result): void {
  for (const e of [r.endToEnd, r.viaProxy, r.peer]) {
    if (!e) continue;
    const e2e = e.endToEndMsgPerSec === null ? `not all delivered within ${e.waitedS.toFixed(0)} s` : `${e.endToEndMsgPerSec.toFixed(0)} msg/s`;
    const cpu = e.cpuMsPerMessage === undefined ? '' : `; ${e.cpuMsPerMessage.toFixed(2)} CPU ms/msg`;
    console.log(`  ${e.system}: smtp-source -s ${e.sessions} -m ${e.messages} -l 10240: ingest ${e.ingestMsgPerSec.toFixed(0)} msg/s; end-to-end ${e2e}; lost ${e.lost}${cpu}; ${e.tokenRequests} token request(s); ${e.proxiedGraphRequests} Graph requests via the proxy`);
    console.log(`    ${boundText(e.endToEndMsgPerSec, e.boundMsgPerSec, e.graph)}; peak memory ${memoryText(e.memory)}; ${e.wallS.toFixed(1)} s`);
  }
  for (const p of r.mailboxes ?? []) {
    const e2e = p.endToEndMsgPerSec === null ? `not all delivered within ${p.waitedS.toFixed(0)} s` : `${p.endToEndMsgPerSec.toFixed(0)} msg/s`;
    console.log(`  ${p.mailboxes} mailbox(es) × ${p.messagesPerMailbox} (${p.sessionsPerMailbox} sessions each): end-to-end ${e2e}, lost ${p.lost}; ${boundText(p.endToEndMsgPerSec, p.boundMsgPerSec, p.graph)}; peak memory ${memoryText(p.memory)}; ${p.wallS.toFixed(1)} s`);
  }
  if (r.memory) {
    const m = r.memory;
    console.log(`  ${m.messages} × ${m.sizeMB} MB scans at once (draft + upload sessions): peak RSS ${m.peakRssMB} MB (target ≤ 150 MB), ${m.delivered}/${m.messages} delivered in ${m.seconds.toFixed(1)} s`);
  }
  if (r.huge) {
    const h = r.huge;
    console.log(`  one ${h.sizeMB} MB message (${h.attachmentMB} MB PDF, ${h.uploadRequests} upload PUTs, ${h.via ?? 'not sent'}): peak RSS ${h.peakRssMB} MB (${h.rssBeforeMB} MB before it), ${h.seconds === null ? 'not accepted' : `${h.seconds.toFixed(1)} s`}, ${h.intact ? 'intact' : 'NOT intact'}`);
  }
  for (const f of r.failures) console.log(`  FAILED ${f.scenario}: ${f.error.split('\n')[0]}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const int = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
  runM365({
    messages: int('BENCH_M365_MESSAGES', 2000), sessions: int('BENCH_M365_SESSIONS', 20), bigMessages: int('BENCH_BIG_MESSAGES', 20),
    bigSizeMB: int('BENCH_BIG_SIZE_MB', 25), hugeSizeMB: int('BENCH_HUGE_SIZE_MB', 100), progress: (l) => process.stderr.write(l),
    mailboxCounts: (process.env.BENCH_MAILBOXES ?? '1,2,4').split(',').filter(Boolean).map(Number), mailboxMessages: int('BENCH_MAILBOX_MESSAGES', 500), graphDelayMs: int('BENCH_GRAPH_DELAY_MS', 250),
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
