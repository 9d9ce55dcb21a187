/**
 * Side-by-side benchmark of authrelay, in one run on this machine:
 *   ingest    authrelay against a private Postfix, both relaying to smtp-sink,
 *             each freshly started per repetition (scenarios.ts);
 *   backlog   authrelay's ingest with 100,000 messages queued for an upstream
 *             that is down and 100,000 delivered to the load's recipient in the
 *             history, against an empty queue (backlog.ts);
 *   reuse     several messages per connection into authrelay and Postfix:
 *             every message delivered once (reuse.ts);
 *   memory    20 messages of 25 MB at once (smtp route, both systems; Graph
 *             route) and one 100 MB message through Graph upload sessions;
 *   e2e       smtp-source to the Graph emulator through authrelay, and through
 *             another relay given with --peer (m365.ts), beside Graph's bound;
 *   mailboxes 1, 2, 4 sending mailboxes at once through the Graph emulator (m365.ts);
 *   latency   acknowledgement latency at a fixed offered rate (latency.ts);
 *   scaling   1, 2, 3 nodes sharing one PostgreSQL store (scaling.ts);
 *   profile   CPU ms per message per stage under --cpu-prof (profile.ts).
 * Every row carries the peak memory of each system measured in it (Σ VmHWM
 * of its processes; Σ PSS for several processes). With --peer, the reuse part
 * also measures the peer's loss through the emulator. Prints the load average
 * before the run, one table with each figure, its comparison, ratio and
 * PRODUCT.md target, each part's run time, then the details; writes
 * bench/results/latest.json and a dated Markdown file.
 * Method: shared/reference/performance.md.
 *
 *   npm run bench [-- --only ingest,latency] [-- --peer HOST:PORT] [-- --quick]   (--help)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, relative } from 'node:path';
import { checkRelayBuilt, sweepStaleRelays } from './authrelay.js';
import { runBacklog, sweepStaleBacklogs, type BacklogResult, type BacklogSummary } from './backlog.js';
import { runLatency, type LatencyResult } from './latency.js';
import { SMTP_SOURCE, smtpSourceArgs } from './lib/load.js';
import { sweepStalePostgres } from './lib/postgres.js';
import { installExitHandlers, runCleanups } from './lib/proc.js';
import { machineBusy, memoryText, type MemoryPeak, type TreeMemory } from './lib/procfs.js';
import { SMTP_SINK, sweepStaleSinks } from './lib/sink.js';
import { printM365, runM365, type EndToEnd, type M365Result } from './m365.js';
import { peerPids, setupTenant, peerSetupText, startPeerEmulator } from './peer.js';
import { runProfile, sweepStaleProfiles, type ProfileResult } from './profile.js';
import { POSTFIX, checkPostfixPrerequisites, sweepStalePostfix } from './postfix.js';
import {
  markdownSection, median, num, printTable, summarise, summaryTable, writeJson, writeText,
  type PhaseSummary, type Ratio, type SummaryRow, type Table,
} from './report.js';
import { reuseAuthrelayThroughGraph, runReuse, runReuseThroughGraph, type GraphReuseResult, type ReuseResult } from './reuse.js';
import { runScaling, scalingUnavailable, type ScalingResult } from './scaling.js';
import { availableParallelism } from 'node:os';
import { workerCount } from '../src/root/worker-ipc.js';
import { MEMORY_KIND, runScenario, type Limits, type PhaseSpec, type ScenarioResult, type SystemName } from './scenarios.js';
import { SETTINGS_HELP, readSettings, type Settings } from './settings.js';
import { runReaders, type ReaderBenchResult } from './readers.js';

const MB = 1024 * 1024;
/** PRODUCT.md targets. */
const TARGET = { ingestMany: 1.5, ingestSingle: 1.0, ingestLarge: 1.0, backlogOverEmpty: 0.8, backlogMessages: 100_000, e2eOverPeer: 5, memoryMB: 150, latencyP99Ms: 20, latencyRate: 200, startupMs: 500, ofGraphBound: 0.95 };

/** Wall time of each step and part of the run, printed as a table. */
interface Timing {
  part: string;
  step: string;
  seconds: number;
  ok: boolean;
}
const timings: Timing[] = [];
let currentPart = '';

/** Runs one part of the benchmark, timing it (and printing its time). */
async function part(name: string, fn: () => Promise<void>): Promise<void> {
  currentPart = name;
  const t0 = Date.now();
  process.stderr.write(`${name}:\n`);
  try {
    await fn();
  } finally {
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ part: name, step: '(whole part)', seconds, ok: true });
    process.stderr.write(`${name}: ${seconds.toFixed(1)} s\n`);
    currentPart = '';
  }
}

interface Failure {
  system: string;
  scenario: string;
  error: string;
}

function sizeLabel(bytes: number): string {
  if (bytes % MB === 0) return `${bytes / MB} MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}

function preflight(wanted: SystemName[]): { systems: SystemName[]; skipped: string[] } {
  for (const tool of [SMTP_SOURCE, SMTP_SINK]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing (apt-get install postfix)`);
  }
  const stale = [...sweepStalePostfix(), ...sweepStaleRelays(), ...sweepStaleSinks(), ...sweepStalePostgres(), ...sweepStaleBacklogs(), ...sweepStaleProfiles()];
  for (const dir of stale) console.error(`removed ${dir}, left by a benchmark that was killed`);
  const skipped: string[] = [];
  const systems = wanted.filter((s) => {
    const problem = s === 'postfix' ? checkPostfixPrerequisites() : checkRelayBuilt();
    if (problem) skipped.push(`${s}: ${problem}`);
    return !problem;
  });
  return { systems, skipped };
}

function postfixVersion(): string {
  const r = spawnSync('/usr/sbin/postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

async function attempt<T>(system: string, scenario: string, failures: Failure[], fn: () => Promise<T>): Promise<T | undefined> {
  const t0 = Date.now();
  process.stderr.write(`  ${scenario}: ${system} ... `);
  try {
    const r = await fn();
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ part: currentPart, step: `${scenario}: ${system}`, seconds, ok: true });
    process.stderr.write(`done in ${seconds.toFixed(1)} s\n`);
    return r;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    timings.push({ part: currentPart, step: `${scenario}: ${system}`, seconds: (Date.now() - t0) / 1000, ok: false });
    process.stderr.write(`FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s\n${error}\n`);
    failures.push({ system, scenario, error });
    return undefined;
  }
}

/** Each distinct warning line once, with the number of scenarios that logged it. */
function warningLines(all: ScenarioResult[]): string[] {
  const seen = new Map<string, number>();
  for (const r of all) {
    const lines = new Set(r.warnings.map((w) => `${r.system}: ${(w.split('\n')[0] ?? '').replace(/\(node:\d+\) /, '').slice(0, 200)}`));
    for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
  }
  return [...seen].map(([line, n]) => `warning in ${n} of ${all.length} scenarios, ${line}`);
}

interface Results {
  phases: PhaseSpec[];
  runs: (ScenarioResult & { rep: number })[];
  summary: PhaseSummary[];
  ratios: Ratio[];
  bigRuns: ScenarioResult[];
  big: PhaseSpec;
  m365: M365Result | undefined;
  latency: LatencyResult[];
  scaling: ScalingResult | undefined;
  backlog: BacklogResult | undefined;
  reuse: ReuseResult[];
  /** Several messages per connection through the Graph emulator's proxy: authrelay and the peer (--peer). */
  graphReuse: GraphReuseResult[];
  profile: ProfileResult | undefined;
  readers?: ReaderBenchResult;
  failures: Failure[];
  skipped: string[];
}

const memText = (m: MemoryPeak | undefined): string => memoryText(m);
/** Memory right after a start: "RSS 71 MB", or "PSS Σ 20 MB (RSS Σ 60 MB, 12 processes)". */
function startMemText(m: TreeMemory | undefined): string {
  if (!m || m.processes === 0) return '—';
  const mb = (b: number) => `${(b / MB).toFixed(0)} MB`;
  return m.processes > 1 && m.pssBytes !== undefined ? `PSS Σ ${mb(m.pssBytes)} (RSS Σ ${mb(m.rssBytes)}, ${m.processes} processes) after start` : `RSS ${mb(m.rssBytes)} after start`;
}

