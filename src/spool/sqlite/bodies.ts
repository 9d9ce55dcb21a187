/**
 * Message bodies as files: one file per message, written in a stream and
 * fsynced before the metadata commit. The directory entry is made durable by
 * a directory fsync started as soon as the file exists (while the data still
 * arrives); concurrent requests share one fsync.
 */
import { createWriteStream, createReadStream, promises as fsp, fsync, close, openSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
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
    const stream = createWriteStream(file, { flags: 'wx', mode: 0o600, autoClose: false, highWaterMark: 256 * 1024 });
    let fd: number | undefined;
    let entrySynced: Promise<void> | undefined;
    stream.once('open', (n) => {
      fd = n;
      entrySynced = this.syncDir();
      entrySynced.catch(() => undefined);
    });
    let settled = false;
    const closeFd = () =>
      new Promise<void>((resolve) => {
        if (fd === undefined) return resolve();
        const n = fd;
        fd = undefined;
        close(n, () => resolve());
      });
    return {
      stream,
      finish: () =>
        new Promise<number>((resolve, reject) => {
          const done = () => {
            if (settled) return;
            settled = true;
            if (fd === undefined) return reject(new Error('body file was not opened'));
            const n = fd;
            fsync(n, (err) => {
              fd = undefined;
              close(n, () => {
                if (err) return reject(err);
                (entrySynced ?? this.syncDir()).then(() => resolve(stream.bytesWritten), reject);
              });
            });
          };
          if (stream.writableFinished) done();
          else {
            stream.once('finish', done);
            stream.once('error', (err) => {
              if (!settled) {
                settled = true;
                reject(err);
              }
            });
            if (!stream.writableEnded) stream.end();
          }
        }),
      abort: async () => {
        settled = true;
        stream.destroy();
        await closeFd();
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
