/**
 * Receiving in several processes (workers: 2): the main process and one
 * receive worker accept on the same listening sockets (the worker only while
 * several sessions are open at once). Every acknowledged
 * message is in the store; metrics, the session view and the log see the
 * worker's sessions; a reload (a new device, a new listener) reaches the
 * worker; a worker that dies is started again; the graceful stop waits for
 * the worker's session; PostgreSQL works as SQLite does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { SmtpWire } from '../helpers/smtp-wire.js';
import { call, setUpAndSignIn } from '../admin/api-client.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { spawn } from 'node:child_process';
import { BIN, englishEnv, tempDir, writeConfig } from '../helpers/relay-process.js';

/** One message over a new connection from `ip`; the reply to the end of DATA. */
async function send(port: number, n: number, ip = '127.0.0.1'): Promise<string> {
  const w = await SmtpWire.open(port, { localAddress: ip });
  try {
    await w.cmd('EHLO tester');
    for (const [c, want] of [['MAIL FROM:<scanner@printer.test>', 250], ['RCPT TO:<user@example.com>', 250], ['DATA', 354]] as const) {
      const r = await w.cmd(c);
      if (r.code !== want) return r.raw;
    }
    w.write(`Subject: message ${n}\r\n\r\nbody ${n}\r\n.\r\n`);
    return (await w.read(15_000)).raw;
  } finally {
    w.close();
  }
}

/** Rounds of parallel messages until the worker has accepted some; returns every 250 reply. */
async function sendUntilWorkerAccepts(relay: TestRelay, port: number, from: string, start = 0): Promise<string[]> {
  const replies: string[] = [];
  for (let round = 0; round < 20; round++) {
    replies.push(...await Promise.all(Array.from({ length: 20 }, (_, i) => send(port, start + round * 20 + i, from))));
    if (acceptedBy(relay, 1, from) > 0) return replies;
  }
  assert.fail(`the receive worker accepted none of ${replies.length} messages`);
}

/** Messages accepted by worker n (0: the main process) from this address, as the log says. */
function acceptedBy(relay: TestRelay, worker: number, from?: string): number {
  return relay.logs.filter((l) => l.event === 'state' && l.state === 'incoming' && (l.worker ?? 0) === worker && (!from || l.clientIp === from)).length;
}

