/**
 * Benchmark settings: sizes and counts from the environment (BENCH_*), with
 * defaults from shared/reference/performance.md (median of 3, 20 × 5000 and
 * 1 × 5000 messages of 10 KB, 20 × 1 MB) and PRODUCT.md's targets (ack
 * latency at 200 msg/s, 20 × 25 MB at once), chosen so that a whole run stays
 * within about 10–15 minutes on 2 cores; and what to run from the command line
 * (--only, --peer, --print-peer-setup).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SystemName } from './scenarios.js';

/** The parts of a run, for --only. */
export const SCENARIOS = ['ingest', 'backlog', 'reuse', 'memory', 'e2e', 'mailboxes', 'latency', 'scaling', 'profile', 'readers'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Peer {
  host: string;
  port: number;
}

export interface Settings {
  only: Set<ScenarioName>;
  /** Another relay, pointed at the emulator's proxy, measured end-to-end like authrelay. */
  peer: Peer | undefined;
  printPeerSetup: boolean;
  /** --quick: small counts everywhere (a check that every part runs, not figures to keep). */
  quick: boolean;
  reps: number;
  messages: number;
  messagesSingle: number;
  messagesLarge: number;
  largeSize: number;
  warmup: number;
  size: number;
  sessions: number;
  bigMessages: number;
  bigSizeMB: number;
  bigReps: number;
  /** Legacy readers (bench/readers.ts): concurrent IMAP clients, the message each fetches, repetitions. */
  readerClients: number;
  readerSizeMB: number;
  readerReps: number;
  hugeSizeMB: number;
  concurrency: number;
  phaseTimeoutS: number;
  drainTimeoutS: number;
  timeoutMin: number;
  systems: SystemName[];
  relayNodeArgs: string[];
  /** The relay's `workers` in the ingest part (BENCH_WORKERS: auto, the default, or a number; 1 = one process). */
  ingestWorkers: number | 'auto';
  m365Messages: number;
  latencyRate: number;
  latencySeconds: number;
  scalingNodes: number;
  scalingMessages: number;
  /** Messages already queued (and staying queued) in the backlog part; 0 skips it. */
  backlog: number;
  /** Messages delivered to the load's recipient, kept in the backlog's history. */
  backlogHistory: number;
  /** Messages of the ingest load measured with and without the backlog. */
  backlogMessages: number;
  backlogReps: number;
  /** Messages sent with several per connection (smtp-source -d) in the reuse part; 0 skips it. */
  reuseMessages: number;
  /** The same through the Graph emulator's proxy, for authrelay and the peer (--peer only); 0 skips it. */
  peerReuseMessages: number;
  /** How long the reuse wait goes on with nothing new arriving at Graph before it counts the rest as lost. */
  idleS: number;
  /** The multi-mailbox row: mailbox counts, messages per mailbox, extra sendMail time in the emulator. */
  mailboxCounts: number[];
  mailboxMessages: number;
  graphDelayMs: number;
  /** The CPU profile part: messages of its 20-session load (0 skips it), and `workers` for the relay if set. */
  profileMessages: number;
  profileWorkers: number | undefined;
  peerProxyPort: number;
  peerDir: string;
  out: string;
  /** Markdown results file, or '' for none. */
  markdown: string;
}

/** --quick's defaults: small enough that every part runs in seconds (BENCH_* still override them). */
const QUICK: Record<string, number> = {
  BENCH_REPS: 1, BENCH_MESSAGES: 400, BENCH_MESSAGES_SINGLE: 100, BENCH_MESSAGES_1MB: 20, BENCH_WARMUP: 20,
  BENCH_BIG_MESSAGES: 4, BENCH_BIG_SIZE_MB: 5, BENCH_HUGE_SIZE_MB: 10, BENCH_M365_MESSAGES: 200,
  BENCH_LATENCY_SECONDS: 3, BENCH_LATENCY_RATE: 50, BENCH_SCALING_NODES: 2, BENCH_SCALING_MESSAGES: 300,
  BENCH_BACKLOG: 2000, BENCH_BACKLOG_HISTORY: 2000, BENCH_BACKLOG_MESSAGES: 300, BENCH_BACKLOG_REPS: 1, BENCH_REUSE_MESSAGES: 400,
  BENCH_PEER_REUSE_MESSAGES: 200, BENCH_MAILBOX_MESSAGES: 60, BENCH_PROFILE_MESSAGES: 400, BENCH_IDLE_S: 10,
  BENCH_READER_CLIENTS: 4, BENCH_READER_SIZE_MB: 5, BENCH_READER_REPS: 1,
};
let quickRun = false;

function int(name: string, dflt: number, min: number, max: number): number {
  const raw = process.env[name];
  if (quickRun && QUICK[name] !== undefined && (raw === undefined || raw === '')) return QUICK[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  return v;
}

function systems(): SystemName[] {
  const raw = process.env.BENCH_SYSTEMS ?? 'postfix,authrelay';
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (s !== 'postfix' && s !== 'authrelay') throw new Error(`BENCH_SYSTEMS: unknown system "${s}" (postfix, authrelay)`);
  return list as SystemName[];
}

/** `--name value` or `--name=value`; undefined when absent. */
function flag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === `--${name}`) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
      return v;
    }
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

