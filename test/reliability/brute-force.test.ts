/**
 * Password guessing against the real relay binary (AUTH PLAIN and LOGIN in
 * the clear, allowInsecureAuth): a single guesser that reconnects, guesses
 * pipelined on many connections at once, password spraying over many user
 * names from one address, and one user name guessed from many addresses.
 *
 * The lockout (src/identity/lockout.ts) must engage: no key (client address
 * or user name) gets more than authFailureLimit wrong guesses checked per
 * window, however many connections ask at once; a locked key gets 421 and a
 * disconnect; a wrong password never succeeds; the right password of a
 * device that is not under attack keeps working, also from many
 * connections at once; and the relay keeps running.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/identity/password.js';
import { SmtpWire, type Reply } from '../helpers/smtp-wire.js';
import { report } from '../helpers/reliability-report.js';
import { scaled, startHostileRelay, startWireSink, sinkRoute, malformedReply, sleep, type HostileRelay, type WireSink } from './hostile.js';

const LIMIT = 5;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const plain = (u: string, p: string) => `AUTH PLAIN ${b64(`\0${u}\0${p}`)}`;

interface Tally {
  /** Wrong guesses the relay checked and refused (535). */
  refused: number;
  /** Attempts answered with 421 (locked out), at the greeting or to AUTH. */
  locked: number;
  /** 235: logged in. */
  ok: number;
  other: string[];
}

const tally = (): Tally => ({ refused: 0, locked: 0, ok: 0, other: [] });

function reportTally(scenario: string, t: Tally): void {
  report('hostile input: brute force', scenario, {
    attempts: t.refused + t.locked + t.ok + t.other.length, 'wrong guesses checked (535)': t.refused, 'locked out (421)': t.locked, 'logged in': t.ok,
  });
}

function count(t: Tally, r: Reply | undefined, what: string): void {
  if (!r) return;
  const bad = malformedReply(r);
  if (bad) t.other.push(`${what}: ${bad}`);
  if (r.code === 535) t.refused++;
  else if (r.code === 421) t.locked++;
  else if (r.code === 235) t.ok++;
  else t.other.push(`${what}: ${r.raw}`);
}

/** One connection from `ip`: greeting, EHLO, then the AUTH exchange (PLAIN or LOGIN); returns the final reply. */
async function attempt(port: number, ip: string, user: string, pass: string, method: 'PLAIN' | 'LOGIN'): Promise<Reply> {
  const w = await SmtpWire.open(port, { localAddress: ip, noGreeting: true });
  try {
    const greet = await w.read(15_000);
    if (greet.code !== 220) return greet;
    const ehlo = await w.cmd('EHLO guesser');
    if (ehlo.code !== 250) return ehlo;
    if (method === 'PLAIN') return await w.cmd(plain(user, pass), 15_000);
    const c1 = await w.cmd('AUTH LOGIN');
    if (c1.code !== 334) return c1;
    const c2 = await w.cmd(b64(user));
    if (c2.code !== 334) return c2;
    return await w.cmd(b64(pass), 15_000);
  } finally {
    w.close();
  }
}

