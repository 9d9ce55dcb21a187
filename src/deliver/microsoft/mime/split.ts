/**
 * Large messages for Graph: a request body is limited to 4 MB, so a larger
 * message is sent as a draft made from its MIME with the largest
 * attachment-like parts taken out, and those parts are added to the draft
 * one by one (upload sessions or attachment POSTs). The message is streamed
 * several times instead of being held:
 *   1. planSplit (through mailsplit): sizes of every leaf part, which to
 *      take out, and where each removed part lies in the message (its bytes
 *      from the delimiter line before it to the end of its body, and its
 *      body's bytes);
 *   2. draftStream: the message without those parts (each removed together
 *      with the delimiter line before it, so the multipart stays well formed);
 *   3. partStream: one removed part's decoded bytes, for its upload.
 * Passes 2 and 3 cut the byte ranges the plan found (byte-ranges.ts) instead
 * of parsing the message again, when the plan could place every part (its
 * byte count matched the stored message) and the part's encoding is base64,
 * 7bit, 8bit or binary; otherwise (quoted-printable, a plan without places)
 * they go through mailsplit as pass 1 does. The draft of a message whose
 * kept bytes after its first removed part are few (a scan: a closing
 * boundary) is the message read up to that part plus those bytes, recorded
 * by pass 1 (draft-tail.ts). mailsplit handles each line on
 * its own turn of the event loop, so the chunks it holds live long: pass 1
 * reads the stored message PLAN_READ_BYTES at a time (the caller opens it so)
 * and hands those reads to mailsplit as they are; the other passes through
 * mailsplit hand it small copies of what they read.
 * Everything that is kept is written byte for byte.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { Splitter, type MailsplitItem, type MimeNode } from 'mailsplit';
import { Base64Decode, rangeOf, withoutRanges, type ByteRange } from './byte-ranges.js';
import { GapRecorder, type DraftTail } from './draft-tail.js';
import { MAX_HEADER_BYTES } from './header-section.js';

export interface RemovedPart {
  /** Ordinal of the part among the MIME nodes (0 is the top-level node). */
  index: number;
  name: string;
  contentType: string;
  contentId?: string;
  /** Shown in the body (cid: reference) rather than listed as an attachment. */
  isInline: boolean;
  /** Decoded size in bytes. */
  size: number;
  /** Where the part lies in the message: from the delimiter line before it (with its line break) to the end of its body. */
  range?: ByteRange;
  /** Where its encoded body lies, and its Content-Transfer-Encoding (lower case, '' when absent). */
  body?: ByteRange & { encoding: string };
}

export interface SplitPlan {
  /** Exact size of the draft MIME. */
  draftSize: number;
  removed: RemovedPart[];
  /** Bytes of the message the plan was made from. */
  total: number;
  /** The draft as the message's first bytes plus these (when the removed parts allow it: draft-tail.ts). */
  tail?: DraftTail;
}

interface Leaf extends RemovedPart {
  /** Bytes this part takes in the message: the delimiter line before it, its header and its body. */
  span: number;
  /** Offset of the first byte of that span, and of the body. */
  spanStart: number;
  bodyStart: number;
  encoding: string;
  candidate: boolean;
  /** size counts base64 characters until the end of the pass. */
  base64: boolean;
}

function splitter(): Splitter {
  return new Splitter({ ignoreEmbedded: true, maxHeadSize: MAX_HEADER_BYTES });
}

/** Bytes handed to mailsplit at once, each a copy (see the file header). */
const PIECE = 16 * 1024;

/**
 * The read size for the plan's pass: mailsplit holds each read while it
 * handles the read's lines one turn of the event loop at a time, interleaved
 * with every other delivery doing the same. A 256 KB read (or 256 KB of
 * copies made from it at once) outlived several young-generation collections
 * and was promoted, to be freed only by a full collection: with 16 plans at
 * once that was tens of megabytes of dead buffers (docs/architecture.md, Memory).
 */
export const PLAN_READ_BYTES = 16 * 1024;

/** The source in small copies, so that the chunk read from the spool is released at once. */
function smallCopies(): Transform {
  return new Transform({
    transform(c: Buffer, _e, cb: TransformCallback) {
      for (let i = 0; i < c.length; i += PIECE) this.push(Buffer.from(c.subarray(i, i + PIECE)));
      cb();
    },
  });
}

/** mailsplit's items of the source; `copy`: fed as small copies (else as the source's own chunks). */
async function* items(source: Readable, copy = true): AsyncGenerator<MailsplitItem> {
  const s = splitter();
  const copies = copy ? smallCopies() : undefined;
  source.on('error', (err) => s.destroy(err));
  copies?.on('error', (err) => s.destroy(err));
  if (copies) source.pipe(copies).pipe(s);
  else source.pipe(s);
  try {
    for await (const item of s as AsyncIterable<MailsplitItem>) yield item;
  } finally {
    source.destroy();
    copies?.destroy();
    s.destroy();
  }
}

const BASE64_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CHAR[c.charCodeAt(0)] = 1;

function isNode(item: MailsplitItem): item is MimeNode {
  return item.type === 'node';
}

