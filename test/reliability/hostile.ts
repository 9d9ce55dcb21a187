/**
 * What the hostile-input tests share: the bounded / full profile, the real
 * relay binary as a child process (so crashes, exit codes and RSS are the
 * relay's own), a raw-wire upstream sink that records the exact bytes the
 * relay sends, a well-behaved client that keeps sending beside the attack,
 * and checks of SMTP replies.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliJson, startRelayProcess, tempDir, writeConfig, type RelayProcess, type ExitStatus } from '../helpers/relay-process.js';
import { SmtpWire, type Reply } from '../helpers/smtp-wire.js';

/** RELIABILITY_FULL=1: more runs, more connections, longer waits. */
export const FULL = process.env.RELIABILITY_FULL === '1';

/** The bounded value in `npm test`, the full one with RELIABILITY_FULL=1. */
export function scaled<T>(bounded: T, full: T): T {
  return FULL ? full : bounded;
}

/** fast-check seed: RELIABILITY_SEED=N replays a run (fast-check prints the seed of a failure). */
export function seed(): number | undefined {
  const s = process.env.RELIABILITY_SEED;
  return s === undefined ? undefined : Number(s);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The relay as a child process

export interface HostileRelay {
  proc: RelayProcess;
  dataDir: string;
  configFile: string;
  port(listener?: string): number;
  pid: number;
  /** True while the process is running. */
  alive(): boolean;
  /** Resident set (VmRSS) and its peak so far (VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  /** Message counts by state, read by `authrelay queue list --json` from the spool. */
  queueCounts(): Promise<Record<string, number>>;
  /** Files with content under the spool's body directory (empty ones are the spool's ready-made files). */
  bodyFiles(): string[];
  /** SIGTERM; resolves with the exit status (a clean stop is code 0). */
  stop(): Promise<ExitStatus>;
}

/**
 * Starts `node dist/src/cli/main.js serve --config FILE` with `yaml` (which
 * must not set hostname, dataDir, admin or log) and a fresh data directory.
 */
export async function startHostileRelay(yaml: string, opts: { listeners?: number } = {}): Promise<HostileRelay> {
  const dir = tempDir('authrelay-hostile-');
  const dataDir = join(dir, 'data');
  const configFile = writeConfig(dir, `# hostile-input test
hostname: relay.test
dataDir: ${dataDir}
admin: { enabled: false }
log: { level: warn }
${yaml}`);
  const proc = await startRelayProcess(configFile, { keepLogs: false, listeners: opts.listeners ?? 1 });
  const pid = proc.child.pid!;
  // Whatever happens to the test, the relay and its files do not outlive it.
  process.once('exit', () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stopped: Promise<ExitStatus> | undefined;
  return {
    proc,
    dataDir,
    configFile,
    pid,
    port: (name) => (name ? proc.ports[name] ?? fail(`no listener ${name}`) : proc.port),
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
    memory: () => memoryOf(pid),
    queueCounts: async () => (await cliJson<{ counts: Record<string, number> }>(['queue', 'list', '--config', configFile, '--limit', '1'])).counts,
    bodyFiles: () => filesWithContent(join(dataDir, 'queue')),
    stop: async () => {
      stopped ??= proc.stop(20_000).then((st) => {
        rmSync(dir, { recursive: true, force: true });
        return st;
      });
      return stopped;
    },
  };
}

function fail(msg: string): never {
  throw new Error(msg);
}

export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

function filesWithContent(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return [];
  }
  return names
    .filter((f) => !/^queue\.db/.test(f))
    .filter((f) => {
      const st = statSync(join(dir, f), { throwIfNoEntry: false });
      return st?.isFile() && st.size > 0;
    })
    .sort();
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Fails the test, saying how to install it, when a tool is missing (never a skip). */
export function requireInstalled(path: string, apt: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${path}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path} is not installed: this test needs it (apt-get install ${apt}); it is never skipped`);
  return r.stdout.trim();
}

// ---------------------------------------------------------------------------
// Raw-wire upstream sink

export interface WireMessage {
  from: string;
  to: string[];
  /** The DATA bytes exactly as they crossed the wire, from after the 354 to the final CRLF.CRLF included. */
  wire: Buffer;
  /** The message content: wire without the terminator, first dot of each dot-led line removed (RFC 5321 4.5.2). */
  data: Buffer;
}

export interface WireSink {
  port: number;
  messages: WireMessage[];
  connections: number;
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const END = Buffer.from('\r\n.\r\n');

/**
 * A minimal SMTP server written on a raw socket: it ends DATA on CRLF.CRLF
 * only and keeps every byte, so a test can see what the relay really sent
 * (a library server would hide bare CR/LF and dot-stuffing mistakes).
 */
export async function startWireSink(): Promise<WireSink> {
  const sockets = new Set<Socket>();
  const sink: WireSink = {
    port: 0,
    messages: [],
    connections: 0,
    waitForCount: async (n, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (sink.messages.length < n) {
        if (Date.now() > deadline) throw new Error(`the upstream sink got ${sink.messages.length} messages, expected ${n}`);
        await sleep(25);
      }
    },
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
  const server: Server = createServer((socket) => {
    sink.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let inData = false;
    let from = '';
    let to: string[] = [];
    const reply = (s: string) => socket.write(`${s}\r\n`);
    const pump = () => {
      for (;;) {
        if (inData) {
          const virt = Buffer.concat([CRLF, buf]);
          const at = virt.indexOf(END);
          if (at === -1) return;
          const wire = buf.subarray(0, at + 3);
          const content = buf.subarray(0, at).toString('latin1');
          const data = Buffer.from(content.replace(/(^|\r\n)\./g, '$1'), 'latin1');
          sink.messages.push({ from, to, wire: Buffer.from(wire), data });
          buf = buf.subarray(at + 3);
          inData = false;
          reply(`250 2.0.0 Ok: queued as SINK${sink.messages.length}`);
          continue;
        }
        const nl = buf.indexOf(CRLF);
        if (nl === -1) return;
        const line = buf.subarray(0, nl).toString('latin1');
        buf = buf.subarray(nl + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') reply('250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 1073741824');
        else if (verb === 'HELO') reply('250 sink.test');
        else if (verb === 'MAIL') {
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          to = [];
          reply('250 2.1.0 Ok');
        } else if (verb === 'RCPT') {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 Ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 Ok');
        else if (verb === 'QUIT') {
          reply('221 2.0.0 Bye');
          socket.end();
          return;
        } else reply('502 5.5.2 Command not implemented');
      }
    };
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      pump();
    });
    reply('220 sink.test ESMTP');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  sink.port = typeof a === 'object' && a ? a.port : 0;
  return sink;
}

/** The relay's queue id in the Received field it prepended (`... (authrelay) with ESMTP id ID;`). */
export function queueIdInReceived(data: Buffer): string | undefined {
  return /\(authrelay\) with [A-Z]+ id ([^;\s]+);/.exec(data.subarray(0, 2000).toString('latin1'))?.[1];
}

/** YAML for an smtp upstream on the sink and a route sending everything to it. */
export function sinkRoute(sink: WireSink): string {
  return `upstreams: { sink: { type: smtp, host: 127.0.0.1, port: ${sink.port}, tls: none, concurrency: 4, connectTimeout: 5s } }
routes: [{ use: sink }]
queue: { pollInterval: 100ms, minBackoff: 1s, maxBackoff: 2s, destinationMinBackoff: 1s, destinationMaxBackoff: 2s }
`;
}

// ---------------------------------------------------------------------------
// SMTP replies and data

/** Why a reply is not a well-formed SMTP reply (RFC 5321 4.2), or undefined when it is. */
export function malformedReply(r: Reply): string | undefined {
  const lines = r.raw.split('\n');
  const codes = new Set<string>();
  for (const [i, line] of lines.entries()) {
    const m = /^([2-5]\d\d)([ -]|$)/.exec(line);
    if (!m) return `line ${i + 1} does not start with a reply code: ${JSON.stringify(line)}`;
    codes.add(m[1]!);
    const last = i === lines.length - 1;
    if (!last && m[2] !== '-') return `line ${i + 1} of a multi-line reply without "-": ${JSON.stringify(r.raw)}`;
    if (last && m[2] === '-') return `last line continues: ${JSON.stringify(r.raw)}`;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return `control character in a reply line: ${JSON.stringify(line)}`;
  }
  if (codes.size !== 1) return `lines of one reply carry different codes: ${JSON.stringify(r.raw)}`;
  return undefined;
}

/**
 * Dot-stuffing as the relay reads it back: a '.' that starts the data or
 * follows an LF is doubled. smtp-server removes the escape dot after a bare LF
 * too (how a device that ends lines with LF alone stuffs them), except in one
 * place: right after a bare LF that is the very first byte of the data (it
 * never looks at the second byte). There the dot is content as it stands, as
 * RFC 5321 reads it (a bare LF ends no line), and is not doubled.
 */
export function dotStuff(content: Buffer): Buffer {
  return Buffer.from(content.toString('latin1').replace(/(^|\n)\./g, (m: string, lf: string, at: number) => (at === 0 && lf === '\n' ? m : `${lf}..`)), 'latin1');
}

/** The DATA payload for `content`: dot-stuffed and terminated; smtp-server then hands the relay `contentAsReceived(content)`. */
export function dataPayload(content: Buffer): Buffer {
  if (content.length === 0) return Buffer.from('.\r\n');
  const ends = content.subarray(-2).equals(CRLF);
  return Buffer.concat([dotStuff(content), Buffer.from(ends ? '.\r\n' : '\r\n.\r\n')]);
}

/** What smtp-server hands the relay for `content` sent with dataPayload (the CRLF before the final dot is content). */
export function contentAsReceived(content: Buffer): Buffer {
  if (content.length === 0 || content.subarray(-2).equals(CRLF)) return content;
  return Buffer.concat([content, CRLF]);
}

/** Writes `buf` in `pieces` writes a millisecond apart (different TCP segments), then resolves. */
export async function writeInPieces(w: SmtpWire, buf: Buffer, cuts: number[] = []): Promise<void> {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of [...points, buf.length]) {
    if (p <= at) continue;
    await new Promise<void>((r) => w.socket.write(buf.subarray(at, p), () => r()));
    at = p;
    if (at < buf.length) await sleep(1);
  }
}

// ---------------------------------------------------------------------------
// What the relay stores for a message, as documented (architecture.md, Receive)

/** The header-stage limit: a header section over 1 MB is refused. */
const MAX_HEADER = 1024 * 1024;

export type Expected = { code: 250; stored: Buffer } | { code: 552 | 554; why: string };

export function hasStray(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /\r(?!\n)|(?<!\r)\n|\x00/.test(s);
}

/** Fields of a header section (a field ends at a CRLF not followed by SP or HTAB). */
function fieldsOf(header: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < header.length) {
    let end = start;
    for (;;) {
      const nl = header.indexOf('\r\n', end);
      if (nl === -1) {
        end = header.length;
        break;
      }
      end = nl + 2;
      if (header[end] !== ' ' && header[end] !== '\t') break;
    }
    out.push(header.slice(start, end));
    start = end;
  }
  return out;
}

/** The reply and the stored bytes for `content` sent with dataPayload by a device in this line-ending mode. */
export function expectedFor(content: Buffer, mode: 'normalize' | 'reject'): Expected {
  let s = contentAsReceived(content).toString('latin1');
  if (hasStray(s)) {
    if (mode === 'reject') return { code: 554, why: 'bare CR/LF/NUL from a password device' };
    // eslint-disable-next-line no-control-regex
    s = s.replace(/\r\n|\r|\n/g, '\r\n').replace(/\x00/g, '');
  }
  let headerEnd: number;
  if (s.startsWith('\r\n')) headerEnd = 0;
  else {
    const i = s.indexOf('\r\n\r\n');
    headerEnd = i === -1 ? s.length : i + 2;
  }
  if (headerEnd > MAX_HEADER) return { code: 552, why: `header section of ${headerEnd} bytes` };
  const kept = fieldsOf(s.slice(0, headerEnd)).filter((f) => {
    const colon = f.indexOf(':');
    const name = colon > 0 ? f.slice(0, colon).trim().toLowerCase() : '';
    return name !== 'bcc' && name !== 'resent-bcc';
  });
  return { code: 250, stored: Buffer.from(kept.join('') + s.slice(headerEnd), 'latin1') };
}

/** The Received field the relay prepends (three lines); group 1 is the queue id. */
export const RECEIVED = /^Received: from [^\r\n]*\r\n\tby relay\.test \(authrelay\) with [A-Z]+ id ([^;\r\n]+);\r\n\t[^\r\n]*\r\n/;

export function describeDiff(got: Buffer, want: Buffer): string {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const show = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, i - 40), i + 60).toString('latin1'));
  return `first difference at byte ${i} (got ${got.length} bytes, expected ${want.length}): got ${show(got)}, expected ${show(want)}`;
}

// ---------------------------------------------------------------------------
// A well-behaved client beside the attack

export interface ServiceStats {
  sent: number;
  accepted: string[];
  failures: string[];
  latencies: number[];
  max(): number;
  median(): number;
}

/**
 * Sends one small message per connection, one after the other, from
 * localAddress (a network-trusted device), until stop() is called; records
 * every session's latency and every failure.
 */
export function wellBehavedClient(port: number, localAddress: string, opts: { pauseMs?: number; subject?: string } = {}) {
  const stats: ServiceStats = {
    sent: 0,
    accepted: [],
    failures: [],
    latencies: [],
    max: () => Math.max(0, ...stats.latencies),
    median: () => {
      const s = [...stats.latencies].sort((a, b) => a - b);
      return s.length ? s[Math.floor(s.length / 2)]! : 0;
    },
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      stats.sent++;
      let w: SmtpWire | undefined;
      try {
        w = await SmtpWire.open(port, { localAddress, noGreeting: true });
        const greet = await w.read(15_000);
        if (greet.code !== 220) throw new Error(`greeting ${greet.raw}`);
        const steps: [string, number][] = [['EHLO well-behaved', 250], ['MAIL FROM:<scanner@printer.local>', 250], ['RCPT TO:<user@example.com>', 250], ['DATA', 354]];
        for (const [cmd, want] of steps) {
          const r = await w.cmd(cmd, 15_000);
          if (r.code !== want) throw new Error(`${cmd}: ${r.raw}`);
        }
        w.write(`From: scanner@printer.local\r\nSubject: ${opts.subject ?? 'well-behaved'} ${stats.sent}\r\n\r\nscan\r\n.\r\n`);
        const end = await w.read(15_000);
        if (end.code !== 250) throw new Error(`end of data: ${end.raw}`);
        stats.accepted.push(/queued as (\S+)/.exec(end.raw)?.[1] ?? '?');
        await w.cmd('QUIT', 15_000).catch(() => undefined);
        stats.latencies.push(Date.now() - t0);
      } catch (err) {
        stats.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
      } finally {
        w?.close();
      }
      await sleep(opts.pauseMs ?? 50);
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await loop;
      return stats;
    },
  };
}
