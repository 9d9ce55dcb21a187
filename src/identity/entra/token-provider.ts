/**
 * Outbound credentials for Microsoft 365: an access token for one resource
 * (Graph or Exchange SMTP), obtained from Entra ID and cached. Implementations
 * live beside this file (client secret, certificate, delegated device code);
 * transports only see this interface.
 */

/** The resource a token is for; the scope is `<resource>/.default` for app tokens. */
export type TokenResource = 'graph' | 'smtp';

export interface AccessToken {
  /** The bearer token. Never logged. */
  token: string;
  /** When it stops being valid (ms since the epoch). */
  expiresAt: number;
  /** Application permissions in the token's `roles` claim (app tokens), or delegated scopes (`scp`). */
  permissions: string[];
  /** True when served from the cache without a request to Entra. */
  fromCache: boolean;
}

export interface TokenProvider {
  /** For logs and send-test: "client secret of app 1111… in tenant contoso.onmicrosoft.com (global cloud)". */
  readonly description: string;
  /** A valid token, from the cache while it has more than the refresh margin left. Throws TokenError. */
  getToken(signal?: AbortSignal): Promise<AccessToken>;
  /** Requests made to Entra so far (the token cache's effect shows here). */
  readonly requests: number;
}

/** What is known about a failed token request; every field is safe to log (no secret, no token). */
export interface TokenErrorDetails {
  /** OAuth error, e.g. invalid_client, invalid_grant, unauthorized_client, invalid_request. */
  error?: string;
  /** AADSTS number from error_codes or the description, e.g. 7000215. */
  aadsts?: number;
  /** HTTP status of the token endpoint's answer; absent when it was not reached. */
  status?: number;
  /** The full error_description (safe to log: it holds no secret). */
  description?: string;
  /** Network error code when the endpoint was not reached (ENOTFOUND, ECONNREFUSED, CERT_...). */
  networkCode?: string;
  /** No sign-in is stored yet (delegated): run `authrelay oauth login`. */
  notSignedIn?: boolean;
}

/** Entra refused or could not be reached. Carries what the catalogue needs to explain it. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly details: TokenErrorDetails,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}
