/**
 * The smtp-oauth transport: Exchange Online SMTP AUTH submission
 * (smtp.office365.com:587, or the national cloud's host) with OAuth 2.0.
 * STARTTLS is required, TLS 1.2 at least, the certificate checked; AUTH
 * XOAUTH2 with an app token (client credentials, SMTP.SendAsApp, scope
 * https://outlook.office365.com/.default) or a delegated token of the
 * signed-in mailbox. The stored bytes and the envelope go out unchanged.
 *
 * Each message: choose the mailbox (device sendAs → route mailbox → From →
 * envelope sender; delegated: always the signed-in user, who may send with
 * another From only with SendAs rights on it), take a pacing slot for it
 * (under 30 messages/minute and 10,000 recipients/day per mailbox, so devices
 * are never refused for a burst), get a token (cached and renewed by the
 * token provider), then reuse a signed-in session to that mailbox or open
 * one. Replies are explained by the Microsoft error catalogue.
 *
 * With `sentItems: delete` (app credentials only), a message Exchange took
 * is handed to the Sent Items clean-up (../microsoft/sent-items.ts), which
 * finds the copy that SMTP AUTH submission leaves in the mailbox's Sent Items
 * with a Graph token of the same app, by the message id Exchange names in
 * its 250 reply (`250 2.0.0 OK <id> [Hostname=...]`), or by the message's own
 * Message-ID field when the reply names none.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { rootCertificates } from 'node:tls';
import type { SmtpOauthUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import { outcomeForAll, type DeliveryOutcome, type RecipientOutcome } from '../../core/outcome.js';
import { TokenError, type AccessToken, type TokenProvider } from '../../identity/entra/token-provider.js';
import { explainTokenError, type PlaceholderValues } from '../microsoft/catalogue.js';
import { chooseMailbox, type MailboxChoice } from '../microsoft/mailbox.js';
import { messageIdOf } from '../microsoft/mime/submission.js';
import type { SentItemsCleaner, SentItemsCleanupResult } from '../microsoft/sent-items.js';
import { interrupted, untilAborted } from '../body-transfer.js';
import { noteDailyLimit, pacedOutcome, type MailboxPacer } from '../pacing.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { outcomeForError } from './replies.js';
import { SessionCache, type CachedSession, type SessionCacheOptions } from './session-cache.js';
import { SmtpSession, type SessionOptions, type SmtpErrorLike } from './smtp-session.js';
import { transfer } from './transfer.js';

export interface SmtpOauthDeps {
  log: Logger;
  smtpHost: string;
  smtpPort: number;
  tokens: TokenProvider;
  pacer: MailboxPacer;
  /** How signed-in sessions are kept between messages (defaults suit Exchange Online). */
  sessions?: SessionCacheOptions;
  /** EHLO name: the relay's host name (default: the system's). */
  hostname?: string;
  /** The Sent Items clean-up (sentItems: delete), with its own Graph token, client and pacer; closed with the transport. */
  sentItems?: SentItemsCleaner;
}

export class SmtpOauthTransport implements Transport {
  readonly type = 'smtp-oauth';
  readonly concurrency: number;
  private readonly cache: SessionCache;
  private readonly session: SessionOptions;

  constructor(
    readonly name: string,
    private readonly cfg: SmtpOauthUpstreamConfig,
    private readonly deps: SmtpOauthDeps,
  ) {
    this.concurrency = cfg.concurrency;
    this.cache = new SessionCache(deps.sessions);
    this.session = {
      host: deps.smtpHost,
      port: deps.smtpPort,
      requireTLS: true,
      tls: {
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        ...(cfg.ca ? { ca: [...rootCertificates, readFileSync(cfg.ca, 'utf8')] } : {}),
      },
      connectTimeoutMs: cfg.connectTimeout,
      socketTimeoutMs: cfg.timeout,
      name: deps.hostname ?? hostname(),
    };
    deps.log.info({ upstream: name, host: deps.smtpHost, port: deps.smtpPort, credential: deps.tokens.description }, 'smtp-oauth upstream ready');
  }

  /** Tells `fn` the result of every Sent Items clean-up (sentItems: delete; the composition root counts them). */
  observeSentItemsCleanups(fn: (result: SentItemsCleanupResult) => void): void {
    this.deps.sentItems?.observe(fn);
  }

  /** The mailbox that signs in: the delegated user, or the one chosen for the message. */
  mailboxFor(message: OutboundMessage): MailboxChoice | undefined {
    if (this.cfg.delegated) return { mailbox: this.cfg.delegated.user, source: 'route mailbox' };
    return chooseMailbox(message, this.cfg.mailbox);
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
    const choice = this.mailboxFor(message);
    if (!choice) return outcomeForAll(message.recipients, noMailbox(this.name));
    const mailbox = choice.mailbox;
    ctx.trace?.('mailbox', { mailbox, source: this.cfg.delegated ? 'delegated sign-in' : choice.source });
    const grant = await this.deps.pacer.acquire(mailbox, message.recipients.length, ctx.signal, ctx.aside);
    if (!grant.ok) {
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
      ctx.trace?.('paced', { retryAfterMs: grant.retryAfterMs, reason: grant.reason });
      return outcomeForAll(message.recipients, pacedOutcome(mailbox, grant));
    }
    try {
      const outcomes = await this.send(mailbox, message, ctx);
      noteDailyLimit(this.deps.pacer, mailbox, outcomes);
      return outcomes;
    } finally {
      grant.release();
    }
  }

