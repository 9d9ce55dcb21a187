/**
 * The registry of token providers: one per sign-in host, tenant, app,
 * credential and resource, shared by every upstream that uses the same app,
 * so the relay holds one cached token per tenant/app/resource. Delegated
 * sign-ins belong to one upstream each (their store is named after it).
 * The transports factory asks it with `get(upstream, cfg, resource)`.
 */
import { createHash } from 'node:crypto';
import type { EntraAppUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { TokenProvider, TokenResource } from './token-provider.js';
import { AppTokenProvider } from './app-token-provider.js';
import type { TokenEvents } from './msal-token-provider.js';
import { DelegatedTokenProvider, type DelegatedUpstreamConfig } from './delegated-token-provider.js';
import { authorityOf } from './msal-config.js';
import { resolveEndpoints } from './clouds.js';
import { encryptionKey } from './secret-key.js';
import { recordTokenResult } from './token-status.js';

export interface TokenProvidersDeps {
  dataDir: string;
  /** `secretKey` from the config; undefined: a random key in dataDir/secret.key. */
  secretKey: string | undefined;
  log: Logger;
  /** Renew delegated sign-ins this often even without traffic (default 12 h; 0 turns it off). */
  signInRenewalMs?: number;
  /** Write dataDir/tokens/<upstream>.status.json for `oauth status` (default true). */
  recordStatus?: boolean;
}

type AnyProvider = AppTokenProvider | DelegatedTokenProvider;

export class TokenProviders {
  private readonly byKey = new Map<string, { provider: AnyProvider; upstreams: Set<string> }>();
  private key: Buffer | undefined;

  constructor(private readonly deps: TokenProvidersDeps) {}

  /** The provider for this upstream's app and resource (created on first use, then shared). */
  get(upstream: string, cfg: EntraAppUpstreamConfig, resource: TokenResource): TokenProvider {
    const key = providerKey(upstream, cfg, resource);
    const existing = this.byKey.get(key);
    if (existing) {
      existing.upstreams.add(upstream);
      return existing.provider;
    }
    const holder: { entry?: { provider: AnyProvider; upstreams: Set<string> } } = {};
    const events: TokenEvents = { onResult: (result) => holder.entry && this.record(holder.entry, result) };
    const provider: AnyProvider = isDelegated(cfg)
      ? this.delegated(upstream, cfg, events)
      : new AppTokenProvider(cfg, resource, this.deps.log, events);
    holder.entry = { provider, upstreams: new Set([upstream]) };
    this.byKey.set(key, holder.entry);
    return provider;
  }

  /** A delegated provider for `oauth login` (not started, not registered). */
  delegated(upstream: string, cfg: DelegatedUpstreamConfig, events: TokenEvents = {}): DelegatedTokenProvider {
    const provider = new DelegatedTokenProvider(upstream, cfg, { dataDir: this.deps.dataDir, key: this.encryptionKey(), log: this.deps.log }, events);
    const every = this.deps.signInRenewalMs ?? 12 * 3_600_000;
    if (every > 0 && events.onResult) provider.startRenewal(every, Math.min(every, 60_000), this.deps.log);
    return provider;
  }

  encryptionKey(): Buffer {
    this.key ??= encryptionKey(this.deps.dataDir, this.deps.secretKey);
    return this.key;
  }

  /** Providers made so far (for status and tests). */
  list(): { provider: TokenProvider; upstreams: string[] }[] {
    return [...this.byKey.values()].map((e) => ({ provider: e.provider, upstreams: [...e.upstreams] }));
  }

  close(): void {
    for (const e of this.byKey.values()) e.provider.close();
    this.byKey.clear();
  }

  private record(entry: { provider: AnyProvider; upstreams: Set<string> }, result: Parameters<NonNullable<TokenEvents['onResult']>>[0]): void {
    if ('error' in result) {
      this.deps.log.warn(
        { event: 'token-error', upstreams: [...entry.upstreams], ...result.error.details },
        result.error.message,
      );
    } else {
      this.deps.log.debug({ event: 'token', upstreams: [...entry.upstreams], expiresAt: new Date(result.expiresAt).toISOString() }, `new token: ${entry.provider.description}`);
    }
    if (this.deps.recordStatus === false) return;
    for (const upstream of entry.upstreams) {
      try {
        recordTokenResult(this.deps.dataDir, { upstream, credential: entry.provider.credentialType, description: entry.provider.description }, result);
      } catch (err) {
        this.deps.log.warn({ event: 'token-status-write-failed', upstream, err: (err as Error).message }, 'could not record the sign-in status');
      }
    }
  }
}

/** An upstream that signs in one user by device code (smtp-oauth or exchange-mailbox with `delegated`). */
export function isDelegated(cfg: EntraAppUpstreamConfig): cfg is DelegatedUpstreamConfig & { delegated: NonNullable<DelegatedUpstreamConfig['delegated']> } {
  return (cfg.type === 'smtp-oauth' || cfg.type === 'exchange-mailbox') && cfg.delegated !== undefined;
}

/** What makes two upstreams share a token. A secret only enters as a hash (never kept in clear here). */
function providerKey(upstream: string, cfg: EntraAppUpstreamConfig, resource: TokenResource): string {
  if (isDelegated(cfg)) return `delegated\0${upstream}`;
  const endpoints = resolveEndpoints(cfg);
  const credential = cfg.certificate
    ? `cert:${cfg.certificate.cert}:${cfg.certificate.key}`
    : `secret:${createHash('sha256').update(cfg.clientSecret ?? '').digest('hex')}`;
  const scope = resource === 'graph' ? endpoints.graphScope : endpoints.smtpScope;
  return [authorityOf(cfg).url.toLowerCase(), cfg.clientId.toLowerCase(), credential, scope, cfg.ca ?? '', cfg.proxy ?? ''].join('\0');
}
