/**
 * Entra ID v2.0 on the emulator's HTTPS origin: OpenID metadata, instance
 * discovery, JWKS, and the token endpoint for client credentials (secret in
 * the body or HTTP Basic, or a certificate assertion). Device code and
 * refresh token grants are in entra-delegated.ts, the authorization code
 * flow (sign-in page and code grant) in entra-authorize.ts. Errors use the envelope,
 * codes and statuses of the reference (AADSTS7000215, 7000222, 7000218,
 * 700027, 700016, 90002, 700022, 70011...). Extra form fields are ignored.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import type { EmulatorApp, EmulatorTenant } from './api.js';
import type { EmulatorContext } from './context.js';
import { entraError, sendEntraError, sendJson, type Body } from './http-util.js';
import { verifyClientAssertion } from './jwt.js';
import { lookupResource } from './tokens.js';
import { deviceCodeGrant, refreshTokenGrant, startDeviceCode } from './entra-delegated.js';
import { authorizationCodeGrant, authorizeEndpoint } from './entra-authorize.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenRequest {
  ctx: EmulatorContext;
  req: IncomingMessage;
  res: ServerResponse;
  tenant: EmulatorTenant;
  form: URLSearchParams;
  /** Sends an Entra error and records the client id (the caller records the request). */
  fail(status: number, error: string, code: number, text: string): void;
}

/** Routes Entra paths; returns the service name for the request record, or undefined when not an Entra path. */
export async function handleEntra(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL, body: Body): Promise<'token' | 'devicecode' | 'discovery' | 'authorize' | undefined> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (method === 'GET' && parts[1] === 'discovery' && parts[2] === 'instance') {
    instanceDiscovery(ctx, res, url);
    return 'discovery';
  }
  const tenantName = parts[0] ?? '';
  const rest = parts.slice(1).join('/');
  const known = ['v2.0/.well-known/openid-configuration', 'discovery/v2.0/keys', 'oauth2/v2.0/token', 'oauth2/v2.0/devicecode', 'oauth2/v2.0/authorize'];
  if (!known.includes(rest)) return undefined;
  const service = rest === 'oauth2/v2.0/token' ? 'token' : rest === 'oauth2/v2.0/devicecode' ? 'devicecode' : rest === 'oauth2/v2.0/authorize' ? 'authorize' : 'discovery';
  const tenant = ctx.state.findTenant(tenantName);
  const form = new URLSearchParams(body.data.toString('utf8'));
  const correlation = req.headers['client-request-id'];
  const fail = (status: number, error: string, code: number, text: string) =>
    sendEntraError(res, status, entraError(ctx.origin, error, code, text, typeof correlation === 'string' ? correlation : undefined));
  if (!tenant) {
    const text = `Tenant '${tenantName}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
    if (service === 'discovery') fail(400, 'invalid_tenant', 90002, text);
    else fail(400, 'invalid_request', 90002, text);
    return service;
  }
  if (service === 'authorize') authorizeEndpoint(ctx, req, res, tenant, url, form);
  else if (rest === 'v2.0/.well-known/openid-configuration' && method === 'GET') sendJson(res, 200, openIdConfiguration(ctx, tenant));
  else if (rest === 'discovery/v2.0/keys' && method === 'GET') sendJson(res, 200, jwks(ctx));
  else if (method !== 'POST') fail(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
  else {
    const t: TokenRequest = { ctx, req, res, tenant, form, fail };
    if (service === 'devicecode') startDeviceCode(t);
    else tokenEndpoint(t);
  }
  return service;
}

export function openIdConfiguration(ctx: EmulatorContext, tenant: EmulatorTenant): Record<string, unknown> {
  const base = `${ctx.origin}/${tenant.id}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: new URL(ctx.origin).host,
    cloud_graph_host_name: new URL(ctx.origin).host,
    msgraph_host: new URL(ctx.origin).host,
    rbac_url: ctx.origin,
  };
}

function jwks(ctx: EmulatorContext): Record<string, unknown> {
  const cert = new X509Certificate(ctx.certs.signingCert);
  const jwk = cert.publicKey.export({ format: 'jwk' });
  return {
    keys: [{ kty: 'RSA', use: 'sig', kid: ctx.certs.kid, x5t: ctx.certs.kid, n: jwk.n, e: jwk.e, x5c: [cert.raw.toString('base64')], cloud_instance_name: new URL(ctx.origin).host, issuer: `${ctx.origin}/{tenantid}/v2.0` }],
  };
}