/**
 * Reads the message once and decides which parts to take out so that the
 * draft is at most `maxDraft` bytes: attachment-like leaves (not the text
 * or HTML body), largest first. The source is handed to mailsplit in the
 * chunks it comes in: open it with reads of PLAN_READ_BYTES.
 */
export async function planSplit(source: Readable, maxDraft: number): Promise<SplitPlan> {
  const leaves: Leaf[] = [];
  let read = 0;
  source.on('data', (c: Buffer) => (read += c.length));
  let total = 0;
  let index = -1;
  let pendingDelimiter = 0;
  let previousData: Buffer | undefined;
  let current: Leaf | undefined;
  let base64 = false;
  let counter: Promise<number> | undefined;
  let decoder: Transform | undefined;
  const gaps = new GapRecorder<Leaf>();
  const finish = async () => {
    if (!current) return;
    if (decoder) {
      decoder.end();
      current.size = await counter!;
    }
    current = undefined;
    decoder = undefined;
  };
  for await (const item of items(source, false)) {
    if (isNode(item)) {
      await finish();
      index++;
      const headBytes = item.getHeaders();
      const head = headBytes.length;
      const nodeStart = total;
      total += head;
      if (!item.multipart) {
        const contentId = item.headers.getFirst('content-id')?.trim() || undefined;
        const parentType = item.parentNode ? item.parentNode.contentType || '' : '';
        const type = item.contentType || 'text/plain';
        const body = /^text\/(plain|html)$/.test(type) && item.disposition !== 'attachment' && !item.filename;
        current = {
          index, name: item.filename || defaultName(type, index), contentType: type,
          ...(contentId ? { contentId: contentId.replace(/^<|>$/g, '') } : {}),
          isInline: item.disposition === 'inline' ? Boolean(contentId) || !item.filename : Boolean(contentId) && parentType === 'multipart/related',
          size: 0, span: pendingDelimiter + head, spanStart: nodeStart - pendingDelimiter, bodyStart: total, encoding: item.encoding || '',
          candidate: !item.root && !body, base64: item.encoding === 'base64',
        };
        leaves.push(current);
        if (current.candidate) gaps.startPart(current, pendingDelimiter);
        base64 = current.base64;
        if (!base64 && current.candidate) {
          decoder = item.getDecoder();
          const d = decoder;
          counter = new Promise<number>((resolve, reject) => {
            let n = 0;
            d.on('data', (c: Buffer) => (n += c.length));
            d.on('end', () => resolve(n));
            d.on('error', reject);
          });
        }
      }
      if (!current?.candidate) gaps.add(headBytes);
      pendingDelimiter = 0;
      previousData = undefined;
      continue;
    }
    total += item.value.length;
    if (item.type !== 'body' || !current?.candidate) gaps.add(item.value);
    if (item.type === 'data') {
      pendingDelimiter = isDelimiter(item.value) ? item.value.length + lineBreakBefore(item.value, previousData) : 0;
      previousData = item.value;
      continue;
    }
    previousData = undefined;
    if (!current) continue;
    current.span += item.value.length;
    if (base64) {
      for (const byte of item.value) current.size += BASE64_CHAR[byte]!;
    } else if (decoder) {
      if (!decoder.write(item.value)) await new Promise((r) => decoder!.once('drain', r));
    } else {
      current.size += item.value.length;
    }
  }
  await finish();
  gaps.end();
  // Base64 text: 4 characters carry 3 bytes.
  for (const l of leaves) if (l.base64) l.size = Math.floor((l.size * 3) / 4);
  const removed: Leaf[] = [];
  let draftSize = total;
  for (const l of [...leaves].filter((x) => x.candidate).sort((a, b) => b.span - a.span)) {
    if (draftSize <= maxDraft) break;
    removed.push(l);
    draftSize -= l.span;
  }
  if (draftSize > maxDraft) throw new SplitError(`the message without its attachments is still ${draftSize} bytes, more than a Graph request can carry`);
  removed.sort((a, b) => a.index - b.index);
  // The places are kept only when mailsplit accounted for every byte read (it always should).
  const placed = total === read;
  const tail = placed ? gaps.tail(leaves.filter((l) => l.candidate), new Set(removed), (l) => ({ start: l.spanStart, end: l.spanStart + l.span })) : undefined;
  return {
    draftSize, total, ...(tail && tail.prefixEnd + tail.bytes.length === draftSize ? { tail } : {}),
    removed: removed.map(({ span, spanStart, bodyStart, encoding, candidate: _c, base64: _b, ...r }) => ({
      ...r,
      ...(placed ? { range: { start: spanStart, end: spanStart + span }, body: { start: bodyStart, end: spanStart + span, encoding } } : {}),
    })),
  };
}

export class SplitError extends Error {
  override name = 'SplitError';
}

/** A delimiter line (with the line break before it that belongs to it), as mailsplit hands it over before a part. */
function isDelimiter(value: Buffer): boolean {
  return value.length < 200 && /^(\r?\n)?--[^\r\n]*\r?\n$/.test(value.toString('latin1'));
}

