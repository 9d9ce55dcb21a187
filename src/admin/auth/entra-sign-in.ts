/**
 * Sign-in to the admin console with Entra ID (OpenID Connect): the
 * authorization code flow with PKCE and a nonce, through MSAL as a
 * confidential client (the app's client secret or certificate).
 *
 * start() makes the Microsoft sign-in address and remembers, under a random
 * `state`, the PKCE verifier and the nonce (in memory, 10 minutes, at most
 * 200 pending). finish() takes the answer at the redirect URI: the state
 * must be one we issued and the one the browser carries in its cookie (so
 * an answer meant for another browser is refused), the code is redeemed by
 * MSAL over TLS at the tenant's own token endpoint (which lets the ID token
 * be trusted without checking its signature, OpenID Connect Core 3.1.3.7),
 * MSAL checks the nonce, and we check the audience, the tenant and that the
 * user is listed in admin.entraSignIn.users (by user principal name or
 * object ID). Nothing of the token is kept: the console gets an ordinary
 * session for the user.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { EntraSignInConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import { loadCertificate, msalConfiguration } from '../../identity/entra/msal-config.js';
import { extractDescription, parseAadsts } from '../../identity/entra/errors.js';

/** Where the answer comes back (under the API prefix). */
export const ENTRA_CALLBACK_PATH = '/api/v1/session/entra/callback';
export const ENTRA_START_PATH = '/api/v1/session/entra';
/** Cookie that ties the answer to the browser that started the sign-in. */
export const ENTRA_STATE_COOKIE = 'authrelay_entra_state';

const SCOPES = ['openid', 'profile', 'email'];
const PENDING_MS = 10 * 60_000;
const MAX_PENDING = 200;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Pending {
  verifier: string;
  nonce: string;
  createdAt: number;
  next: string;
}

export type EntraFinish =
  | { ok: true; user: string; name?: string; next: string }
  | { ok: false; reason: 'state' | 'cancelled' | 'microsoft' | 'not-listed' | 'token'; message: string; user?: string };

export interface EntraCallbackQuery {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

/** The redirect URI when none is configured: localhost on the admin port (Entra allows http only for localhost). */
export function defaultRedirectUri(adminPort: number): string {
  return `http://localhost:${adminPort}${ENTRA_CALLBACK_PATH}`;
}

export class EntraSignIn {
  private app: ConfidentialClientApplication | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly users: Set<string>;

  /** `redirectUri` is set by the composition root once the admin port is known, when the config gives none. */
  constructor(private readonly cfg: EntraSignInConfig, public redirectUri: string, private readonly log: Logger) {
    this.users = new Set(cfg.users.map((u) => u.trim().toLowerCase()));
  }

  /** MSAL is loaded on first use, so a relay without Entra sign-in never loads it. */
  private async client(): Promise<ConfidentialClientApplication> {
    if (this.app) return this.app;
    const { ConfidentialClientApplication: Cca } = await import('@azure/msal-node');
    const credential = this.cfg.certificate ? { certificate: loadCertificate(this.cfg.certificate) } : { clientSecret: this.cfg.clientSecret ?? '' };
    this.app = new Cca(msalConfiguration(this.cfg, credential, this.log).config);
    return this.app;
  }

  /** The Microsoft sign-in address for a new attempt, and the state to keep in the browser's cookie. */
  async start(next: string, now: number): Promise<{ url: string; state: string }> {
    for (const [k, p] of this.pending) if (now - p.createdAt > PENDING_MS) this.pending.delete(k);
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    this.pending.set(state, { verifier, nonce, createdAt: now, next });
    const url = await (await this.client()).getAuthCodeUrl({
      scopes: SCOPES, redirectUri: this.redirectUri, state, nonce, codeChallenge: challenge, codeChallengeMethod: 'S256',
      responseMode: 'query', prompt: 'select_account',
    });
    return { url, state };
  }

  /** Checks Microsoft's answer and who signed in. */
  async finish(q: EntraCallbackQuery, cookieState: string | undefined, now: number): Promise<EntraFinish> {
    const pending = q.state ? this.pending.get(q.state) : undefined;
    if (!q.state || !pending || now - pending.createdAt > PENDING_MS || cookieState !== q.state) {
      return { ok: false, reason: 'state', message: 'this sign-in answer does not belong to a sign-in started from this browser in the last 10 minutes; start again' };
    }
    this.pending.delete(q.state);
    if (q.error) {
      const code = parseAadsts(q.error_description);
      const text = extractDescription(q.error_description ?? q.error);
      const cancelled = q.error === 'access_denied' || code === 65004;
      return { ok: false, reason: cancelled ? 'cancelled' : 'microsoft', message: `Microsoft refused the sign-in: ${q.error}${code ? ` (AADSTS${code})` : ''}: ${text}` };
    }
    if (!q.code) return { ok: false, reason: 'microsoft', message: 'the answer from Microsoft has no authorization code' };
    let claims: Record<string, unknown>;
    try {
      // MSAL checks the ID token's nonce against the one given here (the state was checked above).
      const r = await (await this.client()).acquireTokenByCode({
        code: q.code, scopes: SCOPES, redirectUri: this.redirectUri, codeVerifier: pending.verifier, nonce: pending.nonce,
      });
      claims = (r.idTokenClaims ?? {}) as Record<string, unknown>;
    } catch (err) {
      const e = err as { errorCode?: string; errorMessage?: string; message?: string };
      const code = parseAadsts(e.errorMessage, e.message);
      return { ok: false, reason: 'token', message: `the sign-in could not be completed${code ? ` (AADSTS${code})` : ''}: ${extractDescription(e.errorMessage ?? e.message ?? String(err))}` };
    }
    const aud = claims.aud;
    if (typeof aud !== 'string' || aud.toLowerCase() !== this.cfg.clientId.toLowerCase()) {
      return { ok: false, reason: 'token', message: 'the ID token was issued for another application' };
    }
    const tid = typeof claims.tid === 'string' ? claims.tid : '';
    if (GUID.test(this.cfg.tenant) && tid.toLowerCase() !== this.cfg.tenant.toLowerCase()) {
      return { ok: false, reason: 'token', message: `the ID token comes from another directory (${tid || 'none'})` };
    }
    const upn = [claims.preferred_username, claims.upn, claims.email].find((v): v is string => typeof v === 'string' && v.length > 0);
    const oid = typeof claims.oid === 'string' ? claims.oid : undefined;
    const user = upn ?? oid ?? 'unknown';
    const listed = [upn, oid].some((v) => v !== undefined && this.users.has(v.toLowerCase()));
    if (!listed) {
      return { ok: false, reason: 'not-listed', user, message: `${user} signed in with Microsoft but is not listed in admin.entraSignIn.users` };
    }
    return { ok: true, user, ...(typeof claims.name === 'string' ? { name: claims.name } : {}), next: pending.next };
  }
}
