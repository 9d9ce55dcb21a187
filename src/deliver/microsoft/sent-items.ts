/**
 * Sent Items clean-up (`sentItems: delete` on a graph or smtp-oauth
 * upstream). Exchange keeps a copy of every message a mailbox sends in its
 * Sent Items folder: sendMail with MIME has no JSON wrapper to carry
 * `saveToSentItems: false`, a sent draft moves to Sent Items, and SMTP AUTH
 * submissions are saved there too. A scan mailbox that sends 25 MB scans all
 * day fills up. After a send was accepted, the transport hands the message
 * here; a small queue in the background then
 *   1. waits a moment (Exchange files the copy shortly after the send, not
 *      at once), and looks for it: GET /users/{mailbox}/mailFolders/
 *      sentitems/messages?$filter=internetMessageId eq '<id>' (the value is
 *      an OData string: a quote is doubled; Microsoft's docs list
 *      internetMessageId as filterable, angle brackets included);
 *   2. deletes each copy created since shortly before the send (an older
 *      item with the same id is left alone) for good: POST .../messages/
 *      {id}/permanentDelete (Mail.ReadWrite; 204; into Recoverable Items'
 *      Purges, never Deleted Items). permanentDelete exists in the global
 *      cloud only; in national clouds the copy is deleted with DELETE
 *      (into Deleted Items), then found there and deleted again (into
 *      Recoverable Items, as Shift+Delete does);
 *   3. looks again after longer waits while no copy is found, or after an
 *      error (429 pauses the mailbox like a delivery's 429), and gives up
 *      after the last wait.
 * Every request takes a slot of the mailbox's pacer, so deliveries and
 * clean-ups together stay within Graph's 4 requests per app and mailbox.
 * A clean-up never changes a message's outcome: the message was delivered
 * before it was queued here. Each result is logged (event sent-items-*) and
 * reported to the observer (authrelay_sent_items_cleanups_total). The queue
 * is bounded (a full queue drops the newest, logged and counted) and is not
 * message state: at shutdown, what is still waiting gets one last look
 * within a short deadline, and what is left is logged as abandoned.
 */
import { HttpError, retryAfterMs, type HttpClient, type HttpResponse } from '../../core/http.js';
import type { Logger } from '../../core/log.js';
import type { TokenProvider } from '../../identity/entra/token-provider.js';
import type { MailboxPacer } from '../pacing.js';
import { SENT_ITEMS_TEXT as T } from './sent-items-text.js';

/** What became of one message's clean-up (the metrics label). */
export type SentItemsCleanupResult =
  /** Its copy (or copies) was found and deleted for good. */
  | 'deleted'
  /** No copy appeared in Sent Items within the waits. */
  | 'not-found'
  /** Graph refused (403): Mail.ReadWrite is missing, or an access policy keeps the app out of the mailbox. */
  | 'denied'
  /** It kept failing (errors, no answer) until the last wait. */
  | 'failed'
  /** The queue was full. */
  | 'dropped'
  /** Still waiting when the relay stopped. */
  | 'abandoned'
  /** The message had no Internet message id to look for. */
  | 'no-message-id';

/** A sent message whose copy is to be removed. */
export interface SentCopy {
  /** The relay's queue id (for the log). */
  queueId: string;
  mailbox: string;
  /** The Internet message id (Message-ID), angle brackets included. */
  internetMessageId: string;
  /** When the send was accepted (ms since the epoch). */
  sentAt: number;
}

