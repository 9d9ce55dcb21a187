/**
 * A reply to a device: SMTP code, enhanced status code, the public text the
 * device sees, and fields for the log. Thrown from smtp-server callbacks.
 */
export class SmtpReply extends Error {
  readonly responseCode: number;
  /** Which of the relay's replies this is (a key of Replies), for the explanation shown when watching a device. */
  ref?: string;
  constructor(
    readonly code: number,
    readonly enhanced: string,
    readonly text: string,
    readonly logFields: Record<string, unknown> = {},
  ) {
    // smtp-server prefixes the enhanced code itself when ENHANCEDSTATUSCODES is on
    // only for known codes; we put it into the text so every reply carries one.
    super(`${enhanced} ${text}`);
    this.responseCode = code;
    this.name = 'SmtpReply';
  }

  get permanent(): boolean {
    return this.code >= 500;
  }
}

/** The replies the receive stage gives, in one place (a test keeps each one documented). */
const REPLIES = {
  relayDenied: (rcpt: string) =>
    new SmtpReply(554, '5.7.1', `<${rcpt}>: Relay access denied: this address is not a known device; authenticate or ask the administrator to add your network`, { rcpt }),
  senderDenied: () =>
    new SmtpReply(530, '5.7.0', 'Authentication required: this address is not a known device; authenticate first', {}),
  authRequired: () => new SmtpReply(530, '5.7.0', 'Authentication required on this port', {}),
  tlsRequired: () => new SmtpReply(530, '5.7.0', 'Must issue a STARTTLS command first', {}),
  badRecipientSyntax: (rcpt: string, why: string) => new SmtpReply(553, '5.1.3', `<${rcpt}>: ${why}`, { rcpt }),
  tooManyRecipients: (max: number) => new SmtpReply(452, '4.5.3', `Too many recipients (at most ${max} per message)`, {}),
  fromNotAllowed: (from: string) =>
    new SmtpReply(553, '5.7.1', `<${from}>: this device may not send as this address (see the device's allowedFrom and sendAs)`, { from }),
  messageTooBig: (max: number, what: 'device' | 'port' = 'device') =>
    new SmtpReply(552, '5.3.4', `Message too big for this ${what} (limit ${max} bytes)`, { max }),
  rateLimited: (seconds: number) =>
    new SmtpReply(451, '4.7.1', `Rate limit for this device reached; try again in ${seconds} s`, { retryIn: seconds }),
  bareLineEnding: (what: string) =>
    new SmtpReply(
      554,
      '5.6.11',
      `Message refused: it contains ${what}. SMTP requires CRLF line endings; fix the sender, or have the administrator set bareLineEndings: normalize for this device`,
      { what },
    ),
  headerTooBig: () => new SmtpReply(552, '5.3.4', 'Message header section too large', {}),
  authFailed: () => new SmtpReply(535, '5.7.8', 'Authentication credentials invalid', {}),
  lockedOut: () => new SmtpReply(421, '4.7.0', 'Too many failed logins from this address or for this user; try again later', {}),
  storeFailed: () => new SmtpReply(451, '4.3.0', 'Temporary failure storing the message; please try again', {}),
  shuttingDown: () => new SmtpReply(421, '4.3.2', 'Service shutting down; please try again', {}),
} as const;

type ReplyFactories = typeof REPLIES;

/** Each reply carries its own name as `ref` (receive/explain.ts explains it by that name). */
export const Replies = Object.fromEntries(Object.entries(REPLIES).map(([ref, make]) => [ref, (...args: never[]) => {
  const r = (make as (...a: never[]) => SmtpReply)(...args);
  r.ref = ref;
  return r;
}])) as unknown as ReplyFactories;

export type ReplyRef = keyof ReplyFactories;
