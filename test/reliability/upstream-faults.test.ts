/**
 * Upstream faults under a steady stream of device mail, against the
 * Microsoft 365 emulator (Graph) and Postfix's smtp-sink. A paced sender
 * offers messages at a fixed rate over raw SMTP while the upstream goes
 * through its faults one after the other; then the upstream recovers.
 *
 * What must hold, every run:
 * - every message answered 250 is delivered at least once after recovery
 *   (duplicates are counted and reported: only an answer lost after the
 *   upstream took the message may cause one);
 * - the device never waits on the upstream: acknowledgement latency stays
 *   the same whatever the upstream does (p99 under 1 s here, a bound far
 *   above the spool's few milliseconds and far below any upstream delay);
 * - no retry storm: Graph requests stay within a small multiple of the
 *   messages and none for the mailbox starts inside a Retry-After window the
 *   relay was given; against smtp-sink no message is tried more often than
 *   its backoff allows.
 *
 * Bounded by default (phases of a few seconds); RELIABILITY_FULL=1 makes
 * each phase 20 s at a higher rate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { contoso, graphUpstream, type Contoso } from '../helpers/m365.js';
import { smtpUpstream, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { startSmtpSink, type SmtpSink } from '../helpers/tools.js';
import { report } from '../helpers/reliability-report.js';

const FULL = process.env.RELIABILITY_FULL === '1';
const PHASE_MS = FULL ? 20_000 : 3_000;
const RATE = FULL ? 20 : 10;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Paced {
  acked: Map<number, string>;
  latencies: number[];
  refusals: string[];
  stop(): Promise<void>;
}

/** Offers one message every 1000/rate ms (each on its own connection), measuring end-of-data → 250. */
function pacedSender(port: number, rate: number, make: (seq: number) => { from: string; to: string; text: string }): Paced {
  const acked = new Map<number, string>();
  const latencies: number[] = [];
  const refusals: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let seq = 0;
  const one = async (n: number) => {
    const m = make(n);
    const w = await SmtpWire.open(port);
    try {
      await w.cmd('EHLO device.test');
      const payload = `${m.text.replace(/\r?\n/g, '\r\n')}\r\n.\r\n`;
      const started = process.hrtime.bigint();
      const r = await sendRaw(w, m.from, [m.to], payload);
      const took = Number(process.hrtime.bigint() - started) / 1e6;
      const id = r.end?.code === 250 ? /queued as ([A-Z0-9.]+)/.exec(r.end.raw)?.[1] : undefined;
      if (id) {
        acked.set(n, id);
        latencies.push(took);
      } else refusals.push(`${n}: ${(r.end ?? r.data ?? r.rcpt[0] ?? r.mail).raw}`);
      await w.cmd('QUIT').catch(() => undefined);
    } finally {
      w.close();
    }
  };
  const timer = setInterval(() => {
    const p = one(++seq).catch((err: unknown) => void refusals.push(`${seq}: ${(err as Error).message}`)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / rate);
  return {
    acked, latencies, refusals,
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
  };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

function message(seq: number, from: string, to: string): { from: string; to: string; text: string } {
  return { from, to, text: `From: ${from}\nTo: ${to}\nSubject: reliability ${seq}\nMessage-ID: <rel-${seq}@device.test>\n\nscan ${seq}\n${'x'.repeat(400)}\n` };
}

/** seq → how many times the upstream took it, from the Message-ID. */
function tally(texts: Iterable<string>): Map<number, number> {
  const count = new Map<number, number>();
  for (const t of texts) {
    const m = /Message-ID: <rel-(\d+)@device\.test>/i.exec(t);
    if (m) count.set(Number(m[1]), (count.get(Number(m[1])) ?? 0) + 1);
  }
  return count;
}

async function waitDelivered(relay: TestRelay, ids: Iterable<string>, timeoutMs: number): Promise<void> {
  for (const id of ids) {
    const m = await relay.waitFor(id, ['delivered', 'failed'], timeoutMs);
    assert.equal(m.state, 'delivered', `${id}: ${m.state} ${JSON.stringify(m.lastError)}`);
  }
}

let emu: Emulator;
let c: Contoso;

before(async () => {
  emu = await startEmulator();
  c = contoso(emu);
});

after(async () => {
  await emu?.close();
});

test('Graph: a 429 storm with Retry-After, 503s, slow answers, answers lost after acceptance and resets, then recovery', async () => {
  const relay = await startRelay({
    devices: [{ name: 'mfp', networks: ['127.0.0.0/8'], sendAs: c.scanner }],
    upstreams: { m365: graphUpstream(emu, c, { timeout: '20s' }) },
    routes: [{ use: 'm365' }],
    queue: { pollInterval: '100ms', minBackoff: '500ms', maxBackoff: '2s', destinationMinBackoff: '500ms', destinationMaxBackoff: '2s' },
  });
  const started = Date.now();
  const load = pacedSender(relay.port(), RATE, (n) => message(n, c.scanner, c.alice));
  const phases: { name: string; from: number; to: number }[] = [];
  const phase = async (name: string, apply: () => void) => {
    emu.clearFaults();
    apply();
    const from = Date.now();
    await sleep(PHASE_MS);
    phases.push({ name, from, to: Date.now() });
  };
  try {
    await phase('429 storm (Retry-After 2 s)', () => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { throttle: true, retryAfterSeconds: 2 } }));
    await phase('503 Service Unavailable', () => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { status: 503 } }));
    await phase('slow answers (4 s)', () => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { delayMs: 4_000 } }));
    await phase('accepted, then the answer lost (504)', () => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { acceptThenStatus: 504 }, count: 5 }));
    await phase('connection resets', () => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { reset: true } }));
    await load.stop();
    emu.clearFaults();
    const recovered = Date.now();
    assert.deepEqual(load.refusals, [], 'every message offered was accepted');
    await waitDelivered(relay, load.acked.values(), 60_000);
    const recoveryMs = Date.now() - recovered;

    const sent = emu.sent().filter((s) => s.mailbox?.toLowerCase() === c.scanner.toLowerCase());
    const count = tally(sent.map((s) => s.mime.toString('latin1')));
    const lost = [...load.acked.keys()].filter((n) => !count.has(n));
    const duplicates = [...count.values()].reduce((a, n) => a + n - 1, 0);
    const requests = emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase() && (r.startedAt ?? 0) >= started);
    const messages = load.acked.size;
    const p99 = percentile(load.latencies, 99);
    report('upstream faults', 'Graph emulator: 429 storm, 503, slow, lost answers, resets', {
      'phase s': PHASE_MS / 1000, 'offered msg/s': RATE, acknowledged: messages, 'ack p50 ms': +percentile(load.latencies, 50).toFixed(1), 'ack p99 ms': +p99.toFixed(1),
      'upstream requests': requests.length, 'per message': +(requests.length / messages).toFixed(2), duplicates, lost: lost.length, 'delivered after recovery ms': recoveryMs,
    });

    assert.deepEqual(lost, [], 'nothing acknowledged is lost');
    assert.ok(duplicates <= 5, `${duplicates} duplicates: only the 5 answers lost after acceptance may cause one`);
    assert.ok(p99 < 1_000, `the device never waits on the upstream: p99 acknowledgement ${p99} ms`);
    assert.ok(requests.length <= messages * 4, `${requests.length} requests for ${messages} messages: no retry storm`);

    // Each 429 names Retry-After 2 s: no request for the mailbox starts within it.
    const throttles = requests.filter((r) => r.status === 429).map((r) => r.at);
    for (const at of throttles) {
      const early = requests.find((r) => (r.startedAt ?? 0) > at + 50 && (r.startedAt ?? 0) < at + 2_000 - 50);
      assert.equal(early, undefined, `a request started ${early ? (early.startedAt ?? 0) - at : 0} ms after a 429 with Retry-After 2 s`);
    }
    assert.ok(throttles.length >= 1, 'the storm was met');
  } finally {
    await load.stop();
    emu.clearFaults();
    await relay.close();
  }
});

