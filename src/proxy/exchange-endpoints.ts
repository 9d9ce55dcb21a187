/**
 * Where Exchange Online serves IMAP and POP3 in each Microsoft cloud
 * (reference/migration-and-imap.md B.1): implicit TLS on 993 and 995; the
 * app-only token is for the cloud's Exchange resource (`<resource>/.default`,
 * the same scope as SMTP XOAUTH2, so identity/entra's 'smtp' token provider
 * serves it). An override ("host" or "host:port") points at another server
 * (a private endpoint, the tests' Dovecot); the token's audience stays the
 * cloud's resource.
 */
import { readFileSync } from 'node:fs';
import type { ExchangeMailboxUpstreamConfig } from '../config/schema.js';
import { CLOUDS, parseHostPort } from '../identity/entra/clouds.js';
import type { MailProtocol, UpstreamTarget } from './common/types.js';

type Cloud = keyof typeof CLOUDS;

/** IMAP/POP hosts by cloud. GCC High: outlook.office365.us (observed); DoD and 21Vianet follow their SMTP/Outlook hosts. */
export const MAILBOX_HOSTS: Readonly<Record<Cloud, string>> = Object.freeze({
  global: 'outlook.office365.com',
  usgov: 'outlook.office365.us',
  'usgov-dod': 'outlook-dod.office365.us',
  china: 'partner.outlook.cn',
});

export const DEFAULT_PORTS: Readonly<Record<MailProtocol, number>> = Object.freeze({ imap: 993, pop3: 995 });

export interface MailboxEndpoint {
  host: string;
  port: number;
  /** App-only scope to request, e.g. https://outlook.office365.com/.default. */
  scope: string;
}

export function exchangeMailboxEndpoint(protocol: MailProtocol, cloud: Cloud = 'global', override?: string): MailboxEndpoint {
  const o = override ? parseHostPort(override) : undefined;
  return {
    host: o?.host ?? MAILBOX_HOSTS[cloud],
    port: o?.port ?? DEFAULT_PORTS[protocol],
    scope: `${CLOUDS[cloud].exchangeResource}/.default`,
  };
}

/**
 * Where an exchange-mailbox upstream opens mailboxes for a protocol: the
 * cloud's host or the override, its CA bundle, its timeouts, and the token
 * source given (the relay's token providers, or doctor's).
 */
export function mailboxTarget(cfg: ExchangeMailboxUpstreamConfig, protocol: MailProtocol, getToken: UpstreamTarget['getToken']): UpstreamTarget {
  const endpoint = exchangeMailboxEndpoint(protocol, cfg.cloud, cfg.endpoints[protocol]);
  return {
    host: endpoint.host,
    port: endpoint.port,
    ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}),
    connectTimeoutMs: cfg.connectTimeout,
    loginTimeoutMs: cfg.loginTimeout,
    getToken,
  };
}
