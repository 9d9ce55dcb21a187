/**
 * Clean-up of the drafts that the large-message path (graph-draft.ts) makes
 * in the sending mailbox. A draft holds the whole scan, so one left behind
 * by every failed attempt soon fills the mailbox.
 *
 * Marking. Every draft is created from MIME with one extra top field,
 * `x-authrelay-queue-id: <queue id>`. Graph takes custom headers only if
 * their names start with `x-`/`X-`. Exchange keeps a MIME header that it does
 * not map to another property as a named property in the PS_INTERNET_HEADERS
 * property set ({00020386-0000-0000-C000-000000000046}), named after the
 * header ([MS-OXCMAIL] 2.2.3.2.29). Graph can filter on such a property:
 * `singleValueExtendedProperties/any(ep: ep/id eq 'String {guid} Name
 * x-authrelay-queue-id' and ep/value eq '<id>')`. The name is compared
 * case-sensitively and the value case-insensitively (Graph's
 * singleValueLegacyExtendedProperty docs). The field is written in lower case,
 * so the name is the same whether or not Exchange changes its case. Queue ids
 * are upper-case Crockford base32, so a case-insensitive match is still an
 * exact one. `$filter` on internetMessageHeaders is refused by Graph, and
 * internetMessageId needs a Message-ID that the device may not have sent and
 * that another message may share. The marker goes out with the message:
 * recipients see one extra `x-` field holding the queue id, which the
 * Received field already names. (⚠ The promotion of the field to a named
 * property follows the protocol documents; it was not checked against a
 * live tenant. If it did not happen, drafts would still be deleted within
 * the attempt, but orphans would not be found.)
 *
 * When to delete:
 *   - A step before the send fails (an answer, no answer, or the attempt
 *     stops half way through an upload): the draft is deleted at once.
 *   - The send's outcome is certain (it was refused, or its request never
 *     went out in full): the draft was not sent, so it is deleted.
 *   - The send's outcome is uncertain (reset after the request went out,
 *     timeout, 504, or a stop after the request went out): the draft is
 *     kept, and the attempt is retried as a possible duplicate. Deleting it
 *     now could throw away a message that Exchange is still submitting.
 *   - Every later attempt starts by searching the Drafts folder for this
 *     queue id and deleting what it finds. Sending a draft moves it out of
 *     Drafts (to Sent Items), so a draft still in Drafts at the next attempt,
 *     which comes after the route's backoff, was not sent. Deleting it loses
 *     nothing, because that attempt then sends a new draft. If Exchange was
 *     still submitting the old draft after all, the worst case is the
 *     duplicate that the retry was already flagged as.
 *   - A POST /messages whose request went out but whose answer was lost (or
 *     a 5xx) may have made a draft whose id the relay never learnt. It is
 *     searched for at once, and again by the next attempt.
 * Two attempts of the same message at once (a lease taken over by another
 * node) could delete each other's draft. The loser's next step then gets a
 * 404 and retries, so a duplicate is possible but no message is lost.
 *
 * Deleting is permanent where Graph offers it: POST .../messages/{id}/
 * permanentDelete (204; the item goes to the Purges folder of Recoverable
 * Items, never to Deleted Items, so a 25 MB draft does not stay in the
 * mailbox's quota). Graph has permanentDelete only in the global cloud
 * (message-permanentdelete: "Global service" only); in a national cloud the
 * draft is deleted with DELETE, which moves it to Deleted Items.
 *
 * Every clean-up request has its own short deadline, never the attempt's
 * signal: after a stop, the attempt's signal is already aborted. A draft that
 * could not be deleted, or could not be searched for, is logged and counted.
 * The clean-up never changes the attempt's outcome.
 */
import type { Logger } from '../../core/log.js';
import type { HttpResponse } from '../../core/http.js';
import { GraphNoAnswer, graphError, type GraphCaller } from './graph-outcomes.js';

/** The marker field, lower case (see the file header). */
export const MARKER_FIELD = 'x-authrelay-queue-id';
/** PS_INTERNET_HEADERS: where Exchange files a MIME message's other header fields as named properties. */
export const PS_INTERNET_HEADERS = '{00020386-0000-0000-C000-000000000046}';
/** Default deadline of one clean-up (a search and its deletions, or one deletion). */
export const CLEANUP_DEADLINE_MS = 10_000;
/** Drafts of one message looked at per search; more than a few would mean a bug. */
const SEARCH_PAGE = 50;

/** What one clean-up step did (the metrics label). */
export type DraftCleanupResult =
  /** A failed attempt's own draft was deleted. */
  | 'deleted'
  /** A draft left by an earlier attempt (or a lost answer) was found and deleted. */
  | 'orphan-deleted'
  /** The draft was already gone (404). */
  | 'gone'
  /** Kept on purpose: its send may have happened. */
  | 'kept'
  /** A deletion got an error answer or no answer in time. */
  | 'failed'
  /** The Drafts folder could not be searched. */
  | 'search-failed';

export interface DraftJanitorDeps {
  log: Logger;
  count(result: DraftCleanupResult): void;
  deadlineMs: number;
  /** POST permanentDelete (the global cloud); false: DELETE, into Deleted Items (national clouds). Default true. */
  permanentDelete?: boolean;
}

