/**
 * What a device's refusal or failed handshake means, and what to do, as the
 * live view of its sessions shows it (`authrelay device watch`, the console):
 * written for the person standing at the printer. Each explanation has a
 * stable name (`ref`), the same as the reply's (core/smtp-reply.ts Replies)
 * where there is one.
 */
import type { SmtpReply } from '../core/smtp-reply.js';

export interface ListenerHint {
  name: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  minTlsVersion: string;
  allowInsecureAuth: boolean;
}

export interface ExplainContext {
  /** The listener the session is on. */
  listener: ListenerHint;
  /** Every listener of the relay (to point at the right one). */
  listeners: readonly ListenerHint[];
  device?: string;
}

export interface Explanation {
  ref: string;
  reason: string;
  fix: string;
}

const legacy = (c: ExplainContext) => c.listeners.find((l) => l.minTlsVersion === 'TLSv1' || l.minTlsVersion === 'TLSv1.1');
const withTls = (c: ExplainContext, mode: 'starttls' | 'implicit') => c.listeners.find((l) => l.tls === mode);
const where = (l: ListenerHint | undefined) => (l ? `port ${l.port} (listener ${l.name})` : undefined);

/** The explanation of one of the relay's replies. */
export function explainReply(r: SmtpReply, c: ExplainContext): Explanation {
  const ref = r.ref ?? (r.code === 421 && r.enhanced === '4.4.2' ? 'line-timeout' : 'other');
  switch (ref) {
    case 'authFailed':
      return { ref, reason: 'The user name or password the device sent is not right.',
        fix: `Type the user name and password of the device${c.device ? ` ${c.device}` : ''} again, exactly as shown when it was added (they are case-sensitive), or give it a new password (Devices → Reset password) and type that.` };
    case 'lockedOut':
      return { ref, reason: 'Too many wrong passwords came from this address or for this user name: logins are refused for a while (brute-force protection).',
        fix: 'Correct the password in the device, then wait until the lock ends (security.lockoutDuration, 15 minutes by default) and send again.' };
    case 'relayDenied':
    case 'senderDenied':
      return { ref, reason: 'This address is not a known device and the session did not log in, so the relay does not accept mail from it (it is not an open relay).',
        fix: 'Set a user name and password in the device (SMTP authentication), or add the device with this address as a trusted network (Devices → Add, networks).' };
    case 'authRequired':
      return { ref, reason: 'This port requires every client to log in.', fix: 'Turn on SMTP authentication in the device and enter its user name and password.' };
    case 'tlsRequired':
      return { ref, reason: 'This port requires TLS (STARTTLS) before the message.',
        fix: 'Turn on TLS/STARTTLS in the device\'s e-mail settings' + (withTls(c, 'implicit') ? `, or use SSL/TLS on ${where(withTls(c, 'implicit'))}` : '') + '.' };
    case 'fromNotAllowed':
      return { ref, reason: 'The device sent as a From address it may not use.',
        fix: 'Set the device\'s sender address to its own mailbox, or allow that address for the device (Devices → Edit, allowed From addresses, or set "send as").' };
    case 'messageTooBig':
      return { ref, reason: 'The message is larger than this device or port may send.', fix: 'Scan at a lower resolution or fewer pages, or raise maxMessageSize for the device or listener.' };
    case 'rateLimited':
      return { ref, reason: 'The device sent more messages than its rate limit allows.', fix: 'Wait a moment and send again, or raise the device\'s rateLimit.' };
    case 'bareLineEnding':
      return { ref, reason: 'The message has line endings that SMTP does not allow (a bare CR or LF).', fix: 'Set bareLineEndings: normalize on the device (safe for devices on a trusted network).' };
    case 'tooManyRecipients':
      return { ref, reason: 'The message has more recipients than the port allows.', fix: 'Send to fewer recipients at once, or raise maxRecipients on the listener.' };
    case 'badRecipientSyntax':
      return { ref, reason: 'A recipient address is written in a form the relay refuses (a relay trick such as a source route or a %-hack).', fix: 'Type the recipient as a plain address, name@example.com.' };
    case 'storeFailed':
      return { ref, reason: 'The relay could not store the message (its disk or database had a problem).', fix: 'Send again; if it keeps failing, look at the relay\'s log (event store-failed).' };
    case 'shuttingDown':
      return { ref, reason: 'The relay is stopping.', fix: 'Send again in a minute, when it runs again.' };
    case 'line-timeout':
      return { ref, reason: 'The device took longer than the socket timeout to send one line.', fix: 'Check the network between the device and the relay.' };
    default:
      return { ref: 'other', reason: `The relay answered ${r.code} ${r.enhanced} ${r.text}.`, fix: 'See the reply; the relay\'s log has the details.' };
  }
}