const msgs = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v.toFixed(0)} msg/s`);

/** The ingest part's warm-up, summarised beside the measured phases: a freshly started process's first messages. */
const warmupName = 'warm-up';
const warmupSpec = (s: Settings): PhaseSpec => ({ name: warmupName, sessions: s.sessions, messages: s.warmup, size: s.size });

function ingestRows(s: Settings, r: Results): SummaryRow[] {
  const warm: PhaseSpec[] = s.warmup > 0 && r.summary.some((x) => x.phase === warmupName) ? [warmupSpec(s)] : [];
  return [...r.phases, ...warm].map((p) => {
    const ar = r.summary.find((x) => x.phase === p.name && x.system === 'authrelay');
    const pf = r.summary.find((x) => x.phase === p.name && x.system === 'postfix');
    const ratio = r.ratios.find((x) => x.phase === p.name);
    const lossNote = (x: PhaseSummary | undefined) => (x && x.undelivered > 0 ? `, ${x.undelivered} undelivered` : '');
    const measured = ratio?.authrelayOverPostfix !== null && ratio?.authrelayOverPostfix !== undefined;
    return {
      area: 'ingest',
      load: p.name === warmupName
        ? `the warm-up of the rows above: the first ${p.messages} messages after each start, ${p.sessions} sessions × ${sizeLabel(p.size)} (median of ${ar?.runs ?? 0})`
        : `${p.sessions} session${p.sessions > 1 ? 's' : ''} × ${p.messages} × ${sizeLabel(p.size)}, 1 msg/connection, durable, after the warm-up (median of ${ar?.runs ?? 0})`,
      authrelay: ar ? `${msgs(ar.ingestMsgPerSec)}${lossNote(ar)}` : 'not measured',
      authrelayMemory: memText(ar?.memory),
      compared: pf ? `Postfix ${msgs(pf.ingestMsgPerSec)}${lossNote(pf)}` : 'Postfix not measured',
      comparedMemory: memText(pf?.memory),
      ratio: measured ? `${num(ratio.authrelayOverPostfix, 2)} ×` : '—',
      target: p.target === undefined ? '— (none)' : `≥ ${p.target.toFixed(1)} × Postfix`,
      met: p.target === undefined ? undefined : measured ? (ratio.met as boolean) && (ar?.undelivered ?? 0) === 0 : 'not measured',
    };
  }).filter(() => s.only.has('ingest'));
}

const count = (n: number) => n.toLocaleString('en-US');

function backlogRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('backlog')) return [];
  const load = (n: number) => `${s.sessions} sessions × ${s.backlogMessages} × ${sizeLabel(s.size)}, 1 msg/connection, with ${count(n)} messages queued for an upstream that is down${n > 0 && s.backlogHistory > 0 ? ` and ${count(s.backlogHistory)} delivered to the same recipient in the history` : ''}`;
  const b = r.backlog;
  if (s.backlog === 0) return [{ area: 'ingest, backlog', load: load(0), authrelay: 'not measured (BENCH_BACKLOG=0)', compared: '—', ratio: '—', target: `≥ ${TARGET.backlogOverEmpty} × empty queue`, met: 'not measured' }];
  const text = (x: BacklogSummary | undefined) => (x && x.runs > 0 ? `${msgs(x.ingestMsgPerSec)}${x.undelivered > 0 ? `, ${x.undelivered} undelivered` : ''}` : 'not measured');
  const measured = b !== undefined && b.ratio !== null;
  const kept = b?.stillQueued !== undefined && b.stillQueued >= s.backlog;
  const met = measured ? (b.ratio as number) >= TARGET.backlogOverEmpty && b.withBacklog.undelivered === 0 && b.empty.undelivered === 0 && kept : 'not measured';
  const full = s.backlog >= TARGET.backlogMessages;
  return [{
    area: 'ingest, backlog',
    load: `${load(s.backlog)} (median of ${b?.withBacklog.runs ?? 0})`,
    authrelay: `${text(b?.withBacklog)}${b?.stillQueued !== undefined ? `; ${count(b.stillQueued)} still queued after` : ''}`,
    authrelayMemory: memText(b?.withBacklog.memory),
    compared: `empty queue ${text(b?.empty)}`,
    comparedMemory: memText(b?.empty.memory),
    ratio: measured ? `${num(b.ratio, 2)} ×` : '—',
    target: `≥ ${TARGET.backlogOverEmpty} × empty queue, ${count(TARGET.backlogMessages)} queued${full ? '' : ` (${count(s.backlog)} here)`}`,
    met: typeof met === 'string' || full ? met : `${met ? 'met' : 'NOT met'} with ${count(s.backlog)} queued`,
  }];
}

function reuseRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('reuse')) return [];
  const perConnection = Math.round(s.reuseMessages / s.sessions);
  const load = `smtp-source -d: ${s.sessions} sessions × ${s.reuseMessages} × ${sizeLabel(s.size)}, ≈${perConnection} msgs/connection → smtp-sink`;
  const ar = r.reuse.find((x) => x.system === 'authrelay');
  const pf = r.reuse.find((x) => x.system === 'postfix');
  const text = (x: ReuseResult) => `${msgs(x.ingestMsgPerSec)}, ${x.lost} lost${x.received.duplicates > 0 ? `, ${x.received.duplicates} twice` : ''} (${x.received.distinct}/${x.sent} delivered)`;
  const rows: SummaryRow[] = s.reuseMessages === 0 ? [{ area: 'several per connection', load, authrelay: 'not measured (BENCH_REUSE_MESSAGES=0)', compared: '—', ratio: '—', target: '0 lost', met: 'not measured' }] : [{
    area: 'several per connection', load,
    authrelay: ar ? text(ar) : 'not measured',
    authrelayMemory: memText(ar?.memory),
    compared: pf ? `Postfix ${text(pf)}` : 'Postfix not measured',
    comparedMemory: memText(pf?.memory),
    ratio: ar && pf ? `${num(ar.ingestMsgPerSec / pf.ingestMsgPerSec, 2)} ×` : '—',
    target: '0 lost',
    met: ar ? ar.lost === 0 && ar.received.distinct === ar.sent : 'not measured',
  }];
  if (s.peer && s.peerReuseMessages > 0) {
    const peerName = `${s.peer.host}:${s.peer.port}`;
    const mine = r.graphReuse.find((x) => x.system === 'authrelay via proxy');
    const peer = r.graphReuse.find((x) => x.system === peerName);
    const gtext = (x: GraphReuseResult) => `${msgs(x.ingestMsgPerSec)} in, ${x.endToEndMsgPerSec === null ? `not all at Graph after ${x.waitedS.toFixed(0)} s` : `${msgs(x.endToEndMsgPerSec)} to Graph`}, ${x.lost} lost${x.received.duplicates > 0 ? `, ${x.received.duplicates} twice` : ''} (${x.received.distinct}/${x.sent} distinct)`;
    rows.push({
      area: 'several per connection',
      load: `smtp-source -d: ${s.sessions} sessions × ${s.peerReuseMessages} × ${sizeLabel(s.size)} → relay → Graph emulator (forward proxy), lost by distinct Message-ID`,
      authrelay: mine ? gtext(mine) : 'not measured',
      authrelayMemory: memText(mine?.memory),
      compared: peer ? `peer ${peerName}: ${gtext(peer)}` : `peer ${peerName}: failed (see below)`,
      comparedMemory: peer ? (peer.memory ? memText(peer.memory) : 'not known (BENCH_PEER_PID)') : '—',
      ratio: mine && peer ? `${num(mine.ingestMsgPerSec / peer.ingestMsgPerSec, 2)} × in` : '—',
      target: '0 lost',
      met: mine ? mine.lost === 0 : 'not measured',
    });
  }
  return rows;
}

function startupRow(r: Results): SummaryRow | undefined {
  const of = (system: SystemName) => median([...r.runs, ...r.bigRuns].filter((x) => x.system === system).map((x) => x.startupMs));
  const ar = of('authrelay');
  const pf = of('postfix');
  if (ar === null && pf === null) return undefined;
  // Memory right after the start: the largest of the starts.
  const startMem = (system: SystemName) => [...r.runs, ...r.bigRuns].filter((x) => x.system === system).map((x) => x.startupMemory)
    .sort((a, b) => (b.pssBytes ?? b.rssBytes) - (a.pssBytes ?? a.rssBytes))[0];
  return {
    area: 'start-up', load: 'spawn to accepting connections (median)', authrelay: ar === null ? 'not measured' : `${ar.toFixed(0)} ms`,
    authrelayMemory: startMemText(startMem('authrelay')),
    compared: pf === null ? '—' : `Postfix ${pf.toFixed(0)} ms`, comparedMemory: startMemText(startMem('postfix')),
    ratio: '—', target: `≤ ${TARGET.startupMs} ms`, met: ar === null ? 'not measured' : ar <= TARGET.startupMs,
  };
}

function e2eText(e: EndToEnd | undefined): string {
  if (!e) return 'not measured';
  const rate = e.endToEndMsgPerSec === null ? `not all delivered in ${e.waitedS.toFixed(0)} s` : msgs(e.endToEndMsgPerSec);
  const bound = e.boundMsgPerSec === null ? '' : `, ${pctOf(e.endToEndMsgPerSec, e.boundMsgPerSec)} of Graph's bound ${msgs(e.boundMsgPerSec)}`;
  return `${rate}, ${e.lost} lost${bound}, ${e.graph.throttled} × 429`;
}

