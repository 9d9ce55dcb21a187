/**
 * Admin sign-in: the one-time setup token (only while no admin password
 * exists), the admin password (scrypt), sessions (a random id in an HttpOnly
 * cookie, only its SHA-256 kept) each with its CSRF token, API tokens for
 * scripts (random, shown once, SHA-256 kept) and the lockout of client
 * addresses after repeated failures.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashPassword, verifyPassword } from '../../identity/password.js';
import { Lockout } from '../../identity/lockout.js';
import type { AdminDb, ApiTokenRow, SessionRow, TokenScope } from './admin-db.js';

/** The account the admin password belongs to. */
export const ADMIN_USER = 'admin';
/** Prefix that makes API tokens recognisable (e.g. by secret scanners). */
export const TOKEN_PREFIX = 'arly_';

export interface AdminAuthOptions {
  sessionLifetimeMs: number;
  /** Failed sign-ins (or setup attempts) from one address before it is locked out. */
  failureLimit: number;
  failureWindowMs: number;
  lockoutMs: number;
}

export type SignInResult =
  | { ok: true; sessionId: string; session: SessionRow }
  | { ok: false; reason: 'locked'; retryAfterMs: number }
  | { ok: false; reason: 'wrong-password' | 'no-admin' };

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a));
  const y = Buffer.from(sha256(b));
  return timingSafeEqual(x, y);
}

export class AdminAuth {
  /** Failures and locks per client address (each dropped once its window and lock have passed). */
  private readonly lockout: Lockout;

  constructor(private readonly db: AdminDb, private readonly opts: AdminAuthOptions) {
    this.lockout = new Lockout({ limit: opts.failureLimit, windowMs: opts.failureWindowMs, lockMs: opts.lockoutMs });
  }

  get needsSetup(): boolean {
    return !this.db.hasAdmin();
  }

  /** Makes a new setup token when no admin password exists (the previous one stops working); undefined otherwise. */
  issueSetupToken(): string | undefined {
    if (!this.needsSetup) return undefined;
    const token = randomSecret(24);
    this.db.setSetupTokenHash(sha256(token));
    return token;
  }

  /** Milliseconds this address must still wait, 0 when it may try. */
  lockedFor(ip: string, now: number): number {
    const until = this.lockout.lockedUntil(ip, now);
    return until ? until - now : 0;
  }

  /** Counts a failure; returns the lock's length when this failure locks the address. */
  private fail(ip: string, now: number): number {
    return this.lockout.fail([ip], now) ? this.opts.lockoutMs : 0;
  }

  /** Addresses whose failures or lock are kept (for tests: it stays near the addresses that failed lately). */
  trackedAddresses(): number {
    return this.lockout.size();
  }

  /** Sets the admin password with the setup token. */
  async setup(token: string, password: string, ip: string, now: number): Promise<'ok' | 'done-already' | 'wrong-token' | 'locked'> {
    if (this.lockedFor(ip, now)) return 'locked';
    if (!this.needsSetup) return 'done-already';
    const expected = this.db.setupTokenHash();
    if (!expected || !sameSecret(sha256(token), expected)) {
      this.fail(ip, now);
      return 'wrong-token';
    }
    const hash = await hashPassword(password);
    return this.db.createAdmin(ADMIN_USER, hash, now) ? 'ok' : 'done-already';
  }

  async signIn(password: string, ip: string, now: number): Promise<SignInResult> {
    // Checks from one address run only while they cannot take it past the limit (guesses
    // sent at once on many connections would otherwise all be checked before one failed).
    const end = await this.lockout.begin([ip]);
    try {
      const at = Math.max(now, Date.now());
      const wait = this.lockedFor(ip, at);
      if (wait) return { ok: false, reason: 'locked', retryAfterMs: wait };
      const hash = this.db.passwordHash(ADMIN_USER);
      if (!hash) return { ok: false, reason: 'no-admin' };
      if (!(await verifyPassword(password, hash))) {
        const locked = this.fail(ip, at);
        return locked ? { ok: false, reason: 'locked', retryAfterMs: locked } : { ok: false, reason: 'wrong-password' };
      }
      this.lockout.succeed([ip]);
      return { ok: true, ...this.openSession(ADMIN_USER, ip, at) };
    } finally {
      end();
    }
  }

  /** A new session for a user whose identity was proven (the admin password, or Entra ID sign-in). */
  openSession(user: string, ip: string, now: number): { sessionId: string; session: SessionRow } {
    this.db.removeExpiredSessions(now);
    const sessionId = randomSecret();
    const session: SessionRow = { user, csrf: randomSecret(), ip, createdAt: now, expiresAt: now + this.opts.sessionLifetimeMs };
    this.db.addSession(sha256(sessionId), session);
    return { sessionId, session };
  }

  /** Counts a refused sign-in (e.g. an Entra user not listed) against the address. */
  signInFailed(ip: string, now: number): void {
    this.fail(ip, now);
  }

  session(sessionId: string, now: number): SessionRow | undefined {
    return this.db.session(sha256(sessionId), now);
  }

  signOut(sessionId: string): void {
    this.db.removeSession(sha256(sessionId));
  }

  /** A new API token: the secret is returned here once and never again. */
  createToken(name: string, scope: TokenScope, createdBy: string, now: number): { token: string; row: ApiTokenRow } {
    const token = `${TOKEN_PREFIX}${randomSecret()}`;
    const row: ApiTokenRow = { id: randomSecret(9), name, scope, createdBy, createdAt: now, lastUsedAt: null };
    this.db.addToken(row, sha256(token));
    return { token, row };
  }

  tokenFor(secret: string, now: number): ApiTokenRow | undefined {
    if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
    return this.db.tokenByHash(sha256(secret), now);
  }

  /** A failed Bearer token counts against the address like a wrong password. */
  tokenFailed(ip: string, now: number): void {
    this.fail(ip, now);
  }
}
