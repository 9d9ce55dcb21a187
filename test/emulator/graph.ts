/**
 * Graph v1.0 mail on the emulator: sendMail (base64 MIME as text/plain, or
 * JSON), drafts, attachments and send (mail folders and the listing of their
 * messages are in mail-folders.ts; Sent Items, Deleted Items, DELETE and
 * permanentDelete in mail-items.ts). The caller (https-server.ts) has
 * already verified the bearer token, counted the request against the
 * app + mailbox concurrency limit and refused oversized bodies. Checks run
 * in Microsoft's order: permission (403 ErrorAccessDenied), mailbox (404
 * ErrorInvalidUser), licence (404 MailboxNotEnabledForRESTAPI), content,
 * recipients (400 ErrorInvalidRecipients), Send As (403 ErrorSendAsDenied),
 * the daily recipient limit shared with SMTP AUTH (403 ErrorSubmissionQuotaExceeded),
 * size (400 ErrorMessageSizeExceeded).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorMailbox, SentMessage } from './api.js';
import type { EmulatorContext } from './context.js';
import type { DraftStore, Draft } from './drafts.js';
import { sendGraphError, sendJson, type Body } from './http-util.js';
import { draftResource, getMailFolder, listFolderMessages } from './mail-folders.js';
import { deleteMessage, internetMessageIdOf, permanentDelete } from './mail-items.js';
import { decodeBase64Strict, jsonToMime, mimeFrom, mimeRecipients, type JsonMessage } from './mime.js';
import type { Principal } from './tokens.js';
import { objectId } from './tokens.js';
import { createUploadSession, type UploadSessions } from './uploads.js';

export interface GraphCall {
  ctx: EmulatorContext;
  drafts: DraftStore;
  uploads: UploadSessions;
  req: IncomingMessage;
  res: ServerResponse;
  principal: Principal;
  /** The path's user segment ({id|upn} or "me"). */
  user: string;
  /** Path segments after /users/{u}/. */
  rest: string[];
  /** The query ($filter, $select, $top...). */
  query: URLSearchParams;
  body: Body;
  /** Called right before the answer when the request was acted on (accept-then-fail faults use it). */
  respond(status: number, send: () => void): void;
}

const ACCESS_DENIED = 'Access is denied. Check credentials and try again.';

/** Finds the path's mailbox in the caller's tenant, by address or object id. */
export function resolveMailbox(ctx: EmulatorContext, principal: Principal, user: string): EmulatorMailbox | undefined {
  const name = user.toLowerCase() === 'me' && principal.user ? principal.user : user;
  const byAddress = ctx.state.findMailbox(name);
  if (byAddress) return byAddress.tenantId === principal.tenantId ? byAddress : undefined;
  for (const m of ctx.state.mailboxes.values()) if (m.tenantId === principal.tenantId && objectId('user', m.tenantId, m.address) === name.toLowerCase()) return m;
  return undefined;
}

function hasPermission(p: Principal, ...names: string[]): boolean {
  return names.some((n) => p.permissions.some((x) => x.toLowerCase() === n.toLowerCase()));
}

export async function handleGraph(c: GraphCall): Promise<void> {
  const [first, id, sub, action] = c.rest;
  const method = c.req.method ?? 'GET';
  if (method === 'DELETE' && first === 'messages' && id && c.rest.length === 2) return deleteMessage(c, id);
  if (method === 'DELETE' && first === 'mailFolders' && sub === 'messages' && action && c.rest.length === 4) return deleteMessage(c, action);
  if (method === 'POST' && first === 'messages' && id && sub === 'permanentDelete' && c.rest.length === 3) return permanentDelete(c, id);
  if (method === 'POST' && first === 'mailFolders' && sub === 'messages' && action && c.rest[4] === 'permanentDelete' && c.rest.length === 5) return permanentDelete(c, action);
  if (method === 'GET' && first === 'mailFolders' && id && sub === 'messages' && c.rest.length === 3) return listFolderMessages(c, id, mailboxFor(c, 'Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'));
  if (method === 'POST' && first === 'sendMail' && c.rest.length === 1) return sendMail(c);
  if (method === 'POST' && first === 'messages' && c.rest.length === 1) return createDraft(c);
  if (method === 'POST' && first === 'messages' && id && sub === 'attachments' && c.rest.length === 3) return addAttachment(c, id);
  if (method === 'POST' && first === 'messages' && id && sub === 'attachments' && action === 'createUploadSession' && c.rest.length === 4) return startUpload(c, id);
  if (method === 'POST' && first === 'messages' && id && sub === 'send' && c.rest.length === 3) return sendDraft(c, id);
  if (method === 'GET' && first === 'mailFolders' && id && c.rest.length === 2) return getMailFolder(c, id, mailboxFor(c, 'Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'));
  sendGraphError(c.req, c.res, 400, 'BadRequest', `Resource not found for the segment '${c.rest[c.rest.length - 1] ?? ''}'.`);
}

