/**
 * The deliver stage's one interface. A transport takes a message and the
 * recipients still to be delivered, and answers with one outcome per
 * recipient. It never throws for an upstream's answer: it maps every reply
 * and error into a DeliveryOutcome (retry, fail, delivered or hold).
 * Every implementation passes test/contract/transport-contract.ts.
 */
import type { Readable } from 'node:stream';
import type { RecipientOutcome } from '../core/outcome.js';

export interface OutboundMessage {
  id: string;
  /** Envelope sender ('' for the null sender), passed to the upstream unchanged. */
  sender: string;
  /** Recipients to deliver now (those still pending). */
  recipients: string[];
  size: number;
  /**
   * The stored message has bytes above 127 (or the device declared
   * BODY=8BITMIME), as recorded when it was received: an SMTP transport then
   * declares BODY=8BITMIME (RFC 6152) to an upstream that offers it; false:
   * 7-bit, nothing declared. Undefined when it was not recorded: the SMTP
   * transports look at the first part of the body as they start reading it.
   */
  eightBit?: boolean;
  /** Opens the stored message (headers and body) as a fresh stream; `readBytes`: the store's read size (a hint). */
  openBody(readBytes?: number): Readable;
  /** Mailbox the device sends as, if configured. */
  sendAs?: string;
  headerFrom?: string;
  /** The Message-ID field as the device sent it (absent when it sent none). */
  messageIdHeader?: string;
  device: string | null;
}

export interface DeliveryContext {
  /** Aborted when the relay shuts down or the attempt takes too long. */
  signal: AbortSignal;
  /**
   * Told each step of the attempt (token, request, response) as it happens;
   * `authrelay send-test --route` prints them. Never given secrets.
   */
  trace?: (step: string, detail?: Record<string, unknown>) => void;
  /**
   * The attempt waits for its mailbox (a limit of the mailbox, not of the
   * upstream): until the returned function is called, the scheduler may give
   * its slot of the upstream's concurrency to a message for another mailbox.
   */
  aside?: () => () => void;
}

export interface Transport {
  readonly name: string;
  readonly type: string;
  /** Most messages this upstream is given at once. */
  readonly concurrency: number;
  deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]>;
  /** Whether this upstream can take the recipient at all (Direct Send: its accepted domains); absent: any. */
  accepts?(recipient: string): boolean;
  close(): Promise<void>;
}