/**
 * The line break before a delimiter belongs to it (RFC 2046 §5.1.1); when
 * mailsplit left it at the end of the data before (an epilogue or preamble),
 * it goes with the delimiter: its length, else 0.
 */
function lineBreakBefore(delimiter: Buffer, before: Buffer | undefined): number {
  if (delimiter[0] === 0x0a || delimiter[0] === 0x0d || !before) return 0;
  const n = before.length;
  if (n >= 2 && before[n - 2] === 0x0d && before[n - 1] === 0x0a) return 2;
  return n >= 1 && before[n - 1] === 0x0a ? 1 : 0;
}

function defaultName(type: string, index: number): string {
  const ext = type.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
  return `part${index}.${ext}`;
}

/**
 * The message without the removed parts, streamed: from its first bytes and
 * the recorded tail when the plan has one, by the parts' byte ranges when the
 * plan placed them all (`total`, the plan's byte count, is then checked),
 * otherwise through mailsplit.
 */
export function draftStream(source: Readable, removed: readonly Pick<RemovedPart, 'index' | 'range'>[], total?: number, tail?: DraftTail): Readable {
  if (tail) return prefixThen(source, tail);
  const ranges = removed.map((r) => r.range);
  if (ranges.every((r) => r !== undefined)) return withoutRanges(source, [...ranges].sort((a, b) => a.start - b.start), total);
  return parsedDraftStream(source, removed);
}

/** The message's first tail.prefixEnd bytes (the reading stops there), then tail.bytes. */
function prefixThen(source: Readable, tail: DraftTail): Readable {
  const head = rangeOf(source, { start: 0, end: tail.prefixEnd });
  const out = Readable.from((async function* () {
    yield* head as AsyncIterable<Buffer>;
    if (tail.bytes.length) yield tail.bytes;
  })(), { objectMode: false });
  out.once('close', () => head.destroy());
  return out;
}

function parsedDraftStream(source: Readable, removed: readonly Pick<RemovedPart, 'index'>[]): Readable {
  const drop = new Set(removed.map((r) => r.index));
  async function* run(): AsyncGenerator<Buffer> {
    let index = -1;
    let skipping = false;
    // Data between parts (delimiters, preamble, epilogue: small) waits until the next node shows whether it is kept.
    let held: Buffer[] = [];
    for await (const item of items(source)) {
      if (isNode(item)) {
        index++;
        skipping = drop.has(index);
        const last = held[held.length - 1];
        if (skipping && last && isDelimiter(last)) {
          held.pop();
          const before = held[held.length - 1];
          const cut = lineBreakBefore(last, before);
          if (cut && before) held[held.length - 1] = before.subarray(0, before.length - cut);
        }
        yield* held;
        held = [];
        if (!skipping) yield item.getHeaders();
        continue;
      }
      if (item.type === 'data') {
        skipping = false;
        held.push(item.value);
        continue;
      }
      yield* held;
      held = [];
      if (!skipping) yield item.value;
    }
    yield* held;
  }
  return Readable.from(run(), { objectMode: false });
}

/** Encodings whose bytes are the content as they are. */
const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

/**
 * The decoded bytes of one part, streamed: a placed base64 or identity part
 * from its body's byte range (the reading stops at its end), any other by
 * index through mailsplit. Destroying the result (a reader that gives up half
 * way) stops the reading and releases the source.
 */
export function partStream(source: Readable, part: number | Pick<RemovedPart, 'index' | 'body'>): Readable {
  if (typeof part === 'number') return parsedPartStream(source, part);
  const body = part.body;
  if (body && body.encoding === 'base64') {
    const text = rangeOf(source, body);
    const decode = new Base64Decode();
    text.on('error', (err) => decode.destroy(err));
    decode.once('close', () => text.destroy());
    return text.pipe(decode);
  }
  if (body && IDENTITY.has(body.encoding)) return rangeOf(source, body);
  return parsedPartStream(source, part.index);
}

function parsedPartStream(source: Readable, index: number): Readable {
  const out = new Transform({ transform: (c: Buffer, _e, cb: TransformCallback) => cb(null, c) });
  (async () => {
    let i = -1;
    let decoder: Transform | undefined;
    // Leaving the loop (break, return) ends items(), which destroys the source and the splitter.
    for await (const item of items(source)) {
      if (out.destroyed) return;
      if (isNode(item)) {
        i++;
        if (decoder) break;
        if (i === index) {
          decoder = item.getDecoder();
          decoder.on('error', (err) => out.destroy(err));
          decoder.pipe(out);
        }
        continue;
      }
      if (decoder && item.type === 'body' && !decoder.write(item.value)) {
        await drainedOrClosed(decoder, out);
        if (out.destroyed) return;
      }
      if (decoder && item.type === 'data') break;
    }
    if (out.destroyed) return;
    if (!decoder) throw new Error(`part ${index} was not found in the stored message`);
    decoder.end();
  })().catch((err: Error) => out.destroy(err));
  return out;
}

/** Resolves when `w` can take more, or when `out` (where its bytes go) was closed and nobody reads any more. */
function drainedOrClosed(w: Transform, out: Readable): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      out.off('close', done);
      resolve();
    };
    w.once('drain', done);
    out.once('close', done);
  });
}
