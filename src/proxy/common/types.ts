/**
 * The values the IMAP/POP3 proxy passes between its parts (Dovecot's
 * login-common shape): what a legacy client asked for, what the login
 * policy decided, where the upstream is and how its refusals are told.
 * The policy, the token source and the telemetry are interfaces given by the
 * composition root; nothing here reads configuration.
 */

export type MailProtocol = 'imap' | 'pop3';

/** How the legacy client logged in. */
export type LoginMechanism = 'LOGIN' | 'PLAIN' | 'USER';

/** One login as the legacy client sent it (IMAP LOGIN / AUTHENTICATE PLAIN, POP3 USER+PASS / AUTH PLAIN). */
export interface LoginAttempt {
  protocol: MailProtocol;
  mechanism: LoginMechanism;
  /** The user name (SASL authentication identity). */
  user: string;
  /** Never logged. */
  password: string;
  /** SASL PLAIN authorization identity, when the client sent a non-empty one: the mailbox it asks for. */
  authzid?: string;
  clientIp: string;
  /** TLS is in place (implicit TLS or after STARTTLS/STLS). */
  secure: boolean;
}

export type LoginRefusalReason =
  /** Wrong password, or a user name no device has. */
  | 'bad-credentials'
  /** The device logged in but asked for a mailbox outside its list. */
  | 'mailbox-not-allowed'
  /** The device may open several mailboxes and did not say which one. */
  | 'choose-mailbox'
  /** A user name that cannot be a device or a mailbox (control characters, spaces, too long). */
  | 'invalid-user'
  /** The address or the user name is locked out after too many failures. */
  | 'locked-out';

export type LoginDecision =
  | { ok: true; device: string; mailbox: string; via: 'password' | 'network' }
  | { ok: false; reason: LoginRefusalReason; locked: boolean; detail: string };

/** Who may log in, as what, to which mailbox (a value-returning policy, as receive/policy.ts is for SMTP). */
export interface LoginPolicy {
  /** Why a new connection from this address is refused before the greeting (locked out), or undefined. */
  connectRefusal(clientIp: string, now: number): string | undefined;
  /** Checks a login; waits the failure delay before answering a refusal. */
  authenticate(attempt: LoginAttempt): Promise<LoginDecision>;
}

/** An access token for the mailbox server. permissions: the token's roles (app) or scopes (delegated), when known. */
export interface MailboxToken {
  token: string;
  permissions?: readonly string[];
}

/** What the error catalogue says about a token the proxy could not get (the relay fills it in; the proxy only carries it). */
export interface TokenFailureExplained {
  /** The catalogue entry, e.g. entra.reader.sign-in-lost. */
  ref: string;
  hint: string;
  fix: string;
  /** Trying again will not help until an administrator acts (a sign-in expired or revoked, consent missing). */
  permanent: boolean;
}

/** Thrown by UpstreamTarget.getToken when the token could not be had and the catalogue explains why. */
export class MailboxTokenError extends Error {
  constructor(message: string, readonly explained: TokenFailureExplained) {
    super(message);
    this.name = 'MailboxTokenError';
  }
}

/** Where the proxy logs in for the client, and with what token (identity/entra's TokenProvider fits getToken). */
export interface UpstreamTarget {
  /** outlook.office365.com, a national cloud's host, or an override (a test server). */
  host: string;
  port: number;
  /** PEM CA bundle trusted instead of the system's (a private CA, the test server). */
  ca?: string | Buffer;
  /** TLS server name; default: host (none for an IP address). */
  servername?: string;
  /** Oldest TLS version spoken to the upstream (default TLSv1.2: Exchange Online requires it). */
  minTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Connection and TLS handshake (default 15 s). */
  connectTimeoutMs?: number;
  /** Greeting and XOAUTH2 exchange, each line (default 30 s). */
  loginTimeoutMs?: number;
  getToken(signal?: AbortSignal): Promise<MailboxToken | string>;
}

/** What went wrong upstream, as the catalogue explains it (compare Dovecot's login_proxy_failure_type). */
export type UpstreamFailureKind =
  /** The token has no IMAP.AccessAsApp / POP.AccessAsApp role: Entra permission or admin consent missing. */
  | 'role-missing'
  /** XOAUTH2 refused with a token that has the role: service principal not registered in Exchange, or no FullAccess on the mailbox. */
  | 'no-permission'
  /** XOAUTH2 refused and the token does not tell why (not a readable app token). */
  | 'auth-failed'
  /** "User is authenticated but not connected": token accepted, mailbox not opened. */
  | 'not-connected'
  /** IMAP or POP turned off for the mailbox (Set-CASMailbox -ImapEnabled/-PopEnabled). */
  | 'protocol-disabled'
  /** Too many connections or requests; try later. */
  | 'throttled'
  /** No connection, TLS failed, or the server closed or timed out. */
  | 'unreachable'
  /** Entra refused the token request or could not be reached. */
  | 'token-failed'
  /** The server answered something the proxy does not understand. */
  | 'protocol-error';

export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  stage: 'token' | 'connect' | 'greeting' | 'auth' | 'probe';
  /** The server's line (or the error's message) as received; never holds the token. */
  upstreamText: string;
  /** token-failed: the catalogue's explanation, when the token source gave one. */
  token?: TokenFailureExplained;
}

/** What the failure catalogue says about an upstream failure. */
export interface ExplainedFailure {
  kind: UpstreamFailureKind;
  /** One sentence for the log and the console. */
  summary: string;
  /** What to do, with the real ids filled in (PowerShell lines, portal steps). */
  fix: string[];
  /** Short text for the legacy client's NO / -ERR (no ids, no secrets). */
  clientText: string;
  /** True when trying again later may work (the client gets [UNAVAILABLE] / [SYS/TEMP]). */
  temporary: boolean;
  /** The error catalogue's entry (docs/errors.md), when one explains it. */
  ref?: string;
}

/** Which session a telemetry event is about (for the console's reader sessions); names only, never secrets. */
export interface ProxySessionInfo {
  session: string;
  clientIp: string;
  /** Set once the login policy has named the device. */
  device?: string;
  mailbox?: string;
  /** The user name as it may be logged (loggableName), on refusals. */
  user?: string;
  tlsVersion?: string;
}

/** Told as sessions happen (metrics, the console); counts and names only, never content or secrets. Every hook is optional and must not throw. */
export interface ProxyTelemetry {
  connected?(listener: string, protocol: MailProtocol): void;
  tlsEstablished?(listener: string, tlsVersion: string): void;
  loginRefused?(listener: string, protocol: MailProtocol, reason: LoginRefusalReason, info?: ProxySessionInfo & { detail: string }): void;
  loggedIn?(listener: string, protocol: MailProtocol, device: string, info?: ProxySessionInfo & { mailbox: string }): void;
  upstreamFailed?(listener: string, protocol: MailProtocol, kind: UpstreamFailureKind, info?: ProxySessionInfo & { summary: string; fix: string[]; temporary: boolean }): void;
  sessionEnded?(listener: string, protocol: MailProtocol, bytes: { toClient: number; toUpstream: number }, info?: ProxySessionInfo & { endedBy: string; durationMs: number }): void;
}
