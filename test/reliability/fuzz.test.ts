/**
 * Property-based fuzzing (fast-check) of the real relay binary over real
 * sockets.
 *
 * SMTP sessions: random sequences of valid and malformed commands (EHLO,
 * HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, VRFY, AUTH, XCLIENT, XFORWARD and
 * PROXY lines naming a trusted address, unknown verbs) with random arguments,
 * long lines, NUL, 8-bit bytes, bare CR/LF, fragments, pipelining, AUTH
 * exchanges and whole transactions, from a client that is no device. Properties: every reply is a well-formed SMTP reply, or the relay
 * closes the connection after a 421/221; it never answers MAIL/RCPT with 2xx,
 * DATA with 354 or a message with 250 unless the session logged in; the
 * process never dies; a well-behaved device on other connections is served
 * all along with a bounded latency.
 *
 * MIME: random, malformed MIME (broken boundaries, huge header lines,
 * invalid encodings, deep nesting, 8-bit headers, stray CR/LF/NUL, the
 * smuggling sequences) from an authorised device, written in random TCP
 * pieces. The reply is predicted from the documented behaviour (250, 552
 * for a header section over 1 MB, 554 for a bare line ending from a password
 * device) and must be exactly that; every 250 must reach the upstream byte
 * for byte, except for the documented edits: the Received field prepended,
 * Bcc/Resent-Bcc fields removed, and (network-trusted device) bare CR/LF
 * made CRLF and NUL dropped.
 *
 * RELIABILITY_FULL=1 runs many more cases; RELIABILITY_SEED=N replays one.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hashPassword } from '../../src/identity/password.js';
import { SmtpWire, type Reply } from '../helpers/smtp-wire.js';
import { report } from '../helpers/reliability-report.js';
import {
  FULL, scaled, seed, startHostileRelay, startWireSink, sinkRoute, wellBehavedClient, malformedReply, dataPayload,
  writeInPieces, queueIdInReceived, expectedFor, describeDiff, RECEIVED, type HostileRelay, type WireSink,
} from './hostile.js';
import { session, mimeMessage, FUZZ_USER, FUZZ_PASS, type Action } from './hostile-generators.js';

const REPLY_TIMEOUT = 20_000;
const MIME_USER = 'mimepw';
const MIME_PASS = 'mime pass';
const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** These codes may answer only these commands (or, for 334 and 235, a line of an AUTH exchange). */
const ONLY_FOR: Record<number, string> = { 334: 'AUTH', 235: 'AUTH', 354: 'DATA' };

interface SessionResult {
  violations: string[];
  /** Queue ids of messages the relay accepted (only ever after a login). */
  accepted: string[];
  transcript: string[];
}

/**
 * Plays the actions on one connection. Lines go one at a time and each reply
 * is checked before the next line, except pipelined groups of mode-neutral
 * commands. After a 354 the rest of the action (or the next action) is
 * message content; after a 334 the next line is the AUTH response.
 */
