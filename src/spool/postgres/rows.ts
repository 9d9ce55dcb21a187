/** PostgreSQL rows: the shared mapping (../rows.ts), with PostgreSQL's boolean for body_present (BIGINT arrives as number). */
import type { MessageRowBase } from '../rows.js';

export { toMessage, toRecipient, toEvent, type RecipientRow, type EventRow } from '../rows.js';

export interface MessageRow extends MessageRowBase {
  body_present: boolean;
}