async function metric(relay: TestRelay, name: string): Promise<number> {
  const text = await (await fetch(relay.adminUrl('/metrics'))).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

describe('workers: 2 on SQLite', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      workers: 2,
      listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none' }],
      devices: [{ name: 'scanner', networks: ['127.0.0.2/32'] }],
      trustLoopback: true,
    }, { file: true });
  });
  after(async () => relay?.close());

  test('both processes accept; every acknowledged message is stored once; metrics and the session view count the worker', async () => {
    const replies = await sendUntilWorkerAccepts(relay, relay.port(), '127.0.0.2');
    assert.deepEqual(replies.filter((r) => !r.startsWith('250')), []);
    const ids = replies.map(queueIdOf);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.ok(await relay.store.get(id), `${id} is not in the store`);
    // The worker's log lines and counts reach the main process's log and /metrics (sent once per turn of its event loop).
    const deadline = Date.now() + 5_000;
    while (acceptedBy(relay, 0, '127.0.0.2') + acceptedBy(relay, 1, '127.0.0.2') < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(acceptedBy(relay, 0, '127.0.0.2') + acceptedBy(relay, 1, '127.0.0.2'), ids.length);
    while (await metric(relay, 'authrelay_messages_accepted_total') < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await metric(relay, 'authrelay_messages_accepted_total'), ids.length);
    // The device's sessions in the console's view (its last ten) include the worker's: a message the worker logged is there.
    const auth = await setUpAndSignIn(relay);
    const workerIds = () => new Set(relay.logs.filter((l) => l.event === 'state' && l.state === 'incoming' && l.worker === 1).map((l) => String(l.id)));
    let seen = false;
    for (let round = 0; round < 10 && !seen; round++) {
      const sessions = await call(relay, 'GET', '/devices/scanner/sessions', { auth });
      assert.equal(sessions.status, 200);
      const viewed = (sessions.json as { sessions: { events: { kind: string; data?: { id?: string } }[] }[] }).sessions
        .flatMap((x) => x.events.filter((e) => e.kind === 'accepted').map((e) => String(e.data?.id)));
      seen = viewed.some((id) => workerIds().has(id));
      if (!seen) await Promise.all(Array.from({ length: 20 }, (_, i) => send(relay.port(), 5_000 + round * 20 + i, '127.0.0.2')));
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(seen, 'a session of the worker in the console\'s view of the device');
    assert.equal(relay.current().config.workers, 2);
  });

  test('bodies the worker wrote (inline and in files) are read whole from the store', async () => {
    const big = (n: number) => `Subject: large ${n}\r\n\r\n${`line ${n} ${'x'.repeat(70)}\r\n`.repeat(4000)}`;
    const sendBig = async (n: number): Promise<string> => {
      const w = await SmtpWire.open(relay.port(), { localAddress: '127.0.0.2' });
      try {
        await w.cmd('EHLO tester');
        await w.cmd('MAIL FROM:<scanner@printer.test>');
        await w.cmd('RCPT TO:<user@example.com>');
        await w.cmd('DATA');
        w.write(`${big(n)}.\r\n`);
        return (await w.read(30_000)).raw;
      } finally {
        w.close();
      }
    };
    const before = new Set(relay.logs.filter((l) => l.worker === 1 && l.state === 'incoming').map((l) => String(l.id)));
    const sent = new Map<string, number>();
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => sendBig(round * 8 + i).then((r) => [r, round * 8 + i] as const)));
      for (const [r, n] of replies) {
        assert.ok(r.startsWith('250'), r);
        sent.set(queueIdOf(r), n);
      }
      await new Promise((r) => setTimeout(r, 200));
      if ([...sent.keys()].some((id) => !before.has(id) && relay.logs.some((l) => l.worker === 1 && l.id === id && l.state === 'incoming'))) break;
    }
    const byWorker = [...sent.keys()].filter((id) => relay.logs.some((l) => l.worker === 1 && l.id === id && l.state === 'incoming'));
    assert.ok(byWorker.length > 0, 'the worker accepted some of the large messages');
    for (const [id, n] of sent) {
      const m = await relay.store.get(id);
      assert.ok(m, id);
      const chunks: Buffer[] = [];
      for await (const c of relay.store.openBody(m.bodyId)) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('latin1');
      assert.ok(body.endsWith(big(n).split('\r\n\r\n')[1]!), `${id}: the body as sent`);
    }
  });

  test('a reload reaches the worker: a new device is known there, a new listener accepts there', async () => {
    const file = join(relay.dataDir, 'authrelay.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    doc.devices = [{ name: 'scanner', networks: ['127.0.0.2/32'] }, { name: 'copier', networks: ['127.0.0.3/32'] }];
    doc.listeners = [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none' }, { name: 'second', host: '127.0.0.1', port: 0, tls: 'none' }];
    writeFileSync(file, stringify(doc));
    const r = await relay.reload('test');
    assert.equal(r.ok, true, r.message);
    const before = acceptedBy(relay, 1, '127.0.0.3');
    const replies = await sendUntilWorkerAccepts(relay, relay.port('second'), '127.0.0.3', 10_000);
    assert.deepEqual(replies.filter((x) => !x.startsWith('250')), []);
    assert.ok(acceptedBy(relay, 1, '127.0.0.3') > before);
    const devices = relay.logs.filter((l) => l.event === 'state' && l.state === 'incoming' && l.clientIp === '127.0.0.3' && l.worker === 1).map((l) => l.device);
    assert.ok(devices.every((d) => d === 'copier'), `the worker knows the new device: ${devices.join(', ')}`);
  });

  test('a receive worker that dies is started again, and the listener keeps accepting meanwhile', async () => {
    const status = relay.logs.find((l) => l.event === 'workers') as { pids: number[] } | undefined;
    assert.ok(status, 'the start-up names the processes');
    const workerPid = status.pids[1]!;
    process.kill(workerPid, 'SIGKILL');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => send(relay.port(), 20_000 + i, '127.0.0.2')));
    assert.deepEqual(replies.filter((x) => !x.startsWith('250')), []);
    const deadline = Date.now() + 15_000;
    while (!relay.logs.some((l) => l.event === 'worker-exit') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(relay.logs.some((l) => l.event === 'worker-exit' && l.signal === 'SIGKILL'));
    // Started again: it accepts once more.
    const acceptedBefore = acceptedBy(relay, 1);
    let n = 30_000;
    while (acceptedBy(relay, 1) === acceptedBefore && Date.now() < deadline + 15_000) {
      const more = await Promise.all(Array.from({ length: 20 }, () => send(relay.port(), n++, '127.0.0.2')));
      assert.deepEqual(more.filter((x) => !x.startsWith('250')), []);
    }
    assert.ok(acceptedBy(relay, 1) > acceptedBefore, 'the restarted worker accepts');
  });
});

