/**
 * 20 reloads during a stream of messages, with the real binary (`authrelay
 * serve`): devices added and removed, a second listener opened and closed, the
 * upstream's settings changed (a new transport), the queue's settings
 * changed, through `authrelay reload` and SIGHUP in turn. Every message the
 * relay acknowledged reaches the upstream, none is refused, and no connection
 * to the listener that does not change is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { startUpstream } from '../helpers/upstream.js';
import { cli, startRelayProcess, tempDir, writeConfig, sleep, until } from '../helpers/relay-process.js';
import { missingSeqs, prng, startLoad, tallyDeliveries } from '../helpers/crash-load.js';
import { report } from '../helpers/reliability-report.js';

const FULL = process.env.RELIABILITY_FULL === '1';
const RELOADS = 20;
const WORKERS = FULL ? 8 : 4;

function configText(upstreamPort: number, n: number): string {
  const extra = Array.from({ length: n % 4 }, (_, i) => `  - { name: extra-${i}, networks: [192.0.2.${i + 1}/32] }`);
  return `hostname: relay.test
dataDir: ./data
listeners:
  - { name: main, host: 127.0.0.1, port: 0, tls: none }
${n % 2 === 1 ? '  - { name: spare, host: 127.0.0.1, port: 0, tls: starttls }\n' : ''}devices:
  - { name: printer, networks: [192.0.2.200/32] }
${extra.join('\n')}
upstreams:
  sink: { type: smtp, host: 127.0.0.1, port: ${upstreamPort}, tls: none, concurrency: ${n % 3 === 0 ? 4 : 2}, connectTimeout: 2s }
queue: { pollInterval: 200ms, minBackoff: ${n % 2 === 0 ? '1s' : '2s'} }
admin: { enabled: false }
log: { level: info }
`;
}

test('20 reloads during a stream of messages: none lost, none refused, no connection refused on the unchanged listener', { timeout: 240_000 }, async () => {
  const dir = tempDir('authrelay-reload-');
  const up = await startUpstream();
  const file = writeConfig(dir, configText(up.port, 0));
  const relay = await startRelayProcess(file);
  const port = relay.port;
  const load = startLoad(port, WORKERS, prng(20261206));
  const versions: string[] = [];
  let sighups = 0;
  try {
    for (let n = 1; n <= RELOADS; n++) {
      await sleep(FULL ? 1_500 : 600);
      writeFileSync(file, configText(up.port, n));
      if (n % 2 === 0) {
        const r = await cli(['reload', '--config', file]);
        assert.equal(r.code, 0, `reload ${n}: ${r.stderr}${r.stdout}`);
        versions.push(/configuration (\d+) /.exec(r.stdout)?.[1] ?? '?');
      } else {
        sighups++;
        relay.child.kill('SIGHUP');
        const line = await relay.waitForLog((l) => l.event === 'reloaded' && String(l.configVersion).startsWith(`${n + 1} `), 15_000);
        versions.push(String(line.configVersion).split(' ')[0]!);
      }
    }
    await sleep(1_000);
  } finally {
    await load.stop();
  }
  const acked = load.stats.acked;
  try {
    // Tallied as messages arrive (each is parsed once): counting them all again every 100 ms took the test
    // process, which is also the upstream, most of its time once thousands had arrived, and held up the
    // upstream's answers.
    let tally = tallyDeliveries(up.received, load.stats.sizes);
    await until(() => {
      tally = tallyDeliveries(up.received, load.stats.sizes, tally);
      return missingSeqs(acked, tally).length === 0 ? true : undefined;
    }, 60_000, () => `${missingSeqs(acked, tallyDeliveries(up.received, load.stats.sizes, tally)).length} acknowledged message(s) not delivered`);
  } finally {
    assert.equal((await relay.stop()).code, 0);
    await up.close();
  }
  const delivered = tallyDeliveries(up.received, load.stats.sizes);
  const figures = {
    reloads: RELOADS, 'by SIGHUP': sighups, sent: load.stats.attempted, acknowledged: acked.size, delivered: delivered.count.size,
    duplicates: [...delivered.count.values()].filter((c) => c > 1).length, lost: missingSeqs(acked, delivered).length,
    'refused (final reply not 250)': load.stats.refusals.length, 'connections refused': load.stats.connectionErrors, corrupt: delivered.corrupt.length,
  };
  report('reload', 'reloads during a stream of messages (devices, a listener, the upstream, the queue changed)', figures);
  assert.deepEqual(versions, Array.from({ length: RELOADS }, (_, i) => String(i + 2)), 'every reload was applied, in order');
  assert.equal(figures.lost, 0);
  assert.equal(figures.corrupt, 0);
  assert.deepEqual(load.stats.refusals, []);
  assert.equal(figures['connections refused'], 0);
  assert.ok(acked.size > 100, `enough messages went through (${acked.size})`);
  rmSync(dir, { recursive: true, force: true });
});
