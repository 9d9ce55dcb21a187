/**
 * The MSAL configuration for one upstream's app registration: the authority
 * (sign-in host + tenant), its endpoint metadata given up front, the
 * credential (client secret, or certificate with a SHA-256 thumbprint so
 * MSAL signs PS256 assertions with `x5t#S256`), and the network module that
 * applies the upstream's CA bundle and proxy.
 *
 * The metadata is the v2.0 layout every Entra host serves
 * (`{host}/{tenant}/oauth2/v2.0/token`, issuer `{host}/{tenant}/v2.0`).
 * Giving it (with the host in `knownAuthorities`) means MSAL makes no
 * discovery request and accepts any https sign-in host: a national cloud,
 * a private cloud or a test emulator (see msal-common Authority.ts).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Configuration, NodeAuthOptions } from '@azure/msal-node';
import { LogLevel } from '@azure/msal-node';
import type { EntraUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import { HttpClient } from '../../core/http.js';
import { MsalNetwork } from './msal-network.js';
import { resolveEndpoints } from './clouds.js';
import { TokenError } from './token-provider.js';

export interface Authority {
  /** https://login.microsoftonline.com/<tenant> */
  url: string;
  /** host[:port] */
  host: string;
  tenant: string;
}

/** What the MSAL set-up reads: an upstream's or the console sign-in's app registration. */
export type EntraAppConfig = Pick<EntraUpstreamConfig, 'tenant' | 'clientId' | 'cloud' | 'endpoints' | 'ca' | 'proxy'>;

export function authorityOf(cfg: EntraAppConfig): Authority {
  const origin = resolveEndpoints(cfg).authorityHost;
  const tenant = cfg.tenant;
  return { url: `${origin}/${encodeURIComponent(tenant)}`, host: new URL(origin).host, tenant };
}

/** The openid-configuration MSAL would otherwise fetch, for the v2.0 endpoints. */
export function authorityMetadata(a: Authority): string {
  const base = a.url;
  return JSON.stringify({
    token_endpoint: `${base}/oauth2/v2.0/token`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    issuer: `${base}/v2.0`,
    jwks_uri: `${new URL(base).origin}/${encodeURIComponent(a.tenant)}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
  });
}

export function cloudDiscoveryMetadata(a: Authority): string {
  return JSON.stringify({
    tenant_discovery_endpoint: `${a.url}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: a.host, preferred_cache: a.host, aliases: [a.host] }],
  });
}

export interface CertificateCredential {
  thumbprintSha256: string;
  privateKey: string;
  x5c: string;
  /** For descriptions: subject and expiry. */
  subject: string;
  notAfter: string;
}

/** Reads the PEM certificate and key; an encrypted key is opened with the passphrase. */
export function loadCertificate(cert: { key: string; cert: string; passphrase?: string | undefined }): CertificateCredential {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(cert.cert, 'utf8');
    keyPem = readFileSync(cert.key, 'utf8');
  } catch (err) {
    throw new TokenError(`cannot read the certificate credential: ${(err as Error).message}`, { networkCode: (err as NodeJS.ErrnoException).code ?? 'EIO' });
  }
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certPem);
  if (!first) throw new TokenError(`${cert.cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, {});
  const x509 = new X509Certificate(first[0]);
  let privateKey: string;
  try {
    const key = createPrivateKey(cert.passphrase !== undefined ? { key: keyPem, passphrase: cert.passphrase } : { key: keyPem });
    privateKey = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(keyPem);
    throw new TokenError(
      encrypted && cert.passphrase === undefined
        ? `${cert.key} is encrypted; set certificate.passphrase`
        : `cannot open the private key ${cert.key}${encrypted ? ' (wrong passphrase?)' : ''}: ${(err as Error).message}`,
      {},
    );
  }
  if (!x509.checkPrivateKey(createPrivateKey(privateKey))) {
    throw new TokenError(`the private key ${cert.key} does not belong to the certificate ${cert.cert}`, {});
  }
  return {
    thumbprintSha256: createHash('sha256').update(x509.raw).digest('hex'),
    privateKey,
    x5c: certPem,
    subject: x509.subject.replace(/\n/g, ', '),
    notAfter: x509.validTo,
  };
}

export function httpClientFor(cfg: EntraAppConfig): HttpClient {
  return new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) });
}

export interface MsalSetup {
  config: Configuration;
  network: MsalNetwork;
  http: HttpClient;
  authority: Authority;
}

/** `credential` is omitted for public clients (device code). */
export function msalConfiguration(
  cfg: EntraAppConfig,
  credential: { clientSecret: string } | { certificate: CertificateCredential } | undefined,
  log: Logger,
  cache?: Configuration['cache'],
): MsalSetup {
  const authority = authorityOf(cfg);
  const http = httpClientFor(cfg);
  const network = new MsalNetwork(http);
  const auth: NodeAuthOptions = {
    clientId: cfg.clientId,
    authority: authority.url,
    knownAuthorities: [authority.host],
    authorityMetadata: authorityMetadata(authority),
    cloudDiscoveryMetadata: cloudDiscoveryMetadata(authority),
  };
  if (credential && 'clientSecret' in credential) auth.clientSecret = credential.clientSecret;
  if (credential && 'certificate' in credential) {
    const c = credential.certificate;
    auth.clientCertificate = { thumbprintSha256: c.thumbprintSha256, privateKey: c.privateKey, x5c: c.x5c };
  }
  const config: Configuration = {
    auth,
    ...(cache ? { cache } : {}),
    system: {
      networkClient: network,
      loggerOptions: {
        // MSAL's own messages carry no secrets with piiLoggingEnabled off; kept at debug.
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (_level, message) => log.debug({ event: 'msal', clientId: cfg.clientId }, message),
      },
    },
  };
  return { config, network, http, authority };
}
