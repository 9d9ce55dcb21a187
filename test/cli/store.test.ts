/**
 * `authrelay store migrate|check` with the real binary against a real
 * PostgreSQL server: pending migrations reported and applied once, exit codes
 * and messages for a server that cannot be reached or a missing database,
 * the URL from a file and hidden from `config print`; and two relays (two
 * nodes) serving from one PostgreSQL store, each seeing the other's mail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/spool/postgres/migrations.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { cli, cliJson, startRelayProcess, tempDir, until, writeConfig } from '../helpers/relay-process.js';
import { usePostgres, type TestPostgres } from '../helpers/postgres.js';
import { freePort } from '../helpers/tools.js';

const pg = usePostgres();
let server: TestPostgres;
let dir: string;

before(() => {
  dir = tempDir();
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The newest migration (they are numbered 1, 2, 3...). */
const LAST = MIGRATIONS.length;

const LISTENER = 'listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]';

function pgConfig(name: string, store: string, extra = ''): string {
  return writeConfig(dir, `hostname: relay.test\ndataDir: ./data-${name}\n${LISTENER}\nadmin: { enabled: false }\nstore: ${store}\n${extra}`, `${name}.yaml`);
}

interface CheckJson {
  ok: boolean;
  problems: string[];
  schema: { version: number; pending: { version: number }[] };
  counts?: Record<string, number>;
  bodies?: { stored: number };
}

describe('store migrate and check', () => {
  test('check reports pending migrations (exit 1), migrate applies them once, then check passes', async () => {
    server = pg.get();
    const db = await server.createDatabase('cli');
    const env = { ...process.env, AUTHRELAY_TEST_PG_URL: server.url(db) };
    const config = pgConfig('migrate', '{ type: postgres, url: "${AUTHRELAY_TEST_PG_URL}" }');

    const before = await cli(['store', 'check', '--config', config], { env });
    assert.equal(before.code, 1, before.stdout + before.stderr);
    assert.match(before.stdout, new RegExp(`schema version 0 \\(0 migration\\(s\\) applied, ${LAST} pending\\)`));
    assert.match(before.stderr, new RegExp(`problem: ${LAST} migration\\(s\\) pending \\(1: messages, .*\\); apply them with: authrelay store migrate`));

    // doctor is read-only: it reports the pending migrations and leaves them.
    const doctorChecks = async () => (JSON.parse((await cli(['doctor', '--json', '--config', config], { env })).stdout) as { checks: { id: string; status: string; title: { en: string; ja: string } }[] }).checks;
    const pending = (await doctorChecks()).find((c) => c.id === 'queue.schema');
    assert.equal(pending?.status, 'fail');
    assert.match(pending?.title.en ?? '', new RegExp(`the PostgreSQL store has ${LAST} migration\\(s\\) pending`));

    const first = await cli(['store', 'migrate', '--config', config], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^PostgreSQL store at postgres://…@127\\.0\\.0\\.1:${server.port}/${db}\\n`));
    assert.match(first.stdout, /applied migration 1: messages, recipients, trail, device inventory, chunked bodies\napplied migration 2: per-mailbox pacing shared by all nodes\n/);
    assert.match(first.stdout, new RegExp(`schema version ${LAST}, up to date`));

    const again = await cli(['store', 'migrate', '--config', config], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /applied migration/);
    assert.match(again.stdout, new RegExp(`nothing to apply: schema version ${LAST} is up to date`));
    const rows = await server.query<{ version: number }>(db, 'SELECT version FROM authrelay_migrations');
    assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));

    const ok = await cli(['store', 'check', '--config', config], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`schema version ${LAST} \\(${LAST} migration\\(s\\) applied, none pending\\)`));
    assert.match(ok.stdout, /messages: incoming 0, active 0, deferred 0, held 0, delivered 0, failed 0/);
    assert.match(ok.stdout, /bodies: 0 stored \(0 B\), 0 being received/);
    assert.match(ok.stdout, /\nok\n$/);
    const okJa = await cli(['store', 'check', '--config', config], { env, locale: 'ja_JP.UTF-8' });
    assert.equal(okJa.code, 0, okJa.stderr);
    assert.match(okJa.stdout, new RegExp(`スキーマ バージョン ${LAST} \\(適用済みのマイグレーション ${LAST} 個、未適用なし\\)`));
    assert.match(okJa.stdout, /本文: 保存済み 0 件 \(0 B\)、受信中 0 件/);
    assert.doesNotMatch(okJa.stdout, /schema version|messages:|bodies:/);
    const counted = (await doctorChecks()).find((c) => c.id === 'queue.counts');
    assert.equal(counted?.title.en, 'queue: incoming 0, active 0, deferred 0, held 0, delivered 0, failed 0');
    const j = await cliJson<CheckJson>(['store', 'check', '--config', config], { env });
    assert.deepEqual([j.ok, j.problems, j.schema.version, j.schema.pending], [true, [], LAST, []]);
  });

  test('a server that cannot be reached, a missing database: exit 1 with what to check', async () => {
    server = pg.get();
    const closed = await freePort();
    const unreachable = pgConfig('down', `{ type: postgres, url: "postgres://relay:s3cret-pw@127.0.0.1:${closed}/authrelay" }`);
    for (const sub of ['check', 'migrate']) {
      const r = await cli(['store', sub, '--config', unreachable]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`cannot use the PostgreSQL store at postgres://…@127\\.0\\.0\\.1:${closed}/authrelay: .*ECONNREFUSED.*; check the host and port in store\\.url`));
      assert.doesNotMatch(r.stderr + r.stdout, /s3cret-pw/, 'the password is never shown');
    }
    const missing = pgConfig('nodb', `{ type: postgres, url: "postgres://postgres@127.0.0.1:${server.port}/no_such_db" }`);
    const r = await cli(['store', 'check', '--config', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /database "no_such_db" does not exist; create the database \(createdb -E UTF8 NAME\) or fix its name in store\.url/);
  });

  test('the URL may come from a file; config print hides its password; a bad store type names the choices', async () => {
    server = pg.get();
    const db = await server.createDatabase('cli');
    await server.query(db, `CREATE ROLE relay_user LOGIN PASSWORD 'pw-from-file'`).catch(() => undefined);
    await server.query(db, `GRANT ALL ON SCHEMA public TO relay_user`);
    writeFileSync(join(dir, 'pg-url'), `postgres://relay_user:pw-from-file@127.0.0.1:${server.port}/${db}\n`);
    const config = pgConfig('file', '{ type: postgres, url: "file:./pg-url", poolSize: 3 }');
    const m = await cli(['store', 'migrate', '--config', config]);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /PostgreSQL store at postgres:\/\/…@127\.0\.0\.1:\d+\/cli_\d+_\d+\napplied migration 1/);
    const printed = await cli(['config', 'print', '--config', config]);
    assert.equal(printed.code, 0, printed.stderr);
    const store = (JSON.parse(printed.stdout) as { store: Record<string, unknown> }).store;
    assert.deepEqual(store, { type: 'postgres', url: `postgres://…@127.0.0.1:${server.port}/${db}`, poolSize: 3 });
    const bad = pgConfig('bad', '{ type: mysql, url: "x" }');
    const c = await cli(['config', 'check', '--config', bad]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /store\.type: not a valid store; "type" must be "sqlite" \(the default, with an optional path\) or "postgres" \(with url\)/);
  });

  test('the SQLite store: check and migrate say it is brought up to date when opened', async () => {
    const config = writeConfig(dir, `dataDir: ./data-sqlite\n${LISTENER}\n`, 'sqlite.yaml');
    const none = await cli(['store', 'check', '--config', config]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /SQLite store: no queue yet at .*data-sqlite\/queue\/queue\.db/);
    const m = await cli(['store', 'migrate', '--config', config]);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /SQLite store at .*queue\.db: up to date \(its migrations run whenever it is opened\)/);
    const c = await cli(['store', 'check', '--config', config]);
    assert.match(c.stdout, /messages: incoming 0, active 0, deferred 0, held 0, delivered 0, failed 0\nok\n/);
    // In Japanese: the same lines, the states named as the console names them.
    const ja = await cli(['store', 'check', '--config', config], { locale: 'ja_JP.UTF-8' });
    assert.equal(ja.code, 0, ja.stderr);
    assert.match(ja.stdout, /^SQLite ストア .*queue\.db: 最新です \(マイグレーションは開くたびに適用されます\)\n/);
    assert.match(ja.stdout, /メッセージ: 受信中 0、配送中 0、再試行待ち 0、保留 0、配送済み 0、失敗 0\nok\n$/);
  });
});

