/**
 * What an SMTP transport declares in MAIL FROM for a stored message:
 * BODY=8BITMIME (RFC 6152) when the message has bytes above 127, and
 * SMTPUTF8 (RFC 6531) when an envelope address has non-ASCII characters
 * before the @ (a non-ASCII domain goes out as its ASCII form, xn--...,
 * which needs nothing). When receive recorded the message's 8-bit-ness
 * (OutboundMessage.eightBit) that is used; otherwise the first 64 KB of the
 * stored message are looked at as the transport starts reading it, and those
 * bytes are kept and sent: the message is still read once. An 8-bit byte in
 * them, or a message longer than them, declares BODY=8BITMIME (a declaration
 * that RFC 6152 allows for 7-bit content too); a message read to its end
 * without one declares nothing.
 */
import { isAscii } from 'node:buffer';
import { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import type { OutboundMessage } from '../transport.js';

export const PEEK_BYTES = 64 * 1024;

/** The envelope address with its domain in ASCII form (IDNA), as it goes out. */
export function asciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  if (!/[\u0080-\uffff]/.test(domain)) return address;
  return `${address.slice(0, at)}@${domainToASCII(domain) || domain}`;
}

/** An address whose local part (before the @) has non-ASCII characters: only SMTPUTF8 carries it. */
export function needsSmtpUtf8Address(address: string): boolean {
  const at = address.lastIndexOf('@');
  return /[\u0080-\uffff]/.test(at < 0 ? address : address.slice(0, at));
}

/** The addresses of the envelope that need SMTPUTF8 (empty: none). */
export function smtpUtf8Addresses(message: Pick<OutboundMessage, 'sender' | 'recipients'>): string[] {
  return [message.sender, ...message.recipients].filter((a) => a && needsSmtpUtf8Address(a));
}

export interface PreparedMessage {
  /** The message with eightBit known; its first openBody() gives back the bytes already looked at. */
  message: OutboundMessage & { eightBit: boolean };
  /** Releases the stored message when the prepared stream was never opened (call it always, in finally). */
  release(): void;
}

/**
 * Knows whether the message is 8-bit before MAIL FROM. Rejects when the
 * stored message cannot be read (the caller reports it as a spool problem).
 */
export async function prepareMessage(message: OutboundMessage, limit = PEEK_BYTES): Promise<PreparedMessage> {
  if (message.eightBit !== undefined) return { message: { ...message, eightBit: message.eightBit }, release: () => undefined };
  const peeked = await peek(message.openBody(), limit);
  let replay: Readable | undefined = peeked.replay;
  return {
    message: {
      ...message,
      eightBit: peeked.eightBit || !peeked.ended,
      openBody: (readBytes?: number) => {
        const r = replay;
        replay = undefined;
        return r ?? message.openBody(readBytes);
      },
    },
    release: () => {
      replay?.destroy();
      replay = undefined;
    },
  };
}

function hasHighByte(b: Buffer): boolean {
  return !isAscii(b);
}

/**
 * Reads until an 8-bit byte, `limit` bytes, or the end, whichever comes first;
 * nothing read is lost: the replay (made at once, so a read error that follows
 * has a listener) gives the bytes read, then the rest.
 */
function peek(source: Readable, limit: number): Promise<{ replay: Readable; ended: boolean; eightBit: boolean }> {
  return new Promise((resolve, reject) => {
    const head: Buffer[] = [];
    let seen = 0;
    let eightBit = false;
    const cleanup = () => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
    };
    const onEnd = () => {
      cleanup();
      resolve({ replay: replayStream(head, source, true), ended: true, eightBit });
    };
    const onError = (err: Error) => {
      cleanup();
      source.destroy();
      reject(err);
    };
    function onReadable(): void {
      for (let c = source.read() as Buffer | string | null; c !== null; c = source.read() as Buffer | string | null) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        head.push(b);
        seen += b.length;
        if (!eightBit && hasHighByte(b)) eightBit = true;
        if (eightBit || seen >= limit) {
          cleanup();
          resolve({ replay: replayStream(head, source, false), ended: false, eightBit });
          return;
        }
      }
    }
    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', onError);
  });
}

/**
 * The bytes already read, then the rest of the stored message, read as the
 * consumer reads (a read error reaches the consumer, not the air); destroying
 * it releases the stored message.
 */
class Replay extends Readable {
  private waiting = false;
  private failure: Error | undefined;

  constructor(
    private readonly head: Buffer[],
    private readonly source: Readable,
    private sourceEnded: boolean,
  ) {
    super();
    if (sourceEnded) return;
    source.on('readable', () => {
      if (!this.waiting) return;
      this.waiting = false;
      this._read();
    });
    source.on('end', () => {
      this.sourceEnded = true;
      if (!this.waiting) return;
      this.waiting = false;
      this.push(null);
    });
    source.on('error', (err) => {
      this.failure = err;
      if (!this.waiting) return;
      this.waiting = false;
      this.destroy(err);
    });
  }

  override _read(): void {
    while (this.head.length) if (!this.push(this.head.shift())) return;
    if (this.failure) {
      this.destroy(this.failure);
      return;
    }
    if (!this.sourceEnded) {
      for (let c = this.source.read() as Buffer | null; c !== null; c = this.source.read() as Buffer | null) {
        if (!this.push(typeof c === 'string' ? Buffer.from(c) : c)) return;
      }
    }
    if (this.sourceEnded) this.push(null);
    else this.waiting = true;
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.source.destroy();
    done(err);
  }
}

function replayStream(head: Buffer[], source: Readable, ended: boolean): Readable {
  if (ended) source.destroy();
  return new Replay(head, source, ended);
}