export interface SentItemsCleanerDeps {
  log: Logger;
  http: HttpClient;
  /** Graph base URL with version, e.g. https://graph.microsoft.com/v1.0. */
  graphUrl: string;
  /** A Graph token of the app that sends (needs Mail.ReadWrite for this). */
  tokens: TokenProvider;
  /** The mailbox's request slots (shared with the graph transport's deliveries). */
  pacer: MailboxPacer;
  /** permanentDelete (the global cloud); false: DELETE twice (national clouds). */
  permanentDelete: boolean;
  /** Waits before each look (default DEFAULT_WAITS_MS: the last look about 8 minutes after the send). */
  waitsMs?: readonly number[];
  /** Longest time for one request (default 30 s). */
  requestTimeoutMs?: number;
  /** Clean-ups kept waiting at most; more are dropped (default 2,000). */
  maxPending?: number;
  /** Clean-ups that make requests at once (default 2). */
  concurrency?: number;
  /** How far before the send a copy may have been created and still be this message's (default 1 hour: clock skew, earlier attempts). */
  createdMarginMs?: number;
  /** close() also closes `http` (the cleaner has its own client: smtp-oauth). */
  closeHttp?: boolean;
}

export const DEFAULT_WAITS_MS: readonly number[] = [3_000, 10_000, 30_000, 60_000, 120_000, 300_000];
/** At shutdown: how long pending clean-ups may still take. */
export const CLOSE_DEADLINE_MS = 5_000;

interface Job {
  copy: SentCopy;
  /** Wakes the job's wait early (shutdown). */
  wake?: () => void;
}

type Look = { kind: 'done'; result: SentItemsCleanupResult; copies?: number; reason?: string } | { kind: 'again'; reason: string; absent?: boolean };

export class SentItemsCleaner {
  private readonly pending = new Set<Job>();
  private readonly waitsMs: readonly number[];
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private closing: AbortSignal | undefined;
  private observer: ((result: SentItemsCleanupResult) => void) | undefined;

  constructor(private readonly d: SentItemsCleanerDeps) {
    this.waitsMs = d.waitsMs ?? DEFAULT_WAITS_MS;
  }

  /** Tells `fn` the result of every clean-up (the composition root counts them). */
  observe(fn: (result: SentItemsCleanupResult) => void): void {
    this.observer = fn;
  }

  /** Clean-ups waiting or under way. */
  get size(): number {
    return this.pending.size;
  }

  /** Queues the clean-up of one sent message's copy; returns at once. */
  enqueue(copy: SentCopy): void {
    const log = this.d.log.child({ messageId: copy.queueId, mailbox: copy.mailbox, internetMessageId: copy.internetMessageId });
    if (this.closing) {
      this.count('abandoned');
      log.warn({ event: 'sent-items-abandoned' }, T.abandonedOne);
      return;
    }
    if (this.pending.size >= (this.d.maxPending ?? 2_000)) {
      this.count('dropped');
      log.warn({ event: 'sent-items-dropped', pending: this.pending.size }, T.dropped(this.pending.size));
      return;
    }
    const job: Job = { copy };
    this.pending.add(job);
    // A job that stops at the shutdown deadline stays pending: close() counts and logs it as abandoned.
    void this.run(job, log).then(
      (ended) => { if (ended) this.pending.delete(job); },
      () => this.pending.delete(job),
    );
  }

  /** A message that had no Internet message id: nothing can be looked for. */
  skipped(queueId: string, mailbox: string): void {
    this.count('no-message-id');
    this.d.log.warn({ event: 'sent-items-no-message-id', messageId: queueId, mailbox }, T.noMessageId(mailbox));
  }

  /** Stops taking clean-ups; what is waiting gets one more look within deadlineMs; the rest is logged as abandoned. */
  async close(deadlineMs = CLOSE_DEADLINE_MS): Promise<void> {
    try {
      await this.drain(deadlineMs);
    } finally {
      if (this.d.closeHttp) this.d.http.close();
    }
  }

