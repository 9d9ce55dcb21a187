/**
 * The order of system calls behind "250 2.0.0 OK: queued as ID", seen with
 * strace on the real binary. A small message's body is stored in its row: the
 * row is written to the WAL, the WAL is fsynced, then 250. For a message whose
 * body is a file:
 *
 *   openat(bodies/B.eml, O_CREAT)              the body file is created (B is the
 *                                               message's body id: files are made
 *                                               ahead in batches, see bodies.ts)
 *   fsync(bodies/)  started after the create    its directory entry is on disk
 *   fsync(bodies/B.eml)                         its data is on disk
 *   pwrite64(queue.db-wal, page containing ID)  the row is written, after both
 *   fsync|fdatasync(queue.db-wal)               the row is on disk
 *   write(socket, "250 2.0.0 OK: queued as ID") only then the reply
 *
 * Each step must complete before the next one starts (threads of the libuv
 * pool may run the fsyncs: strace -f follows them, and its output is in order
 * of events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSpoolDb } from '../helpers/sqlite.js';
import { requireTool } from '../helpers/tools.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { startRelayProcess, tempDir, writeConfig } from '../helpers/relay-process.js';

interface Call {
  tid: number;
  name: string;
  /** Everything between the parentheses (both halves of an interrupted call). */
  args: string;
  ret: string;
  /** Line numbers where the call started and where it returned. */
  start: number;
  end: number;
}

/** Parses `strace -f -o FILE` output, joining "<unfinished ...>" and "<... resumed>" halves. */
function parseStrace(text: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<number, { name: string; args: string; start: number }>();
  text.split('\n').forEach((line, i) => {
    let m = /^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$/.exec(line);
    if (m) return void open.set(Number(m[1]), { name: m[2]!, args: m[3]!, start: i });
    m = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\)\s+= (.*)$/.exec(line);
    if (m) {
      const tid = Number(m[1]);
      const o = open.get(tid);
      if (o && o.name === m[2]) calls.push({ tid, name: o.name, args: o.args + m[3]!, ret: m[4]!, start: o.start, end: i });
      open.delete(tid);
      return;
    }
    m = /^(\d+)\s+(\w+)\((.*)\)\s+= (.*)$/.exec(line);
    if (m) calls.push({ tid: Number(m[1]), name: m[2]!, args: m[3]!, ret: m[4]!, start: i, end: i });
  });
  return calls;
}

const SYNC = new Set(['fsync', 'fdatasync']);
const SOCKET_WRITE = new Set(['write', 'writev', 'sendto', 'sendmsg']);
const FILE_WRITE = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2']);

/** The path strace -y shows for a call's first argument (its file descriptor). */
const fdPath = (c: Call) => /^\d+<([^>]*)>/.exec(c.args)?.[1] ?? '';

function describe(c: Call | undefined): string {
  return c ? `${c.name}(${c.args.slice(0, 120)}) [lines ${c.start + 1}-${c.end + 1}, thread ${c.tid}]` : 'none';
}

const LARGE = `${'0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz'.repeat(1)}\r\n`.repeat(4500); // ~330 KB: a body file
const MESSAGE = (n: number) => `From: mfp@printer.test\r\nTo: user@example.com\r\nSubject: fsync ${n}\r\n\r\nscan ${n}\r\n${n >= 5 ? LARGE : ''}.\r\n`;

