/**
 * `authrelay oauth login UPSTREAM`: the device code sign-in of the user of a
 * delegated smtp-oauth upstream (the mailbox it sends as) or exchange-mailbox
 * upstream (the mailbox the IMAP/POP proxy opens, or a user with FullAccess
 * to it); the sign-in is stored encrypted in dataDir/tokens/. `authrelay oauth status [UPSTREAM]`: per Microsoft
 * upstream, the credential, the cached token's expiry, the signed-in user
 * and the last sign-in error (as recorded by the running relay).
 */
import { statSync } from 'node:fs';
import type { Config, EntraAppUpstreamConfig } from '../../config/schema.js';
import { renderBoth, type Text } from '../../core/i18n.js';
import { createLogger } from '../../core/log.js';
import { isDelegated, TokenProviders } from '../../identity/entra/providers.js';
import { resolveEndpoints } from '../../identity/entra/clouds.js';
import { authorityOf } from '../../identity/entra/msal-config.js';
import { SignInStore } from '../../identity/entra/sign-in-store.js';
import { readTokenStatus, recordTokenResult, type TokenStatus } from '../../identity/entra/token-status.js';
import { TokenError } from '../../identity/entra/token-provider.js';
import { complain, formatTime, loadConfig, printJson, tr, UsageError } from '../common.js';
import { OAUTH_STATUS_TEXT as O } from '../report-texts.js';
import { CLI_TEXT as T, usage } from '../texts.js';

export interface OauthFlags {
  config?: string | undefined;
  json?: boolean | undefined;
}

const USAGE = usage('authrelay oauth login UPSTREAM [--config FILE]\n       authrelay oauth status [UPSTREAM] [--json] [--config FILE]');

export async function oauthCommand(sub: string | undefined, rest: string[], flags: OauthFlags): Promise<number> {
  if (sub === 'login') return login(rest[0], flags);
  if (sub === 'status') return status(rest[0], flags);
  throw new UsageError(USAGE);
}

function microsoftUpstreams(config: Config): [string, EntraAppUpstreamConfig][] {
  return Object.entries(config.upstreams).filter((e): e is [string, EntraAppUpstreamConfig] => e[1].type === 'graph' || e[1].type === 'smtp-oauth' || e[1].type === 'exchange-mailbox');
}

async function login(name: string | undefined, flags: OauthFlags): Promise<number> {
  if (!name) throw new UsageError(USAGE);
  const { config } = loadConfig(flags.config);
  const cfg = config.upstreams[name];
  if (!cfg) throw new UsageError(T.noUpstream, { name, names: Object.keys(config.upstreams).join(', ') || tr(T.none) });
  if (cfg.type === 'capture' || cfg.type === 'smtp' || cfg.type === 'direct-send' || !isDelegated(cfg)) throw new UsageError(T.notDelegated, { name });
  const log = createLogger('warn', process.stderr);
  const providers = new TokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log, signInRenewalMs: 0 });
  const provider = providers.delegated(name, cfg);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(tr(T.oauthSigningIn, { user: cfg.delegated.user, name, how: provider.description }));
  try {
    const result = await provider.login((p) => {
      out('');
      out(p.message);
      out('');
      out(tr(T.oauthWaiting, { minutes: Math.round(p.expiresInSeconds / 60) }));
    });
    out(tr(T.oauthSignedIn, { user: result.user }));
    out(tr(T.oauthScopes, { scopes: result.scopes.join(' ') }));
    out(tr(T.oauthValidUntil, { time: formatTime(result.expiresAt) }));
    out(tr(T.oauthStored, { file: provider.store.file }));
    recordTokenResult(config.dataDir, { upstream: name, credential: provider.credentialType, description: provider.description }, { expiresAt: result.expiresAt });
    return 0;
  } catch (err) {
    if (err instanceof TokenError) {
      recordTokenResult(config.dataDir, { upstream: name, credential: provider.credentialType, description: provider.description }, { error: err });
      complain(T.signInFailed, { message: err.message });
      return 1;
    }
    throw err;
  } finally {
    provider.close();
  }
}

interface UpstreamStatus {
  upstream: string;
  type: string;
  credential: string;
  tenant: string;
  clientId: string;
  cloud: string;
  authority: string;
  token?: { expiresAt?: string; lastTokenAt?: string };
  signIn?: { user?: string; stored: boolean; savedAt?: string; refreshToken: boolean; accessTokenExpiresAt?: string; problem?: string };
  lastError?: TokenStatus['lastError'];
}