const KNOWN_FLAGS = ['--help', '--only', '--peer', '--print-peer-setup', '--quick'];

function checkFlags(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const name = a.split('=')[0] as string;
    if (!KNOWN_FLAGS.includes(name)) throw new Error(`unknown option ${a} (--help lists them)`);
    if ((name === '--only' || name === '--peer') && !a.includes('=')) i++;
  }
}

function only(argv: string[]): Set<ScenarioName> {
  const raw = flag(argv, 'only');
  if (raw === undefined) return new Set(SCENARIOS);
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown part "${s}" (${SCENARIOS.join(', ')})`);
  return new Set(list as ScenarioName[]);
}

function peer(argv: string[]): Peer | undefined {
  const raw = flag(argv, 'peer');
  if (raw === undefined) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--peer ${raw}: expected HOST:PORT, e.g. 127.0.0.1:2526`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function today(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function mailboxCounts(): number[] {
  const raw = process.env.BENCH_MAILBOXES ?? '1,2,4';
  const list = raw.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  for (const n of list) if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`BENCH_MAILBOXES=${raw}: expected mailbox counts from 1 to 50, e.g. 1,2,4`);
  return list;
}

export function readSettings(argv: string[] = process.argv.slice(2)): Settings {
  checkFlags(argv);
  quickRun = argv.includes('--quick');
  const parts = only(argv);
  const subset = parts.size < SCENARIOS.length ? `-${[...parts].join('+')}` : '';
  const workers = process.env.BENCH_PROFILE_WORKERS;
  return {
    only: parts,
    peer: peer(argv),
    printPeerSetup: argv.includes('--print-peer-setup'),
    quick: quickRun,
    reps: int('BENCH_REPS', 5, 1, 20),
    messages: int('BENCH_MESSAGES', 5000, 1, 1_000_000),
    messagesSingle: int('BENCH_MESSAGES_SINGLE', 5000, 0, 1_000_000),
    messagesLarge: int('BENCH_MESSAGES_1MB', 300, 0, 100_000),
    largeSize: int('BENCH_LARGE_SIZE', 1_048_576, 1, 50_000_000),
    warmup: int('BENCH_WARMUP', 5000, 0, 100_000),
    size: int('BENCH_SIZE', 10_240, 1, 10_000_000),
    sessions: int('BENCH_SESSIONS', 20, 1, 200),
    bigMessages: int('BENCH_BIG_MESSAGES', 20, 0, 200),
    bigSizeMB: int('BENCH_BIG_SIZE_MB', 25, 1, 140),
    bigReps: int('BENCH_BIG_REPS', 1, 0, 10),
    readerClients: int('BENCH_READER_CLIENTS', 20, 0, 200),
    readerSizeMB: int('BENCH_READER_SIZE_MB', 25, 1, 140),
    readerReps: int('BENCH_READER_REPS', 3, 1, 10),
    hugeSizeMB: int('BENCH_HUGE_SIZE_MB', 100, 0, 140),
    concurrency: int('BENCH_CONCURRENCY', 20, 1, 200),
    phaseTimeoutS: int('BENCH_PHASE_TIMEOUT_S', 300, 5, 3600),
    drainTimeoutS: int('BENCH_DRAIN_TIMEOUT_S', 120, 1, 3600),
    timeoutMin: int('BENCH_TIMEOUT_MIN', 30, 1, 600),
    systems: systems(),
    // The relay runs with the same Node.js options as the service unit and the image (docs/architecture.md, Memory).
    relayNodeArgs: (process.env.BENCH_RELAY_NODE_ARGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean),
    ingestWorkers: !process.env.BENCH_WORKERS || process.env.BENCH_WORKERS === 'auto' ? 'auto' : int('BENCH_WORKERS', 1, 1, 32),
    m365Messages: int('BENCH_M365_MESSAGES', 2000, 0, 1_000_000),
    latencyRate: int('BENCH_LATENCY_RATE', 200, 1, 5000),
    latencySeconds: int('BENCH_LATENCY_SECONDS', 20, 1, 600),
    scalingNodes: int('BENCH_SCALING_NODES', 3, 1, 8),
    scalingMessages: int('BENCH_SCALING_MESSAGES', 3000, 1, 1_000_000),
    backlog: int('BENCH_BACKLOG', 100_000, 0, 10_000_000),
    backlogHistory: int('BENCH_BACKLOG_HISTORY', 100_000, 0, 10_000_000),
    backlogMessages: int('BENCH_BACKLOG_MESSAGES', 5000, 1, 1_000_000),
    backlogReps: int('BENCH_BACKLOG_REPS', 3, 1, 20),
    reuseMessages: int('BENCH_REUSE_MESSAGES', 5000, 0, 1_000_000),
    peerReuseMessages: int('BENCH_PEER_REUSE_MESSAGES', 2000, 0, 1_000_000),
    idleS: int('BENCH_IDLE_S', 30, 1, 3600),
    mailboxCounts: mailboxCounts(),
    mailboxMessages: int('BENCH_MAILBOX_MESSAGES', 500, 0, 1_000_000),
    graphDelayMs: int('BENCH_GRAPH_DELAY_MS', 250, 0, 60_000),
    profileMessages: int('BENCH_PROFILE_MESSAGES', 5000, 0, 1_000_000),
    profileWorkers: workers === undefined || workers === '' ? undefined : int('BENCH_PROFILE_WORKERS', 1, 1, 64),
    peerProxyPort: int('BENCH_PEER_PROXY_PORT', 3128, 1, 65535),
    peerDir: process.env.BENCH_PEER_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'authrelay-bench', 'peer-emulator'),
    out: process.env.BENCH_OUT || join(RESULTS, 'latest.json'),
    // A --quick run checks that the parts run; its figures are not kept unless BENCH_MARKDOWN says where.
    markdown: process.env.BENCH_MARKDOWN === 'off' || (quickRun && !process.env.BENCH_MARKDOWN) ? '' : process.env.BENCH_MARKDOWN || join(RESULTS, `${today()}${subset}.md`),
  };
}