test('smtp-sink: down, dropping after DATA, deferring with 4xx, slow to answer, then a working sink: everything delivered', async () => {
  const dumps = mkdtempSync(join(tmpdir(), 'authrelay-sink-'));
  let sink: SmtpSink | undefined;
  // Every phase's sink takes the same port, as a restarted server would.
  const first = await startSmtpSink(['-d', `${dumps}/%H%M%S.`]);
  const port = first.port;
  await first.stop();
  const relay = await startRelay({
    devices: [{ name: 'mfp', networks: ['127.0.0.0/8'] }],
    upstreams: { relay: smtpUpstream(port, { concurrency: 4, connectTimeout: '2s', timeout: '20s' }) },
    routes: [{ use: 'relay' }],
    queue: { pollInterval: '100ms', minBackoff: '500ms', maxBackoff: '2s', destinationMinBackoff: '500ms', destinationMaxBackoff: '2s' },
  });
  const load = pacedSender(relay.port(), RATE, (n) => message(n, 'scanner@contoso.com', 'someone@dest.example'));
  const onPort = async (extra: string[]) => {
    await sink?.stop();
    sink = await startSmtpSink([...extra, '-d', `${dumps}/%H%M%S.`], port);
  };
  try {
    await sleep(PHASE_MS); // nothing listening
    await onPort(['-q', '.']); // drops the connection at the end of data, after taking it
    await sleep(PHASE_MS);
    await onPort(['-r', 'DATA']); // 4xx to DATA
    await sleep(PHASE_MS);
    await onPort(['-w', '3']); // waits 3 s before answering DATA
    await sleep(PHASE_MS);
    await load.stop();
    await onPort([]);
    const recovered = Date.now();
    assert.deepEqual(load.refusals, [], 'every message offered was accepted');
    await waitDelivered(relay, load.acked.values(), 60_000);
    const recoveryMs = Date.now() - recovered;
    await sink?.stop();

    const files = readdirSync(dumps).map((f) => readFileSync(join(dumps, f), 'latin1'));
    const count = tally(files);
    const lost = [...load.acked.keys()].filter((n) => !count.has(n));
    const duplicates = [...count.values()].reduce((a, n) => a + n - 1, 0);
    const attempts = (await Promise.all([...load.acked.values()].map(async (id) => (await relay.store.get(id))?.attempts ?? 0))).reduce((a, b) => a + b, 0);
    const messages = load.acked.size;
    const p99 = percentile(load.latencies, 99);
    report('upstream faults', 'smtp-sink: down, drop after DATA, 4xx, slow', {
      'phase s': PHASE_MS / 1000, 'offered msg/s': RATE, acknowledged: messages, 'ack p50 ms': +percentile(load.latencies, 50).toFixed(1), 'ack p99 ms': +p99.toFixed(1),
      'upstream requests': attempts, 'per message': +(attempts / messages).toFixed(2), duplicates, lost: lost.length, 'delivered after recovery ms': recoveryMs,
    });

    assert.deepEqual(lost, [], 'nothing acknowledged is lost');
    assert.ok(p99 < 1_000, `the device never waits on the upstream: p99 acknowledgement ${p99} ms`);
    // No retry storm: no message is tried more often than its backoff allows (at most one attempt
    // per minBackoff, 500 ms, over the time it waited, plus the first), whatever the phase length.
    const storms = (await Promise.all([...load.acked.values()].map((id) => relay.store.get(id))))
      .filter((m) => m && m.attempts > 2 + (m.updatedAt - m.receivedAt) / 500)
      .map((m) => `${m!.id}: ${m!.attempts} attempts in ${m!.updatedAt - m!.receivedAt} ms`);
    assert.deepEqual(storms.slice(0, 10), [], `${storms.length} messages retried faster than their backoff`);
  } finally {
    await load.stop();
    await relay.close();
    await sink?.stop();
    rmSync(dumps, { recursive: true, force: true });
  }
});
