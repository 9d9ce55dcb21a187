/**
 * The large-message path of the graph transport: a message whose base64
 * form does not fit one 4 MB request is created as a draft from its MIME
 * with the large parts taken out (needs Mail.ReadWrite), each part is added
 * back (a POST with contentBytes below 3 MiB, the upload session's
 * minimum; otherwise an upload session with sequential PUTs of at most
 * 1,638,400 bytes and no Authorization header), inline parts keep isInline
 * and their Content-ID, then the draft is sent. When a step fails, the draft
 * is deleted (best effort) so that retries leave none behind.
 */
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import type { HttpResponse } from '../../core/http.js';
import { base64Length, base64Of } from '../microsoft/mime/base64-stream.js';
import { draftStream, partStream, planSplit, type RemovedPart } from '../microsoft/mime/split.js';
import type { GraphStep } from './graph-outcomes.js';

/** Smallest attachment an upload session takes (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize below). */
export const UPLOAD_SESSION_MIN = 3 * 1024 * 1024;
/** Upload chunk: a multiple of 320 KiB, under Outlook's 4 MB per PUT. */
export const UPLOAD_CHUNK = 5 * 320 * 1024;

export interface GraphCaller {
  /** One Graph request; resolves with any answer, throws HttpError when none came. A stream body is destroyed once the request is over. */
  call(step: GraphStep, req: { method: string; url: string; headers?: Record<string, string>; body?: Buffer | Readable; contentLength?: number; auth?: boolean }): Promise<HttpResponse>;
  /** Opens the prepared message (header rewritten) again. */
  open(): Promise<Readable>;
}

/** A step that did not succeed: its answer, for the outcome. */
export class DraftStepFailed extends Error {
  constructor(readonly step: GraphStep, readonly res: HttpResponse) {
    super(`${step} answered ${res.status}`);
  }
}

export async function sendLarge(g: GraphCaller, userUrl: string, maxDraft: number): Promise<HttpResponse> {
  const plan = await planSplit(await g.open(), maxDraft);
  const created = await g.call('draft', {
    method: 'POST', url: `${userUrl}/messages`, headers: { 'content-type': 'text/plain' },
    body: encodeDraft(await g.open(), plan.removed), contentLength: base64Length(plan.draftSize),
  });
  if (created.status !== 201) throw new DraftStepFailed('draft', created);
  const id = created.json<{ id?: string }>()?.id;
  if (!id) throw new DraftStepFailed('draft', created);
  const messageUrl = `${userUrl}/messages/${encodeURIComponent(id)}`;
  try {
    for (const part of plan.removed) await addPart(g, messageUrl, part);
    const sent = await g.call('send-draft', { method: 'POST', url: `${messageUrl}/send`, body: Buffer.alloc(0) });
    if (sent.status !== 202) throw new DraftStepFailed('send-draft', sent);
    return sent;
  } catch (err) {
    // Best effort: a draft left behind would be sent by nobody, but clutters the mailbox.
    await g.call('draft', { method: 'DELETE', url: messageUrl }).catch(() => undefined);
    throw err;
  }
}

function encodeDraft(source: Readable, removed: RemovedPart[]): Readable {
  return base64Of(draftStream(source, removed));
}

async function addPart(g: GraphCaller, messageUrl: string, part: RemovedPart): Promise<void> {
  const inline = { isInline: part.isInline, ...(part.contentId ? { contentId: part.contentId } : {}) };
  if (part.size < UPLOAD_SESSION_MIN) {
    const content = await buffer(partStream(await g.open(), part.index));
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
  let offset = 0;
  const put = async (chunk: Buffer) => {
    const res = await g.call('upload', {
      method: 'PUT', url: uploadUrl, auth: false, body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${offset}-${offset + chunk.length - 1}/${part.size}` },
    });
    const last = offset + chunk.length === part.size;
    if (res.status !== (last ? 201 : 200) && !(last && res.status === 200)) throw new DraftStepFailed('upload', res);
    offset += chunk.length;
  };
  // One chunk buffer per upload, filled and sent again and again: a PUT is answered before
  // the next one is filled, so the bytes are on the wire before they are overwritten.
  const chunk = Buffer.allocUnsafeSlow(Math.min(UPLOAD_CHUNK, part.size));
  let fill = 0;
  for await (const c of partStream(await g.open(), part.index) as AsyncIterable<Buffer>) {
    for (let from = 0; from < c.length; ) {
      const n = Math.min(c.length - from, chunk.length - fill);
      c.copy(chunk, fill, from, from + n);
      fill += n;
      from += n;
      if (fill === chunk.length) {
        await put(chunk);
        fill = 0;
      }
    }
  }
  if (fill) await put(chunk.subarray(0, fill));
  if (offset !== part.size) throw new Error(`attachment ${part.name}: ${offset} bytes read, ${part.size} expected`);
}
