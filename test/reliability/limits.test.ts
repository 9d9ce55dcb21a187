/**
 * Resource exhaustion against the real relay binary (a child process, so
 * that its crashes, exit code and memory are its own):
 *
 * - command lines over smtp-server's 16 KB limit (with and without a line
 *   end, in an AUTH exchange) get 421 and a close, lines just under it an
 *   ordinary reply;
 * - a message over the listener's size limit gets 552 (at MAIL FROM with
 *   SIZE=, at the end of data without), the session stays in step, and the
 *   spool keeps no partial body, also when the client disconnects half-way;
 *   one just under the limit is accepted and delivered whole;
 * - a client that pipelines megabytes of commands without reading a reply
 *   does not make the relay buffer the replies;
 * - the connection limit (maxClients) holds: connections over it get 421
 *   at once;
 * - slow-loris: many connections that trickle one byte every second or so
 *   (after the greeting, after EHLO, inside an AUTH exchange, inside DATA)
 *   or stay silent are cut with 421 once socketTimeout has passed since
 *   their line began, however many bytes they trickle; the well-behaved
 *   client beside them is served all along with a bounded latency;
 * - the relay's peak resident memory (VmHWM) stays bounded through all of
 *   it, and the process stops cleanly at the end.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SmtpWire, type Reply } from '../helpers/smtp-wire.js';
import { report } from '../helpers/reliability-report.js';
import {
  FULL, scaled, startHostileRelay, startWireSink, sinkRoute, wellBehavedClient, malformedReply, mb, sleep, queueIdInReceived,
  type HostileRelay, type WireSink,
} from './hostile.js';

const TIMEOUT_MS = scaled(3_000, 10_000);
const TRICKLE_MS = scaled(1_000, 3_000);
const MAX_CLIENTS = scaled(60, 400);
const LORIS = scaled(40, 300);
const LIMIT = 2 * 1024 * 1024;
const OVERSIZE = scaled(128, 400) * 1024 * 1024;
const MAX_LATENCY_MS = 2_500;

/** A valid message of `size` bytes with base64 lines (no line starts with a dot). */
function message(size: number): Buffer {
  const head = Buffer.from('From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: size\r\n\r\n');
  const line = 78;
  const lines = Math.floor((size - head.length) / line);
  const b64 = randomBytes(Math.ceil((lines * 57))).toString('base64');
  const body = Buffer.alloc(lines * line);
  for (let i = 0; i < lines; i++) {
    body.write(b64.slice(i * 76, i * 76 + 76).padEnd(76, 'A'), i * line, 'latin1');
    body.write('\r\n', i * line + 76, 'latin1');
  }
  return Buffer.concat([head, body]);
}

/** Writes `buf` in 1 MB pieces, waiting for each to be taken (so the test process does not hold it all queued). */
async function pour(w: SmtpWire, buf: Buffer, stopAfter = buf.length): Promise<void> {
  for (let at = 0; at < Math.min(buf.length, stopAfter) && !w.closed; at += 1024 * 1024) {
    await new Promise<void>((r) => w.socket.write(buf.subarray(at, Math.min(at + 1024 * 1024, buf.length)), () => r()));
  }
}

async function expect421AndClose(w: SmtpWire, why: RegExp): Promise<Reply> {
  const r = await w.read(10_000);
  assert.equal(malformedReply(r), undefined, r.raw);
  assert.equal(r.code, 421, r.raw);
  assert.match(r.raw, why);
  await w.waitClosed(7_000);
  return r;
}