/** The instance discovery answer MSAL accepts; unknown hosts get AADSTS50049 as Entra answers. */
function instanceDiscovery(ctx: EmulatorContext, res: ServerResponse, url: URL): void {
  const host = new URL(ctx.origin).host;
  const endpoint = url.searchParams.get('authorization_endpoint') ?? '';
  let asked: string;
  try {
    asked = new URL(endpoint).host;
  } catch {
    asked = '';
  }
  if (asked !== host) {
    sendEntraError(res, 400, entraError(ctx.origin, 'invalid_instance', 50049, "Unknown or invalid instance."));
    return;
  }
  sendJson(res, 200, {
    tenant_discovery_endpoint: `${ctx.origin}/{tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

/** Client id and secret from HTTP Basic (client_secret_basic) or the form. */
export function clientCredentials(t: TokenRequest): { clientId: string | undefined; secret: string | undefined } {
  const auth = t.req.headers.authorization;
  if (auth && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { clientId: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
  }
  return { clientId: t.form.get('client_id') ?? undefined, secret: t.form.get('client_secret') ?? undefined };
}

/** The registered app, or an error sent (AADSTS900144 / 700016). */
export function findApp(t: TokenRequest, clientId: string | undefined): EmulatorApp | undefined {
  if (!clientId) {
    t.fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    return undefined;
  }
  const app = t.ctx.state.apps.get(clientId.toLowerCase());
  if (!app || app.tenantId !== t.tenant.id) {
    t.fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${t.tenant.domains[0] ?? t.tenant.id}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    return undefined;
  }
  return app;
}

/**
 * Checks the client credential (secret or assertion). Returns 'secret' or
 * 'certificate' when good, undefined when an error was sent. `optional`:
 * a public client may come without any credential ('none').
 */
export function authenticateClient(t: TokenRequest, app: EmulatorApp, secret: string | undefined, optional = false): 'secret' | 'certificate' | 'none' | undefined {
  const assertion = t.form.get('client_assertion');
  if (assertion !== null) {
    if (t.form.get('client_assertion_type') !== JWT_BEARER) {
      t.fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
      return undefined;
    }
    const base = `${t.ctx.origin}/`;
    const audiences = [t.tenant.id, ...t.tenant.domains].flatMap((n) => [`${base}${n}/oauth2/v2.0/token`, `${base}${n}/oauth2/token`]);
    const check = verifyClientAssertion(assertion, app.clientId, app.certificates, audiences);
    if (!check.ok) {
      t.fail(401, 'invalid_client', check.code, check.description);
      return undefined;
    }
    return 'certificate';
  }
  if (secret === undefined || secret === '') {
    if (optional) return 'none';
    t.fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    return undefined;
  }
  const match = app.secrets.find((s) => s.value === secret);
  if (!match) {
    t.fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
    return undefined;
  }
  if (match.expiresAt !== undefined && match.expiresAt <= Date.now()) {
    t.fail(401, 'invalid_client', 7000222, `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
    return undefined;
  }
  return 'secret';
}

function tokenEndpoint(t: TokenRequest): void {
  const grant = t.form.get('grant_type');
  if (!grant) {
    t.fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    return;
  }
  if (grant === 'client_credentials') clientCredentialsGrant(t);
  else if (grant === 'urn:ietf:params:oauth:grant-type:device_code' || grant === 'device_code') deviceCodeGrant(t);
  else if (grant === 'refresh_token') refreshTokenGrant(t);
  else if (grant === 'authorization_code') authorizationCodeGrant(t);
  else t.fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
}

function clientCredentialsGrant(t: TokenRequest): void {
  const { clientId, secret } = clientCredentials(t);
  const app = findApp(t, clientId);
  if (!app) return;
  const scope = (t.form.get('scope') ?? '').trim();
  if (!scope) {
    t.fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    return;
  }
  const how = authenticateClient(t, app, secret);
  if (!how) return;
  const scopes = scope.split(/\s+/);
  const resources = new Set<string>();
  for (const s of scopes) {
    if (!s.endsWith('/.default')) {
      if (/^https?:\/\//i.test(s)) {
        t.fail(400, 'invalid_scope', 1002012, `The provided value for scope ${s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      } else {
        t.fail(400, 'invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
      }
      return;
    }
    resources.add(s.slice(0, -'/.default'.length).replace(/\/+$/, '').toLowerCase());
  }
  if (resources.size > 1) {
    t.fail(400, 'invalid_scope', 700022, `The provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`);
    return;
  }
  const uri = [...resources][0]!;
  const known = lookupResource(uri);
  if (!known) {
    t.fail(400, 'invalid_resource', 500011, `The resource principal named ${uri} was not found in the tenant named ${t.tenant.domains[0] ?? t.tenant.id}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
    return;
  }
  const lifetime = t.ctx.state.tokenLifetimeSeconds;
  sendJson(t.res, 200, {
    token_type: 'Bearer',
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: t.ctx.minter.appToken(app, known.aud, known.resource, lifetime, how === 'certificate'),
  });
}