async function playSession(port: number, actions: Action[]): Promise<SessionResult> {
  const res: SessionResult = { violations: [], accepted: [], transcript: [] };
  const w = await SmtpWire.open(port, { noGreeting: true });
  // Changed by the reply handler, read through inData() so that TypeScript does not narrow it.
  const st: { mode: 'cmd' | 'auth' | 'data' } = { mode: 'cmd' };
  const inData = () => st.mode === 'data';
  let authed = false;
  let partial = '';
  let finished = false;
  const note = (s: string) => res.transcript.push(s.length > 200 ? `${s.slice(0, 200)}… (${s.length} chars)` : s);
  const violation = (s: string) => {
    res.violations.push(s);
    finished = true;
  };

  /** Reads one reply for `what`; false when the session is over. */
  const reply = async (verb: string, what: string): Promise<Reply | undefined> => {
    let r: Reply;
    try {
      r = await w.read(REPLY_TIMEOUT);
    } catch (err) {
      if (w.closed) violation(`connection closed without a reply to ${JSON.stringify(what.slice(0, 120))}${w.pending ? `; unparsed bytes ${JSON.stringify(w.pending.slice(0, 200))}` : ''}`);
      else violation(`no reply within ${REPLY_TIMEOUT} ms to ${JSON.stringify(what.slice(0, 120))}: ${(err as Error).message}`);
      return undefined;
    }
    note(`S: ${r.raw}`);
    const bad = malformedReply(r);
    if (bad) violation(`malformed reply to ${JSON.stringify(what.slice(0, 120))}: ${bad}`);
    const only = ONLY_FOR[r.code];
    if (only && !(only === verb || (st.mode === 'auth' && r.code !== 354))) violation(`${r.code} in answer to ${JSON.stringify(what.slice(0, 120))}`);
    if (r.code === 421 || (verb === 'QUIT' && r.code === 221)) {
      try {
        await w.waitClosed(5_000);
      } catch {
        violation(`still connected 5 s after ${r.raw}`);
      }
      finished = true;
      return r;
    }
    if (st.mode === 'auth') {
      if (r.code === 235) authed = true;
      if (r.code !== 334) st.mode = 'cmd';
      return r;
    }
    if (verb === 'AUTH') {
      if (r.code === 334) st.mode = 'auth';
      if (r.code === 235) authed = true;
    }
    if (!authed) {
      if ((verb === 'MAIL' || verb === 'RCPT') && r.code < 300) violation(`OPEN RELAY: ${r.raw} to ${JSON.stringify(what)} without a login`);
      if (verb === 'DATA' && r.code === 354) violation(`OPEN RELAY: DATA accepted without a login (${r.raw})`);
    }
    if (verb === 'DATA' && r.code === 354) st.mode = 'data';
    return r;
  };

  const sendData = async (content: Buffer, cuts: number[]) => {
    const payload = dataPayload(content);
    note(`C: <message, ${content.length} bytes>`);
    await writeInPieces(w, payload, cuts);
    st.mode = 'cmd';
    const r = await reply('<end of data>', '<end of data>');
    if (!r) return;
    if (r.code === 250) {
      if (!authed) violation(`OPEN RELAY: message accepted without a login (${r.raw})`);
      const id = /queued as (\S+)/.exec(r.raw)?.[1];
      if (!id) violation(`250 without a queue id: ${r.raw}`);
      else res.accepted.push(id);
    }
  };

  /**
   * Sends command text (after the fragment left from before), one line at a
   * time and each answered before the next, or pipelined; returns the text
   * left over when the relay went into DATA mode, undefined otherwise.
   */
  const playText = async (more: string, pipelined: boolean): Promise<string | undefined> => {
    const text = partial + more;
    partial = '';
    const lines: { line: string; raw: string; end: number }[] = [];
    const re = /\r?\n/g;
    let pos = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      lines.push({ line: text.slice(pos, m.index), raw: text.slice(pos, m.index + m[0].length), end: m.index + m[0].length });
      pos = m.index + m[0].length;
    }
    const rest = text.slice(pos);
    const verbOf = (line: string) => (st.mode === 'auth' ? '<auth response>' : line.split(' ')[0]!.toUpperCase());
    const neutral = (line: string) => !['DATA', 'AUTH', 'STARTTLS', 'QUIT', 'BDAT'].includes(line.split(' ')[0]!.toUpperCase());
    if (pipelined && st.mode === 'cmd' && lines.length > 1 && lines.every((l) => neutral(l.line))) {
      note(`C: <pipelined ${lines.length} lines> ${JSON.stringify(text.slice(0, 150))}`);
      w.write(Buffer.from(lines.map((l) => l.raw).join(''), 'latin1'));
      for (const l of lines) {
        if (finished) break;
        await reply(verbOf(l.line), l.line);
      }
      partial = rest;
      return undefined;
    }
    let consumed = 0;
    for (const l of lines) {
      if (finished || inData()) break;
      note(`C: ${JSON.stringify(l.raw)}`);
      w.write(Buffer.from(l.raw, 'latin1'));
      await reply(verbOf(l.line), l.line);
      consumed = l.end;
    }
    if (finished) return undefined;
    if (inData()) return text.slice(consumed);
    partial = rest;
    return undefined;
  };

  try {
    const greet = await reply('<greeting>', '<greeting>');
    if (greet && greet.code !== 220) violation(`greeting ${greet.raw}`);
    for (const a of actions) {
      if (finished || w.closed) break;
      if (inData()) {
        // The relay waits for a message: whatever the client sends now is one.
        const content = a.kind === 'message' ? a.lines + a.content : a.text;
        await sendData(Buffer.from(partial + content, 'latin1'), a.kind === 'message' ? a.cuts : []);
        partial = '';
        continue;
      }
      const left = await playText(a.kind === 'message' ? a.lines : a.text, a.kind === 'pipeline');
      if (finished) break;
      if (left !== undefined) await sendData(Buffer.from(left + (a.kind === 'message' ? a.content : ''), 'latin1'), a.kind === 'message' ? a.cuts : []);
      else if (a.kind === 'message' && a.asCommands) {
        const again = await playText(a.content, false);
        if (again !== undefined && !finished) await sendData(Buffer.from(again, 'latin1'), []);
      }
    }
    if (!finished && !w.closed && st.mode === 'cmd' && partial === '') {
      w.write('QUIT\r\n');
      await reply('QUIT', 'QUIT');
    }
  } finally {
    w.close();
  }
  return res;
}

