/**
 * Message bodies. A body of up to INLINE_MAX bytes stays in memory and is
 * stored with its row by the store's commit; a larger one is written to a
 * file as it arrives and fsynced before the commit.
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
import { createReadStream, promises as fsp, fsync, open, close, writev, openSync, closeSync, mkdirSync, rmSync, constants as fsConstants } from 'node:fs';
import { newMessageId } from '../../core/ids.js';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { BodyWriter } from '../store.js';

export class BodyFiles {
  private dirFd: number | undefined;
  private dirSyncRunning: Promise<void> | undefined;
  private dirSyncQueued: Promise<void> | undefined;
  private readonly pool: { name: string; fd: number }[] = [];
  /** Names of ready-made files being made now (pooled() counts them: they are no orphans). */
  private readonly making = new Set<string>();
  private refilling: Promise<void> | undefined;
  private closed = false;
  private readonly buffers = new WriteBuffers();

  constructor(readonly dir: string) {}

  /** Opens the directory. Ready-made files come with fill() (a relay that receives), or when the first body needs one. */
  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.dirFd = openSync(this.dir, 'r');
  }

  /**
   * Makes the first ready-made files, in the background: the listeners do not
   * wait for them (nor for the directory fsync that makes them durable), and a
   * large body arriving before they are ready gets a file made on demand.
   */
  fill(): void {
    if (!this.closed && this.pool.length < POOL_LOW) this.refill().catch(() => undefined);
  }

  /** Waits for the ready-made files being made now (so that none is left behind), then removes the unused ones. */
  async close(): Promise<void> {
    this.closed = true; // no new batch; the one under way removes what it made
    await this.refilling?.catch(() => undefined);
    // Unused ready-made files go with a clean stop (after a crash they are orphans, removed at start).
    for (const f of this.pool.splice(0)) {
      closeSync(f.fd);
      rmSync(this.path(f.name), { force: true });
    }
    if (this.dirFd !== undefined) closeSync(this.dirFd);
    this.dirFd = undefined;
  }

  /** Names of the ready-made files, and of those being made (not orphans). */
  pooled(): string[] {
    return [...this.pool.map((f) => f.name), ...this.making];
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      const names = Array.from({ length: POOL_BATCH }, () => `b${newMessageId()}`);
      for (const name of names) this.making.add(name);
      try {
        const made = await Promise.all(names.map(async (name) => ({ name, fd: await openNew(this.path(name)) })));
        if (!this.closed) await this.syncDir();
        if (this.closed) {
          // Stopped meanwhile: nothing is left behind to be found as orphans at the next start.
          for (const f of made) {
            closeSync(f.fd);
            rmSync(this.path(f.name), { force: true });
          }
        } else this.pool.push(...made);
      } finally {
        for (const name of names) this.making.delete(name);
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }

  path(bodyId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(bodyId)) throw new Error(`invalid body id ${bodyId}`);
    return join(this.dir, `${bodyId}.eml`);
  }

  /**
   * A writer for one body. Up to INLINE_MAX bytes are kept in memory and, when
   * the message ends there, returned by inline() to be stored in the database
   * row itself (made durable by the commit's WAL fsync: no file, no fsync of
   * its own). A larger body goes to a file from the moment it passes the limit.
   */
  create(hint: string): BodyWriter & { inline(): Buffer | undefined } {
    let file: { bodyId: string; path: string; fdReady: Promise<number>; entrySynced: Promise<void> } | undefined;
    const acquire = () => {
      if (file) return file.fdReady;
      const ready = this.pool.pop();
      if (this.pool.length < POOL_LOW && !this.closed) this.refill().catch(() => undefined);
      const bodyId = ready?.name ?? hint;
      const path = this.path(bodyId);
      // Every file operation runs in the thread pool: on a journaling file system even
      // an open or a write can wait for a commit that another fsync started.
      const fdReady = ready ? Promise.resolve(ready.fd) : openNew(path);
      // A ready-made file's directory entry is durable already; one made now is synced while data arrives.
      const entrySynced = ready ? Promise.resolve() : fdReady.then(() => this.syncDir());
      fdReady.catch(() => undefined);
      entrySynced.catch(() => undefined);
      file = { bodyId, path, fdReady, entrySynced };
      return fdReady;
    };
    const stream = new BodyStream(acquire, this.buffers);
    let settled = false;
    let closed = false;
    const release = async () => {
      if (closed || !file) return;
      closed = true;
      const fd = await file.fdReady.catch(() => undefined);
      if (fd !== undefined) await new Promise<void>((r) => close(fd, () => r()));
    };
    return {
      get bodyId() {
        return file?.bodyId ?? hint;
      },
      stream,
      inline: () => stream.inlineBody(),
      finish: () =>
        new Promise<number>((resolve, reject) => {
          const done = () => {
            if (settled) return;
            settled = true;
            if (!file) return resolve(stream.bytes);
            const f = file;
            f.fdReady.then((fd) => {
              fsync(fd, (err) => {
                void release();
                if (err) return reject(err);
                f.entrySynced.then(() => resolve(stream.bytes), reject);
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
        if (file) await fsp.rm(file.path, { force: true });
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

  /** The body file, read `readBytes` at a time (256 KB unless given). */
  open(bodyId: string, readBytes = 256 * 1024): Readable {
    return createReadStream(this.path(bodyId), { highWaterMark: readBytes });
  }

  async remove(bodyId: string): Promise<void> {
    await fsp.rm(this.path(bodyId), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => n.endsWith('.eml')).map((n) => n.slice(0, -4));
  }
}

/**
 * Bytes written to a body file at once (each write from one of the body's two
 * buffers): 20 bodies arriving at once hold 2.5 MB of them (256 KB buffers
 * held 10 MB, for no gain in throughput).
 */
const FLUSH_AT = 64 * 1024;
/** Bodies up to this size are stored in the database row. */
export const INLINE_MAX = 128 * 1024;
const POOL_BATCH = 128;
const POOL_LOW = 64;
/** Write buffers kept for the bodies that follow (512 KB at most). */
const SPARE_BUFFERS = 8;

function openNew(file: string): Promise<number> {
  return new Promise((resolve, reject) =>
    open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/** Fixed-size write buffers shared by the bodies being written, reused instead of freed. */
export class WriteBuffers {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(FLUSH_AT);
  }

  give(buf: Buffer): void {
    if (this.free.length < SPARE_BUFFERS) this.free.push(buf);
  }
}

/**
 * Writes a body. It is gathered in memory until it passes INLINE_MAX; from
 * then on every chunk is copied into one of two fixed 64 KB buffers as it
 * arrives, and a full buffer goes to the file (one write, through the thread
 * pool) while the other fills. A chunk from the socket is thus released as
 * soon as it is copied, instead of waiting in a list for its write: under a
 * load of many large messages those waiting chunks outlived several
 * young-generation collections and then waited for a full one (see
 * docs/architecture.md, Memory). The buffers themselves are reused, by this
 * body and by the ones after it.
 */
class BodyStream extends Writable {
  bytes = 0;
  private pending: Buffer[] = [];
  private toFile = false;
  /** The buffer being filled, and how much of it is. */
  private fill: Buffer | undefined;
  private filled = 0;
  /** The write of the other buffer, while it runs. */
  private writing: Promise<void> | undefined;

  constructor(private readonly acquire: () => Promise<number>, private readonly buffers: WriteBuffers) {
    super({ highWaterMark: WRITABLE_HWM });
  }

  /** The whole body, when it stayed in memory. */
  inlineBody(): Buffer | undefined {
    return this.toFile ? undefined : this.joined();
  }

  private joined(): Buffer {
    return this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.toFile) return this.copy([chunk], cb);
    this.pending.push(chunk);
    if (this.bytes <= INLINE_MAX) return cb();
    this.toFile = true;
    const held = this.pending;
    this.pending = [];
    this.copy(held, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.toFile) return cb();
    this.drain().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A buffer being written goes back when its write ends; the one being filled goes now.
    if (this.fill) this.buffers.give(this.fill);
    this.fill = undefined;
    this.filled = 0;
    cb(err);
  }

  /** Copies the chunks into the buffers, handing each full one over to be written. */
  private copy(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    let i = 0;
    let offset = 0;
    const step = (): void => {
      while (i < chunks.length) {
        const chunk = chunks[i]!;
        const buf = (this.fill ??= this.buffers.take());
        const n = chunk.copy(buf, this.filled, offset);
        this.filled += n;
        offset += n;
        if (offset === chunk.length) {
          i++;
          offset = 0;
        }
        if (this.filled === buf.length) {
          this.handOver().then(step, cb);
          return;
        }
      }
      cb();
    };
    step();
  }

  /** Writes the buffer being filled, once the write before it has ended (one write at a time, in order). */
  private async handOver(): Promise<void> {
    const buf = this.fill;
    const n = this.filled;
    this.fill = undefined;
    this.filled = 0;
    if (this.writing) await this.writing;
    if (!buf) return;
    // Destroyed meanwhile (an aborted message): its file may be closed already, nothing more is written.
    if (n === 0 || this.destroyed) return this.buffers.give(buf);
    const writing = this.writeOut(buf, n);
    writing.catch(() => undefined);
    this.writing = writing;
  }

  /** Everything written: the last write, then what is left in the buffer. */
  private async drain(): Promise<void> {
    await this.handOver();
    if (this.writing) await this.writing;
    this.writing = undefined;
  }

  private writeOut(buf: Buffer, n: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => {
        this.buffers.give(buf);
        if (err) reject(err);
        else resolve();
      };
      this.acquire().then((fd) => writeAll(fd, [buf.subarray(0, n)], done), done);
    });
  }
}

/** What waits in the body stream while a write runs: more stays in the socket, outside the process. */
const WRITABLE_HWM = 64 * 1024;

function writeAll(fd: number, pieces: Buffer[], cb: (err?: Error | null) => void): void {
  writev(fd, pieces, (err, n) => {
    if (err) return cb(err);
    // A short write: go on from the first byte not written.
    let left = n;
    let i = 0;
    while (i < pieces.length && left >= pieces[i]!.length) left -= pieces[i++]!.length;
    if (i === pieces.length) return cb();
    writeAll(fd, [pieces[i]!.subarray(left), ...pieces.slice(i + 1)], cb);
  });
}

/**
 * A body writer of `bodies`, kept in `writers` by message id until the message
 * is committed (the caller removes it then) or aborted: the committer reads
 * its bodyId and inline() (SqliteStore, and a receive worker's spool).
 */
export function trackedBody(bodies: BodyFiles, writers: Map<string, { readonly bodyId: string; inline(): Buffer | undefined }>, id: string): BodyWriter {
  const w = bodies.create(id);
  writers.set(id, w);
  return {
    get bodyId() {
      return w.bodyId;
    },
    stream: w.stream,
    finish: () => w.finish(),
    abort: async () => {
      writers.delete(id);
      await w.abort();
    },
  };
}
