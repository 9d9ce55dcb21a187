/**
 * The token cache in front of Entra: one current token per provider, served
 * while it has more than the renewal margin left, renewed ahead of expiry.
 * Renewal is single-flight: callers that arrive while a request is under way
 * share its answer, so a burst of messages costs one token request.
 *
 * Margin: 5 minutes, or a tenth of the token's lifetime when that is shorter
 * (Entra's tokens live 60-90 minutes, so normally 5 minutes).
 */
import type { AccessToken } from './token-provider.js';
import { TokenError } from './token-provider.js';

export const MAX_RENEWAL_MARGIN_MS = 5 * 60_000;

export interface FreshToken {
  token: string;
  expiresAt: number;
}

export class RenewingToken {
  private current: { token: string; expiresAt: number; issuedAt: number; permissions: string[] } | undefined;
  private flight: Promise<AccessToken> | undefined;

  constructor(
    private readonly fetch: () => Promise<FreshToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the current token will be renewed (ms since the epoch), if there is one. */
  get renewAt(): number | undefined {
    return this.current ? this.current.expiresAt - marginFor(this.current.expiresAt - this.current.issuedAt) : undefined;
  }

  get expiresAt(): number | undefined {
    return this.current?.expiresAt;
  }

  /** Forget the current token (e.g. the resource refused it). */
  invalidate(): void {
    this.current = undefined;
  }

  get(signal?: AbortSignal): Promise<AccessToken> {
    const c = this.current;
    if (c && this.now() < this.renewAt!) {
      return Promise.resolve({ token: c.token, expiresAt: c.expiresAt, permissions: c.permissions, fromCache: true });
    }
    this.flight ??= this.fetch().then(
      (fresh) => {
        this.flight = undefined;
        const permissions = permissionsOf(fresh.token);
        this.current = { ...fresh, issuedAt: this.now(), permissions };
        return { token: fresh.token, expiresAt: fresh.expiresAt, permissions, fromCache: false };
      },
      (err: unknown) => {
        this.flight = undefined;
        throw err;
      },
    );
    return signal ? abortable(this.flight, signal) : this.flight;
  }
}

export function marginFor(lifetimeMs: number): number {
  return Math.max(0, Math.min(MAX_RENEWAL_MARGIN_MS, lifetimeMs / 10));
}

/** The caller stops waiting when its signal fires; the shared request goes on for the others. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new TokenError('token request aborted', { networkCode: 'ABORTED' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TokenError('token request aborted', { networkCode: 'ABORTED' }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The payload claims of a JWT access token (base64url JSON). Not verified:
 * the token is Microsoft's to check; authrelay only reads what it was given.
 * Returns undefined for tokens that are not JWTs (they are opaque to clients).
 */
export function tokenClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Application permissions (`roles`) or delegated scopes (`scp`, space separated). */
export function permissionsOf(token: string): string[] {
  const claims = tokenClaims(token);
  if (!claims) return [];
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  const scp = typeof claims.scp === 'string' ? claims.scp.split(/\s+/).filter(Boolean) : [];
  return [...roles, ...scp];
}