  private async drain(deadlineMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = AbortSignal.timeout(deadlineMs);
    const all = [...this.pending];
    for (const j of all) j.wake?.();
    if (!all.length) return;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.pending.size === 0 || this.closing!.aborted) {
          clearInterval(check);
          resolve();
        }
      }, 25);
    });
    const left = [...this.pending];
    for (const j of left) {
      this.pending.delete(j);
      this.count('abandoned');
    }
    if (left.length) {
      this.d.log.warn({ event: 'sent-items-abandoned', count: left.length, messages: left.map((j) => ({ messageId: j.copy.queueId, mailbox: j.copy.mailbox, internetMessageId: j.copy.internetMessageId })) },
        T.abandoned(left.length));
    }
  }

  /** Returns false when it stopped because the shutdown deadline passed (close() counts it as abandoned). */
  private async run(job: Job, log: Logger): Promise<boolean> {
    let last: Look | undefined;
    for (let i = 0; ; i++) {
      if (!this.closing) {
        if (i >= this.waitsMs.length) break;
        await this.sleep(job, this.waitsMs[i]!);
      }
      if (this.closing?.aborted) return false;
      last = await this.slot(() => this.look(job.copy));
      if (!this.pending.has(job)) return true; // abandoned by close() meanwhile
      if (last.kind === 'done') break;
      log.debug({ event: 'sent-items-retry', reason: last.reason }, T.retry(last.reason));
      if (this.closing) {
        // Stopping: look again every second until the deadline, for a copy that is just being filed.
        if (!last.absent) break;
        await new Promise((r) => setTimeout(r, 1_000));
        if (this.closing.aborted) return false;
      }
    }
    if (!last) return true;
    if (last.kind === 'done') this.finish(log, job.copy.mailbox, last.result, last.copies, last.reason);
    else this.finish(log, job.copy.mailbox, last.absent ? 'not-found' : 'failed', 0, last.reason);
    return true;
  }

  private finish(log: Logger, mailbox: string, result: SentItemsCleanupResult, copies = 0, reason?: string): void {
    this.count(result);
    switch (result) {
      case 'deleted':
        log.info({ event: 'sent-items-deleted', copies }, T.deleted(mailbox, copies, this.d.permanentDelete));
        return;
      case 'not-found':
        log.warn({ event: 'sent-items-not-found', waitedS: Math.round(this.waitsMs.reduce((a, b) => a + b, 0) / 1000) }, T.notFound(mailbox, this.waitsMs));
        return;
      case 'denied':
        log.warn({ event: 'sent-items-denied', reason }, T.denied(mailbox, reason ?? ''));
        return;
      default:
        log.warn({ event: 'sent-items-failed', reason }, T.failed(mailbox, reason ?? ''));
    }
  }

  /** One look for the copy and its deletion, holding a clean-up slot and a pacer slot of the mailbox. */
  private async look(copy: SentCopy): Promise<Look> {
    const signal = AbortSignal.timeout(this.d.requestTimeoutMs ?? 30_000);
    let token: string;
    try {
      token = (await this.d.tokens.getToken(signal)).token;
    } catch (err) {
      return { kind: 'again', reason: `no Graph token: ${(err as Error).message}` };
    }
    const grant = await this.d.pacer.acquire(copy.mailbox, 0, signal);
    if (!grant.ok) return { kind: 'again', reason: `held back: ${grant.reason}` };
    try {
      const user = `${this.d.graphUrl.replace(/\/$/, '')}/users/${encodeURIComponent(copy.mailbox)}`;
      const first = await this.findAndDelete(copy, user, 'sentitems', token, signal);
      if (first.kind !== 'done' || first.result !== 'deleted' || this.d.permanentDelete) return first;
      // National clouds: the copies went to Deleted Items; delete them there too.
      const second = await this.findAndDelete(copy, user, 'deleteditems', token, signal);
      return second.kind === 'done' && second.result !== 'deleted' && second.result !== 'not-found' ? second : first;
    } finally {
      grant.release();
    }
  }

  private async findAndDelete(copy: SentCopy, user: string, folder: 'sentitems' | 'deleteditems', token: string, signal: AbortSignal): Promise<Look> {
    const filter = `internetMessageId eq '${copy.internetMessageId.replace(/'/g, "''")}'`;
    const url = `${user}/mailFolders/${folder}/messages?$filter=${encodeURIComponent(filter)}&$select=id,createdDateTime&$top=25`;
    const found = await this.request(copy.mailbox, { method: 'GET', url }, token, signal);
    if (!found.res) return { kind: 'again', reason: found.reason };
    if (found.res.status !== 200) return this.refused(found.res, 'the search of Sent Items');
    const since = copy.sentAt - (this.d.createdMarginMs ?? 3_600_000);
    const items = (found.res.json<{ value?: { id?: unknown; createdDateTime?: unknown }[] }>()?.value ?? [])
      .filter((i): i is { id: string; createdDateTime?: unknown } => typeof i.id === 'string' && i.id !== '')
      .filter((i) => typeof i.createdDateTime !== 'string' || !(Date.parse(i.createdDateTime) < since));
    if (!items.length) {
      return folder === 'sentitems' ? { kind: 'again', absent: true, reason: 'no copy in Sent Items yet' } : { kind: 'done', result: 'not-found' };
    }
    let deleted = 0;
    for (const item of items) {
      const messageUrl = `${user}/messages/${encodeURIComponent(item.id)}`;
      const req = this.d.permanentDelete ? { method: 'POST', url: `${messageUrl}/permanentDelete`, body: Buffer.alloc(0) } : { method: 'DELETE', url: messageUrl };
      const del = await this.request(copy.mailbox, req, token, signal);
      if (!del.res) return { kind: 'again', reason: del.reason };
      if (del.res.status === 404) continue; // already gone (another look, or someone else)
      if (del.res.status < 200 || del.res.status >= 300) return this.refused(del.res, 'the deletion');
      deleted++;
    }
    return { kind: 'done', result: 'deleted', copies: deleted };
  }

  /** A non-success answer: 403 is final (permission); 429 and 5xx are looked at again later; anything else fails. */
  private refused(res: HttpResponse, what: string): Look {
    const e = res.json<{ error?: { code?: unknown; message?: unknown } }>()?.error;
    const reason = `${what}: Graph answered ${res.status}${typeof e?.code === 'string' ? ` ${e.code}` : ''}${typeof e?.message === 'string' ? `: ${e.message}` : ''}`;
    if (res.status === 403) return { kind: 'done', result: 'denied', reason };
    if (res.status === 429 || res.status >= 500 || res.status === 408) return { kind: 'again', reason };
    return { kind: 'done', result: 'failed', reason };
  }

  private async request(mailbox: string, req: { method: string; url: string; body?: Buffer }, token: string, signal: AbortSignal): Promise<{ res?: HttpResponse; reason: string }> {
    await this.d.pacer.whenOpen(mailbox, signal);
    try {
      const res = await this.d.http.request({ ...req, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal });
      if (res.status === 429) this.d.pacer.pause(mailbox, retryAfterMs(res.headers) ?? 5_000);
      return { res, reason: '' };
    } catch (err) {
      const reason = err instanceof HttpError ? (err.code === 'ABORTED' ? 'no answer in time' : `${err.code}: ${err.message}`) : (err as Error).message;
      return { reason };
    }
  }

  /** Runs fn when fewer than `concurrency` clean-ups make requests. */
  private async slot<R>(fn: () => Promise<R>): Promise<R> {
    // A waiter is handed the slot of the one that finishes (running stays counted).
    if (this.running >= (this.d.concurrency ?? 2)) await new Promise<void>((r) => this.queue.push(r));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  private sleep(job: Job, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      job.wake = done;
      function done() {
        clearTimeout(t);
        job.wake = undefined;
        resolve();
      }
    });
  }

  private count(result: SentItemsCleanupResult): void {
    try {
      this.observer?.(result);
    } catch {
      // Metrics never disturb anything.
    }
  }
}
