/**
 * Message bodies as files: one file per message, written in a stream and
 * fsynced before the metadata commit. The directory entry is made durable by
 * a directory fsync started as soon as the file exists (while the data still
 * arrives); concurrent requests share one fsync.
 */
import { createReadStream, promises as fsp, fsync, write, writeSync, openSync, closeSync, mkdirSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import type { BodyWriter } from '../store.js';

export class BodyFiles {
  private dirFd: number | undefined;
  private dirSyncRunning: Promise<void> | undefined;
  private dirSyncQueued: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  init(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.dirFd = openSync(this.dir, 'r');
  }

  close(): void {
    if (this.dirFd !== undefined) closeSync(this.dirFd);
    this.dirFd = undefined;
  }

  path(bodyId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(bodyId)) throw new Error(`invalid body id ${bodyId}`);
    return join(this.dir, `${bodyId}.eml`);
  }

  create(bodyId: string): BodyWriter {
    const file = this.path(bodyId);
    // Opening a local file does not wait for the disk; only fsync does, and that runs
    // in the thread pool. The directory entry's fsync starts now, while data arrives.
    let fd: number | undefined = openSync(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    const entrySynced = this.syncDir();
    entrySynced.catch(() => undefined);
    const stream = new BodyStream(fd);
    let settled = false;
    const release = () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    };
    return {
      stream,
      finish: () =>
        new Promise<number>((resolve, reject) => {
          const done = () => {
            if (settled) return;
            settled = true;
            if (fd === undefined) return reject(new Error('body file is closed'));
            fsync(fd, (err) => {
              release();
              if (err) return reject(err);
              entrySynced.then(() => resolve(stream.bytes), reject);
            });
          };
          if (stream.writableFinished) return done();
          stream.once('finish', done);
          stream.once('error', (err) => {
            if (settled) return;
            settled = true;
            release();
            reject(err);
          });
          if (!stream.writableEnded) stream.end();
        }),
      abort: async () => {
        settled = true;
        stream.destroy();
        release();
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

/**
 * Writes a body to an open file. Small messages are gathered in memory and
 * written in one call when they end (a page-cache write, no disk wait); large
 * ones are written in 256 KB pieces through the thread pool as they arrive,
 * so memory stays bounded whatever the size.
 */
class BodyStream extends Writable {
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly fd: number) {
    super({ highWaterMark: FLUSH_AT });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.bytes += chunk.length;
    if (this.pendingBytes < FLUSH_AT) return cb();
    const buf = this.take();
    writeAll(this.fd, buf, 0, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const buf = this.take();
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private take(): Buffer {
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return buf;
  }
}

function writeAll(fd: number, buf: Buffer, off: number, cb: (err?: Error | null) => void): void {
  write(fd, buf, off, buf.length - off, null, (err, n) => {
    if (err) return cb(err);
    if (off + n < buf.length) return writeAll(fd, buf, off + n, cb);
    cb();
  });
}
