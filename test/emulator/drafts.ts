/**
 * Drafts kept by the emulator's Graph mail (POST /users/{u}/messages), with
 * the attachments added to them by POST or upload session, until they are
 * sent (POST .../send) and recorded as one accepted message.
 */
import { randomBytes } from 'node:crypto';
import type { SentMessage } from './api.js';

export interface Draft {
  id: string;
  tenantId: string;
  mailbox: string;
  clientId: string;
  mime: Buffer;
  createdAt: number;
  attachments: SentMessage['attachments'];
}

export class DraftStore {
  private readonly drafts = new Map<string, Draft>();

  create(d: Omit<Draft, 'id' | 'createdAt' | 'attachments'>): Draft {
    // Exchange item ids are long base64 strings starting AAMk.
    const id = `AAMkA${randomBytes(96).toString('base64').replace(/\//g, '-').replace(/\+/g, '_')}`;
    const draft: Draft = { ...d, id, createdAt: Date.now(), attachments: [] };
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

  clear(): void {
    this.drafts.clear();
  }
}
