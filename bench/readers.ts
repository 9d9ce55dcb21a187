/**
 * Legacy readers (issue 14, docs/imap-pop.md): N concurrent IMAP clients
 * each FETCH a large message (20 × 25 MB by default) through the relay's
 * IMAP listener (implicit TLS, a device password, XOAUTH2 to the upstream),
 * and the same N fetches straight from the mail server (XOAUTH2 with the
 * app token): the throughput ratio (proxied over direct) and the relay's
 * peak RSS (VmHWM of the relay process, which runs as `npm start` runs it).
 *
 * The mail server is the tests' Dovecot (Debian's dovecot-imapd) validating
 * the Microsoft 365 emulator's app tokens (test/helpers/dovecot.ts); the
 * relay is the built binary started on a configuration with an
 * exchange-mailbox upstream pointing at it. Every fetch is hashed as it
 * streams in and compared with the message Dovecot holds.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { startRelay } from './authrelay.js';
import { LOOPBACK } from './lib/proc.js';
import { bigMessage, PASSWORD, startWorld } from '../test/proxy/fixture.js';
import { streamingFetch } from '../test/proxy/wire.js';
import { freePort } from '../test/helpers/tools.js';
import { xoauth2InitialResponse } from '../src/proxy/common/xoauth2.js';

const MB = 1024 * 1024;

export interface ReaderBenchOptions {
  clients: number;
  sizeMB: number;
  /** Repetitions of each side (alternating, direct first); the median time is kept. */
  reps: number;
  relayNodeArgs: string[];
  progress: (line: string) => void;
}

export interface ReaderBenchResult {
  clients: number;
  sizeMB: number;
  /** Median wall time of the N fetches, each side. */
  directSeconds: number;
  proxiedSeconds: number;
  /** MB/s over all clients, each side. */
  directMBps: number;
  proxiedMBps: number;
  /** proxied throughput / direct throughput. */
  ratio: number;
  /** Peak RSS of the relay process over the whole run (VmHWM), and right after its start. */
  peakRssMB: number;
  startRssMB: number;
  /** Every fetch was byte-equal with the message the server holds. */
  intact: boolean;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function acceptsConnections(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, LOOPBACK, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runReaders(o: ReaderBenchOptions): Promise<ReaderBenchResult> {
  const w = await startWorld(['IMAP.AccessAsApp']);
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  try {
    const raw = bigMessage(o.sizeMB * MB, `a ${o.sizeMB} MB scan`);
    const expected = { size: raw.length, sha256: createHash('sha256').update(raw).digest('hex') };
    w.dovecot.deliver(w.alice, raw);
    const ca = join(w.dovecot.dir, 'bench-ca.pem');
    writeFileSync(ca, `${w.emu.caPem.trim()}\n${w.certPem.trim()}\n`);
    const imapPort = await freePort();
    relay = await startRelay({
      nodeArgs: o.relayNodeArgs,
      extra: {
        tls: { cert: w.certFile, key: w.keyFile },
        listeners: [
          { name: 'bench', host: LOOPBACK, port: 0, tls: 'none' },
          { name: 'imaps', protocol: 'imap', host: LOOPBACK, port: imapPort, tls: 'implicit', upstream: 'exchange', maxClients: Math.max(100, o.clients * 2) },
        ],
        devices: [{ name: 'reader', username: 'reader', passwordHash: w.devices[0]!.passwordHash!, mailboxes: [w.alice] }],
        upstreams: {
          exchange: {
            type: 'exchange-mailbox', tenant: w.tenant.id, clientId: w.app.clientId, clientSecret: w.secret,
            endpoints: { authority: w.emu.authorityHost, imap: `127.0.0.1:${w.dovecot.imapPort}` }, ca,
          },
        },
        admin: { enabled: false },
      },
    });
    // Ready is the first "listening" line (SMTP, which accepts first); the IMAP listener opens right after it.
    await acceptsConnections(imapPort, 15_000);
    const startRssMB = relay.startupMemory.rssBytes / MB;
    const token = (await w.tokens().getToken()).token;
    const direct = `AUTHENTICATE XOAUTH2 ${xoauth2InitialResponse(w.alice, token)}`;
    const fetchAll = async (port: number, login: string | undefined): Promise<{ seconds: number; intact: boolean }> => {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: o.clients }, () => streamingFetch(port, w.certPem, 'reader', PASSWORD, login)));
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, intact: results.every((r) => r.size === expected.size && r.sha256 === expected.sha256) };
    };
    // Warm-up: the relay's first token, the password check, TLS session set-up.
    await fetchAll(imapPort, undefined);
    const times = { direct: [] as number[], proxied: [] as number[] };
    let intact = true;
    for (let rep = 1; rep <= o.reps; rep++) {
      const d = await fetchAll(w.dovecot.imapPort, direct);
      const p = await fetchAll(imapPort, undefined);
      times.direct.push(d.seconds);
      times.proxied.push(p.seconds);
      intact &&= d.intact && p.intact;
      o.progress(`  readers, repetition ${rep}/${o.reps}: ${o.clients} × ${o.sizeMB} MB direct ${d.seconds.toFixed(2)} s, through the relay ${p.seconds.toFixed(2)} s\n`);
    }
    const peak = relay.peakRss();
    const total = o.clients * raw.length / MB;
    const directSeconds = median(times.direct);
    const proxiedSeconds = median(times.proxied);
    return {
      clients: o.clients, sizeMB: o.sizeMB, directSeconds, proxiedSeconds,
      directMBps: total / directSeconds, proxiedMBps: total / proxiedSeconds, ratio: directSeconds / proxiedSeconds,
      peakRssMB: (peak ?? 0) / MB, startRssMB, intact,
    };
  } finally {
    await relay?.stop();
    await w.close();
  }
}
