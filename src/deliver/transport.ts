/**
 * The deliver stage's one interface. A transport takes a message and the
 * recipients still to be delivered, and answers with one outcome per
 * recipient. It never throws for an upstream's answer: it maps every reply
 * and error into a DeliveryOutcome (retry, fail, delivered or hold).
 * Every implementation passes test/transport-contract.ts.
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
  /** Opens the stored message (headers and body) as a fresh stream. */
  openBody(): Readable;
  /** Mailbox the device sends as, if configured. */
  sendAs?: string;
  headerFrom?: string;
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
}

export interface Transport {
  readonly name: string;
  readonly type: string;
  /** Most messages this upstream is given at once. */
  readonly concurrency: number;
  deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]>;
  close(): Promise<void>;
}
