/**
 * What the app-only and the delegated token providers share: MSAL set up on
 * the relay's HTTP client, a RenewingToken in front of it (so MSAL is only
 * asked when a new token is needed), the count of requests really sent, and
 * the report of each request's result (expiry or error, never a token).
 * Subclasses say how a new token is requested.
 */
import type { AuthenticationResult } from '@azure/msal-node';
import type { MsalSetup } from './msal-config.js';
import { RenewingToken, type FreshToken } from './token-cache.js';
import { TokenError, type AccessToken, type TokenProvider } from './token-provider.js';

export interface TokenEvents {
  /** After every token request: its expiry, or the error (no secrets in either). */
  onResult?: (result: { expiresAt: number } | { error: TokenError }) => void;
}

/** Lifetime assumed when Entra's answer does not say (Entra's tokens live 60 to 90 minutes). */
const DEFAULT_LIFETIME_MS = 3_600_000;

export abstract class MsalTokenProvider implements TokenProvider {
  abstract readonly description: string;
  protected readonly cache: RenewingToken;

  protected constructor(
    protected readonly setup: MsalSetup,
    protected readonly events: TokenEvents,
  ) {
    this.cache = new RenewingToken(() => this.request());
  }

  get requests(): number {
    return this.setup.network.tokenRequests;
  }

  get expiresAt(): number | undefined {
    return this.cache.expiresAt;
  }

  getToken(signal?: AbortSignal): Promise<AccessToken> {
    return this.cache.get(signal);
  }

  /** Drop the cached token so the next getToken asks Entra (e.g. the resource answered 401). */
  invalidate(): void {
    this.cache.invalidate();
  }

  close(): void {
    this.setup.http.close();
  }

  /** Asks Entra (through MSAL) for a new token; throws TokenError. */
  protected abstract request(): Promise<FreshToken>;

  /** The token in MSAL's answer, reported to `events`; `what` names the request in the error. */
  protected issued(result: AuthenticationResult | null, what: string): FreshToken {
    if (!result?.accessToken) throw new TokenError(`${what}: Entra answered without an access token`, {});
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : Date.now() + DEFAULT_LIFETIME_MS;
    this.events.onResult?.({ expiresAt });
    return { token: result.accessToken, expiresAt };
  }

  /** Reports a failed request to `events` and hands the error back for throwing. */
  protected failed(error: TokenError): TokenError {
    this.events.onResult?.({ error });
    return error;
  }
}
