/**
 * nmap's smtp-open-relay script (Debian nmap) against the real relay binary.
 * The script tries 16 MAIL FROM / RCPT TO pairs (null sender, % hack, quoted
 * local parts, source routes, bang paths, a second @) towards an outside
 * domain.
 *
 * From an address that is no device, on a plain, a STARTTLS and a
 * requireAuth listener, nmap must report that the server is not an open
 * relay. From a network-trusted device (the loopback with trustLoopback,
 * the default) a plain outside recipient is accepted by design — relaying
 * for its devices is the relay's job, so nmap calls that an open relay —
 * but none of the 12 relay-trick pairs may be. Nothing reaches the upstream
 * and nothing is queued.
 *
 * A missing nmap fails the test (apt-get install nmap); it is never skipped.
 * The script is run with "+" so that it runs on any port without -sV.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/identity/password.js';
import { run } from '../helpers/tools.js';
import { report } from '../helpers/reliability-report.js';
import { startHostileRelay, startWireSink, sinkRoute, requireInstalled, type HostileRelay, type WireSink } from './hostile.js';

const OUTSIDE = 'nmap.scanme.org';
const TARGET = `relaytest@${OUTSIDE}`;

interface NmapResult {
  output: string;
  /** The script's verdict line. */
  verdict: string;
  /** The pairs nmap reports as relayed (with -vv). */
  relayed: { from: string; to: string }[];
}

async function openRelayScan(port: number): Promise<NmapResult> {
  const nmap = requireInstalled('nmap', 'nmap');
  const r = await run(nmap, [
    '-Pn', '-n', '-vv', '-p', String(port), '--script', '+smtp-open-relay',
    '--script-args', `smtp-open-relay.domain=${OUTSIDE},smtp-open-relay.ip=127.0.0.1`, '127.0.0.1',
  ], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `nmap exited ${r.code}: ${r.stderr}\n${r.stdout}`);
  const verdict = /smtp-open-relay: (.*)/.exec(r.stdout)?.[1]?.trim();
  assert.ok(verdict, `the smtp-open-relay script did not report on port ${port}:\n${r.stdout}`);
  const relayed = [...r.stdout.matchAll(/MAIL FROM:<([^>]*)> -> RCPT TO:<([^>]*)>/g)].map((m) => ({ from: m[1]!, to: m[2]! }));
  return { output: r.stdout, verdict, relayed };
}

function reportScan(scenario: string, r: NmapResult): void {
  report('hostile input: nmap smtp-open-relay', scenario, {
    verdict: r.verdict, 'pairs accepted': r.relayed.length, 'relay-trick pairs accepted': r.relayed.filter((p) => p.to !== TARGET).length,
  });
}

const NOT_OPEN = /^Server (isn't an open relay|doesn't seem to be an open relay)/;

describe('nmap smtp-open-relay against the relay', () => {
  let sink: WireSink;
  let unknown: HostileRelay;
  let trusted: HostileRelay;

  before(async () => {
    sink = await startWireSink();
    const hash = await hashPassword('pw');
    [unknown, trusted] = await Promise.all([
      startHostileRelay(`trustLoopback: false
listeners:
  - { name: plain, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true }
  - { name: submission, host: 127.0.0.1, port: 0, tls: starttls }
  - { name: auth-only, host: 127.0.0.1, port: 0, tls: none, requireAuth: true, allowInsecureAuth: true }
devices:
  - { name: mfp, username: mfp, passwordHash: "${hash}" }
  - { name: lan, networks: [127.0.0.2/32] }
${sinkRoute(sink)}`, { listeners: 3 }),
      startHostileRelay(`trustLoopback: true
listeners:
  - { name: plain, host: 127.0.0.1, port: 0, tls: none }
  - { name: auth-only, host: 127.0.0.1, port: 0, tls: none, requireAuth: true, allowInsecureAuth: true }
devices:
  - { name: mfp, username: mfp, passwordHash: "${hash}" }
${sinkRoute(sink)}`, { listeners: 2 }),
    ]);
  });
  after(async () => {
    await Promise.all([unknown?.stop(), trusted?.stop()]);
    await sink?.close();
  });

  for (const listener of ['plain', 'submission', 'auth-only']) {
    test(`a client that is no device, ${listener} listener: nmap reports no open relay`, async () => {
      const r = await openRelayScan(unknown.port(listener));
      reportScan(`no device, ${listener} listener`, r);
      assert.match(r.verdict, NOT_OPEN, r.output);
      assert.deepEqual(r.relayed, []);
    });
  }

  test('a requireAuth listener, even from a trusted address: nmap reports no open relay', async () => {
    const r = await openRelayScan(trusted.port('auth-only'));
    reportScan('trusted address, requireAuth listener', r);
    assert.match(r.verdict, NOT_OPEN, r.output);
  });

  test('a network-trusted device: only plain outside recipients are accepted, none of the 12 relay-trick pairs', async () => {
    const r = await openRelayScan(trusted.port('plain'));
    reportScan('network-trusted device', r);
    // nmap counts the pairs it could relay; for a trusted device that is the plain recipient only.
    assert.ok(r.relayed.length > 0, `expected the plain pairs to be accepted for a trusted device:\n${r.output}`);
    for (const p of r.relayed) assert.equal(p.to, TARGET, `a relay-trick recipient was accepted: ${JSON.stringify(p)}\n${r.output}`);
    assert.match(r.verdict, new RegExp(`^Server is an open relay \\(${r.relayed.length}/16 tests\\)`), r.output);
  });

  test('nothing reached the upstream and nothing was queued', async () => {
    assert.equal(sink.connections, 0);
    assert.equal(sink.messages.length, 0);
    for (const relay of [unknown, trusted]) {
      const counts = await relay.queueCounts();
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0, JSON.stringify(counts));
      assert.ok(relay.alive());
    }
  });
});
