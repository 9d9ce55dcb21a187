/**
 * Message bodies in PostgreSQL, so that any node can deliver any message.
 *
 * Writing: a body of up to INLINE_MAX bytes stays in memory and is inserted
 * by the acceptance commit with its message (one round trip for both). A
 * larger body is written as it arrives, in chunks of CHUNK_SIZE bytes (rows
 * of body_chunks); the stream waits for each insert (backpressure), so memory
 * stays bounded whatever the size. Chunk inserts commit with
 * synchronous_commit off: the acceptance commit that follows is synchronous,
 * and flushing the write-ahead log up to its commit record makes every
 * earlier record durable too, the chunks included.
 *
 * Leases: the bodies row of a body being written names its writer (this
 * store instance) and a lease on the database clock, renewed while the
 * writer lives; acceptance clears both in the commit that adds the message.
 * A body whose writer is set is an orphan once its lease has run out (its
 * node died or lost the database), or, for this instance's own bodies, once
 * its writer has finished and no acceptance is queued for it. So a
 * node never removes a body another live node is still writing, and a body
 * removed under a writer (its lease lost) makes that message's acceptance
 * fail instead of acknowledging a message without its body.
 *
 * Reading: a Readable that fetches one chunk per read, only when the
 * consumer wants more (at most one chunk buffered).
 */
import { Readable, Writable } from 'node:stream';
import type { Db } from './db.js';

/** Bodies up to this size are written with their message, in the acceptance commit. */
export const INLINE_MAX = 128 * 1024;
/** Size of a stored chunk. */
export const CHUNK_SIZE = 256 * 1024;

const ASYNC_COMMIT = 'BEGIN; SET LOCAL synchronous_commit TO off';

interface LiveBody {
  /** Still receiving data (not finished, not aborted). */
  streaming: boolean;
}

export interface PgBodyWriter {
  readonly bodyId: string;
  readonly stream: Writable;
  finish(): Promise<number>;
  abort(): Promise<void>;
  /** The whole body when it stayed in memory; undefined when it went to chunks. */
  inline(): Buffer | undefined;
  /** Number of chunks written (when not inline). */
  chunks(): number;
}