  private async send(mailbox: string, message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    let token: AccessToken;
    try {
      token = await this.deps.tokens.getToken(ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
      if (err instanceof TokenError) {
        ctx.trace?.('token', { error: err.details.error, aadsts: err.details.aadsts, status: err.details.status });
        return outcomeForAll(message.recipients, explainTokenError(err, this.names(mailbox)));
      }
      // A provider throws only TokenError; anything else still becomes an outcome, never an exception.
      return outcomeForAll(message.recipients, {
        action: 'retry', scope: 'destination', category: 'auth', response: (err as Error).message,
        hint: 'No token could be obtained from Entra ID; messages wait until sign-in works.',
      });
    }
    ctx.trace?.('token', { source: token.fromCache ? 'cache' : 'Entra ID', permissions: token.permissions, expiresAt: new Date(token.expiresAt).toISOString() });
    let cached = this.cache.take(mailbox);
    let reused = cached !== undefined;
    for (;;) {
      if (!cached) {
        const opened = await this.open(mailbox, token, ctx);
        if ('outcome' in opened) return outcomeForAll(message.recipients, opened.outcome);
        cached = opened;
      } else {
        ctx.trace?.('reuse', { messagesOnSession: cached.session.messages });
      }
      cached.session.trace = ctx.trace;
      const result = await transfer(cached.session, message, ctx, this.names(mailbox));
      cached.session.trace = undefined;
      if (result.outcomes.some((o) => o.outcome.action === 'delivered')) this.cleanSentItems(message, mailbox, result.response);
      if (reused && result.untouched) {
        // The server closed the idle session just before this message: try once on a new one.
        cached.session.close();
        cached = undefined;
        reused = false;
        continue;
      }
      if (result.reusable) {
        const keep = cached;
        if (result.outcomes.some((o) => o.outcome.action !== 'delivered')) {
          try {
            await keep.session.reset();
            this.cache.put(mailbox, keep);
          } catch {
            keep.session.close();
          }
        } else {
          this.cache.put(mailbox, keep);
        }
      }
      return result.outcomes;
    }
  }

  /** Connects with STARTTLS and signs in with XOAUTH2; any failure becomes the outcome for every recipient. */
  private async open(mailbox: string, token: AccessToken, ctx: DeliveryContext): Promise<CachedSession | { outcome: DeliveryOutcome }> {
    let session: SmtpSession | undefined;
    try {
      session = await SmtpSession.openUnlessAborted(this.session, ctx.signal, ctx.trace);
      await untilAborted(session.loginXOAuth2(mailbox, token.token), ctx.signal);
      ctx.trace?.('auth', { result: 'accepted', user: mailbox, method: 'XOAUTH2' });
      return { session, tokenExpiresAt: token.expiresAt };
    } catch (err) {
      session?.close();
      if (ctx.signal.aborted) return { outcome: interrupted(false) };
      const e = err as SmtpErrorLike;
      if (e.code === 'EAUTH') ctx.trace?.('auth', { result: 'refused', user: mailbox, response: e.response ?? e.message });
      const outcome = outcomeForError(e, false, this.names(mailbox));
      this.deps.log.warn({ upstream: this.name, mailbox, category: outcome.category, response: outcome.response }, 'smtp-oauth: could not open a session');
      return { outcome };
    }
  }

  /** Hands a message Exchange took to the Sent Items clean-up; never waits, never fails. */
  private cleanSentItems(message: OutboundMessage, mailbox: string, reply: string | undefined): void {
    const cleaner = this.deps.sentItems;
    if (!cleaner) return;
    // Exchange's reply: "250 2.0.0 OK <id> [Hostname=...]"; the id is what the copy's internetMessageId holds.
    const fromReply = reply ? /^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?OK (<[^<>\s]+>)/i.exec(reply)?.[1] : undefined;
    const internetMessageId = fromReply ?? (message.messageIdHeader ? messageIdOf(message.messageIdHeader) : undefined);
    if (!internetMessageId) return cleaner.skipped(message.id, mailbox);
    cleaner.enqueue({ queueId: message.id, mailbox, internetMessageId, sentAt: Date.now() });
  }

  /** Values for the catalogue's placeholders in hints and fixes. */
  private names(mailbox: string): PlaceholderValues {
    return { mailbox, upstream: this.name, appId: this.cfg.clientId, tenant: this.cfg.tenant };
  }

  async close(): Promise<void> {
    this.cache.closeAll();
    await this.deps.sentItems?.close();
  }
}

function noMailbox(name: string): DeliveryOutcome {
  return {
    action: 'fail', scope: 'message', category: 'config',
    response: 'no mailbox to send as: the message has no From, no envelope sender, and the route no mailbox',
    hint: 'The relay could not tell which Microsoft 365 mailbox should send this message.',
    fix: `Set upstreams.${name}.mailbox, or sendAs on the device.`,
  };
}
