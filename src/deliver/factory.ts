/**
 * Builds the transports named in the config. One place knows every transport
 * type and what each needs (tokens, HTTP client, pacing).
 */
import { readFileSync } from 'node:fs';
import type { Config, UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { HttpClient } from '../core/http.js';
import type { Transport } from './transport.js';
import { SmtpTransport } from './smtp/smtp.js';
import { CaptureTransport } from './capture/capture.js';
import { GraphTransport } from './graph/graph.js';
import { SmtpOauthTransport } from './smtp-oauth/smtp-oauth.js';
import { DirectSendTransport } from './direct-send/direct-send.js';
import { MailboxPacer } from './pacing.js';
import { resolveEndpoints } from '../identity/entra/clouds.js';
import type { TokenProviders } from '../identity/entra/providers.js';

export interface TransportDeps {
  log: Logger;
  /** The shared token cache (one token per tenant, app and resource). */
  tokens: TokenProviders;
}

export function createTransport(name: string, cfg: UpstreamConfig, deps: TransportDeps): Transport {
  switch (cfg.type) {
    case 'smtp':
      return new SmtpTransport(name, cfg);
    case 'capture':
      return new CaptureTransport(name);
    case 'graph': {
      const endpoints = resolveEndpoints(cfg);
      const http = new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) });
      return new GraphTransport(name, cfg, {
        log: deps.log, http, graphUrl: endpoints.graphUrl,
        tokens: deps.tokens.get(name, cfg, 'graph'),
        pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency }),
      });
    }
    case 'smtp-oauth': {
      const endpoints = resolveEndpoints(cfg);
      return new SmtpOauthTransport(name, cfg, {
        log: deps.log, smtpHost: endpoints.smtpHost, smtpPort: endpoints.smtpPort ?? cfg.port,
        tokens: deps.tokens.get(name, cfg, 'smtp'),
        pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency, messagesPerMinute: cfg.messagesPerMinute, recipientsPerDay: cfg.recipientsPerDay }),
      });
    }
    case 'direct-send':
      return new DirectSendTransport(name, cfg, { log: deps.log });
  }
}

/** Every configured upstream plus the built-in capture route. */
export function createTransports(config: Config, deps: TransportDeps, captureName: string): Map<string, Transport> {
  const transports = new Map<string, Transport>();
  for (const [name, up] of Object.entries(config.upstreams)) transports.set(name, createTransport(name, up, deps));
  if (!transports.has(captureName)) transports.set(captureName, new CaptureTransport(captureName));
  return transports;
}
