/**
 * The emulator's Sent Items and Deleted Items: mail that a mailbox sent is
 * kept as an item of its Sent Items folder, as Exchange does (sendMail with
 * saveToSentItems left at its default true, or with MIME, which cannot say
 * otherwise; a sent draft, which moves there; an SMTP AUTH submission). The
 * item carries the message's internetMessageId (its Message-ID, or the one
 * Exchange made) and appears after `delayMs`, since Exchange files the copy
 * a moment after the send. Deleting:
 *   - DELETE /users/{u}/messages/{id} moves a message (a draft, a sent
 *     copy) to Deleted Items under a new id, as Outlook's delete does; a
 *     DELETE of an item already in Deleted Items moves it to Recoverable
 *     Items (gone from every folder listed here);
 *   - POST /users/{u}/messages/{id}/permanentDelete (204) removes it at once
 *     (to the Purges folder, out of sight), wherever it is.
 * Both need Mail.ReadWrite (403 ErrorAccessDenied otherwise); an unknown id
 * is 404 ErrorItemNotFound. Drafts themselves live in drafts.ts.
 */
import { randomBytes } from 'node:crypto';
import type { SentMessage } from './api.js';
import type { Draft } from './drafts.js';
import type { GraphCall } from './graph.js';
import { mailboxFor } from './graph.js';
import { sendEmpty, sendGraphError } from './http-util.js';
import { headerFields, mimeFrom, mimeRecipients } from './mime.js';
import { objectId } from './tokens.js';

export type ItemFolder = 'sentitems' | 'deleteditems';

export interface MailItem {
  id: string;
  mailbox: string;
  folder: ItemFolder;
  internetMessageId: string;
  /** Custom (X-) header fields, as on the draft (PS_INTERNET_HEADERS). */
  internetHeaders: { name: string; value: string }[];
  createdAt: number;
  /** Listed (and counted) from this time on. */
  visibleAt: number;
  /** MIME plus attachments, in bytes. */
  size: number;
  mime: Buffer;
  /** The accepted message it is the copy of (sent copies). */
  sent?: SentMessage;
}

/** Exchange item ids are long base64 strings starting AAMk. */
export function newItemId(): string {
  return `AAMkA${randomBytes(96).toString('base64').replace(/\//g, '-').replace(/\+/g, '_')}`;
}

/** The Message-ID of a MIME message, or one Exchange would make. */
export function internetMessageIdOf(mime: Buffer): string {
  const v = headerFields(mime).find((f) => f.name.toLowerCase() === 'message-id')?.value.trim();
  const m = v ? /<[^<>]+>/.exec(v) : null;
  return m ? m[0] : v || `<${randomBytes(16).toString('hex').toUpperCase()}@EMULATOR.PROD.OUTLOOK.COM>`;
}

const NOT_KEPT = /^x-(mimeole|ms-tnef-correlator|ms-exchange-organization-|ms-exchange-forest-)/i;

export function internetHeadersOf(mime: Buffer): { name: string; value: string }[] {
  return headerFields(mime).filter((f) => /^x-/i.test(f.name) && !NOT_KEPT.test(f.name)).map((f) => ({ name: f.name, value: f.value }));
}

export class MailItems {
  private readonly items = new Map<string, MailItem>();
  /** How long after the send the copy appears in Sent Items (ms). */
  delayMs = 200;
  /** Items moved out of Deleted Items by DELETE (to Recoverable Items), counted for tests. */
  recoverable = 0;
  /** Items removed by permanentDelete (to Purges), counted for tests. */
  purged = 0;

  /** Files the copy of an accepted message in the sender's Sent Items. */
  fileSent(sent: SentMessage, internetMessageId: string, now = Date.now()): MailItem {
    const size = sent.mime.length + sent.attachments.reduce((n, a) => n + a.size, 0);
    const item: MailItem = {
      id: newItemId(), mailbox: sent.mailbox ?? '', folder: 'sentitems', internetMessageId, internetHeaders: internetHeadersOf(sent.mime),
      createdAt: now, visibleAt: now + this.delayMs, size, mime: sent.mime, sent,
    };
    this.items.set(item.id, item);
    return item;
  }

  /** A deleted draft, now in Deleted Items. */
  fileDeletedDraft(d: Draft): MailItem {
    const item: MailItem = {
      id: newItemId(), mailbox: d.mailbox, folder: 'deleteditems', internetMessageId: d.internetMessageId, internetHeaders: d.internetHeaders,
      createdAt: d.createdAt, visibleAt: 0, size: d.mime.length + d.attachments.reduce((n, a) => n + a.size, 0), mime: d.mime,
    };
    this.items.set(item.id, item);
    return item;
  }