const pctOf = (rate: number | null, bound: number | null): string => (rate === null || bound === null ? '—' : `${((rate / bound) * 100).toFixed(0)} %`);
/** Reached ≥ 95 % of Graph's bound with no 429 (the relay kept Graph's 4 requests per mailbox busy, and no more). */
const atBound = (rate: number | null, bound: number | null, throttled: number): boolean => rate !== null && bound !== null && rate >= TARGET.ofGraphBound * bound && throttled === 0;

function e2eRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('e2e') || s.m365Messages === 0) return [];
  const m = r.m365;
  const direct = m?.endToEnd;
  const rows: SummaryRow[] = [{
    area: 'end-to-end',
    load: `smtp-source ${s.sessions} sessions × ${s.m365Messages} × 10 KB → authrelay → Graph emulator (HTTPS, real tokens, one mailbox)`,
    authrelay: e2eText(direct), authrelayMemory: memText(direct?.memory),
    compared: direct?.boundMsgPerSec ? `Graph's bound ${msgs(direct.boundMsgPerSec)} (${direct.graph.mailboxLimit} ÷ median sendMail ${num(direct.graph.medianMs, 1)} ms)` : '—',
    ratio: direct ? `${pctOf(direct.endToEndMsgPerSec, direct.boundMsgPerSec)} of bound` : '—',
    // The emulator answers here as fast as it can (a few ms): the relay's CPU, not Graph's 4 requests, is the limit.
    // Keeping Graph's slots busy (≥ 95 % of the bound) is judged in the mailbox rows, where Graph takes Exchange's time.
    target: `0 lost, 0 × 429 (≥ ${TARGET.ofGraphBound * 100} % of Graph's bound: mailbox rows)`,
    met: direct ? direct.lost === 0 && direct.graph.throttled === 0 : 'not measured',
  }];
  const peerName = s.peer ? `${s.peer.host}:${s.peer.port}` : undefined;
  const mine = m?.viaProxy ?? direct;
  const peer = m?.peer;
  let compared = 'not measured (give --peer)';
  let ratio = '—';
  let met: SummaryRow['met'] = 'not measured';
  if (peerName) {
    compared = peer ? `peer ${peerName}: ${e2eText(peer)}` : `peer ${peerName}: failed (see below)`;
    if (peer && mine && mine.endToEndMsgPerSec !== null && peer.endToEndMsgPerSec !== null) {
      const x = mine.endToEndMsgPerSec / peer.endToEndMsgPerSec;
      ratio = `${x.toFixed(2)} ×`;
      met = x >= TARGET.e2eOverPeer && mine.lost === 0;
    } else if (peer && mine && mine.endToEndMsgPerSec !== null && peer.endToEndMsgPerSec === null) {
      ratio = '> any';
      met = mine.lost === 0;
    }
  }
  rows.push({
    area: 'end-to-end',
    load: 'same load, authrelay and another relay (--peer) both through the emulator\'s forward proxy',
    authrelay: m?.viaProxy ? e2eText(m.viaProxy) : peerName ? 'not measured' : '— (with --peer)',
    authrelayMemory: m?.viaProxy ? memText(m.viaProxy.memory) : '—',
    compared, comparedMemory: peer ? (peer.memory ? memText(peer.memory) : 'not known (BENCH_PEER_PID)') : '—',
    ratio, target: `≥ ${TARGET.e2eOverPeer} × peer, 0 lost`, met,
  });
  return rows;
}

function mailboxRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('mailboxes') || s.mailboxMessages === 0 || s.mailboxCounts.length === 0) return [];
  const points = r.m365?.mailboxes ?? [];
  const one = points.find((p) => p.mailboxes === 1)?.endToEndMsgPerSec ?? null;
  const delay = s.graphDelayMs > 0 ? `, Graph answering after ${s.graphDelayMs} ms` : '';
  return s.mailboxCounts.map((n) => {
    const p = points.find((x) => x.mailboxes === n);
    const load = `${n} sending mailbox${n > 1 ? 'es' : ''} at once, ${s.mailboxMessages} × 10 KB each (${p?.sessionsPerMailbox ?? Math.max(1, Math.round(s.sessions / n))} sessions each) → authrelay → Graph emulator${delay}`;
    if (!p) return { area: 'end-to-end, mailboxes', load, authrelay: 'not measured: failed (see below)', compared: '—', ratio: '—', target: '—', met: 'not measured' };
    const times = one !== null && p.endToEndMsgPerSec !== null ? p.endToEndMsgPerSec / one : null;
    const scales = n === 1 || (times !== null && times >= TARGET.ofGraphBound * n);
    return {
      area: 'end-to-end, mailboxes', load,
      authrelay: `${p.endToEndMsgPerSec === null ? `not all delivered in ${p.waitedS.toFixed(0)} s` : msgs(p.endToEndMsgPerSec)}, ${p.lost} lost, ${p.graph.throttled} × 429`,
      authrelayMemory: memText(p.memory),
      compared: p.boundMsgPerSec === null ? 'Graph\'s bound: no sendMail timings' : `Graph's bound ${msgs(p.boundMsgPerSec)} (${p.graph.mailboxLimit} × ${n} ÷ median sendMail ${num(p.graph.medianMs, 1)} ms)`,
      ratio: `${pctOf(p.endToEndMsgPerSec, p.boundMsgPerSec)} of bound; ${times === null ? '—' : `${times.toFixed(2)} ×`} 1 mailbox`,
      target: `≥ ${TARGET.ofGraphBound * 100} % of bound, 0 × 429, 0 lost${n > 1 ? `, ${n} × 1 mailbox` : ''}`,
      met: p.lost === 0 && atBound(p.endToEndMsgPerSec, p.boundMsgPerSec, p.graph.throttled) && scales,
    } satisfies SummaryRow;
  });
}

function profileRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('profile') || s.profileMessages === 0) return [];
  const p = r.profile;
  const stages = p ? Object.entries(p.perMessage).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') : '';
  return [{
    area: 'CPU profile', load: `${s.sessions} sessions × ${s.profileMessages} × ${sizeLabel(s.size)} → smtp-sink, relay under --cpu-prof${s.profileWorkers !== undefined ? `, workers: ${s.profileWorkers}` : ''}`,
    authrelay: p ? `${p.profiledPerMessage.toFixed(2)} CPU ms/msg profiled (${p.processPerMessage.toFixed(2)} ms process tree): ${stages}` : 'not measured: failed (see below)',
    authrelayMemory: memText(p?.memory), compared: '—', ratio: '—', target: '— (before/after)', met: undefined,
  }];
}

function memoryRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('memory')) return [];
  const rows: SummaryRow[] = [];
  if (s.bigMessages > 0) {
    const ar = r.bigRuns.find((x) => x.system === 'authrelay')?.phases[0];
    const pf = r.bigRuns.find((x) => x.system === 'postfix')?.phases[0];
    const arMB = ar ? ar.peakMemoryBytes / MB : undefined;
    rows.push({
      area: 'memory', load: `${s.bigMessages} × ${s.bigSizeMB} MB at once → smtp-sink (peak)`,
      authrelay: ar ? `${ar.memory.processes > 1 ? 'PSS Σ' : 'RSS'} ${num(arMB, 1)} MB${ar.undelivered > 0 ? `, ${ar.undelivered} undelivered` : ''}` : 'not measured',
      authrelayMemory: memText(ar?.memory),
      compared: pf ? `Postfix PSS Σ ${num(pf.peakMemoryBytes / MB, 1)} MB` : '—', comparedMemory: memText(pf?.memory), ratio: '—', target: `≤ ${TARGET.memoryMB} MB`,
      met: ar && arMB !== undefined ? arMB <= TARGET.memoryMB && ar.undelivered === 0 : 'not measured',
    });
    const g = r.m365?.memory;
    rows.push({
      area: 'memory', load: `${s.bigMessages} × ${s.bigSizeMB} MB scans at once → Graph (draft + upload sessions)`,
      authrelay: g ? `RSS ${g.peakRssMB} MB, ${g.delivered}/${g.messages} in ${g.seconds.toFixed(0)} s` : 'not measured',
      authrelayMemory: g ? `RSS ${g.peakRssMB.toFixed(0)} MB` : '—',
      compared: '—', ratio: '—', target: `≤ ${TARGET.memoryMB} MB`, met: g ? g.peakRssMB <= TARGET.memoryMB && g.delivered === g.messages : 'not measured',
    });
  }
  if (s.hugeSizeMB > 0) {
    const h = r.m365?.huge;
    rows.push({
      area: 'memory', load: `one ${s.hugeSizeMB} MB message → Graph upload sessions`,
      authrelay: h ? `RSS ${h.peakRssMB} MB (${h.rssBeforeMB} MB before it: +${num(h.peakRssMB - h.rssBeforeMB, 1)} MB), ${h.seconds === null ? 'not accepted' : `${h.seconds.toFixed(1)} s`}, ${h.intact ? 'intact' : 'NOT intact'}` : 'not measured',
      authrelayMemory: h ? `RSS ${h.peakRssMB.toFixed(0)} MB` : '—',
      // Streams: the relay grows by less than the message while it passes (its RSS at rest is
      // most of 100 MB already), and stays within the product's 150 MB.
      compared: '—', ratio: '—', target: `intact; RSS grows by less than the message (streams), peak ≤ ${TARGET.memoryMB} MB`,
      met: h ? h.intact && h.peakRssMB - h.rssBeforeMB < h.sizeMB && h.peakRssMB <= TARGET.memoryMB : 'not measured',
    });
  }
  return rows;
}

function latencyRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('latency')) return [];
  const ar = r.latency.find((x) => x.system === 'authrelay');
  const pf = r.latency.find((x) => x.system === 'postfix');
  const text = (x: LatencyResult) => `p50 ${num(x.ack.p50, 1)} ms, p99 ${num(x.ack.p99, 1)} ms${x.acknowledged < x.offered ? ` (${x.offered - x.acknowledged} of ${x.offered} not acknowledged)` : ''}`;
  const complete = (x: LatencyResult) => x.acknowledged === x.offered && x.undelivered === 0;
  const atTargetRate = s.latencyRate === TARGET.latencyRate;
  return [{
    area: 'latency',
    load: `end of DATA → 250 at ${s.latencyRate} msg/s for ${s.latencySeconds} s, 1 msg/connection, ${sizeLabel(s.size)}`,
    authrelay: ar ? text(ar) : 'not measured',
    authrelayMemory: memText(ar?.memory),
    compared: pf ? `Postfix ${text(pf)}` : '—',
    comparedMemory: memText(pf?.memory),
    ratio: ar && pf ? `p99 ${num(ar.ack.p99 / pf.ack.p99, 2)} ×` : '—',
    target: `p99 ≤ ${TARGET.latencyP99Ms} ms at ${TARGET.latencyRate} msg/s${atTargetRate ? '' : ' (other rate here)'}`,
    met: !ar ? 'not measured' : !atTargetRate ? 'other rate' : ar.ack.p99 <= TARGET.latencyP99Ms && complete(ar),
  }];
}

function readerRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('readers') || s.readerClients === 0) return [];
  const x = r.readers;
  return [{
    area: 'readers', load: `${s.readerClients} IMAP clients × FETCH ${s.readerSizeMB} MB at once, implicit TLS both sides → Dovecot (XOAUTH2)`,
    authrelay: x ? `${num(x.proxiedMBps, 0)} MB/s through the relay (${x.proxiedSeconds.toFixed(1)} s)${x.intact ? '' : ', NOT intact'}` : 'not measured: failed (see below)',
    authrelayMemory: x ? `RSS ${x.peakRssMB.toFixed(0)} MB (${x.startRssMB.toFixed(0)} MB after start)` : '—',
    compared: x ? `straight from Dovecot ${num(x.directMBps, 0)} MB/s (${x.directSeconds.toFixed(1)} s)` : '—',
    ratio: x ? `${x.ratio.toFixed(2)} ×` : '—',
    target: `peak RSS ≤ ${TARGET.memoryMB} MB (issue 14); throughput: — (none)`,
    met: x ? x.intact && x.peakRssMB <= TARGET.memoryMB : 'not measured',
  }];
}

function scalingRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('scaling')) return [];
  const sc = r.scaling;
  const load = (n: number) => `${n} node${n > 1 ? 's' : ''}, one PostgreSQL store: ${s.scalingMessages} × 10 KB → smtp-sink, delivered msg/s`;
  if (!sc) return [{ area: 'scaling', load: load(1), authrelay: 'not measured: failed (see below)', compared: '—', ratio: '—', target: '— (none)', met: undefined }];
  if (!sc.measured) return [{ area: 'scaling', load: `1 to ${s.scalingNodes} nodes sharing one PostgreSQL store`, authrelay: `not measured: ${sc.reason}`, compared: '—', ratio: '—', target: '— (none)', met: undefined }];
  const base = sc.points.find((p) => p.nodes === 1);
  const rows: SummaryRow[] = sc.points.map((p) => ({
    area: 'scaling', load: load(p.nodes),
    authrelay: `${p.endToEndMsgPerSec === null ? 'not all delivered' : msgs(p.endToEndMsgPerSec)} (ingest ${msgs(p.ingestMsgPerSec)})${p.undelivered > 0 ? `, ${p.undelivered} undelivered` : ''}`,
    authrelayMemory: memText(p.relayMemory),
    compared: `${p.nodes === 1 ? '' : base ? `1 node ${msgs(base.endToEndMsgPerSec)}; ` : ''}PostgreSQL`,
    comparedMemory: memText(p.databaseMemory),
    ratio: p.nodes > 1 && base?.endToEndMsgPerSec && p.endToEndMsgPerSec ? `${(p.endToEndMsgPerSec / base.endToEndMsgPerSec).toFixed(2)} ×` : '—',
    target: '— (none)', met: undefined,
  } satisfies SummaryRow));
  for (const f of sc.failures) rows.push({ area: 'scaling', load: load(f.nodes), authrelay: `failed: ${f.error.split('\n')[0]?.slice(0, 120)}`, compared: '—', ratio: '—', target: '— (none)', met: undefined });
  return rows;
}

