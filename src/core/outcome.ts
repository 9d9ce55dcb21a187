/**
 * What an upstream did with a recipient. Every transport maps its replies and
 * errors into this shape; the scheduler acts on it without knowing the transport.
 */
export type DeliveryAction = 'delivered' | 'retry' | 'fail' | 'hold';

/**
 * message: caused by this message or recipient (retry it later on its own);
 * destination: the upstream itself is unavailable (pause the whole route).
 */
export type FailureScope = 'message' | 'destination';

export interface DeliveryOutcome {
  action: DeliveryAction;
  /** Short machine-readable category, e.g. "connection", "auth", "rejected", "throttled". */
  category: string;
  scope?: FailureScope;
  /** Upstream reply, as received (SMTP code and text, or HTTP status and error code). */
  code?: number;
  enhancedCode?: string;
  response?: string;
  /** What it means, for people. */
  hint?: string;
  /** What to do about it (the permission to grant, the command to run, the setting to change). */
  fix?: string;
  /** The error catalogue entry that explained it (docs/errors.md), e.g. "graph.ErrorSendAsDenied". */
  ref?: string;
  /** hint and fix in Japanese (the faces choose: the console's language, Accept-Language, the CLI's LANG or --lang). */
  ja?: { hint?: string; fix?: string };
  /** The upstream asked us to wait this long before retrying. */
  retryAfterMs?: number;
  /** The message may have been delivered although we could not confirm it. */
  possibleDuplicate?: boolean;
}

export interface RecipientOutcome {
  recipient: string;
  outcome: DeliveryOutcome;
}

export function outcomeForAll(recipients: readonly string[], outcome: DeliveryOutcome): RecipientOutcome[] {
  return recipients.map((recipient) => ({ recipient, outcome }));
}