export class PgBodies {
  /** Bodies with rows in the database that this instance writes (until accepted or aborted). */
  private readonly live = new Map<string, LiveBody>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    /** This store instance's name as a writer (unique per instance). */
    readonly writer: string,
    private readonly leaseMs: number,
  ) {}

  /** Renews the leases of the bodies being written, a third of the lease apart. */
  start(): void {
    this.timer ??= setInterval(() => void this.renew().catch(() => undefined), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async renew(): Promise<void> {
    const ids = [...this.live.keys()];
    if (ids.length === 0) return;
    await this.db.query(`UPDATE bodies SET lease_until = now() + $3 * interval '1 millisecond' WHERE writer = $1 AND body_id = ANY($2)`,
      [this.writer, ids, this.leaseMs]);
  }

  /** The body is now a message's (accepted) or gone: its lease is no longer renewed. */
  settled(bodyId: string): void {
    this.live.delete(bodyId);
  }

  create(bodyId: string): PgBodyWriter {
    let started = false;
    let inflight: Promise<void> = Promise.resolve();
    const put = (seq: number, data: Buffer): Promise<void> => {
      const first = seq === 0;
      if (first) {
        started = true;
        this.live.set(bodyId, { streaming: true });
      }
      const p = this.db.tx(async (tx) => {
        if (first) {
          await tx.query(`WITH b AS (INSERT INTO bodies (body_id, writer, lease_until) VALUES ($1, $2, now() + $3 * interval '1 millisecond') RETURNING body_id)
            INSERT INTO body_chunks (body_id, seq, data) SELECT body_id, 0, $4 FROM b`, [bodyId, this.writer, this.leaseMs, data]);
          return;
        }
        const r = await tx.query(`INSERT INTO body_chunks (body_id, seq, data)
            SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM bodies WHERE body_id = $1 AND writer = $4)`, [bodyId, seq, data, this.writer]);
        if (r.rowCount !== 1) throw new Error(`body ${bodyId} was removed while it was written (its lease ran out)`);
      }, ASYNC_COMMIT);
      inflight = p.catch(() => undefined);
      return p;
    };
    const stream = new ChunkStream(put);
    // A failed chunk insert ends the stream with an error; finish() reports it (and an
    // error nobody listens to yet must not end the process).
    stream.on('error', () => undefined);
    const stopStreaming = () => {
      const l = this.live.get(bodyId);
      if (l) l.streaming = false;
    };
    let settled = false;
    return {
      bodyId,
      stream,
      inline: () => (started ? undefined : stream.inlineBody()),
      chunks: () => stream.seq,
      finish: () =>
        new Promise<number>((resolve, reject) => {
          const done = () => {
            if (settled) return;
            settled = true;
            stopStreaming();
            resolve(stream.bytes);
          };
          const failed = (err: Error) => {
            if (settled) return;
            settled = true;
            stopStreaming();
            reject(err);
          };
          if (stream.errored) return failed(stream.errored);
          if (stream.writableFinished) return done();
          stream.once('finish', done);
          stream.once('error', failed);
          if (!stream.writableEnded) stream.end();
        }),
      abort: async () => {
        settled = true;
        stream.destroy();
        await inflight;
        this.live.delete(bodyId);
        if (started) await this.db.query('DELETE FROM bodies WHERE body_id = $1 AND writer = $2', [bodyId, this.writer]);
      },
    };
  }

  open(bodyId: string): Readable {
    return new ChunkReader(this.db, bodyId);
  }

  /**
   * Removes bodies no message refers to: those whose writer's lease ran out,
   * and those of this instance that no writer streams any more and that are
   * not in `accepting` (bodies of messages queued for the acceptance commit).
   * This instance's bodies are named one by one, so a body whose writer
   * starts while the statement runs is never taken for an orphan.
   */
  async removeOrphans(accepting: ReadonlySet<string>): Promise<number> {
    const abandoned = [...this.live].filter(([id, l]) => !l.streaming && !accepting.has(id)).map(([id]) => id);
    const r = await this.db.query<{ body_id: string }>(`DELETE FROM bodies
        WHERE writer IS NOT NULL AND (lease_until < now() OR (writer = $1 AND body_id = ANY($2)))
        RETURNING body_id`, [this.writer, abandoned]);
    for (const row of r.rows) this.live.delete(row.body_id);
    return r.rowCount ?? 0;
  }
}

/**
 * Gathers a body in memory until it passes INLINE_MAX; from then on writes
 * it in CHUNK_SIZE pieces, waiting for each insert before taking more.
 */
class ChunkStream extends Writable {
  bytes = 0;
  seq = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chunked = false;

  constructor(private readonly put: (seq: number, data: Buffer) => Promise<void>) {
    super({ highWaterMark: CHUNK_SIZE });
  }

  inlineBody(): Buffer {
    return this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.bytes += chunk.length;
    if (!this.chunked && this.bytes > INLINE_MAX) this.chunked = true;
    if (!this.chunked || this.pendingBytes < CHUNK_SIZE) return cb();
    this.drain(false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.chunked) return cb();
    this.drain(true).then(() => cb(), cb);
  }

  private async drain(all: boolean): Promise<void> {
    while (this.pendingBytes >= CHUNK_SIZE || (all && this.pendingBytes > 0)) {
      const joined = this.inlineBody();
      const n = Math.min(CHUNK_SIZE, joined.length);
      // The chunk is copied out, so that the rest does not keep the whole joined buffer alive.
      const rest = Buffer.from(joined.subarray(n));
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      await this.put(this.seq, joined.subarray(0, n));
      this.seq++;
    }
  }
}

/** Streams a stored body chunk by chunk; the next chunk is fetched only when the consumer reads on. */
class ChunkReader extends Readable {
  private seq = 0;
  private total: number | undefined;
  private fetching = false;
  private ended = false;

  constructor(
    private readonly db: Db,
    private readonly bodyId: string,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
  }

  override _read(): void {
    if (this.fetching || this.ended) return;
    this.fetching = true;
    this.next().then(
      (chunk) => {
        this.fetching = false;
        if (this.total !== undefined && this.seq >= this.total) this.ended = true;
        if (chunk) this.push(chunk);
        if (this.ended) this.push(null);
      },
      (err: Error) => this.destroy(err),
    );
  }

  /** The next chunk (undefined for an empty body). */
  private async next(): Promise<Buffer | undefined> {
    if (this.total === undefined) {
      const r = await this.db.query<{ chunks: number | null; data: Buffer | null }>(
        `SELECT b.chunks, c.data FROM bodies b LEFT JOIN body_chunks c ON c.body_id = b.body_id AND c.seq = 0
          WHERE b.body_id = $1 AND b.writer IS NULL`, [this.bodyId]);
      const row = r.rows[0];
      if (!row || row.chunks === null) throw new Error(`body ${this.bodyId} is not in the spool`);
      this.total = row.chunks;
      if (this.total === 0) return undefined;
      return this.received(row.data);
    }
    const r = await this.db.query<{ data: Buffer }>('SELECT data FROM body_chunks WHERE body_id = $1 AND seq = $2', [this.bodyId, this.seq]);
    return this.received(r.rows[0]?.data ?? null);
  }

  private received(data: Buffer | null): Buffer {
    if (data === null) throw new Error(`body ${this.bodyId}: chunk ${this.seq} is missing (the body was removed while it was read)`);
    this.seq++;
    return data;
  }
}