function detailTables(s: Settings, r: Results, postfix: string): Table[] {
  const tables: Table[] = [];
  if (r.summary.length > 0) {
    tables.push({
      title: `Ingest, ${s.reps} repetition(s), fresh start each, medians`,
      header: ['load', 'system', 'ingest msg/s', 'runs', 'end-to-end msg/s', 'undelivered', 'peak memory', 'CPU ms/msg'],
      rows: r.summary.map((p) => {
        const spec = p.phase === warmupName ? warmupSpec(s) : r.phases.find((x) => x.name === p.phase);
        const label = spec ? `${spec.sessions} × ${spec.messages} × ${sizeLabel(spec.size)}${p.phase === warmupName ? ', warm-up' : ''}` : p.phase;
        return [label, p.system, num(p.ingestMsgPerSec), p.ingestRuns.join(', '), num(p.endToEndMsgPerSec), String(p.undelivered), memText(p.memory), num(p.cpuMsPerMessage, 2)];
      }),
      notes: [
        `load: smtp-source ${smtpSourceArgs(0, r.phases[0] as PhaseSpec).join(' ').replace(':0', ':PORT')}, ${r.phases.slice(1).map((p) => `-s ${p.sessions} -m ${p.messages} -l ${p.size}`).join(', ')}; warm-up ${s.warmup} messages; Postfix ${postfix} relaying to smtp-sink, authrelay with one smtp upstream to it and \`workers: ${s.ingestWorkers}\` (${workerCount(s.ingestWorkers, availableParallelism())} receiving process(es) on this machine; BENCH_WORKERS).`,
        `peak memory (the largest of the repetitions, during that load): Postfix = ${MEMORY_KIND.postfix}; authrelay = ${MEMORY_KIND.authrelay}.`,
        `undelivered = acknowledged but not received by smtp-sink within ${s.drainTimeoutS} s; end-to-end = messages / (first connection until smtp-sink had them all).`,
      ],
    });
  }
  const b = r.backlog;
  if (b && b.runs.length > 0) {
    const row = (x: BacklogSummary, label: string) => [label, num(x.ingestMsgPerSec), x.ingestRuns.join(', '), num(x.endToEndMsgPerSec), String(x.undelivered), x.startupMs === null ? '—' : `${x.startupMs.toFixed(0)} ms`, memText(x.memory), num(x.cpuMsPerMessage, 2)];
    const q = b.queuedAfter;
    tables.push({
      title: `Ingest with ${count(b.backlog)} messages queued${b.history > 0 ? ` and ${count(b.history)} delivered in the history` : ''}, against an empty queue (authrelay, ${b.empty.runs + b.withBacklog.runs} fresh starts, medians)`,
      header: ['queue', 'ingest msg/s', 'runs', 'end-to-end msg/s', 'undelivered', 'start-up', 'peak memory', 'CPU ms/msg'],
      rows: [row(b.empty, 'empty'), row(b.withBacklog, `${count(b.backlog)} queued${b.history > 0 ? ` + ${count(b.history)} delivered` : ''}`)],
      notes: [
        `load: smtp-source -s ${b.sessions} -m ${b.messages} -l ${b.size}, one connection per message, after a ${s.warmup}-message warm-up; the relay has two upstreams: smtp-sink for the load, and one that answers 421 to every connection for the queued messages (recipient domain down.example); the same configuration with an empty queue.`,
        b.fill ? `the queue was filled once, before the first start, through the store's own API (createBody, accept with the route table's routes) on the relay's data directory: ${count(b.fill.messages)} × ${sizeLabel(b.size)} in ${b.fill.seconds.toFixed(1)} s, ${(b.fill.bytes / MB).toFixed(0)} MB on disk${b.fill.delivered > 0 ? `, of which ${count(b.fill.delivered)} to the load's recipient, claimed and recorded as delivered (the history a relay keeps after weeks of one office's scans to one mailbox: every delivery result of the load updates a recipient whose address has that many rows before it)` : ''}; every start with the backlog reuses it (it also keeps the messages delivered by earlier starts).` : 'the queue could not be filled (see failures).',
        `the queued messages are due and routed to the upstream that is down: the scheduler claims from them, finds the route down (${b.runs.filter((x) => x.queue === 'backlog').map((x) => x.downConnections).join(', ')} connections refused per start) and keeps polling the queue during the load.`,
        q ? `after the last start: ${count(b.stillQueued ?? 0)} messages still waiting (incoming ${q.incoming ?? 0}, deferred ${q.deferred ?? 0}, active ${q.active ?? 0}), ${count(q.delivered ?? 0)} delivered, ${q.failed ?? 0} failed, ${q.held ?? 0} held.` : 'the queue could not be read after the runs.',
      ],
    });
  }
  if (r.reuse.length > 0) {
    tables.push({
      title: 'Several messages per connection (smtp-source -d), one run per system, fresh start',
      header: ['system', 'load', 'ingest msg/s', 'end-to-end msg/s', 'sent', 'received', 'distinct', 'twice', 'lost', 'peak memory', 'run time'],
      rows: r.reuse.map((x) => [x.system, `${x.sessions} × ${x.messages} × ${sizeLabel(x.size)}`, num(x.ingestMsgPerSec), num(x.endToEndMsgPerSec), String(x.sent), String(x.received.messages), String(x.received.distinct), String(x.received.duplicates), String(x.lost), memText(x.memory), `${x.wallS.toFixed(1)} s`]),
      notes: [
        `load: smtp-source -d -s ${s.sessions} -m ${s.reuseMessages} -l ${s.size}: each session keeps one connection and sends the next message on it (≈${Math.round(s.reuseMessages / s.sessions)} per connection), after a ${s.warmup}-message warm-up sent the same way; sent, received, lost count the warm-up too. authrelay with \`workers: ${s.ingestWorkers}\`, as in the ingest part (BENCH_WORKERS).`,
        'smtp-sink keeps every message (-D); a message is known by the queue id in its relay\'s Received field and its Message-ID: distinct = different messages received, lost = sent − distinct, twice = received again.',
        `peak memory: Postfix = ${MEMORY_KIND.postfix}; authrelay = ${MEMORY_KIND.authrelay}.`,
      ],
    });
  }
  if (r.graphReuse.length > 0) {
    tables.push({
      title: 'Several messages per connection through the Graph emulator\'s forward proxy (smtp-source -d), authrelay and the peer, fresh start of authrelay',
      header: ['relay', 'load', 'ingest msg/s', 'to Graph msg/s', 'sent', 'received', 'distinct', 'twice', 'lost', 'median sendMail', '429', 'peak memory', 'run time'],
      rows: r.graphReuse.map((x) => [x.system, `${x.sessions} × ${x.messages} × ${sizeLabel(x.size)}`, num(x.ingestMsgPerSec), x.endToEndMsgPerSec === null ? `not all (waited ${x.waitedS.toFixed(0)} s)` : num(x.endToEndMsgPerSec), String(x.sent), String(x.received.messages), String(x.received.distinct), String(x.received.duplicates), String(x.lost), x.graph.medianMs === null ? '—' : `${x.graph.medianMs.toFixed(1)} ms`, String(x.graph.throttled), x.memory ? memText(x.memory) : 'not known', `${x.wallS.toFixed(1)} s`]),
      notes: [
        `load: smtp-source -d -s ${s.sessions} -m ${s.peerReuseMessages} -l ${s.size} (≈${Math.round(s.peerReuseMessages / s.sessions)} per connection) after a ${s.warmup}-message warm-up sent the same way; sent, received, lost count the warm-up too.`,
        `a message is told apart by its Message-ID (smtp-source writes a different one into each message): distinct = different Message-IDs Graph accepted, lost = sent − distinct, twice = accepted again. The wait ends when every message arrived, when Graph got nothing new for ${s.idleS} s, or after ${Math.max(s.drainTimeoutS, 300)} s.`,
        'the peer\'s memory: the process listening on its port and its children (or BENCH_PEER_PID), peak counters reset at the start; "not known" when it cannot be seen from here.',
      ],
    });
  }
  if (r.bigRuns.length > 0) {
    tables.push({
      title: `Memory, ${r.big.name} at once to smtp-sink`,
      header: ['system', 'peak memory', 'ingest msg/s', 'CPU ms/msg', 'undelivered'],
      rows: r.bigRuns.flatMap((b) => (b.phases[0] ? [[b.system, memText(b.phases[0].memory), num(b.phases[0].ingestMsgPerSec, 1), num(b.phases[0].cpuMsPerMessage, 0), String(b.phases[0].undelivered)]] : [])),
    });
  }
  const m = r.m365;
  const e2e = [m?.endToEnd, m?.viaProxy, m?.peer].filter((e): e is EndToEnd => e !== undefined);
  if (e2e.length > 0) {
    tables.push({
      title: 'End-to-end through the Graph emulator',
      header: ['relay', 'load', 'ingest msg/s', 'end-to-end msg/s', 'median sendMail', 'Graph\'s bound', 'of bound', '429', 'peak in flight', 'lost', 'CPU ms/msg', 'peak memory', 'token requests', 'Graph requests via proxy', 'run time'],
      rows: e2e.map((e) => [e.system, `${e.sessions} × ${e.messages} × 10 KB`, num(e.ingestMsgPerSec), e.endToEndMsgPerSec === null ? `not all in ${e.waitedS.toFixed(0)} s` : num(e.endToEndMsgPerSec), e.graph.medianMs === null ? '—' : `${e.graph.medianMs.toFixed(1)} ms`, msgs(e.boundMsgPerSec), pctOf(e.endToEndMsgPerSec, e.boundMsgPerSec), String(e.graph.throttled), String(e.graph.peakConcurrency), String(e.lost), num(e.cpuMsPerMessage, 2), e.memory ? memText(e.memory) : 'not known', String(e.tokenRequests), String(e.proxiedGraphRequests), `${e.wallS.toFixed(1)} s`]),
      notes: ['end-to-end = messages / (first connection until the emulator had accepted them all); each relay had a 20-message warm-up first.',
        'Graph\'s bound = 4 requests per mailbox ÷ the median time the emulator took for a sendMail (request arrived to answer finished): the most one mailbox can deliver when every one of its 4 slots is always busy; "of bound" = end-to-end ÷ bound. 429 = ApplicationThrottled answers (more than 4 requests at once for a mailbox: caused by the relay, no throttling is injected).',
        'the emulator runs in the benchmark process: its CPU is shared with the relay and the load on the same cores, so its sendMail time grows when the machine is busy.'],
    });
  }
  if (m?.mailboxes && m.mailboxes.length > 0) {
    const one = m.mailboxes.find((p) => p.mailboxes === 1)?.endToEndMsgPerSec ?? null;
    tables.push({
      title: 'End-to-end with several sending mailboxes at once through one relay (Graph emulator)',
      header: ['mailboxes', 'load', 'ingest msg/s', 'end-to-end msg/s', '× 1 mailbox', 'median sendMail', 'p90', 'Graph\'s bound', 'of bound', '429', 'peak in flight', 'lost', 'CPU ms/msg', 'peak memory', 'run time'],
      rows: m.mailboxes.map((p) => [String(p.mailboxes), `${p.mailboxes} × ${p.messagesPerMailbox} × 10 KB, ${p.sessionsPerMailbox} sessions each`, num(p.ingestMsgPerSec), p.endToEndMsgPerSec === null ? `not all in ${p.waitedS.toFixed(0)} s` : num(p.endToEndMsgPerSec), one !== null && p.endToEndMsgPerSec !== null ? `${(p.endToEndMsgPerSec / one).toFixed(2)} ×` : '—', p.graph.medianMs === null ? '—' : `${p.graph.medianMs.toFixed(1)} ms`, p.graph.p90Ms === null ? '—' : `${p.graph.p90Ms.toFixed(0)} ms`, msgs(p.boundMsgPerSec), pctOf(p.endToEndMsgPerSec, p.boundMsgPerSec), String(p.graph.throttled), String(p.graph.peakConcurrency), String(p.lost), num(p.cpuMsPerMessage, 2), memText(p.memory), `${p.wallS.toFixed(1)} s`]),
      notes: [
        'one graph upstream as in the end-to-end row, without a fixed mailbox: each message goes as its From address; N smtp-source processes at once, each sending as its own mailbox (sender-i@contoso.example); every point starts the relay fresh, with a 10-message warm-up per mailbox.',
        `Graph's bound = 4 × N ÷ the median sendMail time in the emulator${s.graphDelayMs > 0 ? ` (which waits ${s.graphDelayMs} ms before each answer, BENCH_GRAPH_DELAY_MS)` : ' (answering as fast as it can; BENCH_GRAPH_DELAY_MS adds a fixed wait, as Exchange\'s own time)'}; × 1 mailbox = end-to-end ÷ that of N = 1 (N mailboxes should deliver N times as fast while Graph, not the relay, is the limit).`,
        'peak in flight = the most requests the emulator saw at once for one mailbox (Graph allows 4; a fifth gets 429).',
      ],
    });
  }
  if (m?.huge || m?.memory) {
    const rows: string[][] = [];
    if (m.memory) rows.push([`${m.memory.messages} × ${m.memory.sizeMB} MB at once`, `${m.memory.peakRssMB} MB`, `${m.memory.seconds.toFixed(1)} s`, `${m.memory.delivered}/${m.memory.messages} delivered`]);
    if (m.huge) rows.push([`1 × ${m.huge.sizeMB} MB (${m.huge.attachmentMB} MB PDF, ${m.huge.uploadRequests} upload PUTs)`, `${m.huge.peakRssMB} MB`, m.huge.seconds === null ? 'not accepted' : `${m.huge.seconds.toFixed(1)} s`, m.huge.intact ? 'intact (SHA-256 equal)' : 'NOT intact']);
    tables.push({ title: 'authrelay on the Graph route: large messages', header: ['messages', 'peak RSS', 'until Graph accepted', 'result'], rows });
  }
  if (r.latency.length > 0) {
    tables.push({
      title: `Acknowledgement latency at ${s.latencyRate} msg/s offered for ${s.latencySeconds} s (one connection per message)`,
      header: ['system', 'acknowledged', 'failed', 'achieved msg/s', 'ack p50', 'p90', 'p99', 'max', 'session p50', 'session p99', 'client lag p99', 'undelivered', 'peak memory', 'run time'],
      rows: r.latency.map((x) => [x.system, `${x.acknowledged}/${x.offered}`, `${x.failed + x.skipped}`, num(x.achievedRate), `${num(x.ack.p50, 1)} ms`, `${num(x.ack.p90, 1)} ms`, `${num(x.ack.p99, 1)} ms`, `${num(x.ack.max, 1)} ms`, `${num(x.session.p50, 1)} ms`, `${num(x.session.p99, 1)} ms`, `${num(x.startLag.p99, 1)} ms`, String(x.undelivered), memText(x.memory), `${x.wallS.toFixed(1)} s`]),
      notes: ['ack = writing the final "." line to reading the reply to it; session = connect to that reply (greeting and commands included);',
        'client lag = how late the paced client started sessions against its schedule (large values: the client, not the server, fell behind).',
        ...r.latency.filter((x) => x.firstError).map((x) => `${x.system}, first failure: ${x.firstError}`)],
    });
  }
  if (r.scaling?.measured && r.scaling.points.length > 0) {
    const base = r.scaling.points.find((p) => p.nodes === 1)?.endToEndMsgPerSec;
    tables.push({
      title: 'Scaling: nodes sharing one PostgreSQL store (private PostgreSQL 15, fsync on)',
      header: ['nodes', 'load', 'ingest msg/s', 'delivered msg/s', 'vs 1 node', 'undelivered', 'relay CPU ms/msg', 'PostgreSQL CPU ms/msg', 'relays\' peak memory', 'PostgreSQL peak memory', 'run time'],
      rows: r.scaling.points.map((p) => [String(p.nodes), `${p.sessions} sessions × ${p.messages} × 10 KB`, num(p.ingestMsgPerSec), num(p.endToEndMsgPerSec), base && p.endToEndMsgPerSec ? `${(p.endToEndMsgPerSec / base).toFixed(2)} ×` : '—', String(p.undelivered), num(p.relayCpuMsPerMessage, 2), num(p.databaseCpuMsPerMessage, 2), memText(p.relayMemory), memText(p.databaseMemory), `${p.wallS.toFixed(1)} s`]),
      notes: ['the sessions and messages are split evenly over the nodes and sent to all at once; delivered = messages / (first connection until smtp-sink had them all).',
        `every node and the database share the same ${cpus().length} CPUs here, so this shows the cost of coordination more than the gain of more machines.`],
    });
  }
  if (r.profile) {
    const p = r.profile;
    tables.push({
      title: `CPU per message by stage: authrelay under --cpu-prof, ${p.sessions} sessions × ${p.messages} × ${sizeLabel(p.size)} → smtp-sink`,
      header: ['stage', 'CPU ms/msg', 'share'],
      rows: [
        ...Object.entries(p.perMessage).sort((a, b) => b[1] - a[1]).map(([stage, ms]) => [stage, ms.toFixed(3), `${((ms / (p.profiledPerMessage || 1)) * 100).toFixed(0)} %`]),
        ['profiled total', p.profiledPerMessage.toFixed(3), '100 %'],
        ['process tree (/proc)', p.processPerMessage.toFixed(3), 'incl. kernel, thread pool'],
      ],
      notes: [
        `${p.processes} profile(s) (one per process or thread); only the samples taken during the load count (start-up and warm-up left out: the profiles' clock is CLOCK_MONOTONIC, as the harness's), divided by the load's messages; the process tree's CPU (/proc) covers the same load and also counts the kernel and libuv's thread pool (fsync, file writes), which the profiles do not see.`,
        'stages: the innermost frame of a sample\'s stack that belongs to authrelay\'s code or a library serving a stage (smtp-server → receive, better-sqlite3 → spool, nodemailer → deliver, pino → logging); Node\'s own code counts for the stage that called it; "node" = no stage on the stack (event loop, timers); "(program)" = native code outside JavaScript; "(garbage collector)".',
        `load ${(p.wallMs / 1000).toFixed(1)} s, ingest ${p.ingestMsgPerSec.toFixed(0)} msg/s under the profiler; peak memory ${memText(p.memory)}.`,
        `heaviest functions (self time during the load): ${p.top.slice(0, 8).map((f) => `${f.name} ${f.ms.toFixed(0)} ms (${f.url})`).join('; ')}.`,
      ],
    });
  }
  return tables;
}

