/**
 * The graph transport: Microsoft 365 mail through Microsoft Graph with an
 * app token. The message goes as its own MIME (base64, `text/plain`), with
 * the header prepared for Graph (see ../microsoft/mime/submission.ts: Bcc
 * from the envelope, header recipients outside the envelope taken out, raw
 * 8-bit header text repaired). A message whose request fits 4 MB goes with
 * `POST /users/{mailbox}/sendMail`; a larger one through a draft with
 * uploaded attachments (graph-draft.ts). The sending mailbox comes from
 * chooseMailbox (device sendAs, route mailbox, From). One pacer slot per
 * mailbox is held for the whole message and a message makes one request at
 * a time, so at most `mailboxConcurrency` (4) requests per mailbox are in
 * flight. Graph accepts or refuses the message as a whole: every recipient
 * gets the same outcome, classified by the step that failed (a request that
 * got no answer carries its step in GraphNoAnswer). Drafts left by failed
 * attempts are cleaned up as graph-cleanup.ts explains; the results are
 * reported to the observer set with observeDraftCleanups (metrics).
 * With `sentItems: delete`, every accepted message is handed to the Sent
 * Items clean-up (../microsoft/sent-items.ts), which deletes Exchange's copy
 * in the background; a message without a Message-ID gets one first (from its
 * queue id), so that its copy can be found. Its results go to the observer
 * set with observeSentItemsCleanups.
 */
import { Readable } from 'node:stream';
import type { GraphUpstreamConfig } from '../../config/schema.js';
import { HttpError, retryAfterMs, type HttpClient, type HttpResponse } from '../../core/http.js';
import { redactUrl, type Logger } from '../../core/log.js';
import { outcomeForAll, type DeliveryOutcome, type RecipientOutcome } from '../../core/outcome.js';
import { TokenError, type AccessToken, type TokenProvider } from '../../identity/entra/token-provider.js';
import { explainTokenError, type PlaceholderValues } from '../microsoft/catalogue.js';
import { resolveEndpoints } from '../../identity/entra/clouds.js';
import { chooseMailbox } from '../microsoft/mailbox.js';
import { base64Length, base64Of } from '../microsoft/mime/base64-stream.js';
import { HeaderTooLargeError } from '../microsoft/mime/header-section.js';
import { SplitError } from '../microsoft/mime/split.js';
import { prepareMessage, type PreparedMessage } from '../microsoft/mime/submission.js';
import { SentItemsCleaner, type SentItemsCleanerDeps, type SentItemsCleanupResult } from '../microsoft/sent-items.js';
import { noteDailyLimit, pacedOutcome, type MailboxPacer } from '../pacing.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { CLEANUP_DEADLINE_MS, DraftJanitor, type DraftCleanupResult } from './graph-cleanup.js';
import { DraftStepFailed, sendLarge, type GraphCaller } from './graph-draft.js';
import { GraphNoAnswer, interrupted, outcomeForHttpError, outcomeForResponse, type GraphStep } from './graph-outcomes.js';

export interface GraphTransportDeps {
  log: Logger;
  http: HttpClient;
  /** Graph base URL with version, e.g. https://graph.microsoft.com/v1.0. */
  graphUrl: string;
  tokens: TokenProvider;
  pacer: MailboxPacer;
  /** Deadline of one draft clean-up (default CLEANUP_DEADLINE_MS). */
  cleanupDeadlineMs?: number;
  /** Settings of the Sent Items clean-up (sentItems: delete); defaults suit Exchange Online. */
  sentItems?: Partial<Pick<SentItemsCleanerDeps, 'waitsMs' | 'maxPending' | 'concurrency' | 'requestTimeoutMs'>>;
}

/** Graph's request limit (4 MB) less room for headers; the base64 body must fit. */
export const MAX_REQUEST_BODY = 4 * 1024 * 1024 - 64 * 1024;
/** Largest raw MIME whose base64 fits one request (3,096,576 bytes). */
export const MAX_RAW_MIME = Math.floor(MAX_REQUEST_BODY / 4) * 3;
/** A 429 with a Retry-After up to this long is waited out inside the attempt (at most twice). */
const SHORT_THROTTLE_MS = 10_000;
const THROTTLE_RETRIES = 2;
/** A 429 without Retry-After pauses the mailbox this long (Graph's guidance: back off). */
const DEFAULT_THROTTLE_PAUSE_MS = 5_000;

