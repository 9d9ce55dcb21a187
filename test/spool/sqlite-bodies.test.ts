/**
 * Body files of the SQLite spool: a body larger than INLINE_MAX goes through
 * the two reused write buffers of its writer; whatever the chunking, and with
 * several bodies written at once (sharing the spare buffers), every file holds
 * exactly the bytes written, read back in the default and in small reads.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { BodyFiles, INLINE_MAX } from '../../src/spool/sqlite/bodies.js';

let dir: string;
let files: BodyFiles;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authrelay-bodies-'));
  files = new BodyFiles(join(dir, 'bodies'));
  await files.init();
});

after(async () => {
  await files.close();
  rmSync(dir, { recursive: true, force: true });
});

async function read(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Writes `body` in pieces of the given sizes (cycled), yielding between writes when the stream asks to. */
async function write(body: Buffer, sizes: number[], hint: string): Promise<{ bodyId: string; inline: Buffer | undefined; size: number }> {
  const w = files.create(hint);
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = sizes[i % sizes.length]!;
    if (!w.stream.write(body.subarray(at, at + n))) await new Promise((r) => w.stream.once('drain', r));
    at += n;
  }
  const size = await w.finish();
  return { bodyId: w.bodyId, inline: w.inline(), size };
}

test('a large body is written byte for byte whatever its chunking, and reads back in any read size', async () => {
  const body = randomBytes(1_300_000 + 17);
  for (const sizes of [[1, 7, 65_535], [65_536], [65_537, 3], [200_000], [INLINE_MAX + 1], [body.length]]) {
    const w = await write(body, sizes, `t${sizes.join('-')}`);
    assert.equal(w.size, body.length);
    assert.equal(w.inline, undefined, 'a body over INLINE_MAX goes to a file');
    assert.ok((await read(files.open(w.bodyId))).equals(body), `chunks of ${sizes.join(', ')}`);
    assert.ok((await read(files.open(w.bodyId, 16 * 1024))).equals(body), `chunks of ${sizes.join(', ')}, read 16 KB at a time`);
  }
});

test('a body of up to INLINE_MAX stays in memory', async () => {
  const body = randomBytes(INLINE_MAX);
  const w = await write(body, [1000], 'small');
  assert.ok(w.inline?.equals(body));
});

test('bodies written at once, sharing the spare buffers, are each intact', async () => {
  const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(700_000 + i * 4099));
  const written = await Promise.all(bodies.map((b, i) => write(b, [4096 + i * 1000, 65_536 + i], `c${i}`)));
  for (const [i, w] of written.entries()) assert.ok((await read(files.open(w.bodyId))).equals(bodies[i]!), `body ${i}`);
});

test('an aborted body leaves no file, and the next body is intact', async () => {
  const w = files.create('aborted');
  w.stream.write(randomBytes(INLINE_MAX + 300_000));
  await new Promise((r) => setImmediate(r));
  const path = files.path(w.bodyId);
  await w.abort();
  assert.equal(existsSync(path), false);
  const body = randomBytes(500_000);
  const next = await write(body, [30_000], 'after-abort');
  assert.ok((await read(files.open(next.bodyId))).equals(body));
});
