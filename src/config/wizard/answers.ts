/**
 * The answers of the setup wizard (the terminal's `authrelay init` and the
 * console's wizard): the route to Microsoft 365 (or another relay, or none),
 * the app registration and its credential, the sending mailbox, the
 * listeners, a first device. The config document is built from them
 * (config-document.ts).
 */
import type { Text } from '../../core/i18n.js';
import { WIZARD_TEXT as T } from './texts.js';

export type RouteKind = 'graph' | 'smtp-oauth' | 'smtp-oauth-delegated' | 'direct-send' | 'smtp' | 'hold' | 'readers';

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
  endpoints: { authority?: string; graph?: string; smtp?: string; imap?: string; pop3?: string };
  ca?: string;
}

/**
 * Legacy readers (route `readers`, docs/imap-pop.md): the mailboxes the
 * reader device may open through an exchange-mailbox upstream, and the IMAP
 * and POP3 listeners it logs in to (a port, or none; TLS from the first byte
 * or STARTTLS/STLS; `legacy` also accepts TLS 1.0/1.1 on them).
 */
export interface ReadersAnswers {
  mailboxes: string[];
  imapPort?: number;
  pop3Port?: number;
  tls: 'implicit' | 'starttls';
  legacy: boolean;
}

export interface InitAnswers {
  route: RouteKind;
  entra?: EntraAnswers;
  mailbox?: string;
  directSend?: { domain: string; dnsServers: string[] };
  /** Another SMTP relay; `tls` as the probe proposed it (or as chosen), `ca` a PEM file that makes its certificate trusted. */
  relay?: { host: string; port: number; tls: 'starttls' | 'implicit' | 'none'; ca?: string; clientCert?: { cert: string; key: string } };
  listeners: { host: string; starttlsPort?: number; tlsPort?: number; legacyPort?: number };
  /** Route `readers`: the mailboxes and the IMAP/POP3 listeners (the SMTP listeners are not written then). */
  readers?: ReadersAnswers;
  device?: { name: string; networks: string[]; username?: string };
  admin?: string;
}

/** The routes, each with its description in English and Japanese. */
export const ROUTES: { value: RouteKind; text: Text }[] = [
  { value: 'graph', text: T.routeGraph },
  { value: 'smtp-oauth', text: T.routeSmtpOauth },
  { value: 'smtp-oauth-delegated', text: T.routeSmtpOauthDelegated },
  { value: 'direct-send', text: T.routeDirectSend },
  { value: 'smtp', text: T.routeSmtp },
  { value: 'hold', text: T.routeHold },
  { value: 'readers', text: T.routeReaders },
];
