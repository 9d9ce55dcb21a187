/**
 * Microsoft clouds and where each one signs in, serves Graph and accepts SMTP
 * client submission, plus the resource (token audience) for each. Explicit
 * `endpoints` in the config override where authrelay connects (a private
 * cloud, a test emulator); the token audience stays the cloud's resource.
 *
 * Sources:
 * - Sign-in hosts and Graph roots: "Microsoft Graph national cloud deployments"
 *   (learn.microsoft.com/graph/deployments): login.microsoftonline.com,
 *   login.microsoftonline.us, login.chinacloudapi.cn; graph.microsoft.com,
 *   graph.microsoft.us (L4 / GCC High), dod-graph.microsoft.us (L5 / DoD),
 *   microsoftgraph.chinacloudapi.cn. Scopes use the cloud's Graph host
 *   (learn.microsoft.com/graph/sdks/national-clouds, "Permission scopes").
 * - SMTP: smtp.office365.com:587 ("How to set up a multifunction device or
 *   application to send email using Microsoft 365"); app-only scope
 *   https://outlook.office365.com/.default and delegated
 *   https://outlook.office.com/SMTP.Send ("Authenticate an IMAP, POP or SMTP
 *   connection using OAuth"). Government and China hosts per the Office 365
 *   U.S. Government GCC High / DoD endpoint lists and the 21Vianet client
 *   settings: smtp.office365.us and outlook.office365.us (GCC High),
 *   outlook-dod.office365.us (DoD), smtp.partner.outlook.cn and
 *   partner.outlook.cn (China).
 */
import { DEFAULT_MAILBOX_DELEGATED_SCOPE, type EntraUpstreamConfig, type MicrosoftCloud } from '../../config/schema.js';

export interface CloudEndpoints {
  cloud: MicrosoftCloud;
  /** Sign-in host as an origin, e.g. https://login.microsoftonline.com (no trailing slash). */
  authorityHost: string;
  /** Graph base URL with version, e.g. https://graph.microsoft.com/v1.0. */
  graphUrl: string;
  /** App-only scope for Graph, e.g. https://graph.microsoft.com/.default. */
  graphScope: string;
  /** SMTP client submission host. */
  smtpHost: string;
  /** Set only when the override names a port (host:port); otherwise the upstream's port applies. */
  smtpPort?: number;
  /** App-only scope for SMTP (client credentials), e.g. https://outlook.office365.com/.default. */
  smtpScope: string;
  /** The delegated SMTP permission for this cloud, e.g. https://outlook.office.com/SMTP.Send. */
  smtpDelegatedScope: string;
}

interface CloudFacts {
  authorityHost: string;
  graphOrigin: string;
  smtpHost: string;
  /** The Exchange Online resource for app-only tokens. */
  exchangeResource: string;
  /** The resource that carries the delegated SMTP.Send permission. */
  exchangeDelegatedResource: string;
}

export const CLOUDS: Readonly<Record<MicrosoftCloud, CloudFacts>> = Object.freeze({
  global: {
    authorityHost: 'https://login.microsoftonline.com',
    graphOrigin: 'https://graph.microsoft.com',
    smtpHost: 'smtp.office365.com',
    exchangeResource: 'https://outlook.office365.com',
    exchangeDelegatedResource: 'https://outlook.office.com',
  },
  usgov: {
    authorityHost: 'https://login.microsoftonline.us',
    graphOrigin: 'https://graph.microsoft.us',
    smtpHost: 'smtp.office365.us',
    exchangeResource: 'https://outlook.office365.us',
    exchangeDelegatedResource: 'https://outlook.office365.us',
  },
  'usgov-dod': {
    authorityHost: 'https://login.microsoftonline.us',
    graphOrigin: 'https://dod-graph.microsoft.us',
    smtpHost: 'outlook-dod.office365.us',
    exchangeResource: 'https://outlook-dod.office365.us',
    exchangeDelegatedResource: 'https://outlook-dod.office365.us',
  },
  china: {
    authorityHost: 'https://login.chinacloudapi.cn',
    graphOrigin: 'https://microsoftgraph.chinacloudapi.cn',
    smtpHost: 'smtp.partner.outlook.cn',
    exchangeResource: 'https://partner.outlook.cn',
    exchangeDelegatedResource: 'https://partner.outlook.cn',
  },
});

/** The delegated scope the schema uses by default (global cloud). */
export const DEFAULT_DELEGATED_SCOPE = 'https://outlook.office.com/SMTP.Send offline_access';

export function resolveEndpoints(cfg: Pick<EntraUpstreamConfig, 'cloud' | 'endpoints'>): CloudEndpoints {
  const cloud: MicrosoftCloud = cfg.cloud ?? 'global';
  const facts = CLOUDS[cloud];
  const ep = cfg.endpoints ?? {};
  const authorityHost = ep.authority ? new URL(ep.authority).origin : facts.authorityHost;
  const graphUrl = ep.graph ? ep.graph.replace(/\/+$/, '') : `${facts.graphOrigin}/v1.0`;
  const smtp = ep.smtp ? parseHostPort(ep.smtp) : { host: facts.smtpHost };
  return {
    cloud,
    authorityHost,
    graphUrl,
    graphScope: `${facts.graphOrigin}/.default`,
    smtpHost: smtp.host,
    ...(smtp.port !== undefined ? { smtpPort: smtp.port } : {}),
    smtpScope: `${facts.exchangeResource}/.default`,
    smtpDelegatedScope: `${facts.exchangeDelegatedResource}/SMTP.Send`,
  };
}

/**
 * The delegated scopes to request: the configured ones, with the global
 * default (SMTP for smtp-oauth, IMAP and POP for exchange-mailbox)
 * translated to the cloud's own Exchange resource.
 */
export function delegatedScopes(cfg: Pick<EntraUpstreamConfig, 'cloud' | 'endpoints'>, configured: string | undefined): string[] {
  const endpoints = resolveEndpoints(cfg);
  const resource = CLOUDS[endpoints.cloud].exchangeDelegatedResource;
  const scope = configured === undefined || configured === DEFAULT_DELEGATED_SCOPE
    ? `${endpoints.smtpDelegatedScope} offline_access`
    : configured === DEFAULT_MAILBOX_DELEGATED_SCOPE
      ? `${resource}/IMAP.AccessAsUser.All ${resource}/POP.AccessAsUser.All offline_access`
      : configured;
  return scope.split(/\s+/).filter(Boolean);
}

/** "smtp.example.com", "smtp.example.com:2587", "[::1]:2587", "127.0.0.1:2587". */
export function parseHostPort(value: string): { host: string; port?: number } {
  const v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] ? { port: toPort(bracketed[2], value) } : {}) };
  const parts = v.split(':');
  if (parts.length === 2) return { host: parts[0]!, port: toPort(parts[1]!, value) };
  return { host: v };
}

function toPort(s: string, whole: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`"${whole}": the port must be a number from 1 to 65535`);
  return n;
}
