/**
 * SMTP smuggling against the real relay binary, inbound and outbound.
 *
 * Inbound: a message carrying each published sequence (SEC Consult's
 * inbound and outbound lists, the NUL variants) followed by a smuggled
 * "MAIL FROM / RCPT TO / DATA" transaction, written in one piece and byte by
 * byte. The relay answers per its documented policy (a network-trusted
 * device: accepted with bare CR/LF made CRLF and NUL dropped; a password
 * device: 554 5.6.11), stays in step (the next reply answers the next
 * command), and never makes a second message.
 *
 * Outbound: every accepted message is delivered to a raw-socket upstream
 * that keeps the exact bytes. On that wire there is no bare CR, bare LF or
 * NUL, every content line starting with "." is dot-stuffed, and a lenient
 * reader that takes any of <CR>/<LF>/<CRLF> "." <CR>/<LF>/<CRLF> for the end
 * of data finds it only at the real end: a lenient upstream cannot be
 * smuggled into through the relay either.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/identity/password.js';
import { SmtpWire } from '../helpers/smtp-wire.js';
import { report } from '../helpers/reliability-report.js';
import {
  startHostileRelay, startWireSink, sinkRoute, expectedFor, describeDiff, RECEIVED, malformedReply, writeInPieces, sleep,
  type HostileRelay, type WireSink, type WireMessage,
} from './hostile.js';
import { SMUGGLING_SEQUENCES } from './hostile-generators.js';

const SMUGGLED =
  'MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<finance@victim.example>\r\nDATA\r\n' +
  'From: ceo@victim.example\r\nSubject: smuggled\r\n\r\nwire the money\r\n';

/** The attacker's DATA bytes: not dot-stuffed, the sequence, the smuggled transaction, then the real end. */
function attack(seq: string): Buffer {
  return Buffer.from(`From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: outer\r\n\r\nfirst line\r\n..dot line\r\ntext${seq}${SMUGGLED}.\r\n`, 'latin1');
}

/** What smtp-server passes on for attack(seq): everything before the final ".\r\n", "..dot line" un-stuffed. */
function contentOf(seq: string): Buffer {
  const a = attack(seq).toString('latin1');
  return Buffer.from(a.slice(0, -3).replace('\r\n..dot line', '\r\n.dot line'), 'latin1');
}

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** Why these wire bytes could end DATA early at a lenient upstream, or undefined. */
export function wireProblem(msg: WireMessage): string | undefined {
  const s = msg.wire.toString('latin1');
  // eslint-disable-next-line no-control-regex
  const stray = /\r(?!\n)|(?<!\r)\n|\x00/.exec(s);
  if (stray) return `${JSON.stringify(stray[0])} at byte ${stray.index} on the wire: ${JSON.stringify(s.slice(Math.max(0, stray.index - 30), stray.index + 30))}`;
  if (!s.endsWith('\r\n.\r\n') && s !== '.\r\n') return `the DATA bytes do not end with CRLF.CRLF: ${JSON.stringify(s.slice(-20))}`;
  const virt = `\r\n${s}`;
  // eslint-disable-next-line no-control-regex
  const lenient = [...virt.matchAll(/(?:\r\n|\r|\n)\.(?:\r\n|\r|\n|\x00)/g)].map((m) => m.index);
  if (lenient.length !== 1 || lenient[0] !== virt.length - 5) return `a lenient reader finds an end of data at ${JSON.stringify(lenient)} (length ${virt.length})`;
  const lines = s.slice(0, -3).split('\r\n');
  const unstuffed = lines.findIndex((l) => l.startsWith('.') && !l.startsWith('..'));
  if (unstuffed !== -1) return `line ${unstuffed + 1} starts with a dot that is not stuffed: ${JSON.stringify(lines[unstuffed])}`;
  return undefined;
}

