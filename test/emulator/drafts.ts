/**
 * Drafts kept by the emulator's Graph mail (POST /users/{u}/messages), with
 * the attachments added to them by POST or upload session, until they are
 * sent (POST .../send: recorded as one accepted message, gone from Drafts) or
 * deleted (DELETE .../messages/{id}). Like Exchange's MIME reader
 * ([MS-OXCMAIL] 2.2.3.2.29), a draft keeps each custom header field of its
 * MIME as a named property in PS_INTERNET_HEADERS (name as written, value
 * unfolded), which Graph can filter on as a single-value extended property;
 * the Message-ID field becomes internetMessageId (one is made when missing).
 * Only X- fields are kept that way here: the standard fields map to their
 * own properties, and the rest are rare in a device's mail.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorDraft, SentMessage } from './api.js';
import { headerFields } from './mime.js';

export interface Draft {
  id: string;
  tenantId: string;
  mailbox: string;
  clientId: string;
  mime: Buffer;
  createdAt: number;
  internetMessageId: string;
  internetHeaders: { name: string; value: string }[];
  attachments: SentMessage['attachments'];
}

/** Fields Exchange does not keep as PS_INTERNET_HEADERS properties ([MS-OXCMAIL] 2.2.3.2.29). */
const NOT_KEPT = /^x-(mimeole|ms-tnef-correlator|ms-exchange-organization-|ms-exchange-forest-)/i;

function internetHeadersOf(mime: Buffer): { name: string; value: string }[] {
  return headerFields(mime).filter((f) => /^x-/i.test(f.name) && !NOT_KEPT.test(f.name)).map((f) => ({ name: f.name, value: f.value }));
}

function messageIdOf(mime: Buffer): string | undefined {
  return headerFields(mime).find((f) => f.name.toLowerCase() === 'message-id')?.value.trim() || undefined;
}

export class DraftStore {
  private readonly drafts = new Map<string, Draft>();

  create(d: Omit<Draft, 'id' | 'createdAt' | 'attachments' | 'internetMessageId' | 'internetHeaders'>): Draft {
    // Exchange item ids are long base64 strings starting AAMk.
    const id = `AAMkA${randomBytes(96).toString('base64').replace(/\//g, '-').replace(/\+/g, '_')}`;
    const internetMessageId = messageIdOf(d.mime) ?? `<${randomBytes(16).toString('hex').toUpperCase()}@EMULATOR.PROD.OUTLOOK.COM>`;
    const draft: Draft = { ...d, id, createdAt: Date.now(), internetMessageId, internetHeaders: internetHeadersOf(d.mime), attachments: [] };
    this.drafts.set(id, draft);
    return draft;
  }

  /** The draft when it belongs to this mailbox. */
  get(id: string, mailbox: string): Draft | undefined {
    const d = this.drafts.get(id);
    return d && d.mailbox.toLowerCase() === mailbox.toLowerCase() ? d : undefined;
  }

  delete(id: string): void {
    this.drafts.delete(id);
  }

  /** The drafts of one mailbox (or all), oldest first. */
  list(mailbox?: string): Draft[] {
    const all = [...this.drafts.values()];
    return mailbox ? all.filter((d) => d.mailbox.toLowerCase() === mailbox.toLowerCase()) : all;
  }

  /** A copy for tests. */
  static view(d: Draft): EmulatorDraft {
    return {
      id: d.id, mailbox: d.mailbox, createdAt: d.createdAt, internetMessageId: d.internetMessageId, mime: d.mime,
      internetHeaders: d.internetHeaders.map((h) => ({ ...h })), attachments: [...d.attachments],
    };
  }

  clear(): void {
    this.drafts.clear();
  }
}
