/**
 * Message bodies as files: one file per message, written in a stream and
 * fsynced before the metadata commit.
 *
 * Creating a file changes the directory, and a directory fsync holds the
 * directory while it runs, so creating files on the hot path would queue
 * every new message behind the disk. Instead empty files are made ahead, in
 * batches, each batch made durable by one directory fsync; a message takes a
 * ready file (its name becomes the body id), so accepting it touches no
 * directory at all. When the pool runs dry a file is made on demand, and its
 * directory entry synced, as before. Unused pool files are orphans at the
 * next start and are removed.
 */
import { createReadStream, promises as fsp, fsync, open, close, write, openSync, closeSync, mkdirSync, rmSync, constants as fsConstants } from 'node:fs';
import { newMessageId } from '../../core/ids.js';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { BodyWriter } from '../store.js';

export class BodyFiles {
  private dirFd: number | undefined;
  private dirSyncRunning: Promise<void> | undefined;
  private dirSyncQueued: Promise<void> | undefined;
  private readonly pool: { name: string; fd: number }[] = [];
  private refilling: Promise<void> | undefined;
  private closed = false;

  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.dirFd = openSync(this.dir, 'r');
    await this.refill();
  }

  close(): void {
    this.closed = true;
    // Unused ready-made files go with a clean stop (after a crash they are orphans, removed at start).
    for (const f of this.pool.splice(0)) {
      closeSync(f.fd);
      rmSync(this.path(f.name), { force: true });
    }
    if (this.dirFd !== undefined) closeSync(this.dirFd);
    this.dirFd = undefined;
  }

  /** Names of the ready-made files (not orphans). */
  pooled(): string[] {
    return this.pool.map((f) => f.name);
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      try {
        const names = Array.from({ length: POOL_BATCH }, () => `b${newMessageId()}`);
        const made = await Promise.all(names.map(async (name) => ({ name, fd: await openNew(this.path(name)) })));
        await this.syncDir();
        if (this.closed) for (const f of made) closeSync(f.fd);
        else this.pool.push(...made);
      } finally {
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }

  path(bodyId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(bodyId)) throw new Error(`invalid body id ${bodyId}`);
    return join(this.dir, `${bodyId}.eml`);
  }

  create(hint: string): BodyWriter {
    const ready = this.pool.pop();
    if (this.pool.length < POOL_LOW && !this.closed) this.refill().catch(() => undefined);
    const bodyId = ready?.name ?? hint;
    const file = this.path(bodyId);
    // Every file operation runs in the thread pool: on a journaling file system even
    // an open or a write can wait for a commit that another fsync started.
    const fdReady = ready ? Promise.resolve(ready.fd) : openNew(file);
    // A ready-made file's directory entry is durable already; one made now is synced while data arrives.
    const entrySynced = ready ? Promise.resolve() : fdReady.then(() => this.syncDir());
    fdReady.catch(() => undefined);
    entrySynced.catch(() => undefined);
    const stream = new BodyStream(fdReady);
    let settled = false;
    let closed = false;
    const release = async () => {
      if (closed) return;
      closed = true;
      const fd = await fdReady.catch(() => undefined);
      if (fd !== undefined) await new Promise<void>((r) => close(fd, () => r()));
    };
    return {
      bodyId,
      stream,
      finish: () =>
        new Promise<number>((resolve, reject) => {
          const done = () => {
            if (settled) return;
            settled = true;
            fdReady.then((fd) => {
              fsync(fd, (err) => {
                void release();
                if (err) return reject(err);
                entrySynced.then(() => resolve(stream.bytes), reject);
              });
            }, reject);
          };
          if (stream.writableFinished) return done();
          stream.once('finish', done);
          stream.once('error', (err) => {
            if (settled) return;
            settled = true;
            void release();
            reject(err);
          });
          if (!stream.writableEnded) stream.end();
        }),
      abort: async () => {
        settled = true;
        stream.destroy();
        await release();
        await fsp.rm(file, { force: true });
      },
    };
  }

  /**
   * Makes the directory entries of files created before this call durable.
   * A call made while an fsync runs waits for the next one (which starts
   * after the running one), and all such calls share it.
   */
  syncDir(): Promise<void> {
    if (!this.dirSyncRunning) {
      this.dirSyncRunning = new Promise<void>((resolve, reject) => {
        if (this.dirFd === undefined) return reject(new Error('body directory not open'));
        fsync(this.dirFd, (err) => (err ? reject(err) : resolve()));
      }).finally(() => {
        this.dirSyncRunning = undefined;
      });
      return this.dirSyncRunning;
    }
    this.dirSyncQueued ??= this.dirSyncRunning
      .catch(() => undefined)
      .then(() => {
        this.dirSyncQueued = undefined;
        return this.syncDir();
      });
    return this.dirSyncQueued;
  }

  open(bodyId: string): Readable {
    return createReadStream(this.path(bodyId), { highWaterMark: 256 * 1024 });
  }

  async remove(bodyId: string): Promise<void> {
    await fsp.rm(this.path(bodyId), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => n.endsWith('.eml')).map((n) => n.slice(0, -4));
  }
}

const FLUSH_AT = 256 * 1024;
const POOL_BATCH = 128;
const POOL_LOW = 64;

function openNew(file: string): Promise<number> {
  return new Promise((resolve, reject) =>
    open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/**
 * Writes a body to its file. Small messages are gathered in memory and
 * written in one call when they end; large ones are written in 256 KB pieces
 * as they arrive, so memory stays bounded whatever the size. Writes go
 * through the thread pool.
 */
class BodyStream extends Writable {
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly fd: Promise<number>) {
    super({ highWaterMark: FLUSH_AT });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.bytes += chunk.length;
    if (this.pendingBytes < FLUSH_AT) return cb();
    this.flushPending(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.pendingBytes === 0) return cb();
    this.flushPending(cb);
  }

  private flushPending(cb: (err?: Error | null) => void): void {
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.fd.then((fd) => writeAll(fd, buf, 0, cb), cb);
  }
}

function writeAll(fd: number, buf: Buffer, off: number, cb: (err?: Error | null) => void): void {
  write(fd, buf, off, buf.length - off, null, (err, n) => {
    if (err) return cb(err);
    if (off + n < buf.length) return writeAll(fd, buf, off + n, cb);
    cb();
  });
}