// ---------------------------------------------------------------------------

describe('hostile input: fuzzing the SMTP session and MIME handling', () => {
  let relay: HostileRelay;
  let sink: WireSink;
  /** Every queue id the relay acknowledged with 250, to whom, and (MIME) what the upstream must get. */
  const acked = new Map<string, { by: string; stored?: Buffer; input?: string }>();

  before(async () => {
    sink = await startWireSink();
    relay = await startHostileRelay(`trustLoopback: false
listeners:
  - { name: main, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true, maxMessageSize: 16MB, socketTimeout: 30s }
devices:
  - { name: fuzzdev, username: ${FUZZ_USER}, passwordHash: "${await hashPassword(FUZZ_PASS)}" }
  - { name: mime-pw, username: ${MIME_USER}, passwordHash: "${await hashPassword(MIME_PASS)}" }
  - { name: well-behaved, networks: [127.0.0.2/32] }
  - { name: mime-lan, networks: [127.0.0.3/32] }
security: { authFailureLimit: 1000000, authFailureDelay: 5ms }
${sinkRoute(sink)}`);
  });

  after(async () => {
    await relay?.stop();
    await sink?.close();
  });

  test('random SMTP sessions: well-formed replies or a clean close, never an open relay, the relay survives, others are served', async (t) => {
    const port = relay.port();
    const client = wellBehavedClient(port, '127.0.0.2', { pauseMs: 100 });
    let runs = 0;
    let messages = 0;
    const codes = new Map<number, number>();
    const closes = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(session, async (actions) => {
          runs++;
          const r = await playSession(port, actions);
          for (const line of r.transcript) {
            const m = /^S: (\d{3})/.exec(line);
            if (m) codes.set(Number(m[1]), (codes.get(Number(m[1])) ?? 0) + 1);
            const why = /^S: 421 (?:\d\.\d\.\d )?(.{0,40})/.exec(line)?.[1]?.replace(/\d+/g, 'N');
            if (why) closes.set(why, (closes.get(why) ?? 0) + 1);
          }
          messages += r.accepted.length;
          for (const id of r.accepted) acked.set(id, { by: 'fuzz session (logged in)' });
          assert.ok(relay.alive(), `the relay process died: ${relay.proc.stderr()}`);
          assert.deepEqual(r.violations, [], `violations; transcript:\n${r.transcript.join('\n')}`);
        }),
        { numRuns: scaled(120, 1500), seed: seed(), endOnFailure: !FULL },
      );
    } finally {
      const stats = await client.stop();
      for (const id of stats.accepted) acked.set(id, { by: 'well-behaved client' });
      t.diagnostic(`${runs} sessions, ${messages} messages accepted after a login; reply codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])))}; ` +
        `421 closes ${JSON.stringify(Object.fromEntries(closes))}; ` +
        `well-behaved: ${stats.accepted.length} accepted, ${stats.failures.length} failed, latency median ${stats.median()} ms, max ${stats.max()} ms`);
      report('hostile input: fuzzing', 'random SMTP sessions from a client that is no device', {
        cases: runs, 'accepted after a login': messages, '421 closes': [...closes.values()].reduce((a, b) => a + b, 0),
        'well-behaved sessions': stats.accepted.length, 'well-behaved failures': stats.failures.length, 'well-behaved max ms': stats.max(),
      });
      assert.deepEqual(stats.failures, [], 'the well-behaved client was not served');
      assert.ok(stats.accepted.length >= 3, `the well-behaved client sent only ${stats.accepted.length} messages`);
      assert.ok(stats.max() < 3_000, `well-behaved session latency up to ${stats.max()} ms`);
    }
  });

  test('random malformed MIME from authorised devices: the documented reply, and every 250 reaches the upstream byte for byte', async (t) => {
    const port = relay.port();
    const client = wellBehavedClient(port, '127.0.0.2', { pauseMs: 100 });
    const tally = { 250: 0, 552: 0, 554: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(
          mimeMessage({ maxDepth: scaled(4, 6), maxHeaderValue: scaled(150_000, 1_300_000), maxParts: 3 }),
          fc.constantFrom('normalize', 'reject'),
          fc.array(fc.nat(), { maxLength: 6 }),
          async (message, mode, cuts) => {
            const content = Buffer.from(message, 'latin1');
            const want = expectedFor(content, mode);
            const w = await SmtpWire.open(port, mode === 'normalize' ? { localAddress: '127.0.0.3' } : {});
            try {
              assert.equal((await w.cmd('EHLO mime')).code, 250);
              if (mode === 'reject') assert.equal((await w.cmd(`AUTH PLAIN ${b64(`\0${MIME_USER}\0${MIME_PASS}`)}`)).code, 235);
              assert.equal((await w.cmd('MAIL FROM:<scanner@printer.local>')).code, 250);
              assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
              assert.equal((await w.cmd('DATA')).code, 354);
              await writeInPieces(w, dataPayload(content), cuts);
              const end = await w.read(REPLY_TIMEOUT);
              assert.equal(malformedReply(end), undefined);
              assert.equal(end.code, want.code, `expected ${want.code}${'why' in want ? ` (${want.why})` : ''}, got ${end.raw}`);
              if (want.code === 554) assert.match(end.raw, /^554 5\.6\.11 /);
              if (want.code === 552) assert.match(end.raw, /^552 5\.3\.4 Message header section too large/);
              tally[want.code]++;
              if (want.code === 250) acked.set(/queued as (\S+)/.exec(end.raw)![1]!, { by: `MIME (${mode})`, stored: want.stored, input: message });
              // In step: the next reply answers the next command.
              const noop = await w.cmd('NOOP');
              assert.equal(noop.code, 250, noop.raw);
              assert.equal(w.pending, '');
            } finally {
              w.close();
            }
            assert.ok(relay.alive(), `the relay process died: ${relay.proc.stderr()}`);
          },
        ),
        { numRuns: scaled(80, 600), seed: seed(), endOnFailure: !FULL },
      );
    } finally {
      const stats = await client.stop();
      for (const id of stats.accepted) acked.set(id, { by: 'well-behaved client' });
      t.diagnostic(`replies ${JSON.stringify(tally)}; well-behaved: ${stats.accepted.length} accepted, ${stats.failures.length} failed, max latency ${stats.max()} ms`);
      report('hostile input: fuzzing', 'random malformed MIME from authorised devices', {
        cases: tally[250] + tally[552] + tally[554], 'accepted (250)': tally[250], 'header too big (552)': tally[552], 'bare CR/LF/NUL refused (554)': tally[554],
        'well-behaved sessions': stats.accepted.length, 'well-behaved failures': stats.failures.length, 'well-behaved max ms': stats.max(),
      });
      assert.deepEqual(stats.failures, [], 'the well-behaved client was not served');
    }
  });

  test('every acknowledged message reached the upstream (the MIME ones byte for byte), and nothing else did', async () => {
    const byId = () => {
      const m = new Map<string, Buffer>();
      for (const msg of sink.messages) {
        const id = queueIdInReceived(msg.data);
        assert.ok(id, `a message without the relay's Received field reached the upstream: ${JSON.stringify(msg.data.subarray(0, 200).toString('latin1'))}`);
        m.set(id, msg.data);
      }
      return m;
    };
    const deadline = Date.now() + 30_000;
    let got = byId();
    while ([...acked.keys()].some((id) => !got.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      got = byId();
    }
    const missing = [...acked].filter(([id]) => !got.has(id));
    assert.deepEqual(missing.map(([id, a]) => `${id} (${a.by})`), [], 'acknowledged with 250 but never delivered');
    const extra = [...got.keys()].filter((id) => !acked.has(id));
    assert.deepEqual(extra, [], 'delivered although never acknowledged to an authorised client');
    let compared = 0;
    for (const [id, a] of acked) {
      if (!a.stored) continue;
      const data = got.get(id)!;
      const m = RECEIVED.exec(data.toString('latin1'));
      assert.ok(m, `${id}: no Received field first: ${JSON.stringify(data.subarray(0, 200).toString('latin1'))}`);
      assert.equal(m[1], id);
      const rest = data.subarray(Buffer.byteLength(m[0], 'latin1'));
      assert.ok(rest.equals(a.stored), `${id}: ${describeDiff(rest, a.stored)}\ninput: ${JSON.stringify(a.input!.slice(0, 2000))}`);
      compared++;
    }
    for (const msg of sink.messages) {
      // eslint-disable-next-line no-control-regex
      assert.ok(!/\r(?!\n)|(?<!\r)\n|\x00/.test(msg.wire.toString('latin1')), 'bare CR/LF or NUL on the wire to the upstream');
    }
    assert.ok(compared > 0 || !acked.size, 'no MIME message was compared');
    report('hostile input: fuzzing', 'every 250 delivered, nothing else', { 'acknowledged': acked.size, 'delivered': got.size, 'compared byte for byte': compared });
  });

  test('after all of it the relay stops cleanly (exit code 0)', async () => {
    assert.ok(relay.alive(), relay.proc.stderr());
    const st = await relay.stop();
    assert.deepEqual(st, { code: 0, signal: null }, relay.proc.stderr());
  });
});
