/**
 * The emulator's HTTPS server: one origin for Entra (/{tenant}/...), Graph
 * (/v1.0/...) and Outlook upload sessions (/api/v2.0/...). It verifies
 * bearer tokens for Graph (401 InvalidAuthenticationToken), counts requests
 * in flight per app + mailbox (the fifth at once gets 429 ApplicationThrottled;
 * upload PUTs count too, as Outlook requests for the same app and mailbox),
 * refuses bodies over 4 MB (413), applies fault rules and records every request.
 * The migration scan's reports, sign-in logs and report downloads are routed
 * to reports.ts.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from './context.js';
import type { DraftStore } from './drafts.js';
import { faultAfter, faultBefore, entraFaultAnswer, graphFaultAnswer } from './faults.js';
import { handleEntra } from './entra.js';
import { handleGraph, resolveMailbox } from './graph.js';
import { proxiedVia } from './forward-proxy.js';
import { readBody, sendGraphError, sendJson } from './http-util.js';
import { GRAPH_AUDIENCES, principalOf } from './tokens.js';
import { handleUpload, type UploadSessions } from './uploads.js';
import { handleTenantReports, isTenantReportPath, reportDownload } from './reports.js';
import type { RequestRecord } from './api.js';

export function createHttpsServer(ctx: EmulatorContext, drafts: DraftStore, uploads: UploadSessions): https.Server {
  const server = https.createServer({ cert: ctx.certs.cert, key: ctx.certs.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const url = new URL(req.url ?? '/', ctx.origin);
    const rec: Omit<RequestRecord, 'at' | 'status'> = { startedAt: Date.now(), service: 'discovery', method: req.method ?? 'GET', path: url.pathname, bytes: 0, authorization: req.headers.authorization !== undefined, ...(url.search ? { query: url.search } : {}) };
    const via = proxiedVia(ctx, req.socket);
    if (via) rec.proxy = via;
    res.on('close', () => ctx.state.record({ ...rec, status: res.headersSent ? res.statusCode : 0 }));
    let work: Promise<void>;
    if (url.pathname.startsWith('/v1.0/')) work = graphRequest(ctx, drafts, uploads, req, res, url, rec);
    else if (url.pathname.startsWith('/api/v2.0/')) work = uploadRequest(ctx, uploads, req, res, url, rec);
    else if (url.pathname.startsWith('/data/download/')) work = reportDownload(ctx, req, res, url, rec);
    else work = entraRequest(ctx, req, res, url, rec);
    work.catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: String(err) } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

type Rec = Omit<RequestRecord, 'at' | 'status'>;

async function entraRequest(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL, rec: Rec): Promise<void> {
  const body = await readBody(req, 1024 * 1024);
  rec.bytes = body.bytes;
  const isToken = /\/oauth2\/v2\.0\/(token|devicecode)$/.test(url.pathname);
  if (isToken) {
    const form = new URLSearchParams(body.data.toString('utf8'));
    rec.service = url.pathname.endsWith('devicecode') ? 'devicecode' : 'token';
    const clientId = form.get('client_id');
    if (clientId) rec.clientId = clientId;
    const fault = ctx.state.takeFault('token', undefined);
    const answer = (status: number, retry?: number) => entraFaultAnswer(ctx.origin, res, status, retry);
    if (faultBefore(fault, res, answer)) return;
    if (fault && 'delayMs' in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
  }
  const service = await handleEntra(ctx, req, res, url, body);
  if (service) rec.service = service;
  else sendJson(res, 404, { error: 'not_found', error_description: `No such endpoint: ${url.pathname}` });
}

function bearerError(req: IncomingMessage, res: ServerResponse, message: string): void {
  sendGraphError(req, res, 401, 'InvalidAuthenticationToken', message, {
    'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });
}

function tooLarge(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse): void {
  if (ctx.state.graphTooLargeStyle === '400') sendGraphError(req, res, 400, 'BadRequest', 'The maximum request length supported is 4MB.');
  else sendGraphError(req, res, 413, 'RequestEntityTooLarge', 'The maximum request length supported is 4MB.');
}

/**
 * Counts the request for app + mailbox until its answer is done; true when over the limit.
 * Done is when the answer is complete on the server's side (its end is written), as Graph
 * counts its own requests: a client that read the whole answer cannot still be one of them.
 * (Node.js emits 'close' only after the socket took the last bytes, which can come after
 * the client has read them and sent its next request.) A request never answered counts
 * until its connection closes.
 */
function admit(ctx: EmulatorContext, res: ServerResponse, clientId: string, mailbox: string): boolean {
  const n = ctx.state.enter(clientId, mailbox);
  let counted = true;
  const leave = () => {
    if (!counted) return;
    counted = false;
    ctx.state.leave(clientId, mailbox);
  };
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    leave();
    return end(...args);
  }) as typeof res.end;
  res.on('close', leave);
  return n > ctx.state.graphMailboxConcurrency;
}

