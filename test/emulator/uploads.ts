/**
 * Outlook upload sessions for large attachments (3 MB to 150 MB): created
 * by POST .../attachments/createUploadSession, then PUT in sequential
 * chunks of at most 4 MB to a pre-authenticated URL on the same server
 * (Outlook's /api/v2.0/...AttachmentSessions('id')?authtoken=...) that must
 * come WITHOUT an Authorization header. Chunks go to a temporary file per
 * session; the finished file becomes an attachment of the draft.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatorContext } from './context.js';
import type { Draft } from './drafts.js';
import { sendEmpty, sendGraphError, sendJson, type Body } from './http-util.js';
import type { GraphCall } from './graph.js';

export const MIN_UPLOAD_SIZE = 3 * 1024 * 1024;
export const MAX_CHUNK = 4 * 1024 * 1024;

export interface UploadSession {
  id: string;
  authtoken: string;
  draft: Draft;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
  file: string;
  received: number;
  expiresAt: number;
}

export class UploadSessions {
  readonly sessions = new Map<string, UploadSession>();

  constructor(private readonly dir: string) {}

  create(s: Omit<UploadSession, 'id' | 'authtoken' | 'file' | 'received' | 'expiresAt'>): UploadSession {
    const id = randomUUID();
    const file = join(this.dir, `upload-${id}.part`);
    writeFileSync(file, Buffer.alloc(0));
    const session: UploadSession = { ...s, id, authtoken: `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(48).toString('base64url')}`, file, received: 0, expiresAt: Date.now() + 6 * 3600_000 };
    this.sessions.set(id, session);
    return session;
  }

  remove(s: UploadSession): void {
    this.sessions.delete(s.id);
    rmSync(s.file, { force: true });
  }

  clear(): void {
    for (const s of [...this.sessions.values()]) this.remove(s);
  }

  /** Ends the sessions of a draft that was deleted (their URLs answer 404 from then on). */
  removeFor(draftId: string): void {
    for (const s of [...this.sessions.values()]) if (s.draft.id === draftId) this.remove(s);
  }

  /** The session a PUT/DELETE URL names, when its authtoken matches. */
  find(url: URL): UploadSession | undefined {
    const m = /AttachmentSessions\('([^']+)'\)$/.exec(decodeURIComponent(url.pathname));
    const s = m ? this.sessions.get(m[1]!) : undefined;
    return s && url.searchParams.get('authtoken') === s.authtoken ? s : undefined;
  }
}

function sessionPath(s: UploadSession): string {
  return `/api/v2.0/Users('${encodeURIComponent(s.draft.mailbox)}')/Messages('${s.draft.id}')/AttachmentSessions('${s.id}')`;
}

export function createUploadSession(c: GraphCall, draft: Draft): void {
  let item: { attachmentType?: string; name?: string; size?: number; isInline?: boolean; contentId?: string; contentType?: string } | undefined;
  try {
    item = (JSON.parse(c.body.data.toString('utf8')) as { AttachmentItem?: typeof item }).AttachmentItem;
  } catch {
    item = undefined;
  }
  if (!item || item.attachmentType !== 'file' || !item.name || typeof item.size !== 'number') {
    sendGraphError(c.req, c.res, 400, 'ErrorInvalidRequest', "The request is invalid: AttachmentItem with attachmentType 'file', name and size is required.");
    return;
  }
  if (item.size < MIN_UPLOAD_SIZE) {
    sendGraphError(c.req, c.res, 400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'Attachment size must be greater than the minimum size.');
    return;
  }
  const s = c.uploads.create({
    draft, name: item.name, size: item.size, contentType: item.contentType ?? 'application/octet-stream',
    isInline: item.isInline === true, ...(item.contentId ? { contentId: item.contentId } : {}),
  });
  c.respond(201, () => sendJson(c.res, 201, {
    '@odata.context': `${c.ctx.origin}/v1.0/$metadata#microsoft.graph.uploadSession`,
    uploadUrl: `${c.ctx.origin}${sessionPath(s)}?authtoken=${s.authtoken}`,
    expirationDateTime: new Date(s.expiresAt).toISOString(),
    nextExpectedRanges: ['0-'],
  }));
}

/** PUT of one chunk or DELETE of the session. The caller checked the session and the body cap. */
export function handleUpload(ctx: EmulatorContext, uploads: UploadSessions, s: UploadSession, req: IncomingMessage, res: ServerResponse, body: Body): void {
  if (req.method === 'DELETE') {
    uploads.remove(s);
    sendEmpty(res, 204);
    return;
  }
  if (req.method !== 'PUT') {
    sendGraphError(req, res, 405, 'ErrorInvalidRequest', 'The HTTP method is not allowed for this resource.');
    return;
  }
  if (s.expiresAt <= Date.now()) {
    uploads.remove(s);
    sendGraphError(req, res, 404, 'ErrorItemNotFound', 'The upload session has expired.');
    return;
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? '').trim());
  if (!m) {
    sendGraphError(req, res, 400, 'ErrorInvalidRequest', 'The Content-Range header is missing or malformed.');
    return;
  }
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (total !== s.size || end < start || end >= total || end - start + 1 !== body.bytes) {
    sendGraphError(req, res, 400, 'ErrorInvalidRequest', `The Content-Range header 'bytes ${start}-${end}/${total}' does not match the upload session or the body length (${body.bytes}).`);
    return;
  }
  if (start !== s.received) {
    sendGraphError(req, res, 416, 'ErrorInvalidRange', `The uploaded fragment does not start at the next expected byte ${s.received}.`);
    return;
  }
  appendFileSync(s.file, body.data);
  s.received = end + 1;
  if (s.received < s.size) {
    sendJson(res, 200, { ExpirationDateTime: new Date(s.expiresAt).toISOString(), nextExpectedRanges: [String(s.received)] });
    return;
  }
  const content = readFileSync(s.file);
  s.draft.attachments.push({ name: s.name, contentType: s.contentType, size: content.length, isInline: s.isInline, ...(s.contentId ? { contentId: s.contentId } : {}), content, via: 'upload-session' });
  uploads.remove(s);
  const attId = `AAMkA${randomBytes(32).toString('base64url')}`;
  sendEmpty(res, 201, { location: `${ctx.origin}/api/v2.0/Users('${encodeURIComponent(s.draft.mailbox)}')/Messages('${s.draft.id}')/Attachments('${attId}')` });
}