function status(name: string | undefined, flags: OauthFlags): number {
  const { config } = loadConfig(flags.config);
  let ups = microsoftUpstreams(config);
  if (name) {
    ups = ups.filter(([n]) => n === name);
    if (ups.length === 0) throw new UsageError(T.noMicrosoftUpstream, { name });
  }
  const providers = new TokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log: createLogger('warn', process.stderr), signInRenewalMs: 0 });
  const credentials = new Map<string, Text>();
  const rows: UpstreamStatus[] = ups.map(([n, cfg]) => {
    const recorded = readTokenStatus(config.dataDir, n);
    const delegated = isDelegated(cfg) ? cfg.delegated : undefined;
    const credential = credentialText(delegated?.user, cfg.certificate?.cert);
    credentials.set(n, credential);
    const s: UpstreamStatus = {
      upstream: n,
      type: cfg.type,
      // --json keeps the English words; the terminal shows them in this run's language.
      credential: credential.en,
      tenant: cfg.tenant,
      clientId: cfg.clientId,
      cloud: resolveEndpoints(cfg).cloud,
      authority: authorityOf(cfg).url,
      ...(recorded?.expiresAt || recorded?.lastTokenAt ? { token: { ...(recorded.expiresAt ? { expiresAt: recorded.expiresAt } : {}), ...(recorded.lastTokenAt ? { lastTokenAt: recorded.lastTokenAt } : {}) } } : {}),
      ...(recorded?.lastError ? { lastError: recorded.lastError } : {}),
    };
    if (delegated) s.signIn = signInState(config.dataDir, n, providers);
    return s;
  });
  if (flags.json) {
    printJson(rows);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`${tr(T.oauthNoneConfigured)}\n`);
    return 0;
  }
  for (const r of rows) {
    const lines = [
      `${r.upstream} (${r.type})`,
      tr(O.credential, { value: tr(credentials.get(r.upstream)!) }),
      tr(O.app, { clientId: r.clientId, tenant: r.tenant, cloud: r.cloud, authority: r.authority }),
      tr(O.token, {
        value: r.token?.expiresAt
          ? tr(O.validUntil, { time: formatTime(Date.parse(r.token.expiresAt)), last: formatTime(Date.parse(r.token.lastTokenAt ?? '')) })
          : tr(O.noToken),
      }),
    ];
    if (r.signIn) {
      const si = r.signIn;
      const value = si.problem ? si.problem
        : si.stored && si.user
          ? tr(O.storedAs, {
            user: si.user, time: formatTime(Date.parse(si.savedAt ?? '')), refresh: tr(si.refreshToken ? O.present : O.missing),
            access: si.accessTokenExpiresAt ? tr(O.accessUntil, { time: formatTime(Date.parse(si.accessTokenExpiresAt)) }) : '',
          })
          : tr(T.oauthNotSignedIn, { name: r.upstream });
      lines.push(tr(O.signedIn, { value }));
    }
    const e = r.lastError;
    lines.push(tr(O.lastError, { value: e ? `${formatTime(Date.parse(e.at))} ${e.message}` : '-' }));
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
  return 0;
}

/** The credential an upstream signs in with, in both languages. */
function credentialText(delegatedUser: string | undefined, cert: string | undefined): Text {
  return renderBoth(delegatedUser ? O.delegated : cert ? O.certificate : O.secret, { user: delegatedUser, cert });
}

interface MsalCacheJson {
  Account?: Record<string, { username?: string }>;
  RefreshToken?: Record<string, unknown>;
  AccessToken?: Record<string, { expires_on?: string }>;
}

function signInState(dataDir: string, upstream: string, providers: TokenProviders): NonNullable<UpstreamStatus['signIn']> {
  const store = new SignInStore(dataDir, upstream, providers.encryptionKey());
  if (!store.exists()) return { stored: false, refreshToken: false };
  let plain: string | undefined;
  try {
    plain = store.read();
  } catch (err) {
    return { stored: true, refreshToken: false, problem: (err as Error).message };
  }
  const cache = JSON.parse(plain ?? '{}') as MsalCacheJson;
  const user = Object.values(cache.Account ?? {})[0]?.username;
  const expiries = Object.values(cache.AccessToken ?? {}).map((a) => Number(a.expires_on) * 1000).filter((n) => Number.isFinite(n));
  return {
    stored: true,
    ...(user ? { user } : {}),
    savedAt: statSync(store.file).mtime.toISOString(),
    refreshToken: Object.keys(cache.RefreshToken ?? {}).length > 0,
    ...(expiries.length ? { accessTokenExpiresAt: new Date(Math.max(...expiries)).toISOString() } : {}),
  };
}
