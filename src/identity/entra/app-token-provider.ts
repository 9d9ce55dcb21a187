/**
 * App-only tokens (client credentials grant) for Graph or Exchange SMTP, with
 * a client secret or a certificate. MSAL's ConfidentialClientApplication does
 * the protocol (and signs the certificate assertion); RenewingToken decides
 * when a new token is needed, so MSAL is always asked to skip its own cache.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { EntraAppUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { TokenResource } from './token-provider.js';
import { TokenError } from './token-provider.js';
import type { FreshToken } from './token-cache.js';
import { toTokenError } from './errors.js';
import { loadCertificate, msalConfiguration, type MsalSetup } from './msal-config.js';
import { resolveEndpoints } from './clouds.js';
import { MsalTokenProvider, type TokenEvents } from './msal-token-provider.js';

type CredentialType = 'client secret' | 'certificate';

function credentialSetup(cfg: EntraAppUpstreamConfig, log: Logger): { credentialType: CredentialType; setup: MsalSetup } {
  if (cfg.certificate) return { credentialType: 'certificate', setup: msalConfiguration(cfg, { certificate: loadCertificate(cfg.certificate) }, log) };
  if (cfg.clientSecret !== undefined) return { credentialType: 'client secret', setup: msalConfiguration(cfg, { clientSecret: cfg.clientSecret }, log) };
  throw new TokenError('an app token needs clientSecret or certificate', {});
}

export class AppTokenProvider extends MsalTokenProvider {
  readonly description: string;
  readonly credentialType: CredentialType;
  readonly scope: string;
  private readonly app: ConfidentialClientApplication;

  constructor(cfg: EntraAppUpstreamConfig, resource: TokenResource, log: Logger, events: TokenEvents = {}) {
    const { credentialType, setup } = credentialSetup(cfg, log);
    super(setup, events);
    const endpoints = resolveEndpoints(cfg);
    this.credentialType = credentialType;
    this.scope = resource === 'graph' ? endpoints.graphScope : endpoints.smtpScope;
    this.description = `${this.credentialType} of app ${cfg.clientId} in tenant ${cfg.tenant} (${endpoints.cloud} cloud, ${new URL(this.setup.authority.url).host}) for ${this.scope}`;
    this.app = new ConfidentialClientApplication(this.setup.config);
  }

  protected async request(): Promise<FreshToken> {
    const sentBefore = this.setup.network.tokenRequests;
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: true });
      return this.issued(result, this.description);
    } catch (err) {
      // MSAL holds a request back for a while after Entra answered it with 429/5xx (Retry-After, else 60 s).
      const sent = this.setup.network.tokenRequests > sentBefore;
      const context = sent ? `token for ${this.description}` : `token for ${this.description} (not sent: Entra refused it moments ago; MSAL waits for its Retry-After)`;
      throw this.failed(toTokenError(err, context, sent ? this.setup.network.lastStatus : undefined));
    }
  }
}