describe('two relays on one PostgreSQL store', () => {
  test('each relay stores what it receives where the other sees it; the queue commands work from either', { timeout: 120_000 }, async () => {
    server = pg.get();
    const db = await server.createDatabase('serve');
    const store = `{ type: postgres, url: "${server.url(db)}", poolSize: 4 }`;
    const extra = 'queue: { pollInterval: 100ms }\n';
    const configs = [pgConfig('node1', `{ type: postgres, url: "${server.url(db)}", poolSize: 4, node: relay-1 }`, extra), pgConfig('node2', store, extra)];
    const relays = await Promise.all(configs.map((c) => startRelayProcess(c)));
    try {
      const ids: string[] = [];
      for (const [i, relay] of relays.entries()) {
        const w = await SmtpWire.open(relay.port);
        try {
          await w.cmd('EHLO ups.test');
          const big = 'x'.repeat(998) + '\r\n';
          const r = await sendRaw(w, `ups${i}@device.test`, [`admin${i}@example.com`], `From: ups${i}@device.test\r\nSubject: node ${i}\r\n\r\n${big.repeat(600)}.\r\n`);
          assert.equal(r.end?.code, 250, JSON.stringify(r));
          ids.push(/queued as (\S+)/.exec(r.end.raw)![1]!);
        } finally {
          w.close();
        }
      }
      // No upstream: the capture route holds both, whichever node routed them.
      for (const config of configs) {
        const list = await until(async () => {
          const l = await cliJson<{ messages: { id: string; state: string }[] }>(['queue', 'list', '--config', config]);
          return l.messages.length === 2 && l.messages.every((m) => m.state === 'held') ? l : undefined;
        }, 20_000, () => 'messages not held');
        assert.deepEqual(list.messages.map((m) => m.id).sort(), [...ids].sort());
      }
      const show = await cliJson<{ trail: { kind: string; text: string }[] }>(['queue', 'show', ids[1]!, '--config', configs[0]!]);
      assert.match(show.trail[0]!.text, /^received \d+ bytes from localhost/);
      const check = await cliJson<CheckJson>(['store', 'check', '--config', configs[1]!]);
      assert.equal(check.ok, true);
      assert.equal(check.counts?.held, 2);
      assert.equal(check.bodies?.stored, 2);
      const owners = await server.query<{ lease_owner: string | null }>(db, 'SELECT DISTINCT lease_owner FROM messages');
      assert.deepEqual(owners.map((o) => o.lease_owner), [null], 'no lease left behind');
      const events = await server.query<{ text: string }>(db, `SELECT text FROM events WHERE kind = 'attempt'`);
      assert.equal(events.length, 2);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });
});