describe('resource limits: long lines, big messages, floods, connection limit, slow-loris, memory', () => {
  let relay: HostileRelay;
  let sink: WireSink;
  let port: number;
  let baseline: number;

  before(async () => {
    sink = await startWireSink();
    relay = await startHostileRelay(`trustLoopback: false
listeners:
  - { name: main, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true, socketTimeout: ${TIMEOUT_MS}ms, maxClients: ${MAX_CLIENTS}, maxMessageSize: ${LIMIT} }
devices:
  - { name: well-behaved, networks: [127.0.0.2/32] }
  - { name: big-sender, networks: [127.0.0.3/32] }
  - { name: loris-device, networks: [127.0.0.4/32] }
${sinkRoute(sink)}`);
    port = relay.port();
    // Warm up (first message, first delivery) before taking the baseline.
    const warm = wellBehavedClient(port, '127.0.0.2');
    await sleep(500);
    const s = await warm.stop();
    assert.deepEqual(s.failures, []);
    baseline = relay.memory().rss;
  });
  after(async () => {
    await relay?.stop();
    await sink?.close();
  });

  test('command lines over the limit get 421 and a close; lines just under it an ordinary reply', async () => {
    const cases: [string, Buffer][] = [
      ['MAIL with a 20 KB address', Buffer.from(`MAIL FROM:<${'a'.repeat(20_000)}@example.com>\r\n`)],
      ['EHLO with 70 KB', Buffer.from(`EHLO ${'x'.repeat(70_000)}\r\n`)],
      ['1 MB without a line end', Buffer.alloc(1024 * 1024, 'N')],
      ['a bare-LF-terminated 30 KB line', Buffer.from(`NOOP ${'\x80'.repeat(30_000)}\n`, 'latin1')],
    ];
    for (const [what, bytes] of cases) {
      const w = await SmtpWire.open(port);
      try {
        await w.cmd('EHLO long');
        await pour(w, bytes);
        await expect421AndClose(w, /too long/i);
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      } finally {
        w.close();
      }
    }
    // Inside an AUTH exchange.
    const a = await SmtpWire.open(port);
    try {
      await a.cmd('EHLO long');
      assert.equal((await a.cmd('AUTH LOGIN')).code, 334);
      a.write(`${'Q'.repeat(40_000)}\r\n`);
      await expect421AndClose(a, /too long/i);
    } finally {
      a.close();
    }
    // Just under the limit: an ordinary refusal, and the session goes on.
    const u = await SmtpWire.open(port);
    try {
      await u.cmd('EHLO long');
      const r = await u.cmd(`MAIL FROM:<${'a'.repeat(16_000)}@example.com>`);
      assert.equal(malformedReply(r), undefined);
      assert.ok(r.code >= 500 && r.code !== 421, r.raw);
      assert.equal((await u.cmd('NOOP')).code, 250);
    } finally {
      u.close();
    }
    assert.ok(relay.alive());
  });

  test(`a message over the ${mb(LIMIT)} limit: 552 with or without SIZE, the session in step, no partial body in the spool`, async () => {
    const big = message(OVERSIZE);
    const filesBefore = relay.bodyFiles();
    const countsBefore = await relay.queueCounts();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, relay.memory().rss)), 50);
    try {
      const w = await SmtpWire.open(port, { localAddress: '127.0.0.3' });
      try {
        await w.cmd('EHLO big');
        const declared = await w.cmd(`MAIL FROM:<scanner@printer.local> SIZE=${big.length}`);
        assert.equal(declared.code, 552, declared.raw);
        assert.equal((await w.cmd('MAIL FROM:<scanner@printer.local>')).code, 250);
        assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
        assert.equal((await w.cmd('DATA')).code, 354);
        await pour(w, big);
        w.write('.\r\n');
        const end = await w.read(60_000);
        assert.match(end.raw, /^552 5\.3\.4 Message too big for this port \(limit 2097152 bytes\)$/);
        assert.equal((await w.cmd('NOOP')).code, 250, 'in step after the refusal');
      } finally {
        w.close();
      }
      // A client that gives up half-way through an oversized message.
      const h = await SmtpWire.open(port, { localAddress: '127.0.0.3' });
      await h.cmd('EHLO big');
      await h.cmd('MAIL FROM:<scanner@printer.local>');
      await h.cmd('RCPT TO:<user@example.com>');
      await h.cmd('DATA');
      await pour(h, big, 8 * 1024 * 1024);
      h.close();
      await sleep(500);
    } finally {
      clearInterval(sampler);
    }
    report('hostile input: resource limits', `a ${mb(big.length)} message over a ${mb(LIMIT)} limit`, { 'RSS growth MB': Math.round((peak - baseline) / 1048576) });
    assert.deepEqual(relay.bodyFiles(), filesBefore, 'a partial body was left in the spool');
    assert.deepEqual(await relay.queueCounts(), countsBefore, 'something was queued');
    assert.ok(peak - baseline < 100 * 1024 * 1024, `RSS grew by ${mb(peak - baseline)} while ${mb(big.length)} were refused`);

    // Just under the limit: accepted and delivered whole.
    const fits = message(LIMIT - 4096);
    const w = await SmtpWire.open(port, { localAddress: '127.0.0.3' });
    try {
      await w.cmd('EHLO big');
      await w.cmd(`MAIL FROM:<scanner@printer.local> SIZE=${fits.length}`);
      await w.cmd('RCPT TO:<user@example.com>');
      await w.cmd('DATA');
      await pour(w, fits);
      w.write('.\r\n');
      const end = await w.read(30_000);
      assert.equal(end.code, 250, end.raw);
      const id = /queued as (\S+)/.exec(end.raw)![1]!;
      const deadline = Date.now() + 20_000;
      let got;
      while (!(got = sink.messages.find((m) => queueIdInReceived(m.data) === id)) && Date.now() < deadline) await sleep(50);
      assert.ok(got, `${id} never reached the upstream`);
      assert.ok(got.data.subarray(got.data.length - fits.length).equals(fits), 'the upstream copy differs');
    } finally {
      w.close();
    }
  });

  test('a header section over 1 MB is refused with 552 however the bytes arrive; one just under is accepted', async () => {
    const MAX = 1024 * 1024;
    for (const [size, want] of [[MAX - 64, 250], [MAX + 1024, 552], [MAX + 20 * 1024, 552], [MAX + 60 * 1024, 552], [MAX + 500 * 1024, 552]] as const) {
      // One long Subject field folded every 998 bytes, then the blank line and a short body.
      const head = 'From: scanner@printer.local\r\nSubject: ';
      const parts: string[] = [];
      let left = size - head.length - 2;
      for (; left > 1001; left -= 1001) parts.push('x'.repeat(998));
      parts.push('x'.repeat(left));
      const header = `${head}${parts.join('\r\n ')}\r\n`;
      assert.equal(Buffer.byteLength(header), size);
      const w = await SmtpWire.open(port, { localAddress: '127.0.0.3' });
      try {
        await w.cmd('EHLO header');
        await w.cmd('MAIL FROM:<scanner@printer.local>');
        await w.cmd('RCPT TO:<user@example.com>');
        assert.equal((await w.cmd('DATA')).code, 354);
        await pour(w, Buffer.from(`${header}\r\nbody\r\n.\r\n`));
        const end = await w.read(30_000);
        assert.equal(end.code, want, `header section of ${size} bytes: ${end.raw}`);
        if (want === 552) assert.match(end.raw, /^552 5\.3\.4 Message header section too large/);
        assert.equal((await w.cmd('NOOP')).code, 250);
      } finally {
        w.close();
      }
    }
  });

  test('pipelining megabytes of commands without reading replies does not make the relay buffer them', async () => {
    const client = wellBehavedClient(port, '127.0.0.2');
    const before = relay.memory().rss;
    const flood = Buffer.from('NOOP\r\n'.repeat(scaled(3, 20) * 1024 * 1024 / 6));
    const w = await SmtpWire.open(port);
    try {
      // Write without waiting: the relay must stop reading when its replies are not read.
      w.socket.write(flood);
      await sleep(2_000);
      const grown = relay.memory().rss - before;
      assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${mb(grown)} while a client flooded ${mb(flood.length)} of NOOPs`);
    } finally {
      w.close();
    }
    const s = await client.stop();
    assert.deepEqual(s.failures, []);
    assert.ok(s.max() < MAX_LATENCY_MS, `well-behaved latency up to ${s.max()} ms during the flood`);
  });

  test(`the connection limit holds: over ${MAX_CLIENTS} connections get 421 at once`, async () => {
    await sleep(300);
    const extra = 20;
    const conns = await Promise.all(Array.from({ length: MAX_CLIENTS + extra }, () => SmtpWire.open(port, { noGreeting: true })));
    try {
      const greetings = await Promise.all(conns.map((w) => w.read(10_000).catch((e: Error) => ({ code: 0, raw: e.message, lines: [] }) as Reply)));
      const ok = greetings.filter((g) => g.code === 220).length;
      const refused = greetings.filter((g) => g.code === 421);
      assert.equal(ok + refused.length, conns.length, JSON.stringify(greetings.filter((g) => g.code !== 220 && g.code !== 421)));
      assert.ok(ok <= MAX_CLIENTS && ok >= MAX_CLIENTS - 2, `${ok} connections greeted (maxClients ${MAX_CLIENTS})`);
      for (const r of refused) assert.match(r.raw, /^421 .*Too many connected clients/);
      await Promise.all(conns.filter((_, i) => greetings[i]!.code === 421).map((w) => w.waitClosed(5_000)));
    } finally {
      for (const w of conns) w.close();
    }
    await sleep(300);
    const after = await SmtpWire.open(port, { localAddress: '127.0.0.2' });
    assert.equal(after.greeting?.code, 220);
    after.close();
  });

  test(`slow-loris: ${LORIS} trickling or silent connections are cut after socketTimeout (${TIMEOUT_MS} ms); others are served meanwhile`, async (t) => {
    type Kind = 'before-ehlo' | 'after-ehlo' | 'in-auth' | 'in-data' | 'silent';
    const kinds: Kind[] = ['before-ehlo', 'after-ehlo', 'in-auth', 'in-data', 'silent'];
    interface Loris { kind: Kind; w: SmtpWire; started: number; closedAt?: number; reply?: Reply; bytes: number }
    const lorises: Loris[] = [];
    const setup = async (kind: Kind): Promise<Loris> => {
      const w = await SmtpWire.open(port, kind === 'in-data' ? { localAddress: '127.0.0.4' } : {});
      if (kind === 'after-ehlo' || kind === 'in-auth' || kind === 'in-data') assert.equal((await w.cmd('EHLO loris')).code, 250);
      if (kind === 'in-auth') assert.equal((await w.cmd('AUTH LOGIN')).code, 334);
      if (kind === 'in-data') {
        assert.equal((await w.cmd('MAIL FROM:<loris@printer.local>')).code, 250);
        assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
        assert.equal((await w.cmd('DATA')).code, 354);
      }
      const l: Loris = { kind, w, started: Date.now(), bytes: 0 };
      void w.closedPromise.then(() => (l.closedAt = Date.now()));
      return l;
    };
    for (let i = 0; i < LORIS; i++) lorises.push(await setup(kinds[i % kinds.length]!));
    const client = wellBehavedClient(port, '127.0.0.2');
    const tick = () => {
      for (const l of lorises) {
        if (l.kind === 'silent' || l.w.closed) continue;
        // The first trickled byte starts the line that never ends; a silent one idles since its last reply.
        if (l.bytes === 0) l.started = Date.now();
        l.w.write(l.kind === 'in-data' ? 'Y' : 'X');
        l.bytes++;
      }
    };
    tick();
    const trickle = setInterval(tick, TRICKLE_MS);
    try {
      const deadline = Date.now() + TIMEOUT_MS + 8_000;
      while (lorises.some((l) => !l.w.closed) && Date.now() < deadline) await sleep(100);
    } finally {
      clearInterval(trickle);
    }
    const stats = await client.stop();
    for (const l of lorises) {
      l.reply = await l.w.read(1).catch(() => undefined);
      l.w.close();
    }
    const open = lorises.filter((l) => l.closedAt === undefined);
    assert.deepEqual(open.map((l) => `${l.kind} (${l.bytes} bytes trickled)`), [], 'connections still open long after socketTimeout');
    const held = lorises.map((l) => l.closedAt! - l.started);
    t.diagnostic(`lorises held ${Math.min(...held)}-${Math.max(...held)} ms (socketTimeout ${TIMEOUT_MS} ms); well-behaved: ${stats.accepted.length} sent, median ${stats.median()} ms, max ${stats.max()} ms`);
    report('hostile input: resource limits', `${LORIS} slow-loris connections, socketTimeout ${TIMEOUT_MS} ms`, {
      'cut after min ms': Math.min(...held), 'cut after max ms': Math.max(...held), 'still open': open.length,
      'well-behaved sessions': stats.accepted.length, 'well-behaved failures': stats.failures.length, 'well-behaved max ms': stats.max(),
    });
    for (const l of lorises) {
      const heldMs = l.closedAt! - l.started;
      assert.ok(heldMs >= TIMEOUT_MS - 300 && heldMs <= TIMEOUT_MS + 4_000, `${l.kind}: cut after ${heldMs} ms (socketTimeout ${TIMEOUT_MS} ms)`);
      assert.ok(l.reply, `${l.kind}: closed without a 421 reply`);
      assert.equal(l.reply.code, 421, `${l.kind}: ${l.reply.raw}`);
      assert.equal(malformedReply(l.reply), undefined);
    }
    assert.deepEqual(stats.failures, [], 'the well-behaved client was not served');
    assert.ok(stats.accepted.length >= 5, `only ${stats.accepted.length} well-behaved sessions`);
    assert.ok(stats.max() < MAX_LATENCY_MS, `well-behaved latency up to ${stats.max()} ms beside the slow-loris connections`);
    assert.equal(await relay.queueCounts().then((c) => (c.incoming ?? 0) + (c.active ?? 0)), 0);
  });

  test('memory stayed bounded and the relay stops cleanly', async () => {
    const { rss, peak } = relay.memory();
    const bound = FULL ? 400 : 200;
    report('hostile input: resource limits', 'relay memory over the whole file', {
      'RSS after warm-up MB': Math.round(baseline / 1048576), 'peak RSS MB': Math.round(peak / 1048576), 'RSS at the end MB': Math.round(rss / 1048576),
    });
    assert.ok(peak - baseline < bound * 1024 * 1024, `peak RSS ${mb(peak)} against ${mb(baseline)} after warm-up (bound +${bound} MB)`);
    assert.ok(rss - baseline < 100 * 1024 * 1024, `RSS ${mb(rss)} at the end against ${mb(baseline)}`);
    const st = await relay.stop();
    assert.deepEqual(st, { code: 0, signal: null }, relay.proc.stderr());
  });
});
