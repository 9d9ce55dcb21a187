/**
 * `authrelay serve` as a process: it refuses a broken config and a busy port
 * with exit 1 and a message that says why, and stops cleanly on SIGTERM and
 * SIGINT (exit 0, "stopped" logged, the spool closed so the next start finds
 * nothing to clean up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { cli, cliJson, startRelayProcess, tempDir, writeConfig } from '../helpers/relay-process.js';

const config = (port: number) => `hostname: relay.test
dataDir: ./data
admin: { listen: "127.0.0.1:0" }
listeners: [{ name: main, host: 127.0.0.1, port: ${port}, tls: none }]
`;

test('serve with a broken config: exit 1, the key and the fix on stderr, nothing listens', async () => {
  const dir = tempDir();
  try {
    const f = writeConfig(dir, `${config(0)}queue: { pollInterval: often }\n`);
    const r = await cli(['serve', '--config', f], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /queue\.pollInterval: "often" is not a duration; write it like 30s/);
    assert.ok(!r.stdout.includes('"listening"'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve on a port that is taken: exit 1 and a fatal start-failed line naming the address', async () => {
  const dir = tempDir();
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await cli(['serve', '--config', writeConfig(dir, config(port))], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const fatal = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'start-failed');
    assert.ok(fatal, r.stdout);
    assert.equal(fatal.level, 'fatal');
    assert.match(String(fatal.msg), new RegExp(`could not start: listener main \\(127\\.0\\.0\\.1:${port}\\): port ${port} is already in use by another program\\. Find it with \`ss -ltnp 'sport = :${port}'\``));
  } finally {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`serve stops cleanly on ${signal}`, { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const f = writeConfig(dir, config(0));
    try {
      const relay = await startRelayProcess(f);
      const w = await SmtpWire.open(relay.port);
      await w.cmd('EHLO ups.test');
      const r = await sendRaw(w, 'ups@device.test', ['admin@example.com'], 'Subject: before stop\r\n\r\nx\r\n.\r\n');
      w.close();
      assert.equal(r.end?.code, 250);
      const st = await relay.kill(signal);
      assert.deepEqual(st, { code: 0, signal: null }, relay.stderr());
      assert.ok(relay.logs.some((l) => l.event === 'shutdown' && l.signal === signal));
      assert.ok(relay.logs.some((l) => l.event === 'stopped'), 'no "stopped" line: the log was not flushed or stop did not finish');
      const again = await startRelayProcess(f);
      await again.stop();
      assert.ok(!again.logs.some((l) => l.event === 'spool-cleanup' || l.event === 'recovered'), 'a clean stop left work for the next start');
      const list = await cliJson<{ counts: Record<string, number> }>(['queue', 'list', '--config', f]);
      assert.equal(list.counts.held, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