function throttled(req: IncomingMessage, res: ServerResponse): void {
  sendGraphError(req, res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': '1' });
}

async function graphRequest(ctx: EmulatorContext, drafts: DraftStore, uploads: UploadSessions, req: IncomingMessage, res: ServerResponse, url: URL, rec: Rec): Promise<void> {
  rec.service = 'graph';
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const auth = req.headers.authorization ?? '';
  const token = /^bearer /i.test(auth) ? auth.slice(7).trim() : '';
  const check = token ? ctx.minter.check(token, GRAPH_AUDIENCES) : undefined;
  if (!check || !check.ok) {
    rec.bytes = (await readBody(req, 0)).bytes;
    const why = !check ? 'Access token is empty.'
      : check.reason === 'expired' ? 'Lifetime validation failed, the token is expired.'
      : check.reason === 'audience' ? 'Access token validation failure. Invalid audience.'
      : 'Access token validation failure.';
    bearerError(req, res, why);
    return;
  }
  const principal = principalOf(check.claims);
  rec.clientId = principal.clientId;
  if (isTenantReportPath(parts)) return handleTenantReports(ctx, req, res, url, parts, principal);
  const isUser = parts[1] === 'users' && parts[2] !== undefined;
  const isMe = parts[1] === 'me';
  const userSeg = isUser ? parts[2]! : isMe ? 'me' : '';
  const rest = parts.slice(isUser ? 3 : 2);
  const mbx = userSeg ? resolveMailbox(ctx, principal, userSeg) : undefined;
  const mailbox = mbx?.address ?? (userSeg === 'me' ? principal.user ?? 'me' : userSeg).toLowerCase();
  rec.mailbox = mailbox;
  const over = userSeg ? admit(ctx, res, principal.clientId, mailbox) : false;
  const body = await readBody(req, ctx.state.graphMaxRequestBytes);
  rec.bytes = body.bytes;
  if (over) return throttled(req, res);
  const fault = ctx.state.takeFault('graph', mailbox, undefined, undefined, { method: req.method ?? 'GET', path: url.pathname });
  const answer = (status: number, retry?: number) => graphFaultAnswer(req, res, status, retry);
  if (faultBefore(fault, res, answer)) return;
  if (body.truncated) return tooLarge(ctx, req, res);
  if (!userSeg) {
    sendGraphError(req, res, 400, 'BadRequest', `Resource not found for the segment '${parts[1] ?? ''}'.`);
    return;
  }
  const reset = () => res.socket?.destroy();
  await handleGraph({ ctx, drafts, uploads, req, res, principal, user: userSeg, rest, query: url.searchParams, body, respond: (_status, send) => faultAfter(fault, send, answer, reset) });
}

async function uploadRequest(ctx: EmulatorContext, uploads: UploadSessions, req: IncomingMessage, res: ServerResponse, url: URL, rec: Rec): Promise<void> {
  rec.service = 'upload';
  const s = uploads.find(url);
  if (!s) {
    rec.bytes = (await readBody(req, 0)).bytes;
    sendGraphError(req, res, 404, 'ErrorItemNotFound', 'The upload session was not found or its authtoken is not valid.');
    return;
  }
  rec.mailbox = s.draft.mailbox;
  rec.clientId = s.draft.clientId;
  const over = admit(ctx, res, s.draft.clientId, s.draft.mailbox);
  const body = await readBody(req, ctx.state.graphMaxRequestBytes);
  rec.bytes = body.bytes;
  if (over) return throttled(req, res);
  if (req.headers.authorization !== undefined) {
    // The URL is pre-authenticated for outlook.office.com; a Graph token sent along is for the wrong audience.
    sendGraphError(req, res, 401, 'InvalidAudienceForResource', `The audience claim value is invalid for current resource. Audience claim is 'https://graph.microsoft.com', request url is '${url.origin}${url.pathname}'.`);
    return;
  }
  const fault = ctx.state.takeFault('upload', s.draft.mailbox, undefined, undefined, { method: req.method ?? 'PUT', path: url.pathname });
  const answer = (status: number, retry?: number) => graphFaultAnswer(req, res, status, retry);
  if (faultBefore(fault, res, answer)) return;
  if (body.truncated) return tooLarge(ctx, req, res);
  if (fault && ('acceptThenStatus' in fault || 'acceptThenReset' in fault || 'delayMs' in fault)) {
    // Act on the chunk, then answer late, with the fault's status, or not at all.
    const held = new HeldAnswer();
    handleUpload(ctx, uploads, s, req, held.res(res), body);
    faultAfter(fault, () => held.replay(res), answer, () => res.socket?.destroy());
    return;
  }
  handleUpload(ctx, uploads, s, req, res, body);
}

/** Captures an answer so it can be sent later (delay) or dropped (accept-then-status). */
class HeldAnswer {
  private status = 200;
  private headers: Record<string, string | number | string[]> = {};
  private data: Buffer = Buffer.alloc(0);

  res(real: ServerResponse): ServerResponse {
    return {
      writeHead: (status: number, headers?: Record<string, string>) => {
        this.status = status;
        Object.assign(this.headers, headers ?? {});
        return this;
      },
      setHeader: (k: string, v: string) => {
        this.headers[k] = v;
      },
      end: (d?: Buffer | string) => {
        if (d) this.data = Buffer.from(d);
      },
      get headersSent() {
        return real.headersSent;
      },
    } as unknown as ServerResponse;
  }

  replay(res: ServerResponse): void {
    res.writeHead(this.status, this.headers);
    res.end(this.data);
  }
}
