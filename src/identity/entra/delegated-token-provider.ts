/**
 * Delegated tokens for SMTP (smtp-oauth: SMTP.Send) and for IMAP/POP
 * (exchange-mailbox: IMAP.AccessAsUser.All, POP.AccessAsUser.All): one user
 * signs in once by device code (`authrelay oauth login UPSTREAM`); the
 * refresh token Entra returns is kept encrypted (SignInStore, MSAL's cache
 * plugin) and used to get access tokens.
 *
 * Device code is a public-client flow (the app registration must allow
 * public client flows), so this is MSAL's PublicClientApplication with no
 * secret. Each renewal redeems the refresh token, and Entra hands out a new
 * one every time, which is stored at once. Refresh tokens lapse after 90
 * days without use, so a relay that sends rarely renews on a timer as well.
 */
import { PublicClientApplication, type AccountInfo, type AuthenticationResult } from '@azure/msal-node';
import type { ExchangeMailboxUpstreamConfig, SmtpOauthUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { AccessToken } from './token-provider.js';
import { TokenError } from './token-provider.js';
import { permissionsOf, type FreshToken } from './token-cache.js';
import { toTokenError } from './errors.js';
import { msalConfiguration } from './msal-config.js';
import { delegatedScopes, resolveEndpoints } from './clouds.js';
import { SignInStore } from './sign-in-store.js';
import { MsalTokenProvider, type TokenEvents } from './msal-token-provider.js';

export interface DeviceCodePrompt {
  /** Microsoft's instruction, e.g. "To sign in, use a web browser to open the page ... and enter the code ...". */
  message: string;
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
}

export interface SignInResult {
  user: string;
  scopes: string[];
  expiresAt: number;
}

/** An upstream that may sign in one user instead of an app: smtp-oauth (sends as it), exchange-mailbox (reads mailboxes as it). */
export type DelegatedUpstreamConfig = SmtpOauthUpstreamConfig | ExchangeMailboxUpstreamConfig;

/** AADSTS codes that mean the stored sign-in is gone for good. */
const SIGN_IN_LOST = new Set([70008, 700082, 50173, 50076, 50079, 65001]);

export class DelegatedTokenProvider extends MsalTokenProvider {
  readonly description: string;
  readonly credentialType = 'delegated (device code)';
  readonly user: string;
  readonly scopes: string[];
  readonly store: SignInStore;
  private readonly app: PublicClientApplication;
  private timer: NodeJS.Timeout | undefined;
  /** What the upstream does as the user, for messages: "sends as" or "reads mailboxes as". */
  private readonly acts: string;

  constructor(
    readonly upstream: string,
    cfg: DelegatedUpstreamConfig,
    deps: { dataDir: string; key: Buffer; log: Logger },
    events: TokenEvents = {},
  ) {
    if (!cfg.delegated) throw new TokenError(`upstream ${upstream} has no delegated sign-in`, {});
    const user = cfg.delegated.user;
    const store = new SignInStore(deps.dataDir, upstream, deps.key, () => user);
    super(msalConfiguration(cfg, undefined, deps.log, { cachePlugin: store }), events);
    this.user = user;
    this.acts = cfg.type === 'smtp-oauth' ? 'sends as' : 'reads mailboxes as';
    this.store = store;
    this.scopes = delegatedScopes(cfg, cfg.delegated.scope);
    this.app = new PublicClientApplication(this.setup.config);
    const endpoints = resolveEndpoints(cfg);
    this.description = `delegated sign-in of ${this.user} with app ${cfg.clientId} in tenant ${cfg.tenant} (${endpoints.cloud} cloud, ${this.setup.authority.host})`;
  }

  /** Redeem the refresh token now (stores the new one). */
  async renewSignIn(): Promise<AccessToken> {
    this.cache.invalidate();
    return this.cache.get();
  }

  /** Renew every `everyMs` (first after `firstAfterMs`), so the refresh token never lapses unused. */
  startRenewal(everyMs: number, firstAfterMs: number, log: Logger): void {
    this.stopRenewal();
    const run = () => {
      if (!this.store.exists()) return;
      this.renewSignIn().then(
        (t) => log.info({ event: 'sign-in-renewed', upstream: this.upstream, expiresAt: new Date(t.expiresAt).toISOString() }, `renewed the sign-in of ${this.user}`),
        (err: unknown) => log.warn({ event: 'sign-in-renewal-failed', upstream: this.upstream, err: (err as Error).message }, `could not renew the sign-in of ${this.user}: ${(err as Error).message}`),
      );
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, everyMs);
      this.timer.unref();
    }, firstAfterMs);
    this.timer.unref();
  }

  stopRenewal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  override close(): void {
    this.stopRenewal();
    super.close();
  }

  /** The device code flow: shows Microsoft's prompt, waits for the user, stores the sign-in. */
  async login(onPrompt: (p: DeviceCodePrompt) => void): Promise<SignInResult> {
    let result: AuthenticationResult | null;
    try {
      result = await this.app.acquireTokenByDeviceCode({
        scopes: this.scopes,
        deviceCodeCallback: (r) =>
          onPrompt({ message: r.message, userCode: r.userCode, verificationUri: r.verificationUri, expiresInSeconds: r.expiresIn }),
      });
    } catch (err) {
      throw toTokenError(err, `device code sign-in for upstream ${this.upstream}`, this.setup.network.lastStatus);
    }
    if (!result?.account) throw new TokenError(`device code sign-in for upstream ${this.upstream}: Entra returned no account (no id_token)`, {});
    const signedIn = result.account.username;
    if (signedIn.toLowerCase() !== this.user.toLowerCase()) {
      await this.app.getTokenCache().removeAccount(result.account);
      throw new TokenError(
        `${signedIn} signed in, but upstream ${this.upstream} ${this.acts} ${this.user}; sign in as ${this.user} (or change delegated.user)`,
        { error: 'wrong_user' },
      );
    }
    // Only the new sign-in's account stays in the store.
    for (const other of await this.app.getTokenCache().getAllAccounts()) {
      if (other.homeAccountId !== result.account.homeAccountId) await this.app.getTokenCache().removeAccount(other);
    }
    this.cache.invalidate();
    return { user: signedIn, scopes: result.scopes.length ? result.scopes : permissionsOf(result.accessToken), expiresAt: result.expiresOn?.getTime() ?? Date.now() + 3_600_000 };
  }

  /** The stored account for the configured user, if signed in. */
  async account(): Promise<AccountInfo | undefined> {
    let accounts: AccountInfo[];
    try {
      accounts = await this.app.getTokenCache().getAllAccounts();
    } catch (err) {
      throw new TokenError(`stored sign-in of upstream ${this.upstream}: ${(err as Error).message}`, { notSignedIn: true });
    }
    return accounts.find((a) => a.username.toLowerCase() === this.user.toLowerCase());
  }

  private notSignedIn(detail: string, extra: Partial<TokenError['details']> = {}): TokenError {
    return new TokenError(`${detail}; run \`authrelay oauth login ${this.upstream}\` to sign in as ${this.user}`, { ...extra, notSignedIn: true });
  }

  protected async request(): Promise<FreshToken> {
    try {
      const account = await this.account();
      if (!account) throw this.notSignedIn(`upstream ${this.upstream} is not signed in to Microsoft 365 yet`);
      let result: AuthenticationResult | null;
      try {
        result = await this.app.acquireTokenSilent({ account, scopes: this.scopes, forceRefresh: true });
      } catch (err) {
        const e = toTokenError(err, `renewing the sign-in of ${this.user} (upstream ${this.upstream})`, this.setup.network.lastStatus);
        if ((e.details.aadsts !== undefined && SIGN_IN_LOST.has(e.details.aadsts)) || e.details.error === 'no_tokens_found') {
          throw this.notSignedIn(e.message, e.details);
        }
        throw e;
      }
      return this.issued(result, `renewing the sign-in of ${this.user}`);
    } catch (err) {
      throw this.failed(err instanceof TokenError ? err : toTokenError(err, `token for ${this.description}`, this.setup.network.lastStatus));
    }
  }
}
