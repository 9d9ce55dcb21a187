/** SQLite rows: the shared mapping (../rows.ts), with SQLite's integer for body_present. */
import type { MessageRowBase } from '../rows.js';

export { toMessage, toRecipient, toEvent, type RecipientRow, type EventRow } from '../rows.js';

export interface MessageRow extends MessageRowBase {
  body_present: number;
}