test('the body fsync, its directory fsync and the WAL fsync all complete before "250 queued" is written', { timeout: 90_000 }, async (t) => {
  const strace = requireTool('strace');
  const dir = tempDir('authrelay-strace-');
  const dataDir = join(dir, 'data');
  const config = writeConfig(dir, `hostname: relay.test\ndataDir: ${dataDir}\nadmin: { listen: "127.0.0.1:0" }\nlisteners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]\n`);
  const traceFile = join(dir, 'trace.txt');
  const relay = await startRelayProcess(config, {
    wrap: [strace, '-f', '-yy', '-s', '4096', '-o', traceFile, '-e', 'trace=openat,fsync,fdatasync,write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg'],
    timeoutMs: 60_000,
  });
  const ids: string[] = [];
  try {
    const send = async (n: number) => {
      const w = await SmtpWire.open(relay.port);
      try {
        await w.cmd('EHLO mfp.printer.test');
        const r = await sendRaw(w, 'mfp@printer.test', ['user@example.com'], MESSAGE(n));
        assert.equal(r.end?.code, 250, JSON.stringify(r));
        ids.push(/queued as ([A-Z0-9.]+)/.exec(r.end.raw)![1]!);
      } finally {
        w.close();
      }
    };
    await send(0); // alone
    await Promise.all([1, 2, 3, 4].map(send)); // concurrent: commits may be grouped
    await send(5); // large: its body goes to a file
    await Promise.all([6, 7].map(send));
  } finally {
    const st = await relay.stop();
    assert.equal(st.code, 0, `strace/relay exit: ${JSON.stringify(st)} ${relay.stderr()}`);
  }
  const calls = parseStrace(readFileSync(traceFile, 'utf8'));
  assert.ok(calls.length > 100, `strace recorded only ${calls.length} calls`);
  const bodiesDir = join(dataDir, 'queue', 'bodies');
  const db = openSpoolDb(join(dataDir, 'queue', 'queue.db'), { readonly: true });
  const rowOf = (id: string) => db.get<{ body_id: string; inline: number }>('SELECT body_id, EXISTS (SELECT 1 FROM bodies b WHERE b.body_id = m.body_id) AS inline FROM messages m WHERE id = ?', id)!;
  let inline = 0;

  for (const id of ids) {
    const row = rowOf(id);
    const bodyFile = join(bodiesDir, `${row.body_id}.eml`);
    const ack = calls.find((c) => SOCKET_WRITE.has(c.name) && fdPath(c).startsWith('TCP:') && c.args.includes(`250 2.0.0 OK: queued as ${id}`));
    assert.ok(ack, `no 250 for ${id} written to a TCP socket in the trace`);
    if (row.inline) {
      // A small body is in the row: the row (with the body) is written to the WAL, the WAL is synced, then 250.
      inline++;
      const walWrite = calls.find((c) => FILE_WRITE.has(c.name) && fdPath(c).endsWith('queue.db-wal') && c.args.includes(id));
      assert.ok(walWrite, `no write of a WAL page with ${id}`);
      const walSync = calls.find((c) => SYNC.has(c.name) && fdPath(c).endsWith('queue.db-wal') && c.ret === '0' && c.start > walWrite.end && c.end < ack.start);
      assert.ok(walWrite.end < ack.start, `250 before the row was written:\n  ${describe(walWrite)}\n  ${describe(ack)}`);
      assert.ok(walSync, `no fsync of the WAL between the row of ${id} and its 250`);
      t.diagnostic(`${id} (body in the row): WAL write ${walWrite.end + 1}, WAL ${walSync.name} ${walSync.end + 1}, 250 at ${ack.start + 1}`);
      continue;
    }
    const create = calls.find((c) => c.name === 'openat' && c.args.includes(`"${bodyFile}"`) && c.args.includes('O_CREAT'));
    assert.ok(create, `the body file of ${id} was not created with openat(O_CREAT)`);
    const bodySync = calls.find((c) => SYNC.has(c.name) && fdPath(c) === bodyFile && c.ret === '0');
    assert.ok(bodySync, `no fsync of ${bodyFile}`);
    const walWrite = calls.find((c) => FILE_WRITE.has(c.name) && fdPath(c).endsWith('queue.db-wal') && c.args.includes(id));
    assert.ok(walWrite, `no write of a WAL page with ${id}`);
    const dirSync = calls.find((c) => SYNC.has(c.name) && fdPath(c) === bodiesDir && c.ret === '0' && c.start > create.end && c.end < walWrite.start);
    const walSync = calls.find((c) => SYNC.has(c.name) && fdPath(c).endsWith('queue.db-wal') && c.ret === '0' && c.start > walWrite.end && c.end < ack.start);
    const trail = `\n  create   ${describe(create)}\n  body     ${describe(bodySync)}\n  dir      ${describe(dirSync)}\n  WAL row  ${describe(walWrite)}\n` +
      `  WAL sync ${describe(walSync)}\n  250      ${describe(ack)}`;
    assert.ok(create.end < bodySync.start, `body fsync before the file exists: ${trail}`);
    assert.ok(bodySync.end < walWrite.start, `the row was written before the body was on disk: ${trail}`);
    assert.ok(dirSync, `no fsync of ${bodiesDir} between the creation of ${bodyFile} and its row: ${trail}`);
    assert.ok(walWrite.end < ack.start, `250 before the row was written: ${trail}`);
    assert.ok(walSync, `no fsync of the WAL between the row and the 250: ${trail}`);
    t.diagnostic(`${id}: create line ${create.end + 1}, body fsync ${bodySync.end + 1}, dir fsync ${dirSync.end + 1}, ` +
      `WAL write ${walWrite.end + 1}, WAL ${walSync.name} ${walSync.end + 1}, 250 at ${ack.start + 1}`);
  }
  assert.equal(ids.length, 8);
  assert.equal(inline, 5, 'the five small messages keep their body in the row, the three large ones in files');
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
