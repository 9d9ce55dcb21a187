/**
 * The quick path in front of nodemailer's DataStream (src/deliver/smtp/data-stream.ts)
 * sends exactly the bytes nodemailer's own transform sends: random messages made of
 * CRLF lines, bare CR and LF, dots at line starts and base64, cut into chunks at
 * random places, go through a stream running nodemailer's transform alone and one
 * running the quick path; the output and the counters are compared. Clean chunks
 * take the quick path (nodemailer's transform is not called for them); a message
 * with dots on both sides of a chunk boundary arrives intact through a real SMTP
 * session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';
import { nodemailerTransform, quickTransform, speedUpDataStream } from '../../src/deliver/smtp/data-stream.js';
import { smtpUpstreamSchema } from '../../src/config/schema.js';
import { SmtpTransport } from '../../src/deliver/smtp/smtp.js';
import { outbound, simpleBody } from '../contract/transport-contract.js';
import { startUpstream } from '../helpers/upstream.js';
import { prng } from '../helpers/crash-load.js';

type Fn = typeof nodemailerTransform;

interface Result {
  out: Buffer;
  inByteCount: number;
  outByteCount: number;
}

/** Runs the chunks through a DataStream with the given transform, to its end (the final dot line). */
function through(transform: Fn, chunks: Buffer[]): Promise<Result> {
  const ds = new DataStream();
  (ds as unknown as { _transform: Fn })._transform = transform;
  const parts: Buffer[] = [];
  ds.on('data', (b: Buffer) => parts.push(b));
  return new Promise((resolve, reject) => {
    ds.on('error', reject);
    ds.on('end', () => {
      const s = ds as unknown as { inByteCount: number; outByteCount: number };
      resolve({ out: Buffer.concat(parts), inByteCount: s.inByteCount, outByteCount: s.outByteCount });
    });
    for (const c of chunks) ds.write(c);
    ds.end();
  });
}

const PIECES = ['\r\n', '\r\n', '\r\n', '.', '..', '\r', '\n', 'a', 'line of text', '\r\n.\r\n', '\n.', '\r.', 'QUJD+/=='];

function randomMessage(rand: () => number): Buffer {
  const parts: string[] = [];
  const n = 1 + Math.floor(rand() * 200);
  for (let i = 0; i < n; i++) {
    // Mostly clean CRLF lines (as devices send), now and then something nodemailer must change.
    if (rand() < 0.6) parts.push(`${'QUJDREVG'.repeat(1 + Math.floor(rand() * 9))}\r\n`);
    else parts.push(PIECES[Math.floor(rand() * PIECES.length)]!);
  }
  return Buffer.from(parts.join(''), 'latin1');
}

function cut(message: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < message.length) {
    const len = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * Math.min(400, message.length - at));
    chunks.push(message.subarray(at, at + len));
    at += len;
  }
  return chunks;
}

test('the quick path is in place on this nodemailer', () => {
  assert.equal(speedUpDataStream(), true);
  assert.notEqual(DataStream.prototype._transform, nodemailerTransform);
  assert.equal(speedUpDataStream(), true, 'installing twice changes nothing');
});

test('random messages cut at random places: the same bytes and counts as nodemailer alone', async () => {
  const seed = Number(process.env.AUTHRELAY_DATASTREAM_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  const quick = quickTransform(nodemailerTransform);
  for (let i = 0; i < 2000; i++) {
    const message = randomMessage(rand);
    const chunks = cut(message, rand);
    const [a, b] = await Promise.all([through(nodemailerTransform, chunks), through(quick, chunks)]);
    assert.ok(a.out.equals(b.out), `seed ${seed}, message ${i}: ${JSON.stringify(message.toString('latin1'))} in ${chunks.length} chunks`);
    assert.equal(b.inByteCount, a.inByteCount, `seed ${seed}, message ${i}: bytes in`);
    assert.equal(b.outByteCount, a.outByteCount, `seed ${seed}, message ${i}: bytes out`);
  }
});

test('edge cases: a CR ending a chunk, a dot after it, a dot at the very start, LF first', async () => {
  const quick = quickTransform(nodemailerTransform);
  const cases: string[][] = [
    ['a\r', '\nb\r\n'], ['a\r', '.b\r\n'], ['a\r', 'b'], ['.a\r\n'], ['\nabc'], ['a\r\n', '.b'], ['a\r\n', '\n'], ['a\r\n.', '.\r\n'],
    ['abc'], ['', 'a\r\n'], ['a\r\n\r\n', '\r\n'], ['\r\n.\r\n'], ['a\r\r\n'], ['a\n\n'],
  ];
  for (const c of cases) {
    const chunks = c.map((s) => Buffer.from(s, 'latin1'));
    const [a, b] = await Promise.all([through(nodemailerTransform, chunks), through(quick, chunks)]);
    assert.equal(b.out.toString('latin1'), a.out.toString('latin1'), JSON.stringify(c));
    assert.equal(b.outByteCount, a.outByteCount, JSON.stringify(c));
  }
});

test('clean chunks take the quick path; only a chunk that needs a change reaches nodemailer\'s transform', async () => {
  let calls = 0;
  const counted: Fn = function (this: unknown, ...args: Parameters<Fn>) {
    calls++;
    return nodemailerTransform.apply(this as never, args);
  };
  const quick = quickTransform(counted);
  const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n');
  const clean = Array.from({ length: 50 }, () => Buffer.concat(Array.from({ length: 800 }, () => line)));
  await through(quick, clean);
  assert.equal(calls, 0, '64 KB chunks of base64 lines never reach it');
  await through(quick, [...clean.slice(0, 3), Buffer.from('..a dot at the start\r\n'), ...clean.slice(0, 3)]);
  assert.equal(calls, 1, 'the chunk with a line starting with a dot does');
});

test('over a real SMTP session: lines starting with dots on both sides of chunk boundaries arrive as stored', async () => {
  const up = await startUpstream();
  const t = new SmtpTransport('relay', smtpUpstreamSchema.parse({ type: 'smtp', host: '127.0.0.1', port: up.port, tls: 'none' }), { hostname: 'relay.contoso.test' });
  try {
    const text = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `.line ${i} starts with a dot` : i % 11 === 0 ? '.' : `line ${i} of the scan`)).join('\r\n');
    const body = simpleBody(`\r\n${text}\r\n`);
    for (const chunk of [4096, 1000, 37]) {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'], body, chunk }), { signal: new AbortController().signal });
      assert.equal(out[0]!.outcome.action, 'delivered');
      assert.ok(up.received.at(-1)!.data.equals(body), `chunks of ${chunk} bytes: the bytes received are the bytes stored`);
    }
  } finally {
    await t.close();
    await up.kill();
  }
});
