/**
 * Mapping between database rows and the spool's types, shared by both stores:
 * SQLite and PostgreSQL keep the same columns (JSON as text, times as numbers).
 * Each store adds its own `body_present` type.
 */
import type { DeliveryOutcome } from '../core/outcome.js';
import type { MessageState, Origin, QueuedMessage, RecipientRecord, RecipientState, TrailEvent } from './store.js';

export interface MessageRowBase {
  id: string;
  parent_id: string | null;
  body_id: string;
  kind: string;
  state: string;
  route: string | null;
  sender: string;
  size: number;
  received_at: number;
  expires_at: number;
  updated_at: number;
  finished_at: number | null;
  next_attempt_at: number;
  attempts: number;
  lease_owner: string | null;
  lease_token: string | null;
  lease_until: number | null;
  device: string | null;
  client_ip: string | null;
  origin: string;
  subject: string | null;
  header_from: string | null;
  message_id_header: string | null;
  send_as: string | null;
  eight_bit: number | boolean | null;
  notes: string | null;
  last_error: string | null;
}

export interface RecipientRow {
  message_id: string;
  idx: number;
  address: string;
  state: string;
  attempts: number;
  updated_at: number;
  last: string | null;
}

export interface EventRow {
  at: number;
  kind: string;
  text: string;
  data: string | null;
}

function json<T>(text: string | null): T | undefined {
  return text ? (JSON.parse(text) as T) : undefined;
}

export function toRecipient(r: RecipientRow): RecipientRecord {
  const rec: RecipientRecord = {
    address: r.address,
    state: r.state as RecipientState,
    attempts: r.attempts,
    updatedAt: r.updated_at,
  };
  const last = json<DeliveryOutcome>(r.last);
  if (last) rec.last = last;
  return rec;
}

export function toMessage(row: MessageRowBase, recipients: RecipientRow[]): QueuedMessage {
  const m: QueuedMessage = {
    id: row.id,
    parentId: row.parent_id,
    bodyId: row.body_id,
    kind: row.kind === 'notice' ? 'notice' : 'message',
    state: row.state as MessageState,
    route: row.route,
    sender: row.sender,
    size: row.size,
    receivedAt: row.received_at,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
    nextAttemptAt: row.next_attempt_at,
    attempts: row.attempts,
    leaseOwner: row.lease_owner,
    leaseToken: row.lease_token,
    leaseUntil: row.lease_until,
    origin: JSON.parse(row.origin) as Origin,
    recipients: recipients.map((r) => r.address),
    recipientRecords: recipients.map(toRecipient),
  };
  if (row.subject !== null) m.subject = row.subject;
  if (row.header_from !== null) m.headerFrom = row.header_from;
  if (row.message_id_header !== null) m.messageIdHeader = row.message_id_header;
  if (row.send_as !== null) m.sendAs = row.send_as;
  if (row.eight_bit !== null && row.eight_bit !== undefined) m.eightBit = Boolean(row.eight_bit);
  const notes = json<string[]>(row.notes);
  if (notes) m.notes = notes;
  const lastError = json<DeliveryOutcome>(row.last_error);
  if (lastError) m.lastError = lastError;
  return m;
}

export function toEvent(r: EventRow): TrailEvent {
  return { at: r.at, kind: r.kind, text: r.text, ...(r.data ? { data: JSON.parse(r.data) as Record<string, unknown> } : {}) };
}
