/**
 * The large-message path of the graph transport: a message whose base64
 * form does not fit one 4 MB request is created as a draft from its MIME
 * with the large parts taken out (needs Mail.ReadWrite), each part is added
 * back (a POST with contentBytes below 3 MiB, the upload session's
 * minimum; otherwise an upload session with sequential PUTs of at most
 * 1,638,400 bytes and no Authorization header), inline parts keep isInline
 * and their Content-ID, then the draft is sent. The draft carries a marker
 * field with the queue id; drafts of earlier attempts are found by it and
 * deleted before a new one is made, and a failed attempt deletes its own
 * draft unless its send may have happened (graph-cleanup.ts).
 *
 * Memory: each PUT's body is streamed straight from the decoded part (a
 * segment of the part stream with its exact length), so no chunk-sized
 * buffer is held per upload and the TLS layer takes the bytes as the socket
 * drains; the draft and the parts are cut from the stored message by the
 * byte ranges the plan found (split.ts). The plan's pass and each part's
 * upload read the stored message in small reads (PLAN_READ_BYTES,
 * PART_READ_BYTES), so that every read is released while it is young.
 */
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import type { HttpResponse } from '../../core/http.js';
import { base64Length, base64Of } from '../microsoft/mime/base64-stream.js';
import { draftStream, partStream, planSplit, PLAN_READ_BYTES, type RemovedPart, type SplitPlan } from '../microsoft/mime/split.js';
import { MARKER_FIELD, type DraftJanitor } from './graph-cleanup.js';
import { GraphNoAnswer, sendMayHaveHappened, type GraphCaller, type GraphStep } from './graph-outcomes.js';

/** Smallest attachment an upload session takes (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize below). */
export const UPLOAD_SESSION_MIN = 3 * 1024 * 1024;
/** Upload chunk: a multiple of 320 KiB, under Outlook's 4 MB per PUT. */
export const UPLOAD_CHUNK = 5 * 320 * 1024;
/**
 * Read size of the stored message for a part's upload: each read waits until
 * the upstream has taken its bytes, and a 256 KB read (the store's default)
 * waited long enough to be promoted and then freed only by a full collection
 * (docs/architecture.md, Memory); a small one is released while it is young.
 */
export const PART_READ_BYTES = 16 * 1024;

export type { GraphCaller } from './graph-outcomes.js';

/** A step that did not succeed: its answer, for the outcome. */
export class DraftStepFailed extends Error {
  constructor(readonly step: GraphStep, readonly res: HttpResponse) {
    super(`${step} answered ${res.status}`);
  }
}

export interface LargeMessage {
  /** Largest draft MIME (one request). */
  maxDraft: number;
  /** The queue id, written into the draft's marker field. */
  queueId: string;
  /** The message's line break, for the marker field. */
  lineBreak: '\r\n' | '\n';
  janitor: DraftJanitor;
  /** The attempt's signal: no search for old drafts once the attempt is stopping. */
  signal: AbortSignal;
}

/** The draft's send was accepted; the Internet message id Graph gave the draft, when its answer had one. */
export interface LargeSent {
  res: HttpResponse;
  internetMessageId?: string;
}

export async function sendLarge(g: GraphCaller, userUrl: string, m: LargeMessage): Promise<LargeSent> {
  const marker = Buffer.from(`${MARKER_FIELD}: ${m.queueId}${m.lineBreak}`, 'latin1');
  const plan = await planSplit(await g.open(PLAN_READ_BYTES), m.maxDraft - marker.length);
  // A draft of an earlier attempt still in Drafts was never sent (a sent draft leaves the folder).
  if (!m.signal.aborted) await m.janitor.sweep('earlier-attempts');
  const { id, internetMessageId } = await createDraft(g, userUrl, plan, marker, m.janitor);
  const messageUrl = `${userUrl}/messages/${encodeURIComponent(id)}`;
  try {
    for (const part of plan.removed) await addPart(g, messageUrl, part);
  } catch (err) {
    await m.janitor.discard(id);
    throw err;
  }
  let sent: HttpResponse;
  try {
    sent = await g.call('send-draft', { method: 'POST', url: `${messageUrl}/send`, body: Buffer.alloc(0) });
  } catch (err) {
    if (err instanceof GraphNoAnswer && sendMayHaveHappened('send-draft', err.error)) m.janitor.keep(id);
    else await m.janitor.discard(id);
    throw err;
  }
  if (sent.status === 202) return { res: sent, ...(internetMessageId ? { internetMessageId } : {}) };
  if (sendMayHaveHappened('send-draft', sent)) m.janitor.keep(id);
  else await m.janitor.discard(id);
  throw new DraftStepFailed('send-draft', sent);
}

