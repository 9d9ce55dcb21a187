/**
 * Microsoft 365 route benchmark: authrelay (a child process) delivering to the
 * Graph emulator of the test suite over real HTTPS, with real tokens.
 *   - end-to-end: smtp-source sends N small messages; the time until the
 *     emulator has accepted all of them gives messages per second; zero loss
 *     is required (every acknowledged message accepted by Graph);
 *   - memory: 20 scans of 25 MB (a PDF attachment) sent at once; they go the
 *     draft + upload-session way; the relay's peak RSS (VmHWM) is reported.
 * Run by `npm run bench` after the Postfix comparison, or alone with
 * `node dist/bench/m365.js` (BENCH_M365_MESSAGES, BENCH_M365_SESSIONS).
 */
import nodemailer from 'nodemailer';
import { startRelay, type RelayInstance } from './authrelay.js';
import { smtpSource } from './lib/load.js';
import { sampleMax, treeCpuMs } from './lib/procfs.js';
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator } from '../test/emulator/api.js';
import { pdfScan } from '../test/fixtures/corpus.js';

const MB = 1024 * 1024;

export interface M365Result {
  endToEnd: { messages: number; sessions: number; ingestMsgPerSec: number; endToEndMsgPerSec: number | null; lost: number; cpuMsPerMessage: number; tokenRequests: number };
  memory: { messages: number; sizeMB: number; peakRssMB: number; delivered: number; seconds: number } | undefined;
}

interface Setup {
  emu: Emulator;
  upstream: Record<string, unknown>;
  mailbox: string;
  recipient: string;
}

function setup(emu: Emulator): Setup {
  const tenant = emu.addTenant({ domains: ['bench.onmicrosoft.com', 'contoso.example'] });
  const secret = 'bench-secret-value';
  const app = emu.addApp(tenant.id, { secrets: [{ value: secret }], graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  const mailbox = emu.addMailbox(tenant.id, { address: 'device@legacy.example', maxMessageSize: 150 * MB }).address;
  emu.addMailbox(tenant.id, { address: 'user@contoso.example' });
  return {
    emu, mailbox, recipient: 'user@contoso.example',
    upstream: {
      type: 'graph', tenant: tenant.id, clientId: app.clientId, clientSecret: secret, ca: emu.caFile,
      endpoints: { authority: emu.authorityHost, graph: emu.graphUrl }, mailbox, concurrency: 16,
    },
  };
}

async function waitSent(emu: Emulator, count: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emu.sent().length >= count) return performance.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

async function endToEnd(s: Setup, messages: number, sessions: number): Promise<M365Result['endToEnd']> {
  const relay = await startRelay({ upstreams: { m365: s.upstream } });
  try {
    s.emu.reset();
    const cpu0 = treeCpuMs(relay.pid);
    const t0 = performance.now();
    const ingest = await smtpSource(relay.port, { sessions, messages, size: 10_240, timeoutMs: 600_000 });
    const done = await waitSent(s.emu, messages, 300_000);
    return {
      messages, sessions,
      ingestMsgPerSec: ingest.msgPerSec,
      endToEndMsgPerSec: done === undefined ? null : messages / ((done - t0) / 1000),
      lost: Math.max(0, messages - s.emu.sent().length),
      cpuMsPerMessage: (treeCpuMs(relay.pid) - cpu0) / messages,
      tokenRequests: s.emu.requests().filter((r) => r.service === 'token').length,
    };
  } finally {
    await relay.stop();
  }
}

async function memory(s: Setup, count: number, sizeMB: number): Promise<M365Result['memory']> {
  const relay: RelayInstance = await startRelay({ upstreams: { m365: s.upstream } });
  try {
    s.emu.reset();
    // One scan, sent 20 times at once: a PDF attachment of (size - base64 growth) bytes.
    const scan = pdfScan(s.mailbox, [s.recipient], Math.floor((sizeMB * MB * 3) / 4) - 4096, 'bench scan');
    const sampler = sampleMax(() => relay.peakRss() ?? 0, 100);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: count }, async () => {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, secure: false, ignoreTLS: true });
      try {
        await t.sendMail({ envelope: { from: s.mailbox, to: [s.recipient] }, raw: scan.raw });
      } finally {
        t.close();
      }
    }));
    const done = await waitSent(s.emu, count, 600_000);
    const peak = sampler.stop();
    return { messages: count, sizeMB: Math.round((scan.raw.length / MB) * 10) / 10, peakRssMB: Math.round((peak / MB) * 10) / 10, delivered: s.emu.sent().length, seconds: ((done ?? performance.now()) - t0) / 1000 };
  } finally {
    await relay.stop();
  }
}

export async function runM365(o: { messages: number; sessions: number; bigMessages: number; bigSizeMB: number }): Promise<M365Result> {
  const emu = await startEmulator();
  try {
    const s = setup(emu);
    const e2e = await endToEnd(s, o.messages, o.sessions);
    const mem = o.bigMessages > 0 ? await memory(s, o.bigMessages, o.bigSizeMB) : undefined;
    return { endToEnd: e2e, memory: mem };
  } finally {
    await emu.close();
  }
}

export function printM365(r: M365Result): void {
  const e = r.endToEnd;
  console.log(`\nMicrosoft 365 (Graph emulator over HTTPS, real tokens), smtp-source -s ${e.sessions} -m ${e.messages} -l 10240:`);
  console.log(`  ingest ${e.ingestMsgPerSec.toFixed(0)} msg/s; end-to-end ${e.endToEndMsgPerSec === null ? 'not all delivered' : `${e.endToEndMsgPerSec.toFixed(0)} msg/s`}; lost ${e.lost}; ${e.cpuMsPerMessage.toFixed(2)} CPU ms/msg; ${e.tokenRequests} token request(s)`);
  if (r.memory) {
    const m = r.memory;
    console.log(`  ${m.messages} × ${m.sizeMB} MB scans at once (draft + upload sessions): peak RSS ${m.peakRssMB} MB (target ≤ 150 MB), ${m.delivered}/${m.messages} delivered in ${m.seconds.toFixed(1)} s`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const int = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
  runM365({ messages: int('BENCH_M365_MESSAGES', 2000), sessions: int('BENCH_M365_SESSIONS', 20), bigMessages: int('BENCH_BIG_MESSAGES', 20), bigSizeMB: int('BENCH_BIG_SIZE_MB', 25) })
    .then((r) => {
      printM365(r);
      process.exit(r.endToEnd.lost === 0 ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