// With one process, and with two receiving (workers: 2): the counts are kept once, in the main process.
for (const workers of [1, 2]) describe(`brute force against SMTP AUTH (workers: ${workers})`, () => {
  let relay: HostileRelay;
  let sink: WireSink;
  let port: number;

  before(async () => {
    sink = await startWireSink();
    const devices = await Promise.all(
      ['mfp', 'mfp2', 'mfp3', 'mfp4', 'scanner2', 'app'].map(async (u) => `  - { name: dev-${u}, username: ${u}, passwordHash: "${await hashPassword(`right-${u}`)}" }`),
    );
    relay = await startHostileRelay(`trustLoopback: false
workers: ${workers}
listeners:
  - { name: plain, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true, maxClients: 400 }
devices:
${devices.join('\n')}
security: { authFailureLimit: ${LIMIT}, authFailureWindow: 10m, lockoutDuration: 10m, authFailureDelay: 100ms }
${sinkRoute(sink)}`);
    port = relay.port();
  });
  after(async () => {
    await relay?.stop();
    await sink?.close();
  });

  test('one guesser reconnecting (PLAIN and LOGIN): at most the limit is checked, then 421 at once, never 235', async () => {
    const t = tally();
    const guesses = scaled(40, 300);
    for (let i = 0; i < guesses; i++) {
      count(t, await attempt(port, '127.0.0.10', 'mfp', `guess-${i}`, i % 2 ? 'LOGIN' : 'PLAIN'), `guess ${i}`);
    }
    reportTally('one guesser reconnecting', t);
    assert.deepEqual(t.other, []);
    assert.equal(t.ok, 0, 'a wrong password logged in');
    assert.equal(t.refused, LIMIT - 1, `wrong guesses checked: ${JSON.stringify(t)}`);
    assert.equal(t.locked, guesses - (LIMIT - 1));
    // The same address is refused at the greeting from now on, whatever it tries.
    const greet = await SmtpWire.open(port, { localAddress: '127.0.0.10', noGreeting: true });
    assert.equal((await greet.read()).code, 421);
    await greet.waitClosed();
  });

  test('many attempts in one session: the limit-th failure gets 421 and a disconnect', async () => {
    const w = await SmtpWire.open(port, { localAddress: '127.0.0.11' });
    await w.cmd('EHLO guesser');
    const codes: number[] = [];
    for (let i = 0; i < 20 && !w.closed; i++) {
      try {
        codes.push((await w.cmd(plain('mfp4', `same-session-${i}`), 15_000)).code);
      } catch {
        break;
      }
    }
    assert.deepEqual(codes, [...Array(LIMIT - 1).fill(535), 421]);
    await w.waitClosed();
  });

  test('guesses fired on many connections at once: no more than the limit are checked, and the right password sent among them does not get in', async () => {
    const n = scaled(60, 300);
    // Open every connection first, then fire all the wrong guesses at the same moment.
    const conns = await Promise.all(Array.from({ length: n }, async () => {
      const w = await SmtpWire.open(port, { localAddress: '127.0.0.20' });
      await w.cmd('EHLO parallel');
      return w;
    }));
    const right = await SmtpWire.open(port, { localAddress: '127.0.0.20' });
    await right.cmd('EHLO parallel');
    const t = tally();
    try {
      const replies = conns.map((w, i) => w.cmd(plain('mfp2', `parallel-${i}`), 30_000).catch(() => undefined));
      // The right password, a moment after the guesses: by then the limit is used up.
      await sleep(30);
      const good = await right.cmd(plain('mfp2', 'right-mfp2'), 30_000);
      for (const r of await Promise.all(replies)) count(t, r, 'parallel guess');
      reportTally(`${n} guesses at once from one address`, t);
      assert.equal(t.ok, 0, 'a wrong password logged in');
      assert.ok(t.refused <= LIMIT - 1 && t.refused + t.locked === n, `checked ${t.refused} wrong guesses at once (limit ${LIMIT}): ${JSON.stringify(t)}`);
      assert.equal(good.code, 421, `the right password after ${t.refused} wrong ones (limit ${LIMIT}) must find the user and address locked: ${good.raw}`);
      assert.deepEqual(t.other, []);
    } finally {
      for (const w of conns) w.close();
      right.close();
    }
  });

  test('password spraying from one address: the address is locked after the limit', async () => {
    const t = tally();
    for (let i = 0; i < 15; i++) count(t, await attempt(port, '127.0.0.30', `user${i}`, 'Winter2024!', 'PLAIN'), `spray ${i}`);
    reportTally('password spraying from one address', t);
    assert.deepEqual(t.other, []);
    assert.equal(t.ok, 0);
    assert.equal(t.refused, LIMIT - 1);
    assert.equal(t.locked, 15 - (LIMIT - 1));
  });

  test('one user name guessed from many addresses: the user name is locked after the limit', async () => {
    const t = tally();
    for (let i = 0; i < 15; i++) count(t, await attempt(port, `127.0.1.${i + 1}`, 'mfp3', `distributed-${i}`, i % 2 ? 'LOGIN' : 'PLAIN'), `address ${i}`);
    reportTally('one user name from many addresses', t);
    assert.deepEqual(t.other, []);
    assert.equal(t.ok, 0);
    assert.equal(t.refused, LIMIT - 1);
    assert.equal(t.locked, 15 - (LIMIT - 1));
  });

  test('meanwhile another device logs in and sends, also from many connections at once', async () => {
    const r = await attempt(port, '127.0.0.40', 'scanner2', 'right-scanner2', 'LOGIN');
    assert.equal(r.code, 235, r.raw);
    const n = scaled(12, 50);
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const w = await SmtpWire.open(port, { localAddress: '127.0.0.41' });
      try {
        await w.cmd('EHLO app');
        const auth = await w.cmd(plain('app', 'right-app'), 30_000);
        if (auth.code !== 235) return `login ${i}: ${auth.raw}`;
        for (const [c, want] of [['MAIL FROM:<app@printer.local>', 250], ['RCPT TO:<user@example.com>', 250], ['DATA', 354]] as const) {
          const x = await w.cmd(c);
          if (x.code !== want) return `${c}: ${x.raw}`;
        }
        w.write(`Subject: parallel ${i}\r\n\r\nok\r\n.\r\n`);
        const end = await w.read(15_000);
        return end.code === 250 ? 'ok' : `data: ${end.raw}`;
      } finally {
        w.close();
      }
    }));
    assert.deepEqual(results.filter((x) => x !== 'ok'), []);
    assert.ok(Date.now() - t0 < 20_000, `${n} parallel logins took ${Date.now() - t0} ms`);
    await sink.waitForCount(n, 20_000);
    assert.ok(relay.alive());
  });
});