/** The common checks; the mailbox when they pass, undefined after an error was sent. */
export function mailboxFor(c: GraphCall, ...permissions: string[]): EmulatorMailbox | undefined {
  if (!hasPermission(c.principal, ...permissions)) {
    sendGraphError(c.req, c.res, 403, 'ErrorAccessDenied', ACCESS_DENIED);
    return undefined;
  }
  const mbx = resolveMailbox(c.ctx, c.principal, c.user);
  if (!mbx) {
    sendGraphError(c.req, c.res, 404, 'ErrorInvalidUser', `The requested user '${c.user}' is invalid.`);
    return undefined;
  }
  if (!mbx.licensed) {
    sendGraphError(c.req, c.res, 404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    return undefined;
  }
  if (c.principal.user && !c.ctx.state.maySendAs(c.principal.user, mbx.address, c.principal.clientId)) {
    sendGraphError(c.req, c.res, 403, 'ErrorAccessDenied', ACCESS_DENIED);
    return undefined;
  }
  return mbx;
}

function isMimeBody(c: GraphCall): boolean {
  return /^text\/plain\b/i.test(String(c.req.headers['content-type'] ?? ''));
}

/** The message as MIME (decoded base64, or built from JSON) plus the JSON wrapper, or undefined after an error. */
async function readMessage(c: GraphCall, mbx: EmulatorMailbox, wrapped: boolean): Promise<{ mime: Buffer; json?: Record<string, unknown> } | undefined> {
  if (isMimeBody(c)) {
    const mime = decodeBase64Strict(c.body.data.toString('latin1'));
    if (!mime) {
      sendGraphError(c.req, c.res, 400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
      return undefined;
    }
    return { mime };
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(c.body.data.toString('utf8')) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null) throw new Error('not an object');
  } catch {
    sendGraphError(c.req, c.res, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
    return undefined;
  }
  const message = (wrapped ? json.message : json) as JsonMessage | undefined;
  if (!message || typeof message !== 'object') {
    sendGraphError(c.req, c.res, 400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.");
    return undefined;
  }
  // The recorded MIME mirrors the JSON recipients (Bcc kept), so recipients read the same way.
  return { mime: await jsonToMime(message, mbx.address), json };
}

/** Recipients, Send As and size checks of a message about to be sent; false after an error was sent. */
function checkSend(c: GraphCall, mbx: EmulatorMailbox, mime: Buffer, recipients: string[], totalSize: number): boolean {
  if (recipients.length === 0) {
    sendGraphError(c.req, c.res, 400, 'ErrorInvalidRecipients', "At least one recipient is not valid., A message can't be sent because it contains no recipients.");
    return false;
  }
  const from = mimeFrom(mime);
  if (from && !c.ctx.state.maySendAs(mbx.address, from, c.principal.clientId)) {
    sendGraphError(c.req, c.res, 403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message.');
    return false;
  }
  if (totalSize > mbx.maxMessageSize) {
    sendGraphError(c.req, c.res, 400, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.');
    return false;
  }
  // Exchange Online's recipient rate limit, counted with what the mailbox sent by SMTP AUTH. The code is
  // Exchange's (Graph passes Exchange's response codes through); the HTTP status is not documented.
  if (!c.ctx.state.submitRecipients(mbx.address, recipients.length)) {
    sendGraphError(c.req, c.res, 403, 'ErrorSubmissionQuotaExceeded', "The message couldn't be sent because the sender's submission quota was exceeded. Please try again later.");
    return false;
  }
  return true;
}

/** Records the accepted message; a copy goes to Sent Items with this internetMessageId unless saveToSentItems was false. */
function accept(c: GraphCall, mbx: EmulatorMailbox, msg: Omit<SentMessage, 'at' | 'tenantId' | 'mailbox' | 'principal'>, internetMessageId: string): void {
  const sent: SentMessage = { at: Date.now(), tenantId: mbx.tenantId, mailbox: mbx.address, principal: c.principal.user ?? c.principal.clientId, ...msg };
  c.ctx.state.sentMessages.push(sent);
  if (msg.savedToSentItems !== false) c.ctx.state.mail.fileSent(sent, internetMessageId);
}

async function sendMail(c: GraphCall): Promise<void> {
  const mbx = mailboxFor(c, 'Mail.Send');
  if (!mbx) return;
  const msg = await readMessage(c, mbx, true);
  if (!msg) return;
  const recipients = mimeRecipients(msg.mime);
  if (!checkSend(c, mbx, msg.mime, recipients, msg.mime.length)) return;
  const save = msg.json ? msg.json.saveToSentItems !== false && msg.json.saveToSentItems !== 'false' : true;
  accept(c, mbx, { via: msg.json ? 'graph-json' : 'graph-mime', recipients, mime: msg.mime, attachments: [], savedToSentItems: save }, internetMessageIdOf(msg.mime));
  c.respond(202, () => c.res.writeHead(202, { 'content-length': '0' }).end());
}

async function createDraft(c: GraphCall): Promise<void> {
  const mbx = mailboxFor(c, 'Mail.ReadWrite');
  if (!mbx) return;
  const msg = await readMessage(c, mbx, false);
  if (!msg) return;
  const d = c.drafts.create({ tenantId: mbx.tenantId, mailbox: mbx.address, clientId: c.principal.clientId, mime: msg.mime });
  c.respond(201, () => sendJson(c.res, 201, draftResource(c, d)));
}

function findDraft(c: GraphCall, mbx: EmulatorMailbox, id: string): Draft | undefined {
  const d = c.drafts.get(id, mbx.address);
  if (!d) sendGraphError(c.req, c.res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  return d;
}

async function addAttachment(c: GraphCall, id: string): Promise<void> {
  const mbx = mailboxFor(c, 'Mail.ReadWrite');
  if (!mbx) return;
  const d = findDraft(c, mbx, id);
  if (!d) return;
  let a: { '@odata.type'?: string; name?: string; contentType?: string; contentBytes?: string; isInline?: boolean; contentId?: string };
  try {
    a = JSON.parse(c.body.data.toString('utf8')) as typeof a;
  } catch {
    sendGraphError(c.req, c.res, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
    return;
  }
  const content = a.contentBytes !== undefined ? decodeBase64Strict(a.contentBytes) ?? (a.contentBytes === '' ? Buffer.alloc(0) : undefined) : undefined;
  if (a['@odata.type'] !== '#microsoft.graph.fileAttachment' || !a.name || content === undefined) {
    sendGraphError(c.req, c.res, 400, 'ErrorInvalidRequest', 'The request is invalid: a fileAttachment needs @odata.type, name and base64 contentBytes.');
    return;
  }
  const att = { name: a.name, contentType: a.contentType ?? 'application/octet-stream', size: content.length, isInline: a.isInline === true, ...(a.contentId ? { contentId: a.contentId } : {}), content, via: 'post' as const };
  d.attachments.push(att);
  c.respond(201, () => sendJson(c.res, 201, {
    '@odata.type': '#microsoft.graph.fileAttachment',
    id: `AAMkA${d.attachments.length}${d.id.slice(5, 40)}`,
    lastModifiedDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    name: att.name, contentType: att.contentType, size: att.size, isInline: att.isInline, contentId: att.contentId ?? null,
  }));
}

async function startUpload(c: GraphCall, id: string): Promise<void> {
  const mbx = mailboxFor(c, 'Mail.ReadWrite');
  if (!mbx) return;
  const d = findDraft(c, mbx, id);
  if (!d) return;
  createUploadSession(c, d);
}

async function sendDraft(c: GraphCall, id: string): Promise<void> {
  const mbx = mailboxFor(c, 'Mail.Send');
  if (!mbx) return;
  const d = findDraft(c, mbx, id);
  if (!d) return;
  const recipients = mimeRecipients(d.mime);
  const total = d.mime.length + d.attachments.reduce((n, a) => n + a.size, 0);
  if (!checkSend(c, mbx, d.mime, recipients, total)) return;
  c.drafts.delete(d.id);
  // The draft itself moves to Sent Items, keeping its internetMessageId.
  accept(c, mbx, { via: 'graph-draft', recipients, mime: d.mime, attachments: d.attachments, savedToSentItems: true }, d.internetMessageId);
  c.respond(202, () => c.res.writeHead(202, { 'content-length': '0' }).end());
}