/** Each part's wall time and its steps. */
function timingTable(): Table {
  return {
    title: 'Run time per part (wall seconds)',
    header: ['part', 'step', 'seconds'],
    rows: timings.map((t) => [t.part, t.step, `${t.seconds.toFixed(1)}${t.ok ? '' : ' (failed)'}`]),
    notes: ['each part starts its systems fresh; "(whole part)" includes starting and stopping them, warm-ups and waits.'],
  };
}

/** --peer: several messages per connection through the emulator's forward proxy, authrelay then the peer; loss by Message-ID at Graph. */
async function reuseThroughGraph(s: Settings, r: Results): Promise<void> {
  const peer = s.peer as NonNullable<Settings['peer']>;
  const peerName = `${peer.host}:${peer.port}`;
  let emu;
  try {
    emu = await startPeerEmulator(s.peerDir, s.peerProxyPort);
  } catch (err) {
    r.failures.push({ system: 'peer', scenario: 'several messages per connection through Graph', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  try {
    const tenant = setupTenant(emu);
    const spec = { sessions: s.sessions, messages: s.peerReuseMessages, size: s.size, warmup: Math.min(s.warmup, 100) };
    const o = { phaseTimeoutMs: s.phaseTimeoutS * 1000, drainTimeoutMs: Math.max(s.drainTimeoutS, 300) * 1000, idleMs: s.idleS * 1000 };
    const scenario = `several messages per connection through Graph, ${s.sessions} × ${s.peerReuseMessages}`;
    const mine = await attempt('authrelay via proxy', scenario, r.failures, () => reuseAuthrelayThroughGraph(tenant, spec, { ...o, nodeArgs: s.relayNodeArgs }));
    if (mine) r.graphReuse.push(mine);
    const theirs = await attempt(`peer ${peerName}`, scenario, r.failures, () =>
      runReuseThroughGraph(tenant, { name: peerName, host: peer.host, port: peer.port, pids: () => peerPids(peer) }, spec, o));
    if (theirs) r.graphReuse.push(theirs);
    if (mine && mine.lost > 0) r.failures.push({ system: 'authrelay', scenario: 'several messages per connection through Graph', error: `${mine.lost} of ${mine.sent} acknowledged messages never reached Graph` });
  } finally {
    await emu.close();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    console.log(SETTINGS_HELP);
    return 0;
  }
  const s = readSettings(argv);
  if (s.printPeerSetup) {
    const emu = await startPeerEmulator(s.peerDir, s.peerProxyPort);
    try {
      setupTenant(emu);
      console.log(peerSetupText(emu, s.peerDir));
    } finally {
      await emu.close();
    }
    return 0;
  }
  installExitHandlers(s.timeoutMin * 60_000);
  const started = new Date();
  // How busy the machine was before anything started: figures from a busy machine are disturbed.
  const load3 = loadavg().map((x) => x.toFixed(2)).join(', ');
  const loadBefore = loadavg()[0] ?? 0;
  console.error(`load average before the run: ${load3} (1, 5, 15 min) on ${cpus().length} CPUs`);
  const busyBefore = await machineBusy(2000);
  const needsSystems = ['ingest', 'reuse', 'memory', 'latency'].some((p) => s.only.has(p as never));
  const { systems, skipped } = preflight(needsSystems ? s.systems : []);
  for (const why of skipped) console.error(`skipping ${why}`);
  if (needsSystems && systems.length === 0 && !['e2e', 'mailboxes', 'scaling', 'backlog', 'profile'].some((p) => s.only.has(p as never))) return 1;
  if (s.peer && !s.only.has('e2e') && !s.only.has('reuse')) console.error('--peer is used by the e2e and reuse parts only, and neither is selected');
  console.error(`authrelay benchmark${s.quick ? ' (--quick: small counts, figures not meaningful)' : ''}: ${[...s.only].join(', ')}; machine ${(busyBefore * 100).toFixed(0)} % busy before the start${busyBefore > 0.15 ? ' (not idle: figures will be disturbed)' : ''}`);

  const limits: Limits = { phaseTimeoutMs: s.phaseTimeoutS * 1000, drainTimeoutMs: s.drainTimeoutS * 1000, concurrency: s.concurrency, relayNodeArgs: s.relayNodeArgs };
  const phases: PhaseSpec[] = [{ name: `${s.sessions} sessions × ${sizeLabel(s.size)}`, sessions: s.sessions, messages: s.messages, size: s.size, target: s.sessions === 20 && s.size === 10_240 ? TARGET.ingestMany : undefined }];
  if (s.messagesSingle > 0) phases.push({ name: `1 session × ${sizeLabel(s.size)}`, sessions: 1, messages: s.messagesSingle, size: s.size, target: s.size === 10_240 ? TARGET.ingestSingle : undefined });
  if (s.messagesLarge > 0) phases.push({ name: `${s.sessions} sessions × ${sizeLabel(s.largeSize)}`, sessions: s.sessions, messages: s.messagesLarge, size: s.largeSize, target: s.sessions === 20 && s.largeSize === MB ? TARGET.ingestLarge : undefined });
  const warmup = warmupSpec(s);
  const big: PhaseSpec = { name: `${s.bigMessages} × ${s.bigSizeMB} MB`, sessions: s.bigMessages, messages: s.bigMessages, size: s.bigSizeMB * MB };
  const bigLimits: Limits = { ...limits, drainTimeoutMs: Math.max(limits.drainTimeoutMs, 300_000) };
  const r: Results = { phases, runs: [], summary: [], ratios: [], bigRuns: [], big, m365: undefined, latency: [], scaling: undefined, backlog: undefined, reuse: [], graphReuse: [], profile: undefined, failures: [], skipped };

  if (s.only.has('ingest')) {
    await part('ingest', async () => {
      for (let rep = 1; rep <= s.reps; rep++) {
        const order = rep % 2 === 1 ? systems : [...systems].reverse();
        for (const system of order) {
          const run = await attempt(system, `ingest, repetition ${rep}/${s.reps}`, r.failures, () => runScenario(system, warmup, phases, { ...limits, relayWorkers: s.ingestWorkers }));
          if (run) r.runs.push({ ...run, rep });
        }
      }
      // The warm-up is summarised too: its rate is the first minutes of a freshly started process.
      const sum = summarise(r.runs.map((x) => ({ ...x, phases: x.warmup ? [x.warmup, ...x.phases] : x.phases })), phases);
      r.summary = sum.phases;
      r.ratios = sum.ratios;
    });
  }
  if (s.only.has('backlog') && s.backlog > 0) {
    const problem = checkRelayBuilt();
    if (problem) r.skipped.push(`backlog: ${problem}`);
    else {
      await part('backlog', async () => {
        try {
          r.backlog = await runBacklog({
            backlog: s.backlog, history: s.backlogHistory, messages: s.backlogMessages, sessions: s.sessions, size: s.size, warmup: s.warmup, reps: s.backlogReps,
            concurrency: s.concurrency, phaseTimeoutMs: limits.phaseTimeoutMs, drainTimeoutMs: limits.drainTimeoutMs, relayNodeArgs: s.relayNodeArgs,
            progress: (l) => process.stderr.write(l),
          });
          for (const f of r.backlog.failures) r.failures.push({ system: 'authrelay', scenario: f.scenario, error: f.error });
          if (r.backlog.stillQueued !== undefined && r.backlog.stillQueued < s.backlog) {
            r.failures.push({ system: 'authrelay', scenario: 'backlog', error: `only ${r.backlog.stillQueued} of the ${s.backlog} queued messages were still queued after the runs` });
          }
        } catch (err) {
          r.failures.push({ system: 'authrelay', scenario: 'backlog', error: err instanceof Error ? err.message : String(err) });
        }
      });
    }
  }
  if (s.only.has('reuse') && (s.reuseMessages > 0 || (s.peer && s.peerReuseMessages > 0))) {
    await part('reuse', async () => {
      for (const system of s.reuseMessages > 0 ? systems : []) {
        const res = await attempt(system, `several messages per connection, ${s.sessions} × ${s.reuseMessages}`, r.failures, () =>
          runReuse(system, { sessions: s.sessions, messages: s.reuseMessages, size: s.size, warmup: s.warmup }, { ...limits, relayWorkers: s.ingestWorkers }));
        if (res) {
          r.reuse.push(res);
          if (res.lost > 0) r.failures.push({ system, scenario: 'several messages per connection', error: `${res.lost} of ${res.sent} acknowledged messages never reached smtp-sink` });
        }
      }
      if (s.peer && s.peerReuseMessages > 0) await reuseThroughGraph(s, r);
    });
  }
  if (s.only.has('memory')) {
    await part('memory (smtp-sink)', async () => {
      for (let rep = 1; rep <= s.bigReps && s.bigMessages > 0; rep++) {
        for (const system of systems) {
          const run = await attempt(system, `memory, ${big.name} at once to smtp-sink`, r.failures, () => runScenario(system, undefined, [big], bigLimits));
          if (run) r.bigRuns.push(run);
        }
      }
    });
  }
  const e2e = s.only.has('e2e') && s.m365Messages > 0;
  const mailboxes = s.only.has('mailboxes') && s.mailboxMessages > 0 && s.mailboxCounts.length > 0;
  const mem = s.only.has('memory');
  if (e2e || mailboxes || (mem && (s.bigMessages > 0 || s.hugeSizeMB > 0))) {
    if (checkRelayBuilt()) r.skipped.push(`Microsoft 365 route: ${checkRelayBuilt()}`);
    else {
      await part([e2e ? 'e2e' : '', mailboxes ? 'mailboxes' : '', mem ? 'memory (Graph)' : ''].filter(Boolean).join(' + '), async () => {
        try {
          r.m365 = await runM365({
            messages: e2e ? s.m365Messages : 0, sessions: s.sessions,
            bigMessages: mem ? s.bigMessages : 0, bigSizeMB: s.bigSizeMB, hugeSizeMB: mem ? s.hugeSizeMB : 0,
            ...(e2e && s.peer ? { peer: s.peer, peerDir: s.peerDir, peerProxyPort: s.peerProxyPort } : {}),
            mailboxCounts: mailboxes ? s.mailboxCounts : [], mailboxMessages: s.mailboxMessages, graphDelayMs: s.graphDelayMs,
            drainTimeoutS: s.drainTimeoutS, progress: (l) => process.stderr.write(l), relayNodeArgs: s.relayNodeArgs,
            timing: (step, seconds, ok) => timings.push({ part: currentPart, step, seconds, ok }),
          });
          for (const f of r.m365.failures) r.failures.push({ system: f.scenario.includes(': peer ') ? 'peer' : 'authrelay', scenario: f.scenario.replace(/: (authrelay|peer .*)$/, ''), error: f.error });
          for (const e of [r.m365.endToEnd, r.m365.viaProxy, r.m365.peer]) {
            if (e && e.lost > 0) r.failures.push({ system: e.system, scenario: 'end-to-end to the Graph emulator', error: `${e.lost} acknowledged messages not accepted by Graph` });
          }
          for (const p of r.m365.mailboxes ?? []) {
            if (p.lost > 0) r.failures.push({ system: 'authrelay', scenario: `end-to-end, ${p.mailboxes} mailboxes`, error: `${p.lost} acknowledged messages not accepted by Graph` });
          }
        } catch (err) {
          r.failures.push({ system: 'authrelay', scenario: 'Microsoft 365 route', error: err instanceof Error ? err.message : String(err) });
        }
      });
    }
  }
  if (s.only.has('latency')) {
    await part('latency', async () => {
      for (const system of [...systems].reverse()) {
        const res = await attempt(system, `latency at ${s.latencyRate} msg/s for ${s.latencySeconds} s`, r.failures, () =>
          runLatency(system, { rate: s.latencyRate, seconds: s.latencySeconds, size: s.size, warmup: s.warmup, sessions: s.sessions }, limits));
        if (res) r.latency.push(res);
      }
    });
  }
  if (s.only.has('scaling')) {
    const why = scalingUnavailable();
    if (why) {
      process.stderr.write(`  scaling: not measured: ${why}\n`);
      r.scaling = { measured: false, reason: why };
    } else {
      await part('scaling', async () => {
        try {
          r.scaling = await runScaling({
            maxNodes: s.scalingNodes, messages: s.scalingMessages, sessions: s.sessions, warmup: s.warmup, concurrency: s.concurrency,
            phaseTimeoutMs: limits.phaseTimeoutMs, drainTimeoutMs: limits.drainTimeoutMs, progress: (l) => process.stderr.write(l),
          });
          if (r.scaling.measured) for (const f of r.scaling.failures) r.failures.push({ system: 'authrelay', scenario: `scaling, ${f.nodes} node(s)`, error: f.error });
        } catch (err) {
          r.failures.push({ system: 'authrelay', scenario: 'scaling', error: err instanceof Error ? err.message : String(err) });
        }
      });
    }
  }
  if (s.only.has('profile') && s.profileMessages > 0) {
    const problem = checkRelayBuilt();
    if (problem) r.skipped.push(`profile: ${problem}`);
    else {
      await part('profile', async () => {
        r.profile = await attempt('authrelay', `CPU profile, ${s.sessions} × ${s.profileMessages} × ${sizeLabel(s.size)} under --cpu-prof`, r.failures, () =>
          runProfile({
            messages: s.profileMessages, sessions: s.sessions, size: s.size, warmup: s.warmup, nodeArgs: s.relayNodeArgs, drainTimeoutMs: limits.drainTimeoutMs,
            ...(s.profileWorkers !== undefined ? { workers: s.profileWorkers } : {}),
          }));
      });
    }
  }

  if (s.only.has('readers') && s.readerClients > 0) {
    const problem = checkRelayBuilt();
    if (problem) r.skipped.push(`readers: ${problem}`);
    else {
      await part('readers', async () => {
        r.readers = await attempt('authrelay', `readers, ${s.readerClients} × ${s.readerSizeMB} MB IMAP FETCH`, r.failures, () =>
          runReaders({ clients: s.readerClients, sizeMB: s.readerSizeMB, reps: s.readerReps, relayNodeArgs: s.relayNodeArgs, progress: (l) => process.stderr.write(l) }));
        if (r.readers && !r.readers.intact) r.failures.push({ system: 'authrelay', scenario: 'readers', error: 'a fetched message differed from the one the server holds' });
      });
    }
  }

  const finished = new Date();
  const postfix = postfixVersion();
  const minutes = (finished.getTime() - started.getTime()) / 60_000;
  const rows = [...ingestRows(s, r), ...backlogRows(s, r), ...reuseRows(s, r), ...[startupRow(r)].filter((x): x is SummaryRow => x !== undefined), ...e2eRows(s, r), ...mailboxRows(s, r), ...memoryRows(s, r), ...latencyRows(s, r), ...scalingRows(s, r), ...profileRows(s, r), ...readerRows(s, r)];
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, Postfix ${postfix}, loopback`;
  const quiet = busyBefore > 0.15
    ? `The machine was ${(busyBefore * 100).toFixed(0)} % busy with other work just before the run (load average ${load3}): these figures are disturbed; take final ones on a quiet machine.`
    : `The machine was ${(busyBefore * 100).toFixed(0)} % busy just before the run (load average ${load3}).`;
  const summary = summaryTable(rows, 'authrelay against its targets', [
    'ratios compare figures taken in this run on this machine; absolute figures vary ±10–20 % between runs (shared/reference/performance.md).',
    'peak memory: during that row\'s load, peak counters reset at its start; "RSS" = VmHWM of a single process; "PSS Σ (RSS Σ, N processes)" = a system of several processes, all of them summed (PSS is the fair figure: RSS counts shared pages once per process).',
    ...(s.quick ? ['--quick: small counts everywhere; these figures only show that every part runs.'] : []),
    quiet,
  ]);
  const details = [timingTable(), ...detailTables(s, r, postfix)];
  const warnings = warningLines([...r.runs, ...r.bigRuns]);

  console.log('');
  console.log(`load average before the run: ${load3} (1, 5, 15 min); machine ${(busyBefore * 100).toFixed(0)} % busy in the 2 s before the start`);
  console.log(`${machine}; ${started.toISOString()}, ${minutes.toFixed(1)} min\n`);
  printTable(summary);
  for (const t of details) printTable(t);
  if (r.m365) printM365(r.m365);
  for (const w of warnings) console.log(w);
  for (const f of r.failures) console.log(`FAILED ${f.system}, ${f.scenario}: ${f.error.split('\n')[0]}`);
  for (const why of r.skipped) console.log(`skipped ${why}`);

  writeJson(s.out, {
    date: started.toISOString(),
    minutes,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, postfix, busyBefore, loadBefore, loadAverages: load3, binaries: { postfix: POSTFIX, smtpSource: SMTP_SOURCE, smtpSink: SMTP_SINK } },
    settings: { ...s, only: [...s.only] },
    memoryKind: MEMORY_KIND,
    table: rows,
    summary: r.summary,
    ratios: r.ratios,
    runs: r.runs,
    bigRuns: r.bigRuns,
    m365: r.m365,
    latency: r.latency,
    scaling: r.scaling,
    backlog: r.backlog,
    reuse: r.reuse,
    graphReuse: r.graphReuse,
    profile: r.profile,
    readers: r.readers,
    timings,
    failures: r.failures,
    skipped: r.skipped,
  });
  if (s.markdown) {
    const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
    const md = [
      `# authrelay benchmark, ${started.toISOString().slice(0, 10)}`,
      '',
      `- run: ${started.toISOString().replace(/\.\d+Z$/, 'Z')}, ${minutes.toFixed(1)} min, \`${command}\` (parts: ${[...s.only].join(', ')})`,
      `- machine: ${machine}`,
      `- load average before the run: ${load3} (1, 5, 15 min)`,
      `- ${quiet}`,
      `- method: [bench/README.md](../README.md); JSON of the same run: \`${relative(dirname(s.markdown), s.out)}\` (not kept in git)`,
      '',
      markdownSection(summary),
      ...details.map((t) => markdownSection(t)),
      ...(r.failures.length + r.skipped.length > 0 ? ['## Failures and skipped parts', '', ...r.failures.map((f) => `- FAILED ${f.system}, ${f.scenario}: ${f.error.split('\n')[0]}`), ...r.skipped.map((x) => `- skipped ${x}`), ''] : []),
    ].join('\n');
    writeText(s.markdown, md);
  }
  // Last lines of the run: where everything went.
  console.log('results written to:');
  console.log(`  ${s.out}  (JSON, everything including every repetition)`);
  console.log(s.markdown ? `  ${s.markdown}  (the tables in Markdown, to keep)` : '  no Markdown file (BENCH_MARKDOWN=off)');
  return r.failures.length > 0 || r.skipped.length > 0 ? 1 : 0;
}

main()
  .then((code) => {
    runCleanups();
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    runCleanups();
    process.exitCode = 1;
  });
