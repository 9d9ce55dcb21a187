/**
 * The quick path in front of smtp-server's DATA parser (src/receive/data-scan.ts)
 * ends a message where smtp-server's own parser ends it and passes on the same
 * bytes: random messages made of CRLF lines, bare CR and LF, dots at line starts,
 * terminators (CRLF.CRLF, and the bare-LF forms smuggling uses) and base64, cut
 * into chunks at random places, go through an SMTPStream running smtp-server's
 * parser alone and one running the quick path; the message data, its byte count
 * and the commands read after it are compared. Clean chunks take the quick path
 * (smtp-server's parser is not called for them); a message with dots on both sides
 * of chunk boundaries arrives intact through a real SMTP session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { quickFeed, smtpServerFeed, speedUpDataScan, type FeedFn } from '../../src/receive/data-scan.js';
import { prng } from '../helpers/crash-load.js';
import { startTestRelay, queueIdOf } from '../helpers/relay.js';
import { SmtpWire, readAll, sha256, splitReceived } from '../helpers/smtp-wire.js';

interface Result {
  data: Buffer;
  byteLength: number;
  commands: string[];
}

/** Feeds the chunks to an SMTPStream in data mode with the given parser; collects the message and the commands after it. */
function through(feed: FeedFn, chunks: Buffer[]): Promise<Result> {
  const parser = new SMTPStream() as SMTPStream & { _feedDataStream: FeedFn };
  parser._feedDataStream = feed;
  const commands: string[] = [];
  const parts: Buffer[] = [];
  let byteLength = -1;
  return new Promise((resolve, reject) => {
    parser.oncommand = (command: Buffer, cb?: () => void) => {
      commands.push(command.toString('latin1'));
      cb?.();
    };
    const data = parser.startDataMode();
    data.on('data', (b: Buffer) => parts.push(b));
    data.on('end', () => {
      byteLength = (data as unknown as { byteLength: number }).byteLength;
      parser.continue();
    });
    parser.on('error', reject);
    parser.on('finish', () => setImmediate(() => resolve({ data: Buffer.concat(parts), byteLength, commands })));
    for (const c of chunks) parser.write(c);
    parser.end();
  });
}

const PIECES = ['\r\n', '\r\n', '.', '..', '\r', '\n', 'a', 'line of text', '\r\n.\r\n', '\n.\n', '\r\n.\n', '\n.\r\n', '\n..', '\r\n..\r\n', 'QUJD+/=='];

function randomMessage(rand: () => number): Buffer {
  const parts: string[] = [];
  const n = 1 + Math.floor(rand() * 200);
  for (let i = 0; i < n; i++) {
    // Mostly clean CRLF lines (as devices send), now and then a dot, a bare line end or a terminator.
    if (rand() < 0.7) parts.push(`${'QUJDREVG'.repeat(1 + Math.floor(rand() * 12))}\r\n`);
    else parts.push(PIECES[Math.floor(rand() * PIECES.length)]!);
  }
  parts.push('\r\n.\r\nQUIT\r\n');
  return Buffer.from(parts.join(''), 'latin1');
}

function cut(message: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < message.length) {
    const r = rand();
    const len = r < 0.05 ? 1 + Math.floor(rand() * 4) : r < 0.5 ? 1 + Math.floor(rand() * 100) : 64 + Math.floor(rand() * 800);
    chunks.push(message.subarray(at, at + len));
    at += len;
  }
  return chunks;
}

test('the quick path is in place on this smtp-server', () => {
  assert.equal(speedUpDataScan(), true);
  assert.notEqual((SMTPStream.prototype as unknown as { _feedDataStream: FeedFn })._feedDataStream, smtpServerFeed);
  assert.equal(speedUpDataScan(), true, 'installing twice changes nothing');
});