/** A code that is not one of the relay's own replies: e.g. 538 before STARTTLS. */
export function explainAuthBeforeTls(c: ExplainContext): Explanation {
  const tls = withTls(c, 'implicit') ?? withTls(c, 'starttls');
  return { ref: 'authBeforeTls', reason: 'The device tried to log in before starting TLS, and this port does not accept passwords without TLS.',
    fix: `Turn on TLS in the device's e-mail settings (STARTTLS on this port${tls && tls !== c.listener ? `, or SSL/TLS on ${where(tls)}` : ''})` +
      (c.listeners.some((l) => l.allowInsecureAuth) ? `, or use ${where(c.listeners.find((l) => l.allowInsecureAuth))}, which accepts passwords without TLS` : '') + '.' };
}

/** OpenSSL's reason in a TLS error ("unsupported protocol"), without its codes and source file. */
export function tlsReason(message: string): string {
  return /routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim() ?? message.slice(0, 160);
}

/** A TLS handshake that failed: the OpenSSL reason in the error, said for people. */
export function explainTlsFailure(message: string, c: ExplainContext): Explanation {
  const old = legacy(c);
  if (/unsupported protocol|version too low|wrong_version|tlsv1 alert protocol version/i.test(message) && !/wrong version number/i.test(message)) {
    return { ref: 'tlsTooOld', reason: `The device offered a TLS version older than this port accepts (${c.listener.minTlsVersion} or newer here): many older printers and scanners only speak TLS 1.0 or 1.1.`,
      fix: old ? `Point the device at ${where(old)}, which accepts ${old.minTlsVersion}, or update the device's firmware to one with TLS 1.2.`
        : 'Add a legacy listener for it (e.g. { port: 2526, tls: starttls, minTlsVersion: TLSv1 }), or update the device\'s firmware to one with TLS 1.2.' };
  }
  if (/wrong version number|http request|unknown protocol/i.test(message)) {
    return { ref: 'tlsNotStarted', reason: 'The device did not start TLS on a port where TLS comes first (it spoke plain SMTP, or uses STARTTLS).',
      fix: `Set the device's security to SSL/TLS for this port${withTls(c, 'starttls') ? `, or use STARTTLS on ${where(withTls(c, 'starttls'))}` : ''}.` };
  }
  if (/no shared cipher|handshake failure|no suitable signature/i.test(message)) {
    return { ref: 'tlsNoCipher', reason: 'The device and this port have no encryption method in common (old devices only know old ciphers).',
      fix: old ? `Point the device at ${where(old)}, which accepts old ciphers.` : 'Add a legacy listener for it (minTlsVersion: TLSv1), which accepts old ciphers.' };
  }
  if (/certificate|unknown ca|bad certificate/i.test(message)) {
    return { ref: 'tlsCertificate', reason: 'The device does not trust the relay\'s certificate.',
      fix: 'Turn off certificate checking in the device (many cannot check a self-signed certificate), or give the relay a certificate the device trusts (tls.cert and tls.key).' };
  }
  return { ref: 'tlsFailed', reason: `The TLS handshake failed (${message.replace(/^.*routines:/, '').slice(0, 120)}).`, fix: 'Check the device\'s TLS/SSL setting for this port; the relay\'s log has the details.' };
}
