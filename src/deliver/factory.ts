/**
 * Builds the transports named in the config. One place knows every transport
 * type and what each needs (tokens, HTTP client, pacing). Transport modules
 * are loaded only for the types the config uses: a relay without a Microsoft
 * 365 upstream never loads MSAL, the MIME tools or the HTTP client.
 */
import { readFileSync } from 'node:fs';
import type { Config, SmtpOauthUpstreamConfig, UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Transport } from './transport.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import type { BudgetBook } from './budget-book.js';
import type { PacingCoordinator } from '../spool/pacing.js';

export interface TransportDeps {
  log: Logger;
  /** The shared token cache (one token per tenant, app and resource), made on first use. */
  tokens: () => Promise<TokenProviders>;
  /** Where per-mailbox pacing is counted (default: in this process; the PostgreSQL spool for several nodes). */
  pacing?: PacingCoordinator;
  /** Told of each message counted against a mailbox's daily budget (warnings, alerts, metrics). */
  budgets?: BudgetBook;
  /**
   * The relay's host name (config.hostname, else the system's): the name SMTP
   * upstreams are greeted with (EHLO) unless an upstream sets its own `helo`.
   * Without it, the system host name.
   */
  hostname?: string;
}

export async function createTransport(name: string, cfg: UpstreamConfig, deps: TransportDeps): Promise<Transport> {
  switch (cfg.type) {
    case 'smtp': {
      const { SmtpTransport } = await import('./smtp/smtp.js');
      return new SmtpTransport(name, cfg, deps.hostname ? { hostname: deps.hostname } : {});
    }
    case 'capture': {
      const { CaptureTransport } = await import('./capture/capture.js');
      return new CaptureTransport(name);
    }
    case 'graph': {
      const [{ GraphTransport }, { resolveEndpoints }, { HttpClient }, { MailboxPacer }] = await Promise.all([
        import('./graph/graph.js'), import('../identity/entra/clouds.js'), import('../core/http.js'), import('./pacing.js'),
      ]);
      const endpoints = resolveEndpoints(cfg);
      const http = new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) });
      return new GraphTransport(name, cfg, {
        log: deps.log, http, graphUrl: endpoints.graphUrl,
        tokens: (await deps.tokens()).get(name, cfg, 'graph'),
        pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency, recipientsPerDay: cfg.recipientsPerDay, warnShare: cfg.dailyWarning }, undefined,
          { scope: name, ...(deps.pacing ? { coordinator: deps.pacing } : {}), ...(deps.budgets ? { budgets: deps.budgets } : {}) }),
      });
    }
    case 'smtp-oauth': {
      const [{ SmtpOauthTransport }, { resolveEndpoints }, { MailboxPacer }] = await Promise.all([
        import('./smtp-oauth/smtp-oauth.js'), import('../identity/entra/clouds.js'), import('./pacing.js'),
      ]);
      const endpoints = resolveEndpoints(cfg);
      return new SmtpOauthTransport(name, cfg, {
        log: deps.log, smtpHost: endpoints.smtpHost, smtpPort: endpoints.smtpPort ?? cfg.port, ...(deps.hostname ? { hostname: deps.hostname } : {}),
        tokens: (await deps.tokens()).get(name, cfg, 'smtp'),
        pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency, messagesPerMinute: cfg.messagesPerMinute, recipientsPerDay: cfg.recipientsPerDay, warnShare: cfg.dailyWarning },
          undefined, { scope: name, ...(deps.pacing ? { coordinator: deps.pacing } : {}), ...(deps.budgets ? { budgets: deps.budgets } : {}) }),
        ...(cfg.sentItems === 'delete' ? { sentItems: await sentItemsCleaner(name, cfg, deps) } : {}),
      });
    }
    case 'direct-send': {
      const { DirectSendTransport } = await import('./direct-send/direct-send.js');
      return new DirectSendTransport(name, cfg, { log: deps.log, ...(deps.hostname ? { hostname: deps.hostname } : {}) });
    }
    case 'exchange-mailbox':
      // config/load.ts refuses it as a route; it opens mailboxes for the IMAP/POP3 listeners.
      throw new Error(`upstream "${name}" is an exchange-mailbox upstream: it opens mailboxes for IMAP/POP3 listeners and does not deliver mail`);
  }
}

/**
 * The Sent Items clean-up of an smtp-oauth upstream: Graph, with a token of
 * the same app (the schema refuses sentItems: delete with a delegated
 * sign-in), its own HTTP client, and its own pacer for Graph's 4 requests
 * per app and mailbox (the SMTP pacer counts connections, not requests).
 */
async function sentItemsCleaner(name: string, cfg: SmtpOauthUpstreamConfig, deps: TransportDeps) {
  const [{ SentItemsCleaner }, { resolveEndpoints }, { HttpClient }, { MailboxPacer }] = await Promise.all([
    import('./microsoft/sent-items.js'), import('../identity/entra/clouds.js'), import('../core/http.js'), import('./pacing.js'),
  ]);
  const endpoints = resolveEndpoints(cfg);
  return new SentItemsCleaner({
    log: deps.log.child({ upstream: name }),
    http: new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) }),
    closeHttp: true,
    graphUrl: endpoints.graphUrl,
    tokens: (await deps.tokens()).get(name, cfg, 'graph'),
    pacer: new MailboxPacer({ concurrency: 4 }, undefined, { scope: `${name}/graph`, ...(deps.pacing ? { coordinator: deps.pacing } : {}) }),
    permanentDelete: endpoints.cloud === 'global',
  });
}

/** Every configured upstream plus the built-in capture route. */
export async function createTransports(config: Config, deps: TransportDeps, captureName: string): Promise<Map<string, Transport>> {
  const transports = new Map<string, Transport>();
  for (const [name, up] of Object.entries(config.upstreams)) transports.set(name, await createTransport(name, up, deps));
  if (!transports.has(captureName)) transports.set(captureName, await createTransport(captureName, { type: 'capture' }, deps));
  return transports;
}

/** A lazily made TokenProviders: MSAL is loaded only when a Microsoft 365 upstream asks for a token provider. */
export function lazyTokenProviders(opts: { dataDir: string; secretKey: string | undefined; log: Logger }): { get: () => Promise<TokenProviders>; close: () => void } {
  let made: Promise<TokenProviders> | undefined;
  let instance: TokenProviders | undefined;
  return {
    get: () => (made ??= import('../identity/entra/providers.js').then(({ TokenProviders }) => (instance = new TokenProviders(opts)))),
    close: () => instance?.close(),
  };
}
