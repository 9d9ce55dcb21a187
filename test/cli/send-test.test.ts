/**
 * `authrelay send-test` with the real binary against a running relay: it
 * sends over SMTP, follows the message through the queue and prints each
 * step; exit 0 when delivered, 2 when held by the capture route, 1 when the
 * relay cannot be reached, 2 for a usage error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/tools.js';
import { cli, startRelayProcess, tempDir, writeConfig } from '../helpers/relay-process.js';

const base = (extra = '') => `hostname: relay.test
dataDir: ./data
admin: { listen: "127.0.0.1:0" }
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
queue: { pollInterval: 100ms, minBackoff: 1s, maxBackoff: 2s }
${extra}`;

test('send-test through a relay with an upstream: exit 0, each step printed, the upstream has the message', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  const config = writeConfig(dir, base(`upstreams: { up: { type: smtp, host: 127.0.0.1, port: ${up.port}, tls: none } }\n`));
  const relay = await startRelayProcess(config);
  try {
    const r = await cli(['send-test', '--to', 'x@y.example', '--port', String(relay.port), '--wait', '30s', '--config', config]);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}${r.stderr}`);
    const steps = r.stdout.trimEnd().split('\n');
    assert.ok(steps.every((l) => /^\d\d:\d\d:\d\d {2}/.test(l)), r.stdout);
    assert.match(steps[0]!, new RegExp(`connecting to 127\\.0\\.0\\.1:${relay.port} \\(none\\) without AUTH \\(trusted address\\)$`));
    assert.match(steps[1]!, /relay answered: 250 2\.0\.0 OK: queued as [A-Z0-9]{16}$/);
    assert.match(r.stdout, /received: received \d+ bytes from localhost at 127\.0\.0\.1/);
    assert.match(r.stdout, /routed: routed to up \(the only upstream\): x@y\.example/);
    assert.match(r.stdout, /attempt: delivered to 1 recipient\(s\) via up: 250 2\.0\.0 Ok: queued as UP0/);
    assert.match(steps[steps.length - 1]!, /delivered \(\d{4}-\d\d-\d\d /);
    assert.equal(up.received.length, 1);
    assert.deepEqual(up.received[0]!.to, ['x@y.example']);
    assert.match(up.received[0]!.data.toString('utf8'), /^Subject: authrelay test message /m);
  } finally {
    await relay.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send-test when the route is capture: exit 2 and it says the message is held', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const config = writeConfig(dir, base());
  const relay = await startRelayProcess(config);
  try {
    const r = await cli(['send-test', '--to', 'x@y.example', '--port', String(relay.port), '--wait', '30s', '--config', config]);
    assert.equal(r.code, 2, `exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /relay answered: 250 2\.0\.0 OK: queued as ([A-Z0-9]{16})/);
    const id = /queued as ([A-Z0-9]{16})/.exec(r.stdout)![1]!;
    assert.match(r.stdout, /x@y\.example: No upstream delivers this route yet/);
    assert.match(r.stdout, new RegExp(`held; see: authrelay queue show ${id}\\n$`));
  } finally {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send-test without a relay, and without --to', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, base());
  try {
    const port = await freePort(); // nothing listens there
    const r = await cli(['send-test', '--to', 'x@y.example', '--port', String(port), '--config', config]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /the relay refused the test message: .*ECONNREFUSED/);
    const usage = await cli(['send-test', '--config', config]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: authrelay send-test --to ADDR/);
    const badPort = await cli(['send-test', '--to', 'x@y.example', '--port', 'smtp', '--config', config]);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be a TCP port number \(not "smtp"\)/);
    const badWait = await cli(['send-test', '--to', 'x@y.example', '--port', String(port), '--wait', 'a while', '--config', config]);
    assert.equal(badWait.code, 2);
    assert.match(badWait.stderr, /--wait must be a duration such as 30s or 2m \(not "a while"\)/);
    const noPort = await cli(['send-test', '--to', 'x@y.example', '--config', config]);
    assert.equal(noPort.code, 2, 'a port-0 listener needs --port');
    assert.match(noPort.stderr, /give the actual port with --port/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
