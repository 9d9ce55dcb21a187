/**
 * SASL XOAUTH2 as Exchange Online takes it ("Authenticate an IMAP, POP or
 * SMTP connection using OAuth"): base64("user=" + mailbox + "\x01auth=Bearer "
 * + token + "\x01\x01"). With an app-only token the mailbox comes from the
 * `user=` field alone, so the proxy builds it from the mailbox its policy
 * chose, never from anything the client sent.
 *
 * tokenFacts reads the claims of the proxy's own access token (not verified:
 * only to fill the ids into the fix the catalogue gives, and to tell a missing
 * IMAP.AccessAsApp / POP.AccessAsApp role from the other refusals).
 */

export function xoauth2InitialResponse(mailbox: string, token: string): string {
  if ([...mailbox].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw new Error('a mailbox address with control characters cannot go into XOAUTH2');
  return Buffer.from(`user=${mailbox}\x01auth=Bearer ${token}\x01\x01`, 'utf8').toString('base64');
}

/** The JSON a server sends as its XOAUTH2 failure challenge (Dovecot, Gmail), decoded for the log; '' when it is not base64 JSON. */
export function decodeChallenge(b64: string): string {
  const text = Buffer.from(b64.trim(), 'base64').toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return '';
  }
}

/** What an app or delegated access token says about who it speaks for. */
export interface TokenFacts {
  /** The application (client) id: `appid` (v1) or `azp` (v2). */
  appId?: string;
  /** The service principal's object id in the tenant for app tokens (`oid`): the Enterprise application's object id. */
  objectId?: string;
  tenantId?: string;
  /** Application permissions (`roles`). */
  roles: string[];
  /** Delegated scopes (`scp`). */
  scopes: string[];
  /** Delegated tokens: the signed-in user. */
  user?: string;
  /** True for an app-only token. */
  appOnly: boolean;
}

/** The claims of a JWT access token, or undefined when it is not one (tokens may be opaque). */
export function tokenFacts(token: string): TokenFacts | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
  const c = claims as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length < 200 ? v : undefined);
  const roles = Array.isArray(c.roles) ? c.roles.filter((r): r is string => typeof r === 'string') : [];
  const scopes = typeof c.scp === 'string' ? c.scp.split(' ').filter(Boolean) : [];
  const user = str(c.upn) ?? str(c.unique_name) ?? str(c.preferred_username);
  const appId = str(c.appid) ?? str(c.azp);
  const objectId = str(c.oid);
  const tenantId = str(c.tid);
  return {
    ...(appId ? { appId } : {}),
    ...(objectId ? { objectId } : {}),
    ...(tenantId ? { tenantId } : {}),
    roles,
    scopes,
    ...(user ? { user } : {}),
    appOnly: c.idtyp === 'app' || (scopes.length === 0 && user === undefined),
  };
}