describe('SMTP smuggling: inbound policy and the bytes sent upstream', () => {
  let relay: HostileRelay;
  let sink: WireSink;
  /** Queue id → the bytes the upstream must get after the Received field. */
  const accepted = new Map<string, Buffer>();
  let refused = 0;

  before(async () => {
    sink = await startWireSink();
    relay = await startHostileRelay(`trustLoopback: false
listeners:
  - { name: plain, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true }
devices:
  - { name: lan-scanner, networks: [127.0.0.2/32] }
  - { name: pw-mfp, username: mfp, passwordHash: "${await hashPassword('pw')}" }
${sinkRoute(sink)}`);
  });
  after(async () => {
    await relay?.stop();
    await sink?.close();
  });

  async function session(kind: 'trusted' | 'password'): Promise<SmtpWire> {
    const w = await SmtpWire.open(relay.port('plain'), kind === 'trusted' ? { localAddress: '127.0.0.2' } : {});
    assert.equal((await w.cmd('EHLO scanner')).code, 250);
    if (kind === 'password') assert.equal((await w.cmd(`AUTH PLAIN ${b64('\0mfp\0pw')}`)).code, 235);
    return w;
  }

  /** One transaction with the attacker's bytes; returns the end-of-data reply after checking the session is in step. */
  async function send(kind: 'trusted' | 'password', payload: Buffer, cuts: number[] = []) {
    const w = await session(kind);
    try {
      assert.equal((await w.cmd('MAIL FROM:<scanner@printer.local>')).code, 250);
      assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await w.cmd('DATA')).code, 354);
      await writeInPieces(w, payload, cuts);
      const end = await w.read(15_000);
      assert.equal(malformedReply(end), undefined, end.raw);
      // Had the smuggled commands been read as commands, their replies would come now.
      await sleep(50);
      assert.equal(w.pending, '', `extra replies after the end of data: ${JSON.stringify(w.pending)}`);
      const noop = await w.cmd('NOOP');
      assert.equal(noop.code, 250, `out of step after the end of data: ${noop.raw}`);
      assert.equal(w.pending, '');
      return end;
    } finally {
      w.close();
    }
  }

  test('no CHUNKING is offered and BDAT is refused: there is no path around the DATA checks', async () => {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: '127.0.0.2' });
    try {
      const ehlo = await w.cmd('EHLO scanner');
      assert.ok(!ehlo.lines.some((l) => /^(CHUNKING|BINARYMIME)\b/i.test(l)), ehlo.raw);
      await w.cmd('MAIL FROM:<scanner@printer.local>');
      await w.cmd('RCPT TO:<user@example.com>');
      const bdat = await w.cmd('BDAT 20 LAST');
      assert.ok(bdat.code >= 500, bdat.raw);
    } finally {
      w.close();
    }
  });

  for (const [name, seq] of Object.entries(SMUGGLING_SEQUENCES)) {
    for (const split of [false, true]) {
      test(`${name} ${JSON.stringify(seq)}${split ? ' written byte by byte' : ''}: trusted device gets one normalised message, password device 554`, async () => {
        const payload = attack(seq);
        const at = payload.indexOf(seq, 0, 'latin1');
        const cuts = split ? Array.from({ length: seq.length + 12 }, (_, i) => at - 2 + i) : [];
        const want = expectedFor(contentOf(seq), 'normalize');
        assert.equal(want.code, 250);

        const t = await send('trusted', payload, cuts);
        assert.equal(t.code, 250, t.raw);
        accepted.set(/queued as (\S+)/.exec(t.raw)![1]!, want.stored);

        const p = await send('password', payload, cuts);
        assert.equal(p.code, 554, p.raw);
        refused++;
        assert.match(p.raw, /^554 5\.6\.11 Message refused: it contains (a bare LF|a bare CR|a NUL character)/);
      });
    }
  }

  test('a dot-stuffed first line split across TCP segments stays content (CRLF.CRLF is the only end)', async () => {
    const content = Buffer.from('.\r\nMAIL FROM:<ceo@victim.example>\r\n', 'latin1');
    const payload = Buffer.from('..\r\nMAIL FROM:<ceo@victim.example>\r\n.\r\n', 'latin1');
    const end = await send('password', payload, [1, 2, 3]);
    assert.equal(end.code, 250, end.raw);
    const want = expectedFor(content, 'reject');
    assert.equal(want.code, 250);
    accepted.set(/queued as (\S+)/.exec(end.raw)![1]!, want.stored);
  });

  test('upstream: one message per acceptance, smuggled text only as content, no sequence a lenient upstream could end DATA on', async () => {
    await sink.waitForCount(accepted.size, 30_000);
    await sleep(300);
    assert.equal(sink.messages.length, accepted.size, 'exactly one upstream message per accepted message');
    for (const msg of sink.messages) {
      assert.equal(msg.from, 'scanner@printer.local');
      assert.deepEqual(msg.to, ['user@example.com']);
      assert.equal(wireProblem(msg), undefined);
      const text = msg.data.toString('latin1');
      const m = RECEIVED.exec(text);
      assert.ok(m, JSON.stringify(text.slice(0, 200)));
      const want = accepted.get(m[1]!);
      assert.ok(want, `the upstream got ${m[1]}, which was never acknowledged`);
      const rest = msg.data.subarray(Buffer.byteLength(m[0], 'latin1'));
      assert.ok(rest.equals(want), `${m[1]}: ${describeDiff(rest, want)}`);
      if (text.includes('Subject: outer')) assert.ok(/\r\nMAIL FROM:<ceo@victim\.example>\r\nRCPT TO:<finance@victim\.example>\r\nDATA\r\n/.test(text), 'the smuggled commands are content');
      // The stored "." lines (normalised sequences) went out dot-stuffed.
      if (/\r\n\.\r\n/.test(text.slice(0, -2))) assert.match(msg.wire.toString('latin1'), /\r\n\.\.\r\n/);
      if (text.includes('\r\n.dot line\r\n')) assert.ok(msg.wire.toString('latin1').includes('\r\n..dot line\r\n'), 'a dot-led line went out unstuffed');
    }
    const counts = await relay.queueCounts();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.equal(total, accepted.size, `queue: ${JSON.stringify(counts)}`);
    report('hostile input: SMTP smuggling', 'every published sequence, whole and byte by byte', {
      sequences: Object.keys(SMUGGLING_SEQUENCES).length, 'accepted (trusted device)': accepted.size, 'refused (password device)': refused,
      'upstream messages': sink.messages.length, 'early ends on the wire': 0,
    });
    assert.ok(relay.alive());
  });
});
