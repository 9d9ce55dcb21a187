/**
 * Access tokens as Entra mints them for the emulator's resources, and their
 * checks at the resource. App tokens carry `roles` (absent when the app has
 * none for that resource, as Entra does); delegated tokens carry `scp` and
 * `upn`. Graph and SMTP both verify signature, expiry and audience here.
 */
import { createHash, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import type { EmulatorApp } from './api.js';
import { signJwt, verifyOwnToken, type Claims, type TokenCheck } from './jwt.js';

export type Resource = 'graph' | 'exchange';

/** Resource URIs (and app ids) Entra knows, to the resource and the audience put in tokens. */
const RESOURCES: Record<string, { resource: Resource; aud: string }> = {
  'https://graph.microsoft.com': { resource: 'graph', aud: 'https://graph.microsoft.com' },
  '00000003-0000-0000-c000-000000000000': { resource: 'graph', aud: 'https://graph.microsoft.com' },
  'https://outlook.office365.com': { resource: 'exchange', aud: 'https://outlook.office365.com' },
  'https://outlook.office.com': { resource: 'exchange', aud: 'https://outlook.office.com' },
  '00000002-0000-0ff1-ce00-000000000000': { resource: 'exchange', aud: 'https://outlook.office365.com' },
};

export function lookupResource(uri: string): { resource: Resource; aud: string } | undefined {
  return RESOURCES[uri.replace(/\/+$/, '').toLowerCase()];
}

export const GRAPH_AUDIENCES = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'];
export const EXCHANGE_AUDIENCES = ['https://outlook.office365.com', 'https://outlook.office.com', '00000002-0000-0ff1-ce00-000000000000'];

/** A stable object id for a principal (service principal of an app in a tenant, or a user). */
export function objectId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('|').toLowerCase()).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class TokenMinter {
  readonly publicKey: KeyObject;

  constructor(private readonly key: KeyObject, private readonly kid: string) {
    this.publicKey = createPublicKey(key);
  }

  appToken(app: EmulatorApp, aud: string, resource: Resource, lifetime: number, viaCertificate: boolean): string {
    const roles = resource === 'graph' ? app.graphRoles : app.exchangeRoles;
    const now = Math.floor(Date.now() / 1000);
    const oid = objectId('sp', app.tenantId, app.clientId);
    const claims: Claims = {
      aud, iss: `https://sts.windows.net/${app.tenantId}/`, iat: now, nbf: now, exp: now + lifetime,
      appid: app.clientId, azp: app.clientId, appidacr: viaCertificate ? '2' : '1', idp: `https://sts.windows.net/${app.tenantId}/`,
      idtyp: 'app', oid, sub: oid, tid: app.tenantId, uti: randomUUID().replace(/-/g, ''), ver: '1.0',
    };
    if (roles.length > 0) claims.roles = [...roles];
    // The IMAP/POP test server (Dovecot 2.3's oauth2 passdb, test/helpers/dovecot.ts) reads permissions only from a
    // space-separated `scope` claim, never from the `roles` array; Entra's tokens have no such claim, and authrelay never reads it.
    const mailboxRoles = (roles as readonly string[]).filter((r) => r === 'IMAP.AccessAsApp' || r === 'POP.AccessAsApp');
    if (resource === 'exchange' && mailboxRoles.length > 0) claims.scope = mailboxRoles.join(' ');
    return signJwt(claims, this.key, this.kid);
  }

  userToken(app: EmulatorApp, user: string, aud: string, scopes: string[], lifetime: number): string {
    const now = Math.floor(Date.now() / 1000);
    const oid = objectId('user', app.tenantId, user);
    const claims: Claims = {
      aud, iss: `https://sts.windows.net/${app.tenantId}/`, iat: now, nbf: now, exp: now + lifetime,
      appid: app.clientId, azp: app.clientId, appidacr: '0', amr: ['pwd'], idtyp: 'user', name: user.split('@')[0],
      oid, sub: oid, tid: app.tenantId, upn: user, unique_name: user, scp: scopes.join(' '), uti: randomUUID().replace(/-/g, ''), ver: '1.0',
    };
    // As for app tokens: the test IMAP/POP server reads permissions from a `scope` claim only (Entra's tokens have none).
    const mailboxScopes = scopes.filter((s) => s === 'IMAP.AccessAsUser.All' || s === 'POP.AccessAsUser.All');
    if (lookupResource(aud)?.resource === 'exchange' && mailboxScopes.length > 0) claims.scope = mailboxScopes.join(' ');
    return signJwt(claims, this.key, this.kid);
  }

  idToken(app: EmulatorApp, user: string, issuer: string, lifetime: number, extra: Claims = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const oid = objectId('user', app.tenantId, user);
    return signJwt({
      aud: app.clientId, iss: issuer, iat: now, nbf: now, exp: now + lifetime, name: user.split('@')[0],
      oid, preferred_username: user, sub: objectId('sub', app.clientId, user), tid: app.tenantId, ver: '2.0', ...extra,
    }, this.key, this.kid);
  }

  check(token: string, audiences: string[]): TokenCheck {
    return verifyOwnToken(token, this.publicKey, audiences);
  }
}

/** Who a verified token speaks for. */
export interface Principal {
  tenantId: string;
  clientId: string;
  /** App permissions (roles) or delegated scopes (scp). */
  permissions: string[];
  /** Delegated tokens: the signed-in user. */
  user?: string;
}

export function principalOf(claims: Claims): Principal {
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  const scp = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  return {
    tenantId: String(claims.tid),
    clientId: String(claims.appid),
    permissions: typeof claims.upn === 'string' ? scp : roles,
    ...(typeof claims.upn === 'string' ? { user: claims.upn } : {}),
  };
}
