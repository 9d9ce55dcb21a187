/**
 * Signed-in SMTP sessions kept open per mailbox between messages, so a burst
 * to one mailbox does not pay for TCP, TLS and AUTH on every message. A
 * session is reused only while it is alive, has been idle for a short time,
 * has carried fewer than `maxMessages`, and the token it signed in with stays
 * valid for a while yet; otherwise it is closed with QUIT and a new one is
 * made (with a fresh token from the token provider). Idle sessions count
 * against Microsoft's concurrent-connection limit, so at most as many stay
 * open per mailbox as the pacer lets run at once, and they close quickly.
 */
import type { SmtpSession } from './smtp-session.js';

export interface CachedSession {
  session: SmtpSession;
  /** When the token the session signed in with expires (ms since the epoch). */
  tokenExpiresAt: number;
}

interface Idle extends CachedSession {
  timer: NodeJS.Timeout;
}

export interface SessionCacheOptions {
  /** Close a session idle this long (default 30 s). */
  idleMs?: number;
  /** Messages per session before it is replaced (default 50). */
  maxMessages?: number;
  /** A session whose token expires within this margin is not reused (default 5 min). */
  tokenMarginMs?: number;
}

export class SessionCache {
  private readonly idle = new Map<string, Idle[]>();
  private readonly idleMs: number;
  private readonly maxMessages: number;
  private readonly tokenMarginMs: number;

  constructor(opts: SessionCacheOptions = {}) {
    this.idleMs = opts.idleMs ?? 30_000;
    this.maxMessages = opts.maxMessages ?? 50;
    this.tokenMarginMs = opts.tokenMarginMs ?? 300_000;
  }

  /** An idle signed-in session for this mailbox, if one is still good. */
  take(mailbox: string): CachedSession | undefined {
    const key = mailbox.toLowerCase();
    const list = this.idle.get(key);
    try {
      while (list?.length) {
        const c = list.pop()!;
        clearTimeout(c.timer);
        if (this.good(c)) return { session: c.session, tokenExpiresAt: c.tokenExpiresAt };
        c.session.quit();
      }
      return undefined;
    } finally {
      this.forgetIfEmpty(key, list);
    }
  }

  /** Keeps a session for the next message to this mailbox (or closes it when it is spent). */
  put(mailbox: string, c: CachedSession): void {
    if (!this.good(c)) {
      c.session.quit();
      return;
    }
    const key = mailbox.toLowerCase();
    let list = this.idle.get(key);
    if (!list) this.idle.set(key, (list = []));
    const entry: Idle = {
      ...c,
      timer: setTimeout(() => {
        const i = list.indexOf(entry);
        if (i >= 0) list.splice(i, 1);
        this.forgetIfEmpty(key, list);
        entry.session.quit();
      }, this.idleMs),
    };
    entry.timer.unref();
    list.push(entry);
  }

  /** Sessions open and idle right now (all mailboxes). */
  get size(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const c of list) {
        clearTimeout(c.timer);
        c.session.quit();
      }
    }
    this.idle.clear();
  }

  /** A mailbox without idle sessions is not kept (mailboxes may come from devices' From headers). */
  private forgetIfEmpty(key: string, list: Idle[] | undefined): void {
    if (list && list.length === 0 && this.idle.get(key) === list) this.idle.delete(key);
  }

  private good(c: CachedSession): boolean {
    return c.session.usable && c.session.messages < this.maxMessages && c.tokenExpiresAt - Date.now() > this.tokenMarginMs;
  }
}
