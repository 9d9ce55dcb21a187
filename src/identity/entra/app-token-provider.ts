/**
 * App-only tokens (client credentials grant) for Graph or Exchange SMTP, with
 * a client secret or a certificate. MSAL's ConfidentialClientApplication does
 * the protocol (and signs the certificate assertion); RenewingToken decides
 * when a new token is needed, so MSAL is always asked to skip its own cache.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { EntraUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { AccessToken, TokenProvider, TokenResource } from './token-provider.js';
import { TokenError } from './token-provider.js';
import { RenewingToken } from './token-cache.js';
import { toTokenError } from './errors.js';
import { loadCertificate, msalConfiguration, type MsalSetup } from './msal-config.js';
import { resolveEndpoints } from './clouds.js';

export interface TokenEvents {
  /** After every token request: its expiry, or the error (no secrets in either). */
  onResult?: (result: { expiresAt: number } | { error: TokenError }) => void;
}

export class AppTokenProvider implements TokenProvider {
  readonly description: string;
  readonly credentialType: 'client secret' | 'certificate';
  readonly scope: string;
  private readonly setup: MsalSetup;
  private readonly app: ConfidentialClientApplication;
  private readonly cache: RenewingToken;

  constructor(cfg: EntraUpstreamConfig, resource: TokenResource, log: Logger, private readonly events: TokenEvents = {}) {
    const endpoints = resolveEndpoints(cfg);
    this.scope = resource === 'graph' ? endpoints.graphScope : endpoints.smtpScope;
    if (cfg.certificate) {
      const certificate = loadCertificate(cfg.certificate);
      this.credentialType = 'certificate';
      this.setup = msalConfiguration(cfg, { certificate }, log);
    } else if (cfg.clientSecret !== undefined) {
      this.credentialType = 'client secret';
      this.setup = msalConfiguration(cfg, { clientSecret: cfg.clientSecret }, log);
    } else {
      throw new TokenError('an app token needs clientSecret or certificate', {});
    }
    this.description = `${this.credentialType} of app ${cfg.clientId} in tenant ${cfg.tenant} (${endpoints.cloud} cloud, ${new URL(this.setup.authority.url).host}) for ${this.scope}`;
    this.app = new ConfidentialClientApplication(this.setup.config);
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

  private async request(): Promise<{ token: string; expiresAt: number }> {
    const sentBefore = this.setup.network.tokenRequests;
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: true });
      if (!result?.accessToken) throw new TokenError(`${this.description}: Entra answered without an access token`, {});
      const expiresAt = result.expiresOn ? result.expiresOn.getTime() : Date.now() + 3_600_000;
      this.events.onResult?.({ expiresAt });
      return { token: result.accessToken, expiresAt };
    } catch (err) {
      // MSAL holds a request back for a while after Entra answered it with 429/5xx (Retry-After, else 60 s).
      const sent = this.setup.network.tokenRequests > sentBefore;
      const context = sent ? `token for ${this.description}` : `token for ${this.description} (not sent: Entra refused it moments ago; MSAL waits for its Retry-After)`;
      const error = toTokenError(err, context, sent ? this.setup.network.lastStatus : undefined);
      this.events.onResult?.({ error });
      throw error;
    }
  }
}
