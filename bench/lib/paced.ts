/**
 * A paced SMTP client over raw sockets for the latency test: it opens one new
 * connection per message at a fixed offered rate (open loop: message i starts
 * at t0 + i / rate whether or not earlier ones have finished, as independent
 * devices do), runs EHLO, MAIL, RCPT, DATA, sends the message and QUIT, and
 * times the acknowledgement: from writing the final "." line to reading the
 * reply to it (the server's 250 comes only once the message is durable).
 */
import { connect, type Socket } from 'node:net';
import { FROM, TO } from './load.js';
import { LOOPBACK } from './proc.js';

export interface PacedSpec {
  port: number;
  /** Messages (connections) started per second. */
  rate: number;
  seconds: number;
  /** Body size in bytes (headers come on top). */
  size: number;
  /** Longest time for one session before it counts as failed. */
  sessionTimeoutMs?: number;
  /** Sessions open at once beyond which new ones are not started (counted as skipped). */
  maxInFlight?: number;
}

export interface PacedResult {
  offered: number;
  acknowledged: number;
  failed: number;
  /** Not started because maxInFlight sessions were still open. */
  skipped: number;
  firstError: string | undefined;
  /** Messages acknowledged per second over the run (first start to last acknowledgement). */
  achievedRate: number;
  /** End of DATA to the 250, ms. */
  ack: Percentiles;
  /** Connect to 250 after the data, ms (greeting, commands and data included). */
  session: Percentiles;
  /** How late sessions started against their schedule (client-side; large values mean the client could not keep the pace). */
  startLag: Percentiles;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number));
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length === 0 ? NaN : (s[s.length - 1] as number) };
}

const CRLF = '\r\n';

/** A body of `size` bytes in 78-byte lines (no line starts with a dot). */
function bodyOf(size: number): Buffer {
  const line = `${'x'.repeat(76)}${CRLF}`;
  const text = line.repeat(Math.ceil(size / line.length)).slice(0, size);
  return Buffer.from(text.endsWith(CRLF) ? text : `${text.slice(0, -2)}${CRLF}`);
}

function messageOf(i: number, body: Buffer): Buffer {
  const head = [`From: <${FROM}>`, `To: <${TO}>`, `Subject: paced ${i}`, `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <paced-${process.pid}-${i}@bench.localdomain>`, ''].join(CRLF);
  return Buffer.concat([Buffer.from(head + CRLF), body, Buffer.from(`.${CRLF}`)]);
}

interface Outcome {
  ackMs?: number;
  sessionMs?: number;
  doneAt?: number;
  error?: string;
}

/** One SMTP session with one message; never rejects. */
function session(port: number, message: Buffer, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket: Socket = connect(port, LOOPBACK);
    socket.setNoDelay(true);
    let buffer = '';
    let step = 0;
    let dataSentAt = 0;
    let outcome: Outcome = {};
    let settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ ...outcome, error: `no answer within ${timeoutMs} ms at step ${step}` }), timeoutMs);
    // step: expected reply code, then what to send.
    const steps: [string, () => void][] = [
      ['220', () => socket.write(`EHLO bench.localdomain${CRLF}`)],
      ['250', () => socket.write(`MAIL FROM:<${FROM}>${CRLF}`)],
      ['250', () => socket.write(`RCPT TO:<${TO}>${CRLF}`)],
      ['250', () => socket.write(`DATA${CRLF}`)],
      ['354', () => {
        dataSentAt = performance.now();
        socket.write(message);
      }],
      ['250', () => {
        const now = performance.now();
        outcome = { ackMs: now - dataSentAt, sessionMs: now - t0, doneAt: now };
        socket.write(`QUIT${CRLF}`);
      }],
      ['221', () => finish(outcome)],
    ];
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (!/^\d{3}( |$)/.test(line)) continue; // a continuation line of a multi-line reply ("250-PIPELINING")
        const want = steps[step];
        if (!want) return;
        if (!line.startsWith(want[0])) return finish({ ...outcome, error: `expected ${want[0]}, got "${line.slice(0, 120)}"` });
        step++;
        want[1]();
      }
    });
    socket.on('error', (err) => finish({ ...outcome, error: err.message }));
    socket.on('close', () => finish(outcome.ackMs !== undefined ? outcome : { error: `connection closed at step ${step}` }));
  });
}

/** Runs the paced load; resolves when every started session has ended. */
export async function pacedLoad(spec: PacedSpec): Promise<PacedResult> {
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const body = bodyOf(spec.size);
  const timeoutMs = spec.sessionTimeoutMs ?? 30_000;
  const maxInFlight = spec.maxInFlight ?? 2000;
  const interval = 1000 / spec.rate;
  const outcomes: Promise<Outcome>[] = [];
  const lags: number[] = [];
  let inFlight = 0;
  let skipped = 0;
  const t0 = performance.now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) {
        lags.push(now - (t0 + next * interval));
        if (inFlight >= maxInFlight) skipped++;
        else {
          inFlight++;
          outcomes.push(session(spec.port, messageOf(next, body), timeoutMs).finally(() => inFlight--));
        }
        next++;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const done = await Promise.all(outcomes);
  // Acknowledged = the 250 after the data arrived (a failure after it, e.g. at QUIT, does not undo that).
  const ok = done.filter((o) => o.ackMs !== undefined);
  const lastDone = Math.max(...ok.map((o) => o.doneAt ?? 0));
  return {
    offered: total,
    acknowledged: ok.length,
    failed: done.length - ok.length,
    skipped,
    firstError: done.find((o) => o.ackMs === undefined)?.error,
    achievedRate: ok.length > 0 ? ok.length / ((lastDone - t0) / 1000) : 0,
    ack: percentiles(ok.map((o) => o.ackMs as number)),
    session: percentiles(ok.map((o) => o.sessionMs as number)),
    startLag: percentiles(lags),
  };
}