/** The request that deletes a message for good where Graph can (see the file header). */
export function deleteRequest(messageUrl: string, permanent = true): { method: string; url: string; body?: Buffer } {
  return permanent ? { method: 'POST', url: `${messageUrl}/permanentDelete`, body: Buffer.alloc(0) } : { method: 'DELETE', url: messageUrl };
}

/** The $filter that finds this queue id's drafts by their marker. */
export function markerFilter(queueId: string): string {
  const value = queueId.replace(/'/g, "''");
  return `singleValueExtendedProperties/any(ep: ep/id eq 'String ${PS_INTERNET_HEADERS} Name ${MARKER_FIELD}' and ep/value eq '${value}')`;
}

export class DraftJanitor {
  constructor(
    private readonly g: GraphCaller,
    private readonly userUrl: string,
    private readonly queueId: string,
    private readonly d: DraftJanitorDeps,
  ) {}

  /** Finds this message's drafts in the Drafts folder and deletes them (see the file header for why that is safe). */
  async sweep(why: 'earlier-attempts' | 'lost-answer'): Promise<void> {
    const signal = AbortSignal.timeout(this.d.deadlineMs);
    const url = `${this.userUrl}/mailFolders/drafts/messages?$filter=${encodeURIComponent(markerFilter(this.queueId))}&$select=id,createdDateTime&$top=${SEARCH_PAGE}`;
    let res: HttpResponse;
    try {
      res = await this.g.call('find-drafts', { method: 'GET', url }, signal);
    } catch (err) {
      return this.searchFailed(why, this.reason(err, signal));
    }
    if (res.status !== 200) return this.searchFailed(why, answered(res));
    const found = res.json<{ value?: { id?: unknown; createdDateTime?: unknown }[] }>()?.value ?? [];
    for (const item of found) {
      if (typeof item.id !== 'string' || !item.id) continue;
      await this.remove(item.id, 'orphan', signal, typeof item.createdDateTime === 'string' ? item.createdDateTime : undefined);
    }
  }

  /** Deletes this attempt's draft after a step failed, with its own deadline. */
  async discard(id: string): Promise<void> {
    await this.remove(id, 'attempt', AbortSignal.timeout(this.d.deadlineMs));
  }

  /** Leaves the draft in place: its send may have happened. */
  keep(id: string): void {
    this.count('kept');
    this.d.log.warn({ event: 'graph-draft-kept', draftId: id },
      'The draft was left in the Drafts folder because its send may have gone through. If it is still there at the next attempt, it was not sent, and that attempt deletes it.');
  }

  private async remove(id: string, kind: 'attempt' | 'orphan', signal: AbortSignal, createdAt?: string): Promise<void> {
    let res: HttpResponse;
    try {
      res = await this.g.call('delete-draft', deleteRequest(`${this.userUrl}/messages/${encodeURIComponent(id)}`, this.d.permanentDelete ?? true), signal);
    } catch (err) {
      return this.failed(id, kind, this.reason(err, signal));
    }
    if (res.status === 404) return this.count('gone');
    if (res.status < 200 || res.status >= 300) return this.failed(id, kind, answered(res));
    if (kind === 'attempt') return this.count('deleted');
    this.count('orphan-deleted');
    this.d.log.info({ event: 'graph-orphan-draft-deleted', draftId: id, ...(createdAt ? { createdAt } : {}) },
      'Deleted a draft of this message that an earlier attempt left in the Drafts folder. It had not been sent.');
  }

  private failed(id: string, kind: 'attempt' | 'orphan', reason: string): void {
    this.count('failed');
    this.d.log.warn({ event: 'graph-draft-cleanup-failed', draftId: id, draft: kind === 'attempt' ? 'this attempt' : 'earlier attempt', reason },
      `A draft of this message could not be deleted from the Drafts folder (${reason}). It stays there until a later attempt of this message deletes it, or someone deletes it by hand.`);
  }

  private searchFailed(why: 'earlier-attempts' | 'lost-answer', reason: string): void {
    this.count('search-failed');
    this.d.log.warn({ event: 'graph-draft-search-failed', why, reason },
      why === 'lost-answer'
        ? `The answer to the draft's creation was lost and the Drafts folder could not be searched for that draft (${reason}). If the draft exists, the next attempt finds and deletes it.`
        : `The Drafts folder could not be searched for drafts left by earlier attempts of this message (${reason}). Any such draft stays until a later attempt finds it.`);
  }

  private reason(err: unknown, signal: AbortSignal): string {
    if (err instanceof GraphNoAnswer) {
      return err.error.code === 'ABORTED' && signal.aborted ? `no answer within ${this.d.deadlineMs / 1000} s` : `${err.error.code}: ${err.error.message}`;
    }
    return (err as Error).message;
  }

  private count(result: DraftCleanupResult): void {
    try {
      this.d.count(result);
    } catch {
      // Metrics never disturb a delivery.
    }
  }
}

function answered(res: HttpResponse): string {
  const { code, message } = graphError(res);
  return `Graph answered ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
}
