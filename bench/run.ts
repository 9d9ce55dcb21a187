/**
 * Side-by-side benchmark of authrelay, in one run on this machine:
 *   ingest    authrelay against a private Postfix, both relaying to smtp-sink,
 *             each freshly started per repetition (scenarios.ts);
 *   backlog   authrelay's ingest with 100,000 messages queued for an upstream
 *             that is down, against an empty queue (backlog.ts);
 *   reuse     several messages per connection into authrelay and Postfix:
 *             every message delivered once (reuse.ts);
 *   memory    20 messages of 25 MB at once (smtp route, both systems; Graph
 *             route) and one 100 MB message through Graph upload sessions;
 *   e2e       smtp-source to the Graph emulator through authrelay, and through
 *             another relay given with --peer (m365.ts);
 *   latency   acknowledgement latency at a fixed offered rate (latency.ts);
 *   scaling   1, 2, 3 nodes sharing one PostgreSQL store (scaling.ts).
 * Prints one table with each figure, its comparison, ratio and PRODUCT.md
 * target, then the details; writes bench/results/latest.json and a dated
 * Markdown file. Method: shared/reference/performance.md.
 *
 *   npm run bench [-- --only ingest,latency] [-- --peer HOST:PORT]   (--help)
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
import { machineBusy } from './lib/procfs.js';
import { SMTP_SINK, sweepStaleSinks } from './lib/sink.js';
import { printM365, runM365, type EndToEnd, type M365Result } from './m365.js';
import { setupTenant, peerSetupText, startPeerEmulator } from './peer.js';
import { POSTFIX, checkPostfixPrerequisites, sweepStalePostfix } from './postfix.js';
import {
  markdownSection, median, num, printTable, summarise, summaryTable, writeJson, writeText,
  type PhaseSummary, type Ratio, type SummaryRow, type Table,
} from './report.js';
import { runReuse, type ReuseResult } from './reuse.js';
import { runScaling, scalingUnavailable, type ScalingResult } from './scaling.js';
import { MEMORY_KIND, runScenario, type Limits, type PhaseSpec, type ScenarioResult, type SystemName } from './scenarios.js';
import { SETTINGS_HELP, readSettings, type Settings } from './settings.js';

const MB = 1024 * 1024;
/** PRODUCT.md targets. */
const TARGET = { ingestMany: 1.5, ingestSingle: 1.0, backlogOverEmpty: 0.8, backlogMessages: 100_000, e2eOverPeer: 5, memoryMB: 150, latencyP99Ms: 20, latencyRate: 200, startupMs: 1000 };

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
  const stale = [...sweepStalePostfix(), ...sweepStaleRelays(), ...sweepStaleSinks(), ...sweepStalePostgres(), ...sweepStaleBacklogs()];
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
    process.stderr.write(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return r;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`FAILED\n${error}\n`);
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
  failures: Failure[];
  skipped: string[];
}