test('random messages cut at random places: the same message, byte count and commands after it as smtp-server alone', async () => {
  const seed = Number(process.env.AUTHRELAY_DATASCAN_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  const quick = quickFeed(smtpServerFeed);
  for (let i = 0; i < 3000; i++) {
    const message = randomMessage(rand);
    const chunks = cut(message, rand);
    const [a, b] = await Promise.all([through(smtpServerFeed, chunks), through(quick, chunks)]);
    const what = `seed ${seed}, message ${i}: ${JSON.stringify(message.toString('latin1'))} in ${chunks.length} chunks`;
    assert.ok(a.data.equals(b.data), what);
    assert.equal(b.byteLength, a.byteLength, what);
    assert.deepEqual(b.commands, a.commands, what);
  }
});

test('edge cases: the terminator and escaped dots on both sides of a chunk boundary, at the held-back bytes', async () => {
  const quick = quickFeed(smtpServerFeed);
  const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\r\n';
  const long = line.repeat(3);
  const cases: string[][] = [];
  const tails = ['\r\n.\r\nQUIT\r\n', '\r\n..x\r\n.\r\nQUIT\r\n', '\n.\n\r\n.\r\nQUIT\r\n', '\r\n.\n.\r\n.\r\nQUIT\r\n'];
  for (const tail of tails) {
    const whole = `${long}${tail}`;
    // Every cut in the last 80 bytes: the terminator or the dot falls at every position of the boundary.
    for (let at = whole.length - 80; at < whole.length; at++) cases.push([whole.slice(0, at), whole.slice(at)]);
    for (let at = whole.length - 40; at < whole.length - 1; at++) cases.push([whole.slice(0, 70), whole.slice(70, at), whole.slice(at)]);
  }
  cases.push(['.\r\n', 'QUIT\r\n'], [`..${long}`, '\r\n.\r\n'], [`.${long}.\r\n`], [`\n.${long}\r\n.\r\n`]);
  for (const c of cases) {
    const chunks = c.map((s) => Buffer.from(s, 'latin1'));
    const [a, b] = await Promise.all([through(smtpServerFeed, chunks), through(quick, chunks)]);
    assert.equal(b.data.toString('latin1'), a.data.toString('latin1'), JSON.stringify(c));
    assert.equal(b.byteLength, a.byteLength, JSON.stringify(c));
    assert.deepEqual(b.commands, a.commands, JSON.stringify(c));
  }
});

test("clean chunks take the quick path; only a chunk with a dot at a line start reaches smtp-server's parser", async () => {
  let calls = 0;
  const counted: FeedFn = function (this: unknown, ...args: Parameters<FeedFn>) {
    calls++;
    return smtpServerFeed.apply(this as never, args);
  };
  const quick = quickFeed(counted);
  const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n');
  const clean = Array.from({ length: 20 }, () => Buffer.concat(Array.from({ length: 800 }, () => line)));
  const end = Buffer.from('\r\n.\r\n');
  const first = await through(quick, [Buffer.from('Subject: x\r\n\r\n'), ...clean, end]);
  assert.equal(calls, 2, 'the first chunk (the start of the data) and the terminator do; 64 KB chunks of base64 lines do not');
  assert.equal(first.data.length, 14 + 20 * 800 * line.length + 2);
  calls = 0;
  await through(quick, [Buffer.from('Subject: x\r\n\r\n'), ...clean.slice(0, 3), Buffer.from(`${line}..a dot at the start\r\n${line}`), ...clean.slice(0, 3), end]);
  assert.equal(calls, 3, 'the chunk with a line starting with a dot does');
});

test('over a real SMTP session: dots at line starts on both sides of chunk boundaries are unescaped once, and the message ends at CRLF.CRLF only', async () => {
  const relay = await startTestRelay({ listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' }] });
  try {
    const text = Array.from({ length: 4000 }, (_, i) => (i % 7 === 0 ? `.line ${i} starts with a dot` : i % 11 === 0 ? '.' : `line ${i} of the scan QUJDREVGR0hJSktMTU5PUFFSU1RVVldY`)).join('\r\n');
    const message = Buffer.from(`From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: dots\r\n\r\n${text}\r\n`, 'latin1');
    const stuffed = Buffer.from(message.toString('latin1').replace(/^\./gm, '..'), 'latin1');
    for (const piece of [997, 65536]) {
      const w = await SmtpWire.open(relay.port('plain'));
      try {
        assert.equal((await w.cmd('EHLO scanner')).code, 250);
        assert.equal((await w.cmd('MAIL FROM:<scanner@printer.local>')).code, 250);
        assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
        assert.equal((await w.cmd('DATA')).code, 354);
        // Each piece its own write, a pause between them: the chunk boundaries fall all over the lines.
        for (let at = 0; at < stuffed.length; at += piece) {
          w.write(stuffed.subarray(at, at + piece));
          await new Promise((r) => setTimeout(r, 2));
        }
        w.write('.\r\n');
        const end = await w.read(30_000);
        assert.equal(end.code, 250, end.raw);
        const msg = await relay.waitFor(queueIdOf(end.raw), ['held']);
        const { rest } = splitReceived(await readAll(relay.store.openBody(msg.bodyId)));
        assert.equal(sha256(rest), sha256(message), `pieces of ${piece} bytes: the body as written, each escaping dot removed once`);
        assert.equal((await w.cmd('NOOP')).code, 250, 'the session goes on after the message');
      } finally {
        w.close();
      }
    }
  } finally {
    await relay.close();
  }
});