/** Options and environment variables, for --help. */
export const SETTINGS_HELP = `npm run bench -- [options]     (or: node dist/bench/run.js [options])

Options:
  --only PARTS             run only these, comma-separated: ${SCENARIOS.join(', ')}
                             ingest   smtp-source into authrelay and a private Postfix: 20 sessions and
                                      1 session of 10 KB, 20 sessions of 1 MB; start-up time
                             backlog  authrelay's ingest (20 sessions × 10 KB) with 100,000 messages
                                      already queued for an upstream that is down and 100,000 delivered
                                      to the load's recipient in the history, against an empty queue
                             reuse    several messages per connection (smtp-source -d) into authrelay and
                                      Postfix: every message delivered once (zero loss), msg/s
                             memory   20 × 25 MB at once (smtp route, both systems; Graph route), and
                                      one 100 MB message through Graph upload sessions
                             e2e      smtp-source to the Graph emulator through authrelay (and --peer),
                                      with Graph's bound (4 requests per mailbox ÷ median sendMail time)
                             mailboxes  end to end with 1, 2, 4 sending mailboxes at once through one
                                      relay: msg/s, ratio to 1 mailbox, Graph's bound, 429 replies
                             latency  acknowledgement latency at a fixed offered rate, both systems
                             scaling  1, 2, 3 authrelay nodes sharing one PostgreSQL store
                             profile  authrelay under the 20-session ingest with --cpu-prof: CPU ms per
                                      message per stage (receive, spool, deliver, logging...)
                             readers  20 IMAP clients each fetching a 25 MB message through the relay
                                      (IMAP proxy, XOAUTH2 to Dovecot) and straight from Dovecot:
                                      throughput ratio and the relay's peak RSS
  --peer HOST:PORT         also measure another relay listening there, pointed at the emulator's
                           forward proxy (see --print-peer-setup): end to end, and several messages
                           per connection (loss by distinct Message-ID at Graph); its memory is
                           read from the process listening on that port (or BENCH_PEER_PID)
  --print-peer-setup       print how to point another relay at the emulator, and exit
  --quick                  small counts everywhere (1 repetition, a few hundred messages, 3 s of
                           latency...): checks that every part runs in a few minutes; figures are
                           not meaningful and no Markdown file is written (BENCH_* still apply)
  --help

Environment (defaults in brackets):
  BENCH_REPS [5]              repetitions per system for ingest; medians are reported
  BENCH_MESSAGES [5000]       messages in the 20-session 10 KB phase
  BENCH_SESSIONS [20]         parallel sessions in the many-session phases and end-to-end
  BENCH_MESSAGES_SINGLE [5000] messages in the 1-session phase (0 skips it)
  BENCH_MESSAGES_1MB [300]    messages in the 20-session large-message phase (0 skips it)
  BENCH_LARGE_SIZE [1048576]  their body size in bytes
  BENCH_WARMUP [5000]         warm-up messages after each fresh start (V8 compiles the relay's hot code over
                              the first few thousand; the ingest part still reports the warm-up's own rate)
  BENCH_SIZE [10240]          body size in bytes of the small messages
  BENCH_BIG_MESSAGES [20]     concurrent large messages for the memory test (0 skips it)
  BENCH_BIG_SIZE_MB [25]      their size
  BENCH_BIG_REPS [1]          memory-test repetitions
  BENCH_HUGE_SIZE_MB [100]    the single message through upload sessions (0 skips it)
  BENCH_READER_CLIENTS [20]   concurrent IMAP clients of the readers part (0 skips it)
  BENCH_READER_SIZE_MB [25]   the message each of them fetches
  BENCH_READER_REPS [3]       repetitions of each side (direct and through the relay, alternating); medians
  BENCH_CONCURRENCY [20]      parallel deliveries to the upstream (both systems)
  BENCH_PHASE_TIMEOUT_S [300] longest smtp-source run
  BENCH_DRAIN_TIMEOUT_S [120] longest wait for the upstream to receive everything
  BENCH_TIMEOUT_MIN [30]      the whole run is stopped after this
  BENCH_SYSTEMS [postfix,authrelay]
  BENCH_RELAY_NODE_ARGS [--max-semi-space-size=2]  node options for the relay (those of the service unit), e.g. add "--cpu-prof --cpu-prof-dir=/tmp/prof"
  BENCH_M365_MESSAGES [2000]  messages end-to-end through the Graph emulator (0 skips it)
  BENCH_LATENCY_RATE [200]    offered rate of the latency test, messages per second (one connection each)
  BENCH_LATENCY_SECONDS [20]  its duration
  BENCH_SCALING_NODES [3]     largest number of nodes in the scaling test (1 up to this)
  BENCH_SCALING_MESSAGES [3000] messages per node count
  BENCH_BACKLOG [100000]      messages already queued in the backlog part (0 skips it)
  BENCH_BACKLOG_HISTORY [100000] messages delivered to the load's recipient in the backlog's history
  BENCH_BACKLOG_MESSAGES [5000] messages of its 20-session 10 KB load, with and without the backlog
  BENCH_BACKLOG_REPS [3]      its repetitions (each: empty queue and backlog, alternating order)
  BENCH_REUSE_MESSAGES [5000] messages sent over BENCH_SESSIONS connections, several per connection
                              (0 skips the reuse part)
  BENCH_PEER_REUSE_MESSAGES [2000] messages with several per connection through the emulator's proxy,
                              authrelay and the peer (--peer only; 0 skips it)
  BENCH_IDLE_S [30]           that wait ends when Graph got nothing new for this long (the rest is lost)
  BENCH_MAILBOXES [1,2,4]     sending mailbox counts of the multi-mailbox row
  BENCH_MAILBOX_MESSAGES [500] messages per mailbox in each point of it (0 skips the row)
  BENCH_GRAPH_DELAY_MS [250]  time the emulator waits before answering each sendMail in that row (Exchange's own time; 0: at once)
                              (e.g. 200 for Exchange-like latency; 0: as fast as it can)
  BENCH_PROFILE_MESSAGES [5000] messages of the CPU profile's 20-session load (0 skips it)
  BENCH_PROFILE_WORKERS       "workers" setting of the profiled relay (unset: the relay's default)
  BENCH_PEER_PID              the peer's process id(s), comma-separated, if it cannot be found by its port
  BENCH_PEER_PROXY_PORT [3128] port of the emulator's forward proxy when --peer is given
  BENCH_PEER_DIR [~/.cache/authrelay-bench/peer-emulator]  emulator CA and keys kept for the peer
  BENCH_OUT [bench/results/latest.json]
  BENCH_MARKDOWN [bench/results/YYYY-MM-DD.md, or YYYY-MM-DD-PARTS.md with --only]  "off" writes none`;