export class GraphTransport implements Transport {
  readonly type = 'graph';
  readonly concurrency: number;
  private cleanupObserver: ((result: DraftCleanupResult) => void) | undefined;
  /** permanentDelete exists in the global cloud only (graph-cleanup.ts). */
  private readonly permanentDelete: boolean;
  /** The Sent Items clean-up, with sentItems: delete. */
  private readonly sentItems: SentItemsCleaner | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: GraphUpstreamConfig,
    private readonly deps: GraphTransportDeps,
  ) {
    this.concurrency = cfg.concurrency;
    this.permanentDelete = resolveEndpoints(cfg).cloud === 'global';
    this.sentItems = cfg.sentItems === 'delete'
      ? new SentItemsCleaner({
        log: deps.log.child({ upstream: name }), http: deps.http, graphUrl: deps.graphUrl, tokens: deps.tokens, pacer: deps.pacer,
        permanentDelete: this.permanentDelete, ...deps.sentItems,
      })
      : undefined;
  }

  /** Tells `fn` the result of every draft clean-up step (the composition root counts them in metrics). */
  observeDraftCleanups(fn: (result: DraftCleanupResult) => void): void {
    this.cleanupObserver = fn;
  }

  /** Tells `fn` the result of every Sent Items clean-up (sentItems: delete; the composition root counts them). */
  observeSentItemsCleanups(fn: (result: SentItemsCleanupResult) => void): void {
    this.sentItems?.observe(fn);
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    const all = (o: DeliveryOutcome) => outcomeForAll(message.recipients, o);
    if (ctx.signal.aborted) return all(interrupted());
    const choice = chooseMailbox(message, this.cfg.mailbox);
    if (!choice) {
      return all({ action: 'fail', scope: 'message', category: 'config', hint: 'No mailbox to send as: the device has no sendAs, the route no mailbox, and the message no From or sender.',
        fix: 'Set upstreams.<name>.mailbox, or sendAs on the device.' });
    }
    const mailbox = choice.mailbox;
    ctx.trace?.('mailbox', { mailbox, source: choice.source });
    const grant = await this.deps.pacer.acquire(mailbox, message.recipients.length, ctx.signal, ctx.aside);
    if (!grant.ok) {
      if (ctx.signal.aborted) return all(interrupted());
      return all(pacedOutcome(mailbox, grant));
    }
    try {
      const names: PlaceholderValues = { mailbox, appId: this.cfg.clientId, tenant: this.cfg.tenant, upstream: this.name };
      let token: AccessToken;
      try {
        token = await this.deps.tokens.getToken(ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) return all(interrupted());
        if (err instanceof TokenError) return all(explainTokenError(err, names));
        return all({ action: 'retry', scope: 'destination', category: 'auth', response: (err as Error).message, hint: 'No token could be obtained from Entra ID; messages wait until sign-in works.' });
      }
      ctx.trace?.('token', { source: token.fromCache ? 'cache' : 'Entra ID', permissions: token.permissions, expiresAt: new Date(token.expiresAt).toISOString() });
      const outcomes = all(await this.attempt(message, mailbox, token, names, ctx));
      noteDailyLimit(this.deps.pacer, mailbox, outcomes);
      return outcomes;
    } finally {
      grant.release();
    }
  }

  private async attempt(message: OutboundMessage, mailbox: string, token: AccessToken, names: PlaceholderValues, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const log = this.deps.log.child({ upstream: this.name, messageId: message.id, mailbox });
    const userUrl = `${this.deps.graphUrl.replace(/\/$/, '')}/users/${encodeURIComponent(mailbox)}`;
    let prepared: PreparedMessage;
    try {
      prepared = await this.prepare(message, mailbox);
    } catch (err) {
      if (err instanceof HeaderTooLargeError) {
        return { action: 'fail', scope: 'message', category: 'too-big', response: err.message,
          hint: 'The message\'s header section (everything before the first empty line) is too large to prepare for Graph. Check what the device puts in its header.' };
      }
      return spoolFailure(err as Error);
    }
    // The first request reads the stream prepared here; later ones (a retry after 429, the draft path's passes) prepare anew.
    let unread: Readable | undefined = prepared.stream;
    const { changes } = prepared;
    if (changes.partial) log.warn({ event: 'message-partial' }, 'message/partial fragment sent as it is: Outlook does not reassemble fragments');
    if (changes.removed.length || changes.repaired.length) log.info({ event: 'graph-header-changes', removed: changes.removed, repaired: changes.repaired }, 'header prepared for Graph');
    ctx.trace?.('prepared', { size: prepared.size, bcc: changes.bcc.length, removed: changes.removed, repaired: changes.repaired });
    const caller: GraphCaller = {
      call: async (step, req, signal) => {
        try {
          return await this.request(step, req, token, mailbox, ctx, signal);
        } catch (err) {
          throw err instanceof HttpError ? new GraphNoAnswer(step, err) : err;
        }
      },
      open: async (readBytes?: number) => {
        const stream = unread;
        unread = undefined;
        // A read size of its own: the stream prepared at the start reads in the store's default size.
        if (stream && readBytes !== undefined) stream.destroy();
        else if (stream) return stream;
        return (await this.prepare(message, mailbox, readBytes)).stream;
      },
    };
    try {
      if (prepared.size <= MAX_RAW_MIME) {
        const res = await this.sendSmall(caller, userUrl, prepared.size, mailbox, ctx);
        if (res.status === 202) {
          this.cleanSentItems(message.id, mailbox, prepared.messageId);
          return { action: 'delivered', category: 'accepted', code: 202, response: '202 Accepted by Graph (sendMail)' };
        }
        return this.warnDuplicate(outcomeForResponse(res, 'sendMail', names), log, 'sendMail');
      }
      ctx.trace?.('large', { size: prepared.size, via: 'draft with attachments' });
      const janitor = new DraftJanitor(caller, userUrl, message.id, {
        log, deadlineMs: this.deps.cleanupDeadlineMs ?? CLEANUP_DEADLINE_MS, count: (result) => this.cleanupObserver?.(result), permanentDelete: this.permanentDelete,
      });
      const sent = await sendLarge(caller, userUrl, { maxDraft: MAX_RAW_MIME, queueId: message.id, lineBreak: prepared.lineBreak, janitor, signal: ctx.signal });
      // The draft's own internetMessageId (Graph's answer to its creation) is what its copy in Sent Items carries.
      this.cleanSentItems(message.id, mailbox, sent.internetMessageId ?? prepared.messageId);
      return { action: 'delivered', category: 'accepted', code: 202, response: '202 Accepted by Graph (draft sent)' };
    } catch (err) {
      // Each outcome comes from the step that failed, whatever the clean-up did after it.
      if (err instanceof DraftStepFailed) return this.warnDuplicate(outcomeForResponse(err.res, err.step, names), log, err.step);
      if (err instanceof GraphNoAnswer) {
        if (err.error.code === 'EBODY') return spoolFailure(err.error);
        return this.warnDuplicate(outcomeForHttpError(err.error, err.step), log, err.step);
      }
      if (ctx.signal.aborted) return interrupted();
      if (err instanceof SplitError) return { action: 'fail', scope: 'message', category: 'too-big', response: err.message, hint: 'The message is too large for one Graph request and has no attachment that could be uploaded on its own.' };
      return spoolFailure(err as Error);
    } finally {
      unread?.destroy();
    }
  }

  /** sendMail, waiting out a short Retry-After on 429 (at most twice) instead of giving the slot back. */
  private async sendSmall(g: GraphCaller, userUrl: string, size: number, mailbox: string, ctx: DeliveryContext): Promise<HttpResponse> {
    for (let tries = 0; ; tries++) {
      const body = base64Of(await g.open());
      const res = await g.call('sendMail', { method: 'POST', url: `${userUrl}/sendMail`, headers: { 'content-type': 'text/plain' }, body, contentLength: base64Length(size) });
      const wait = res.status === 429 ? Number(res.headers['retry-after']) * 1000 : NaN;
      if (res.status !== 429 || tries >= THROTTLE_RETRIES || !(wait >= 0 && wait <= SHORT_THROTTLE_MS)) return res;
      ctx.trace?.('throttled', { retryAfterMs: wait });
      await this.deps.pacer.whenOpen(mailbox, ctx.signal);
      if (ctx.signal.aborted) return res;
    }
  }

  /** One request; `own` is a clean-up's own signal, used instead of the attempt's. */
  private async request(step: GraphStep, req: Parameters<GraphCaller['call']>[1], token: AccessToken, mailbox: string, ctx: DeliveryContext, own?: AbortSignal): Promise<HttpResponse> {
    const signal = own ?? ctx.signal;
    // A 429 for this mailbox holds every request for it, from any message, until Retry-After has passed.
    const waited = await this.deps.pacer.whenOpen(mailbox, signal);
    if (waited) ctx.trace?.('waited for Retry-After', { ms: waited });
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    // Upload URLs carry their own credential; Outlook refuses an Authorization header on them.
    if (req.auth !== false) headers.authorization = `Bearer ${token.token}`;
    const size = req.contentLength ?? (Buffer.isBuffer(req.body) ? req.body.length : 0);
    ctx.trace?.('request', { step, method: req.method, url: redactUrl(req.url), bytes: size });
    let res: HttpResponse;
    try {
      res = await this.deps.http.request({
        method: req.method, url: req.url, headers, signal, timeoutMs: this.cfg.timeout,
        ...(req.body !== undefined ? { body: req.body } : {}), ...(req.contentLength !== undefined ? { contentLength: req.contentLength } : {}),
      });
    } finally {
      // A request that failed half way leaves its body unread: release it (and the stored message under it).
      if (req.body instanceof Readable) req.body.destroy();
    }
    if (res.status === 429) this.deps.pacer.pause(mailbox, retryAfterMs(res.headers) ?? DEFAULT_THROTTLE_PAUSE_MS);
    const code = res.status >= 300 ? res.json<{ error?: { code?: string } }>()?.error?.code : undefined;
    ctx.trace?.('response', { step, status: res.status, ...(code ? { code } : {}) });
    return res;
  }

  private async prepare(message: OutboundMessage, mailbox: string, readBytes?: number): Promise<PreparedMessage> {
    const body: Readable = message.openBody(readBytes);
    // The same id on every attempt: copies of a possible duplicate are found too.
    const addMessageId = this.sentItems ? `<authrelay.${message.id}@${mailbox.split('@')[1] || 'authrelay.invalid'}>` : undefined;
    return prepareMessage(body, message.size, message.recipients, addMessageId ? { addMessageId } : {});
  }

  /** Hands an accepted message to the Sent Items clean-up (sentItems: delete); never waits, never fails. */
  private cleanSentItems(queueId: string, mailbox: string, internetMessageId: string | undefined): void {
    if (!this.sentItems) return;
    if (!internetMessageId) return this.sentItems.skipped(queueId, mailbox);
    this.sentItems.enqueue({ queueId, mailbox, internetMessageId, sentAt: Date.now() });
  }

  private warnDuplicate(o: DeliveryOutcome, log: Logger, step: GraphStep): DeliveryOutcome {
    if (o.possibleDuplicate) log.warn({ event: 'possible-duplicate', step, response: o.response }, 'no answer after the message was handed to Graph: it may have been sent; retrying, recipients may get it twice');
    return o;
  }

  async close(): Promise<void> {
    // Clean-ups still waiting get a short last chance; the HTTP client they use closes after them.
    await this.sentItems?.close();
    this.deps.http.close();
  }
}

function spoolFailure(err: Error): DeliveryOutcome {
  return { action: 'fail', scope: 'message', category: 'spool', response: err.message, hint: 'The stored message could not be read; it may have been deleted from the spool.' };
}