/** POST /messages with the marker field on top; the new draft's id (and its internetMessageId). */
async function createDraft(g: GraphCaller, userUrl: string, plan: SplitPlan, marker: Buffer, janitor: DraftJanitor): Promise<{ id: string; internetMessageId?: string }> {
  let created: HttpResponse;
  try {
    created = await g.call('draft', {
      method: 'POST', url: `${userUrl}/messages`, headers: { 'content-type': 'text/plain' },
      body: encodeDraft(marker, await g.open(), plan), contentLength: base64Length(plan.draftSize + marker.length),
    });
  } catch (err) {
    // The request went out and its answer was lost: a draft may exist whose id the relay never learnt.
    if (err instanceof GraphNoAnswer && err.error.bodySent) await janitor.sweep('lost-answer');
    throw err;
  }
  const body = created.status === 201 ? created.json<{ id?: unknown; internetMessageId?: unknown }>() : undefined;
  const id = body?.id;
  if (typeof id === 'string' && id) {
    const imid = body?.internetMessageId;
    return { id, ...(typeof imid === 'string' && imid ? { internetMessageId: imid } : {}) };
  }
  if (created.status === 201 || created.status >= 500) await janitor.sweep('lost-answer');
  throw new DraftStepFailed('draft', created);
}

/** The base64 of the marker field followed by the message without the removed parts. */
function encodeDraft(marker: Buffer, source: Readable, plan: SplitPlan): Readable {
  const draft = draftStream(source, plan.removed, plan.total, plan.tail);
  const text = Readable.from((async function* () {
    yield marker;
    yield* draft;
  })(), { objectMode: false });
  // However the request ends (even before reading), the stored message is released.
  text.once('close', () => {
    draft.destroy();
    source.destroy();
  });
  return base64Of(text);
}

async function addPart(g: GraphCaller, messageUrl: string, part: RemovedPart): Promise<void> {
  const inline = { isInline: part.isInline, ...(part.contentId ? { contentId: part.contentId } : {}) };
  if (part.size < UPLOAD_SESSION_MIN) {
    const content = await buffer(partStream(await g.open(), part));
    const body = Buffer.from(JSON.stringify({
      '@odata.type': '#microsoft.graph.fileAttachment', name: part.name, contentType: part.contentType, contentBytes: content.toString('base64'), ...inline,
    }));
    const res = await g.call('attachment', { method: 'POST', url: `${messageUrl}/attachments`, headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 201) throw new DraftStepFailed('attachment', res);
    return;
  }
  const session = await g.call('attachment', {
    method: 'POST', url: `${messageUrl}/attachments/createUploadSession`, headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ AttachmentItem: { attachmentType: 'file', name: part.name, size: part.size, contentType: part.contentType, ...inline } })),
  });
  const uploadUrl = session.status === 201 ? session.json<{ uploadUrl?: string }>()?.uploadUrl : undefined;
  if (!uploadUrl) throw new DraftStepFailed('attachment', session);
  const content = partStream(await g.open(PART_READ_BYTES), part);
  const segments = new Segments(content, part);
  try {
    for (let offset = 0; offset < part.size; ) {
      const n = Math.min(UPLOAD_CHUNK, part.size - offset);
      // Each PUT is answered before the next segment is read: Outlook takes the chunks in order.
      const res = await g.call('upload', {
        method: 'PUT', url: uploadUrl, auth: false, body: segments.next(n), contentLength: n,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${offset}-${offset + n - 1}/${part.size}` },
      });
      const last = offset + n === part.size;
      if (res.status !== (last ? 201 : 200) && !(last && res.status === 200)) throw new DraftStepFailed('upload', res);
      offset += n;
    }
    if (!(await segments.ended())) throw new Error(`attachment ${part.name}: more than the ${part.size} bytes the plan counted`);
  } finally {
    content.destroy();
  }
}

/**
 * Successive segments of exact lengths read from one stream: each is a
 * stream of its own (a PUT body), which fails if the source ends early, so a
 * request never goes out shorter than its Content-Length.
 */
class Segments {
  private readonly it: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;
  private read = 0;

  constructor(source: Readable, private readonly part: Pick<RemovedPart, 'name' | 'size'>) {
    this.it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  next(n: number): Readable {
    return Readable.from(this.take(n), { objectMode: false });
  }

  private async *take(n: number): AsyncGenerator<Buffer> {
    for (let left = n; left > 0; ) {
      let c = this.rest;
      this.rest = undefined;
      if (!c) {
        const r = await this.it.next();
        if (r.done) throw new Error(`attachment ${this.part.name}: ${this.read} bytes read, ${this.part.size} expected`);
        c = r.value;
      }
      if (c.length > left) {
        this.rest = c.subarray(left);
        c = c.subarray(0, left);
      }
      left -= c.length;
      this.read += c.length;
      yield c;
    }
  }

  /** Whether the source has nothing after the segments taken. */
  async ended(): Promise<boolean> {
    if (this.rest?.length) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) return true;
      if (r.value.length) return false;
    }
  }
}
