/**
 * Delegated sign-in on the emulator's Entra: the device code flow (start,
 * polling errors authorization_pending / authorization_declined /
 * expired_token / bad_verification_code, approval by the test) and the
 * refresh token grant (a new refresh token on every use; revoked gives
 * AADSTS50173, expired AADSTS700082, a permission without consent
 * AADSTS65001). Refresh tokens are only issued when
 * offline_access was asked for, ID tokens only with openid.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { EmulatorApp } from './api.js';
import { sendJson } from './http-util.js';
import { authenticateClient, clientCredentials, findApp, type TokenRequest } from './entra.js';
import type { DeviceCodeEntry, EmulatorState } from './state.js';
import { b64url, type Claims } from './jwt.js';
import { lookupResource, objectId } from './tokens.js';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

export interface ParsedScopes {
  /** Resource URI (audience) and the scope names for it. */
  aud: string;
  names: string[];
  oidc: string[];
}

/** Splits delegated scopes; sends AADSTS700022 / 70011 and returns undefined when not acceptable. */
export function parseDelegated(t: TokenRequest, scope: string): ParsedScopes | undefined {
  const all = scope.split(/\s+/).filter(Boolean);
  const oidc = all.filter((s) => OIDC_SCOPES.has(s.toLowerCase()));
  const rest = all.filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
  const byResource = new Map<string, string[]>();
  for (const s of rest) {
    const i = s.lastIndexOf('/');
    const uri = i > 0 ? s.slice(0, i) : 'https://graph.microsoft.com';
    const name = i > 0 ? s.slice(i + 1) : s;
    const known = lookupResource(uri);
    if (!known || !name) {
      t.fail(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' does not exist.`);
      return undefined;
    }
    byResource.set(known.aud, [...(byResource.get(known.aud) ?? []), name]);
  }
  if (byResource.size > 1) {
    t.fail(400, 'invalid_scope', 700022, `The provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`);
    return undefined;
  }
  const [aud, names] = [...byResource.entries()][0] ?? ['https://graph.microsoft.com', ['User.Read']];
  return { aud, names, oidc };
}

export function startDeviceCode(t: TokenRequest): void {
  const app = findApp(t, t.form.get('client_id') ?? undefined);
  if (!app) return;
  const parsed = parseDelegated(t, t.form.get('scope') ?? '');
  if (!parsed) return;
  const state = t.ctx.state;
  const userCode = Array.from({ length: 9 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[randomInt(32)]).join('');
  const entry: DeviceCodeEntry = {
    deviceCode: `DAQABIQEAAAB${b64url(randomBytes(96))}`,
    userCode,
    clientId: app.clientId,
    tenantId: t.tenant.id,
    scopes: (t.form.get('scope') ?? '').split(/\s+/).filter(Boolean),
    expiresAt: Date.now() + state.deviceCodeLifetimeSeconds * 1000,
    state: 'pending',
  };
  state.deviceCodes.set(entry.deviceCode, entry);
  const verification = 'https://microsoft.com/devicelogin';
  sendJson(t.res, 200, {
    user_code: userCode,
    device_code: entry.deviceCode,
    verification_uri: verification,
    expires_in: state.deviceCodeLifetimeSeconds,
    interval: state.deviceCodeIntervalSeconds,
    message: `To sign in, use a web browser to open the page ${verification} and enter the code ${userCode} to authenticate.`,
  });
}

export function deviceCodeGrant(t: TokenRequest): void {
  const { clientId, secret } = clientCredentials(t);
  const app = findApp(t, clientId);
  if (!app) return;
  const code = t.form.get('device_code') ?? '';
  const entry = t.ctx.state.deviceCodes.get(code);
  if (!entry || entry.clientId !== app.clientId || entry.tenantId !== t.tenant.id || entry.state === 'redeemed') {
    t.fail(400, 'bad_verification_code', 70000, "The provided value for the input parameter 'device_code' is not valid.");
    return;
  }
  if (!clientAllowed(t, app, secret)) return;
  if (entry.expiresAt <= Date.now()) {
    t.fail(400, 'expired_token', 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.");
    return;
  }
  if (entry.state === 'declined') {
    t.fail(400, 'authorization_declined', 65004, 'User declined to consent to access the app.');
    return;
  }
  if (entry.state === 'pending' || !entry.user) {
    t.fail(400, 'authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
    return;
  }
  const parsed = parseDelegated(t, entry.scopes.join(' '));
  if (!parsed || !consented(t, app, parsed)) return;
  entry.state = 'redeemed';
  issueUserTokens(t, app, entry.user, parsed, entry.scopes);
}

/** Public clients may come without a credential; confidential ones must prove themselves (AADSTS7000218). */
export function clientAllowed(t: TokenRequest, app: EmulatorApp, secret: string | undefined): boolean {
  return authenticateClient(t, app, secret, app.publicClient) !== undefined;
}

export function refreshTokenGrant(t: TokenRequest): void {
  const { clientId, secret } = clientCredentials(t);
  const app = findApp(t, clientId);
  if (!app) return;
  if (!clientAllowed(t, app, secret)) return;
  const state = t.ctx.state;
  const token = t.form.get('refresh_token') ?? '';
  const entry = state.refreshTokens.get(token);
  if (!entry || entry.clientId !== app.clientId || entry.tenantId !== t.tenant.id) {
    t.fail(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    return;
  }
  const validFrom = state.tokensValidFrom.get(entry.user.toLowerCase());
  if (validFrom !== undefined && entry.issuedAt < validFrom) {
    t.fail(400, 'invalid_grant', 50173, `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date(entry.issuedAt).toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${new Date(validFrom).toISOString()}'.`);
    return;
  }
  if (entry.expiresAt <= Date.now()) {
    t.fail(400, 'invalid_grant', 700082, `The refresh token has expired due to inactivity. The token was issued on ${new Date(entry.issuedAt).toISOString()} and was inactive for ${state.refreshTokenLifetimeSeconds} seconds.`);
    return;
  }
  const requested = (t.form.get('scope') ?? '').trim();
  const scopes = requested ? requested.split(/\s+/) : entry.scopes;
  const parsed = parseDelegated(t, scopes.join(' '));
  if (!parsed || !consented(t, app, parsed)) return;
  issueUserTokens(t, app, entry.user, parsed, [...scopes, ...(scopes.includes('offline_access') ? [] : ['offline_access'])]);
}

/** Sends AADSTS65001 and answers false when the app lacks consent for a delegated permission asked for. */
function consented(t: TokenRequest, app: EmulatorApp, parsed: ParsedScopes): boolean {
  if (!app.delegatedConsent) return true;
  const missing = parsed.names.filter((n) => !app.delegatedConsent!.some((c) => c.toLowerCase() === n.toLowerCase()));
  if (missing.length === 0) return true;
  t.fail(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named 'authrelay'. Send an interactive authorization request for this user and resource.`);
  return false;
}

export function issueUserTokens(t: TokenRequest, app: EmulatorApp, user: string, parsed: ParsedScopes, requested: string[], idClaims: Claims = {}): void {
  const state = t.ctx.state;
  const lifetime = state.tokenLifetimeSeconds;
  const wants = (s: string) => requested.some((r) => r.toLowerCase() === s);
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: [...parsed.names.map((n) => `${parsed.aud}/${n}`), ...parsed.oidc].join(' '),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: t.ctx.minter.userToken(app, user, parsed.aud, parsed.names, lifetime),
  };
  if (wants('offline_access')) {
    const rt = `1.AQ${b64url(randomBytes(120))}`;
    const now = Date.now();
    state.refreshTokens.set(rt, { clientId: app.clientId, tenantId: app.tenantId, user, scopes: requested, issuedAt: now, expiresAt: now + state.refreshTokenLifetimeSeconds * 1000 });
    body.refresh_token = rt;
  }
  if (wants('openid')) body.id_token = t.ctx.minter.idToken(app, user, `${t.ctx.origin}/${app.tenantId}/v2.0`, lifetime, idClaims);
  if (t.form.get('client_info') === '1') body.client_info = b64url(JSON.stringify({ uid: objectId('user', app.tenantId, user), utid: app.tenantId }));
  sendJson(t.res, 200, body);
}

/** The test signs `user` in and approves the code. */
export function approveDeviceCode(state: EmulatorState, userCode: string, user: string): void {
  const entry = [...state.deviceCodes.values()].find((e) => e.userCode === userCode && e.state === 'pending');
  if (!entry) throw new Error(`no pending device code ${userCode}`);
  const mbx = state.findMailbox(user);
  if (!mbx || mbx.tenantId !== entry.tenantId) throw new Error(`${user} is not a user of tenant ${entry.tenantId}`);
  entry.state = 'approved';
  entry.user = mbx.address;
}

export function declineDeviceCode(state: EmulatorState, userCode: string): void {
  const entry = [...state.deviceCodes.values()].find((e) => e.userCode === userCode && e.state === 'pending');
  if (!entry) throw new Error(`no pending device code ${userCode}`);
  entry.state = 'declined';
}