const msgs = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v.toFixed(0)} msg/s`);

function ingestRows(s: Settings, r: Results): SummaryRow[] {
  return r.phases.map((p) => {
    const ar = r.summary.find((x) => x.phase === p.name && x.system === 'authrelay');
    const pf = r.summary.find((x) => x.phase === p.name && x.system === 'postfix');
    const ratio = r.ratios.find((x) => x.phase === p.name);
    const lossNote = (x: PhaseSummary | undefined) => (x && x.undelivered > 0 ? `, ${x.undelivered} undelivered` : '');
    const measured = ratio?.authrelayOverPostfix !== null && ratio?.authrelayOverPostfix !== undefined;
    return {
      area: 'ingest',
      load: `${p.sessions} session${p.sessions > 1 ? 's' : ''} × ${p.messages} × ${sizeLabel(p.size)}, 1 msg/connection, durable (median of ${ar?.runs ?? 0})`,
      authrelay: ar ? `${msgs(ar.ingestMsgPerSec)}${lossNote(ar)}` : 'not measured',
      compared: pf ? `Postfix ${msgs(pf.ingestMsgPerSec)}${lossNote(pf)}` : 'Postfix not measured',
      ratio: measured ? `${num(ratio.authrelayOverPostfix, 2)} ×` : '—',
      target: p.target === undefined ? '— (none)' : `≥ ${p.target.toFixed(1)} × Postfix`,
      met: p.target === undefined ? undefined : measured ? (ratio.met as boolean) && (ar?.undelivered ?? 0) === 0 : 'not measured',
    };
  }).filter(() => s.only.has('ingest'));
}

const count = (n: number) => n.toLocaleString('en-US');

function backlogRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('backlog')) return [];
  const load = (n: number) => `${s.sessions} sessions × ${s.backlogMessages} × ${sizeLabel(s.size)}, 1 msg/connection, with ${count(n)} messages queued for an upstream that is down`;
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
    compared: `empty queue ${text(b?.empty)}`,
    ratio: measured ? `${num(b.ratio, 2)} ×` : '—',
    target: `≥ ${TARGET.backlogOverEmpty} × empty queue, ${count(TARGET.backlogMessages)} queued${full ? '' : ` (${count(s.backlog)} here)`}`,
    met: typeof met === 'string' || full ? met : `${met ? 'met' : 'NOT met'} with ${count(s.backlog)} queued`,
  }];
}

function reuseRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('reuse')) return [];
  const perConnection = Math.round(s.reuseMessages / s.sessions);
  const load = `smtp-source -d: ${s.sessions} sessions × ${s.reuseMessages} × ${sizeLabel(s.size)}, ≈${perConnection} msgs/connection → smtp-sink`;
  if (s.reuseMessages === 0) return [{ area: 'several per connection', load, authrelay: 'not measured (BENCH_REUSE_MESSAGES=0)', compared: '—', ratio: '—', target: '0 lost', met: 'not measured' }];
  const ar = r.reuse.find((x) => x.system === 'authrelay');
  const pf = r.reuse.find((x) => x.system === 'postfix');
  const text = (x: ReuseResult) => `${msgs(x.ingestMsgPerSec)}, ${x.lost} lost${x.received.duplicates > 0 ? `, ${x.received.duplicates} twice` : ''} (${x.received.distinct}/${x.sent} delivered)`;
  return [{
    area: 'several per connection', load,
    authrelay: ar ? text(ar) : 'not measured',
    compared: pf ? `Postfix ${text(pf)}` : 'Postfix not measured',
    ratio: ar && pf ? `${num(ar.ingestMsgPerSec / pf.ingestMsgPerSec, 2)} ×` : '—',
    target: '0 lost',
    met: ar ? ar.lost === 0 && ar.received.distinct === ar.sent : 'not measured',
  }];
}

function startupRow(r: Results): SummaryRow | undefined {
  const of = (system: SystemName) => median([...r.runs, ...r.bigRuns].filter((x) => x.system === system).map((x) => x.startupMs));
  const ar = of('authrelay');
  const pf = of('postfix');
  if (ar === null && pf === null) return undefined;
  return {
    area: 'start-up', load: 'spawn to accepting connections (median)', authrelay: ar === null ? 'not measured' : `${ar.toFixed(0)} ms`,
    compared: pf === null ? '—' : `Postfix ${pf.toFixed(0)} ms`, ratio: '—', target: `≤ ${TARGET.startupMs} ms`, met: ar === null ? 'not measured' : ar <= TARGET.startupMs,
  };
}

function e2eText(e: EndToEnd | undefined): string {
  if (!e) return 'not measured';
  const rate = e.endToEndMsgPerSec === null ? `not all delivered in ${e.waitedS.toFixed(0)} s` : msgs(e.endToEndMsgPerSec);
  return `${rate}, ${e.lost} lost`;
}

function e2eRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('e2e') || s.m365Messages === 0) return [];
  const m = r.m365;
  const direct = m?.endToEnd;
  const rows: SummaryRow[] = [{
    area: 'end-to-end',
    load: `smtp-source ${s.sessions} sessions × ${s.m365Messages} × 10 KB → authrelay → Graph emulator (HTTPS, real tokens)`,
    authrelay: e2eText(direct), compared: '—', ratio: '—', target: '0 lost',
    met: direct ? direct.lost === 0 && direct.endToEndMsgPerSec !== null : 'not measured',
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
    compared, ratio, target: `≥ ${TARGET.e2eOverPeer} × peer, 0 lost`, met,
  });
  return rows;
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
      authrelay: ar ? `RSS ${num(arMB, 1)} MB${ar.undelivered > 0 ? `, ${ar.undelivered} undelivered` : ''}` : 'not measured',
      compared: pf ? `Postfix PSS Σ ${num(pf.peakMemoryBytes / MB, 1)} MB` : '—', ratio: '—', target: `≤ ${TARGET.memoryMB} MB`,
      met: ar && arMB !== undefined ? arMB <= TARGET.memoryMB && ar.undelivered === 0 : 'not measured',
    });
    const g = r.m365?.memory;
    rows.push({
      area: 'memory', load: `${s.bigMessages} × ${s.bigSizeMB} MB scans at once → Graph (draft + upload sessions)`,
      authrelay: g ? `RSS ${g.peakRssMB} MB, ${g.delivered}/${g.messages} in ${g.seconds.toFixed(0)} s` : 'not measured',
      compared: '—', ratio: '—', target: `≤ ${TARGET.memoryMB} MB`, met: g ? g.peakRssMB <= TARGET.memoryMB && g.delivered === g.messages : 'not measured',
    });
  }
  if (s.hugeSizeMB > 0) {
    const h = r.m365?.huge;
    rows.push({
      area: 'memory', load: `one ${s.hugeSizeMB} MB message → Graph upload sessions`,
      authrelay: h ? `RSS ${h.peakRssMB} MB, ${h.seconds === null ? 'not accepted' : `${h.seconds.toFixed(1)} s`}, ${h.intact ? 'intact' : 'NOT intact'}` : 'not measured',
      compared: '—', ratio: '—', target: 'intact; RSS < message size (streams)',
      met: h ? h.intact && h.peakRssMB < h.sizeMB : 'not measured',
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
    compared: pf ? `Postfix ${text(pf)}` : '—',
    ratio: ar && pf ? `p99 ${num(ar.ack.p99 / pf.ack.p99, 2)} ×` : '—',
    target: `p99 ≤ ${TARGET.latencyP99Ms} ms at ${TARGET.latencyRate} msg/s${atTargetRate ? '' : ' (other rate here)'}`,
    met: !ar ? 'not measured' : !atTargetRate ? 'other rate' : ar.ack.p99 <= TARGET.latencyP99Ms && complete(ar),
  }];
}

function scalingRows(s: Settings, r: Results): SummaryRow[] {
  if (!s.only.has('scaling')) return [];
  const sc = r.scaling;
  const load = (n: number) => `${n} node${n > 1 ? 's' : ''}, one PostgreSQL store: ${s.scalingMessages} × 10 KB → smtp-sink, delivered msg/s`;
  if (!sc) return [{ area: 'scaling', load: load(1), authrelay: 'not measured: failed (see below)', compared: '—', ratio: '—', target: '— (none)', met: undefined }];
  if (!sc.measured) return [{ area: 'scaling', load: `1 to ${s.scalingNodes} nodes sharing one PostgreSQL store`, authrelay: `not measured: ${sc.reason}`, compared: '—', ratio: '—', target: '— (none)', met: undefined }];
  const base = sc.points.find((p) => p.nodes === 1);
  const rows = sc.points.map((p) => ({
    area: 'scaling', load: load(p.nodes),
    authrelay: `${p.endToEndMsgPerSec === null ? 'not all delivered' : msgs(p.endToEndMsgPerSec)} (ingest ${msgs(p.ingestMsgPerSec)})${p.undelivered > 0 ? `, ${p.undelivered} undelivered` : ''}`,
    compared: p.nodes === 1 ? '—' : base ? `1 node ${msgs(base.endToEndMsgPerSec)}` : '—',
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
        const spec = r.phases.find((x) => x.name === p.phase);
        return [spec ? `${spec.sessions} × ${spec.messages} × ${sizeLabel(spec.size)}` : p.phase, p.system, num(p.ingestMsgPerSec), p.ingestRuns.join(', '), num(p.endToEndMsgPerSec), String(p.undelivered), p.peakMemoryMB === undefined ? '—' : `${p.peakMemoryMB} MB`, num(p.cpuMsPerMessage, 2)];
      }),
      notes: [
        `load: smtp-source ${smtpSourceArgs(0, r.phases[0] as PhaseSpec).join(' ').replace(':0', ':PORT')}, ${r.phases.slice(1).map((p) => `-s ${p.sessions} -m ${p.messages} -l ${p.size}`).join(', ')}; warm-up ${s.warmup} messages; Postfix ${postfix} relaying to smtp-sink, authrelay with one smtp upstream to it.`,
        `peak memory: Postfix = ${MEMORY_KIND.postfix}; authrelay = ${MEMORY_KIND.authrelay}.`,
        `undelivered = acknowledged but not received by smtp-sink within ${s.drainTimeoutS} s; end-to-end = messages / (first connection until smtp-sink had them all).`,
      ],
    });
  }
  const b = r.backlog;
  if (b && b.runs.length > 0) {
    const row = (x: BacklogSummary, label: string) => [label, num(x.ingestMsgPerSec), x.ingestRuns.join(', '), num(x.endToEndMsgPerSec), String(x.undelivered), x.startupMs === null ? '—' : `${x.startupMs.toFixed(0)} ms`, x.peakRssMB === null ? '—' : `${x.peakRssMB} MB`, num(x.cpuMsPerMessage, 2)];
    const q = b.queuedAfter;
    tables.push({
      title: `Ingest with ${count(b.backlog)} messages queued, against an empty queue (authrelay, ${b.empty.runs + b.withBacklog.runs} fresh starts, medians)`,
      header: ['queue', 'ingest msg/s', 'runs', 'end-to-end msg/s', 'undelivered', 'start-up', 'peak RSS', 'CPU ms/msg'],
      rows: [row(b.empty, 'empty'), row(b.withBacklog, `${count(b.backlog)} queued`)],
      notes: [
        `load: smtp-source -s ${b.sessions} -m ${b.messages} -l ${b.size}, one connection per message, after a ${s.warmup}-message warm-up; the relay has two upstreams: smtp-sink for the load, and one that answers 421 to every connection for the queued messages (recipient domain down.example); the same configuration with an empty queue.`,
        b.fill ? `the queue was filled once, before the first start, through the store's own API (createBody, accept with the route table's routes) on the relay's data directory: ${count(b.fill.messages)} × ${sizeLabel(b.size)} in ${b.fill.seconds.toFixed(1)} s, ${(b.fill.bytes / MB).toFixed(0)} MB on disk; every start with the backlog reuses it (it also keeps the messages delivered by earlier starts).` : 'the queue could not be filled (see failures).',
        `the queued messages are due and routed to the upstream that is down: the scheduler claims from them, finds the route down (${b.runs.filter((x) => x.queue === 'backlog').map((x) => x.downConnections).join(', ')} connections refused per start) and keeps polling the queue during the load.`,
        q ? `after the last start: ${count(b.stillQueued ?? 0)} messages still waiting (incoming ${q.incoming ?? 0}, deferred ${q.deferred ?? 0}, active ${q.active ?? 0}), ${count(q.delivered ?? 0)} delivered, ${q.failed ?? 0} failed, ${q.held ?? 0} held.` : 'the queue could not be read after the runs.',
      ],
    });
  }
  if (r.reuse.length > 0) {
    tables.push({
      title: 'Several messages per connection (smtp-source -d), one run per system, fresh start',
      header: ['system', 'load', 'ingest msg/s', 'end-to-end msg/s', 'sent', 'received', 'distinct', 'twice', 'lost', 'peak memory'],
      rows: r.reuse.map((x) => [x.system, `${x.sessions} × ${x.messages} × ${sizeLabel(x.size)}`, num(x.ingestMsgPerSec), num(x.endToEndMsgPerSec), String(x.sent), String(x.received.messages), String(x.received.distinct), String(x.received.duplicates), String(x.lost), `${num(x.peakMemoryBytes / MB, 1)} MB`]),
      notes: [
        `load: smtp-source -d -s ${s.sessions} -m ${s.reuseMessages} -l ${s.size}: each session keeps one connection and sends the next message on it (≈${Math.round(s.reuseMessages / s.sessions)} per connection), after a ${s.warmup}-message warm-up sent the same way; sent, received, lost count the warm-up too.`,
        'smtp-sink keeps every message (-D); a message is known by the queue id in its relay\'s Received field and its Message-ID: distinct = different messages received, lost = sent − distinct, twice = received again.',
        `peak memory: Postfix = ${MEMORY_KIND.postfix}; authrelay = ${MEMORY_KIND.authrelay}.`,
      ],
    });
  }
  if (r.bigRuns.length > 0) {
    tables.push({
      title: `Memory, ${r.big.name} at once to smtp-sink`,
      header: ['system', 'peak memory', 'ingest msg/s', 'CPU ms/msg', 'undelivered'],
      rows: r.bigRuns.flatMap((b) => (b.phases[0] ? [[b.system, `${num(b.phases[0].peakMemoryBytes / MB, 1)} MB`, num(b.phases[0].ingestMsgPerSec, 1), num(b.phases[0].cpuMsPerMessage, 0), String(b.phases[0].undelivered)]] : [])),
    });
  }
  const m = r.m365;
  const e2e = [m?.endToEnd, m?.viaProxy, m?.peer].filter((e): e is EndToEnd => e !== undefined);
  if (e2e.length > 0) {
    tables.push({
      title: 'End-to-end through the Graph emulator',
      header: ['relay', 'load', 'ingest msg/s', 'end-to-end msg/s', 'lost', 'CPU ms/msg', 'token requests', 'Graph requests via proxy'],
      rows: e2e.map((e) => [e.system, `${e.sessions} × ${e.messages} × 10 KB`, num(e.ingestMsgPerSec), e.endToEndMsgPerSec === null ? `not all in ${e.waitedS.toFixed(0)} s` : num(e.endToEndMsgPerSec), String(e.lost), num(e.cpuMsPerMessage, 2), String(e.tokenRequests), String(e.proxiedGraphRequests)]),
      notes: ['end-to-end = messages / (first connection until the emulator had accepted them all); each relay had a 20-message warm-up first.',
        'the emulator runs in the benchmark process: its CPU is shared with the relay and the load on the same cores.'],
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
      header: ['system', 'acknowledged', 'failed', 'achieved msg/s', 'ack p50', 'p90', 'p99', 'max', 'session p50', 'session p99', 'client lag p99', 'undelivered'],
      rows: r.latency.map((x) => [x.system, `${x.acknowledged}/${x.offered}`, `${x.failed + x.skipped}`, num(x.achievedRate), `${num(x.ack.p50, 1)} ms`, `${num(x.ack.p90, 1)} ms`, `${num(x.ack.p99, 1)} ms`, `${num(x.ack.max, 1)} ms`, `${num(x.session.p50, 1)} ms`, `${num(x.session.p99, 1)} ms`, `${num(x.startLag.p99, 1)} ms`, String(x.undelivered)]),
      notes: ['ack = writing the final "." line to reading the reply to it; session = connect to that reply (greeting and commands included);',
        'client lag = how late the paced client started sessions against its schedule (large values: the client, not the server, fell behind).',
        ...r.latency.filter((x) => x.firstError).map((x) => `${x.system}, first failure: ${x.firstError}`)],
    });
  }
  if (r.scaling?.measured && r.scaling.points.length > 0) {
    const base = r.scaling.points.find((p) => p.nodes === 1)?.endToEndMsgPerSec;
    tables.push({
      title: 'Scaling: nodes sharing one PostgreSQL store (private PostgreSQL 15, fsync on)',
      header: ['nodes', 'load', 'ingest msg/s', 'delivered msg/s', 'vs 1 node', 'undelivered', 'relay CPU ms/msg', 'PostgreSQL CPU ms/msg'],
      rows: r.scaling.points.map((p) => [String(p.nodes), `${p.sessions} sessions × ${p.messages} × 10 KB`, num(p.ingestMsgPerSec), num(p.endToEndMsgPerSec), base && p.endToEndMsgPerSec ? `${(p.endToEndMsgPerSec / base).toFixed(2)} ×` : '—', String(p.undelivered), num(p.relayCpuMsPerMessage, 2), num(p.databaseCpuMsPerMessage, 2)]),
      notes: ['the sessions and messages are split evenly over the nodes and sent to all at once; delivered = messages / (first connection until smtp-sink had them all).',
        `every node and the database share the same ${cpus().length} CPUs here, so this shows the cost of coordination more than the gain of more machines.`],
    });
  }
  return tables;
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
  const busyBefore = await machineBusy(2000);
  const loadBefore = loadavg()[0] ?? 0;
  const needsSystems = ['ingest', 'reuse', 'memory', 'latency'].some((p) => s.only.has(p as never));
  const { systems, skipped } = preflight(needsSystems ? s.systems : []);
  for (const why of skipped) console.error(`skipping ${why}`);
  if (needsSystems && systems.length === 0 && !['e2e', 'scaling', 'backlog'].some((p) => s.only.has(p as never))) return 1;
  if (s.peer && !s.only.has('e2e')) console.error('--peer is used by the e2e part only, which is not selected');
  console.error(`authrelay benchmark: ${[...s.only].join(', ')}; machine ${(busyBefore * 100).toFixed(0)} % busy before the start${busyBefore > 0.15 ? ' (not idle: figures will be disturbed)' : ''}`);

  const limits: Limits = { phaseTimeoutMs: s.phaseTimeoutS * 1000, drainTimeoutMs: s.drainTimeoutS * 1000, concurrency: s.concurrency, relayNodeArgs: s.relayNodeArgs };
  const phases: PhaseSpec[] = [{ name: `${s.sessions} sessions × ${sizeLabel(s.size)}`, sessions: s.sessions, messages: s.messages, size: s.size, target: s.sessions === 20 && s.size === 10_240 ? TARGET.ingestMany : undefined }];
  if (s.messagesSingle > 0) phases.push({ name: `1 session × ${sizeLabel(s.size)}`, sessions: 1, messages: s.messagesSingle, size: s.size, target: s.size === 10_240 ? TARGET.ingestSingle : undefined });
  if (s.messagesLarge > 0) phases.push({ name: `${s.sessions} sessions × ${sizeLabel(s.largeSize)}`, sessions: s.sessions, messages: s.messagesLarge, size: s.largeSize });
  const warmup: PhaseSpec = { name: 'warm-up', sessions: s.sessions, messages: s.warmup, size: s.size };
  const big: PhaseSpec = { name: `${s.bigMessages} × ${s.bigSizeMB} MB`, sessions: s.bigMessages, messages: s.bigMessages, size: s.bigSizeMB * MB };
  const bigLimits: Limits = { ...limits, drainTimeoutMs: Math.max(limits.drainTimeoutMs, 300_000) };
  const r: Results = { phases, runs: [], summary: [], ratios: [], bigRuns: [], big, m365: undefined, latency: [], scaling: undefined, backlog: undefined, reuse: [], failures: [], skipped };

  if (s.only.has('ingest')) {
    for (let rep = 1; rep <= s.reps; rep++) {
      const order = rep % 2 === 1 ? systems : [...systems].reverse();
      for (const system of order) {
        const run = await attempt(system, `ingest, repetition ${rep}/${s.reps}`, r.failures, () => runScenario(system, warmup, phases, limits));
        if (run) r.runs.push({ ...run, rep });
      }
    }
    const sum = summarise(r.runs, phases);
    r.summary = sum.phases;
    r.ratios = sum.ratios;
  }
  if (s.only.has('backlog') && s.backlog > 0) {
    const problem = checkRelayBuilt();
    if (problem) r.skipped.push(`backlog: ${problem}`);
    else {
      try {
        r.backlog = await runBacklog({
          backlog: s.backlog, messages: s.backlogMessages, sessions: s.sessions, size: s.size, warmup: s.warmup, reps: s.backlogReps,
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
    }
  }
  if (s.only.has('reuse') && s.reuseMessages > 0) {
    for (const system of systems) {
      const res = await attempt(system, `several messages per connection, ${s.sessions} × ${s.reuseMessages}`, r.failures, () =>
        runReuse(system, { sessions: s.sessions, messages: s.reuseMessages, size: s.size, warmup: s.warmup }, limits));
      if (res) {
        r.reuse.push(res);
        if (res.lost > 0) r.failures.push({ system, scenario: 'several messages per connection', error: `${res.lost} of ${res.sent} acknowledged messages never reached smtp-sink` });
      }
    }
  }
  if (s.only.has('memory')) {
    for (let rep = 1; rep <= s.bigReps && s.bigMessages > 0; rep++) {
      for (const system of systems) {
        const run = await attempt(system, `memory, ${big.name} at once to smtp-sink`, r.failures, () => runScenario(system, undefined, [big], bigLimits));
        if (run) r.bigRuns.push(run);
      }
    }
  }
  const e2e = s.only.has('e2e') && s.m365Messages > 0;
  const mem = s.only.has('memory');
  if (e2e || (mem && (s.bigMessages > 0 || s.hugeSizeMB > 0))) {
    if (checkRelayBuilt()) r.skipped.push(`Microsoft 365 route: ${checkRelayBuilt()}`);
    else {
      try {
        r.m365 = await runM365({
          messages: e2e ? s.m365Messages : 0, sessions: s.sessions,
          bigMessages: mem ? s.bigMessages : 0, bigSizeMB: s.bigSizeMB, hugeSizeMB: mem ? s.hugeSizeMB : 0,
          ...(e2e && s.peer ? { peer: s.peer, peerDir: s.peerDir, peerProxyPort: s.peerProxyPort } : {}),
          drainTimeoutS: s.drainTimeoutS, progress: (l) => process.stderr.write(l), relayNodeArgs: s.relayNodeArgs,
        });
        for (const f of r.m365.failures) r.failures.push({ system: f.scenario.includes(': peer ') ? 'peer' : 'authrelay', scenario: f.scenario.replace(/: (authrelay|peer .*)$/, ''), error: f.error });
        for (const e of [r.m365.endToEnd, r.m365.viaProxy, r.m365.peer]) {
          if (e && e.lost > 0) r.failures.push({ system: e.system, scenario: 'end-to-end to the Graph emulator', error: `${e.lost} acknowledged messages not accepted by Graph` });
        }
      } catch (err) {
        r.failures.push({ system: 'authrelay', scenario: 'Microsoft 365 route', error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  if (s.only.has('latency')) {
    for (const system of [...systems].reverse()) {
      const res = await attempt(system, `latency at ${s.latencyRate} msg/s for ${s.latencySeconds} s`, r.failures, () =>
        runLatency(system, { rate: s.latencyRate, seconds: s.latencySeconds, size: s.size, warmup: s.warmup, sessions: s.sessions }, limits));
      if (res) r.latency.push(res);
    }
  }
  if (s.only.has('scaling')) {
    const why = scalingUnavailable();
    if (why) {
      process.stderr.write(`  scaling: not measured: ${why}\n`);
      r.scaling = { measured: false, reason: why };
    } else {
      try {
        r.scaling = await runScaling({
          maxNodes: s.scalingNodes, messages: s.scalingMessages, sessions: s.sessions, warmup: s.warmup, concurrency: s.concurrency,
          phaseTimeoutMs: limits.phaseTimeoutMs, drainTimeoutMs: limits.drainTimeoutMs, progress: (l) => process.stderr.write(l),
        });
        if (r.scaling.measured) for (const f of r.scaling.failures) r.failures.push({ system: 'authrelay', scenario: `scaling, ${f.nodes} node(s)`, error: f.error });
      } catch (err) {
        r.failures.push({ system: 'authrelay', scenario: 'scaling', error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  const finished = new Date();
  const postfix = postfixVersion();
  const minutes = (finished.getTime() - started.getTime()) / 60_000;
  const rows = [...ingestRows(s, r), ...backlogRows(s, r), ...reuseRows(s, r), ...[startupRow(r)].filter((x): x is SummaryRow => x !== undefined), ...e2eRows(s, r), ...memoryRows(s, r), ...latencyRows(s, r), ...scalingRows(s, r)];
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, Postfix ${postfix}, loopback`;
  const quiet = busyBefore > 0.15
    ? `The machine was ${(busyBefore * 100).toFixed(0)} % busy with other work just before the run (load average ${loadBefore.toFixed(2)}): these figures are disturbed; take final ones on a quiet machine.`
    : `The machine was ${(busyBefore * 100).toFixed(0)} % busy just before the run (load average ${loadBefore.toFixed(2)}).`;
  const summary = summaryTable(rows, 'authrelay against its targets', [
    'ratios compare figures taken in this run on this machine; absolute figures vary ±10–20 % between runs (shared/reference/performance.md).',
    quiet,
  ]);
  const details = detailTables(s, r, postfix);
  const warnings = warningLines([...r.runs, ...r.bigRuns]);

  console.log('');
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
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, postfix, busyBefore, loadBefore, binaries: { postfix: POSTFIX, smtpSource: SMTP_SOURCE, smtpSink: SMTP_SINK } },
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