describe('workers: 2, who accepts', () => {
  test('one session at a time is served by the main process alone; several at once bring the worker in, until they are over', async () => {
    const relay = await startTestRelay({ workers: 2, listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none' }], trustLoopback: true });
    try {
      const oneByOne = async (from: number) => {
        for (let i = 0; i < 15; i++) assert.match(await send(relay.port(), from + i), /^250/);
      };
      await oneByOne(0);
      assert.equal(acceptedBy(relay, 1), 0, 'the worker took none of the messages sent one at a time');
      const replies = await sendUntilWorkerAccepts(relay, relay.port(), '127.0.0.1', 100);
      assert.deepEqual(replies.filter((r) => !r.startsWith('250')), []);
      // The device goes on sending one message after the other. Its next connection often opens before the
      // last one is seen closed; still, once the sessions open have averaged no more than two over two seconds,
      // the main process accepts alone again.
      const until = Date.now() + 3_000;
      for (let i = 0; Date.now() < until; i++) assert.match(await send(relay.port(), 500 + i), /^250/);
      const before = acceptedBy(relay, 1);
      await oneByOne(1_000);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(acceptedBy(relay, 1), before, 'after the load, the worker took none of the messages sent one at a time');
    } finally {
      await relay.close();
    }
  });
});

describe('workers: 2, load from the first moment', () => {
  test('sessions that open while the worker starts are all served, and the worker joins in', async () => {
    const dir = tempDir('authrelay-workers-');
    const config = writeConfig(dir, `hostname: relay.test
workers: 2
dataDir: ${join(dir, 'data')}
admin: { listen: "127.0.0.1:0" }
trustLoopback: true
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
log: { level: info }
`);
    // The listeners accept before the worker runs: the load starts at the "listening" line, as a busy office's would.
    const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: englishEnv() });
    const logs: Record<string, unknown>[] = [];
    let partial = '';
    const listening = new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the relay exited (${code})`)));
      child.stdout.on('data', (c: Buffer) => {
        const lines = (partial + c.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const l = JSON.parse(line) as Record<string, unknown>;
          logs.push(l);
          if (l.event === 'listening') resolve(Number(l.port));
        }
      });
    });
    const exited = new Promise((r) => child.once('exit', r));
    const relay = { port: await listening, logs };
    try {
      // 20 clients, each sending one message after the other, 200 in all (smtp-source -s 20 -m 200).
      const replies: string[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: 20 }, async () => {
        while (next < 200) replies.push(await send(relay.port, next++));
      }));
      assert.equal(replies.length, 200);
      assert.deepEqual(replies.filter((r) => !r.startsWith('250')), []);
      const fromWorker = () => relay.logs.filter((l) => l.event === 'state' && l.state === 'incoming' && l.worker === 1).length;
      for (let n = 100; fromWorker() === 0 && n < 400; n += 20) {
        const more = await Promise.all(Array.from({ length: 20 }, (_, i) => send(relay.port, n + i)));
        assert.deepEqual(more.filter((r) => !r.startsWith('250')), []);
      }
      assert.ok(fromWorker() > 0, 'the worker accepted some of the messages');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('workers: 2, the graceful stop', () => {
  test('a session open in the worker finishes its message before the stop completes; the worker process ends', async () => {
    const relay = await startTestRelay({ workers: 2, listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none' }], shutdownTimeout: '10s' });
    const pids = (relay.logs.find((l) => l.event === 'workers') as { pids: number[] }).pids;
    // Open sessions until one is the worker's (its greeting is logged with the worker's number at debug level, and its MAIL FROM is answered).
    const wires: SmtpWire[] = [];
    for (let i = 0; i < 20; i++) {
      const w = await SmtpWire.open(relay.port());
      await w.cmd('EHLO tester');
      await w.cmd('MAIL FROM:<scanner@printer.test>');
      await w.cmd('RCPT TO:<user@example.com>');
      assert.equal((await w.cmd('DATA')).code, 354);
      wires.push(w);
    }
    const stopping = relay.close();
    await new Promise((r) => setTimeout(r, 300));
    const ends = await Promise.all(wires.map(async (w, i) => {
      w.write(`Subject: during the stop ${i}\r\n\r\nbody\r\n.\r\n`);
      const r = await w.read(15_000);
      w.close();
      return r.code;
    }));
    await stopping;
    assert.deepEqual(ends.filter((c) => c !== 250), []);
    const stopped = relay.logs.find((l) => l.event === 'stopped') as { sessions: number } | undefined;
    assert.equal(stopped?.sessions, 20);
    // Every process of the relay but this one has ended.
    for (const pid of pids.slice(1)) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

describe('workers: 2 on PostgreSQL', () => {
  let pg: TestPostgres;
  let relay: TestRelay;
  before(async () => {
    pg = await startPostgres();
    relay = await startTestRelay({
      workers: 2, store: { type: 'postgres', url: pg.url(await pg.createDatabase('workers')) },
      listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none' }],
    });
  });
  after(async () => {
    await relay?.close();
    await pg?.stop();
  });

  test('both processes accept and store in PostgreSQL', async () => {
    const replies = await sendUntilWorkerAccepts(relay, relay.port(), '127.0.0.1');
    assert.deepEqual(replies.filter((r) => !r.startsWith('250')), []);
    for (const id of replies.map(queueIdOf)) assert.ok(await relay.store.get(id), `${id} is not in the store`);
  });
});
