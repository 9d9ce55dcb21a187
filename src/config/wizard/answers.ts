/**
 * The answers of the setup wizard (the terminal's `authrelay init` and the
 * console's wizard): the route to Microsoft 365 (or another relay, or none),
 * the app registration and its credential, the sending mailbox, the
 * listeners, a first device. The config document is built from them
 * (config-document.ts).
 */

export type RouteKind = 'graph' | 'smtp-oauth' | 'smtp-oauth-delegated' | 'direct-send' | 'smtp' | 'hold';

/** The secret as it goes into the file (`${NAME}` or `file:PATH`), and its value when known here (never written). */
export interface SecretAnswer {
  kind: 'secret';
  ref: string;
  value: string | undefined;
  /** Set when the wizard writes the secret to this file (mode 0600) next to the config. */
  writeFile?: string;
  /** The environment variable the relay reads it from. */
  envName?: string;
}

export type CredentialAnswer = SecretAnswer | { kind: 'certificate'; cert: string; key: string } | { kind: 'delegated' };

export interface EntraAnswers {
  cloud: string;
  tenant: string;
  clientId: string;
  credential: CredentialAnswer;
  endpoints: { authority?: string; graph?: string; smtp?: string };
  ca?: string;
}

export interface InitAnswers {
  route: RouteKind;
  entra?: EntraAnswers;
  mailbox?: string;
  directSend?: { domain: string; dnsServers: string[] };
  /** Another SMTP relay; `tls` as the probe proposed it (or as chosen), `ca` a PEM file that makes its certificate trusted. */
  relay?: { host: string; port: number; tls: 'starttls' | 'implicit' | 'none'; ca?: string; clientCert?: { cert: string; key: string } };
  listeners: { host: string; starttlsPort?: number; tlsPort?: number; legacyPort?: number };
  device?: { name: string; networks: string[]; username?: string };
  admin?: string;
}

export const ROUTES: { value: RouteKind; label: string }[] = [
  { value: 'graph', label: 'Microsoft Graph with an app registration (recommended; reaches anyone)' },
  { value: 'smtp-oauth', label: 'SMTP with OAuth 2.0, app registration (SMTP.SendAsApp)' },
  { value: 'smtp-oauth-delegated', label: 'SMTP with OAuth 2.0, one mailbox signs in by device code' },
  { value: 'direct-send', label: 'Direct Send to your MX host (no sign-in; your own domains only)' },
  { value: 'smtp', label: 'another SMTP relay, e.g. an Exchange Online inbound connector' },
  { value: 'hold', label: 'hold messages in the queue only (try the relay first)' },
];