  get(id: string, mailbox: string): MailItem | undefined {
    const i = this.items.get(id);
    return i && i.mailbox.toLowerCase() === mailbox.toLowerCase() && i.visibleAt <= Date.now() ? i : undefined;
  }

  /** Visible items of a folder (of one mailbox), oldest first. */
  list(mailbox: string, folder: ItemFolder, now = Date.now()): MailItem[] {
    const m = mailbox.toLowerCase();
    return [...this.items.values()].filter((i) => i.mailbox.toLowerCase() === m && i.folder === folder && i.visibleAt <= now);
  }

  /** Every item of the folder, also those not visible yet (for tests). */
  all(mailbox: string, folder: ItemFolder): MailItem[] {
    const m = mailbox.toLowerCase();
    return [...this.items.values()].filter((i) => i.mailbox.toLowerCase() === m && i.folder === folder);
  }

  /** DELETE: Sent Items → Deleted Items (a new id); Deleted Items → Recoverable Items. */
  softDelete(item: MailItem): void {
    this.items.delete(item.id);
    if (item.folder === 'deleteditems') {
      this.recoverable++;
      return;
    }
    const moved = { ...item, id: newItemId(), folder: 'deleteditems' as const };
    this.items.set(moved.id, moved);
  }

  purge(item: MailItem): void {
    this.items.delete(item.id);
    this.purged++;
  }

  clear(): void {
    this.items.clear();
    this.recoverable = 0;
    this.purged = 0;
  }
}

function isoSeconds(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An item as Graph shows it in a listing. */
export function itemResource(c: GraphCall, i: MailItem): Record<string, unknown> {
  return {
    '@odata.etag': 'W/"CQAAABYAAAA"',
    id: i.id,
    createdDateTime: isoSeconds(i.createdAt),
    lastModifiedDateTime: isoSeconds(i.createdAt),
    sentDateTime: isoSeconds(i.createdAt),
    isDraft: false,
    hasAttachments: (i.sent?.attachments.length ?? 0) > 0,
    internetMessageId: i.internetMessageId,
    subject: headerFields(i.mime).find((f) => f.name.toLowerCase() === 'subject')?.value ?? '',
    parentFolderId: objectId('folder', i.mailbox, i.folder),
    from: { emailAddress: { address: mimeFrom(i.mime) ?? i.mailbox } },
    toRecipients: mimeRecipients(i.mime).map((address) => ({ emailAddress: { address } })),
    '@odata.context': `${c.ctx.origin}/v1.0/$metadata#users('${encodeURIComponent(i.mailbox)}')/messages/$entity`,
  };
}

/** DELETE /users/{u}/messages/{id}: a draft or an item moves to Deleted Items (or, from there, out of sight). */
export function deleteMessage(c: GraphCall, id: string): void {
  const mbx = mailboxFor(c, 'Mail.ReadWrite');
  if (!mbx) return;
  const draft = c.drafts.get(id, mbx.address);
  if (draft) {
    c.drafts.delete(draft.id);
    c.uploads.removeFor(draft.id);
    c.ctx.state.mail.fileDeletedDraft(draft);
    return c.respond(204, () => sendEmpty(c.res, 204));
  }
  const item = c.ctx.state.mail.get(id, mbx.address);
  if (!item) return sendGraphError(c.req, c.res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  c.ctx.state.mail.softDelete(item);
  c.respond(204, () => sendEmpty(c.res, 204));
}

/** POST /users/{u}/messages/{id}/permanentDelete: gone at once, wherever it was. */
export function permanentDelete(c: GraphCall, id: string): void {
  const mbx = mailboxFor(c, 'Mail.ReadWrite');
  if (!mbx) return;
  const draft = c.drafts.get(id, mbx.address);
  if (draft) {
    c.drafts.delete(draft.id);
    c.uploads.removeFor(draft.id);
    c.ctx.state.mail.purged++;
    return c.respond(204, () => sendEmpty(c.res, 204));
  }
  const item = c.ctx.state.mail.get(id, mbx.address);
  if (!item) return sendGraphError(c.req, c.res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  c.ctx.state.mail.purge(item);
  c.respond(204, () => sendEmpty(c.res, 204));
}
