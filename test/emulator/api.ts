/**
 * The Microsoft 365 emulator's API as tests use it. The emulator is an HTTPS
 * server (Entra ID token and device-code endpoints, OpenID metadata, Graph
 * v1.0 mail) and an SMTP server (smtp.office365.com's behaviour) on loopback,
 * with its own test CA. It follows ../shared/reference/microsoft-365.md:
 * real status codes, real error bodies, real limits. It records everything
 * it accepted. Tenants, apps, permissions and mailboxes are set up by tests.
 *
 * Start it with startEmulator() from ./index.js; run it on its own with
 * `node dist/test/emulator/main.js` (prints its URLs and CA file).
 * The migration scan's Graph calls (usage report, sign-in logs, report
 * settings) are in reports.ts and signins.ts, their data in report-data.ts.
 */

export type GraphRole = 'Mail.Send' | 'Mail.ReadWrite' | 'User.Read.All'
  | 'Reports.Read.All' | 'AuditLog.Read.All' | 'Directory.Read.All' | 'ReportSettings.Read.All' | 'ReportSettings.ReadWrite.All';
export type ExchangeRole = 'SMTP.SendAsApp';

export interface EmulatorTenant {
  /** GUID. */
  id: string;
  /** Verified domains; the first is the default (e.g. contoso.onmicrosoft.com, contoso.com). */
  domains: string[];
  /** Set-OrganizationConfig -RejectDirectSend $true: anonymous port 25 mail from an accepted domain gets 550 5.7.68. */
  rejectDirectSend?: boolean;
  /** Microsoft Entra ID P1 or P2: without it (false) Graph refuses the sign-in logs (default: true). */
  entraPremium?: boolean;
  /** Reports privacy: "Display concealed user, group, and site names in all reports" (Microsoft's default since September 2021: true). */
  displayConcealedNames?: boolean;
}

/** The app columns of the email apps usage report, in the CSV's order. */
export type EmailAppColumn = 'Mail For Mac' | 'Outlook For Mac' | 'Outlook For Windows' | 'Outlook For Mobile' | 'Other For Mobile' | 'Outlook For Web'
  | 'POP3 App' | 'IMAP4 App' | 'SMTP App';

/** One user of the email apps usage report (reports/getEmailAppUsageUserDetail), as a test sets it up. */
export interface EmailAppUsage {
  user: string;
  displayName?: string;
  /** YYYY-MM-DD: the user's last e-mail activity (any app). Apps count as used in a period only when this day is in it. */
  lastActivityDate: string;
  isDeleted?: boolean;
  deletedDate?: string;
  /** The apps used and what the report writes in their cells (e.g. 'SMTP App': 'Undetermined'). */
  apps: Partial<Record<EmailAppColumn, string>>;
}

/** One sign-in of the Entra sign-in logs (auditLogs/signIns), as a test sets it up. */
export interface EmulatorSignIn {
  user: string;
  displayName?: string;
  /** When it happened (ms since the epoch). */
  at: number;
  ipAddress: string;
  /** Default 'Authenticated SMTP' (basic-auth SMTP AUTH). */
  clientAppUsed?: string;
  /** 0 (default) for success, else the AADSTS number (50126, 50053, 53003...). */
  errorCode?: number;
  failureReason?: string;
  additionalDetails?: string;
}

export interface AppSecret {
  value: string;
  /** Expired secrets give AADSTS7000222. */
  expiresAt?: number;
}

export interface EmulatorApp {
  clientId: string;
  tenantId: string;
  secrets: AppSecret[];
  /** PEM certificates registered on the app (client assertions are verified against them). */
  certificates: string[];
  /** Application permissions granted with admin consent, by resource. */
  graphRoles: GraphRole[];
  exchangeRoles: ExchangeRole[];
  /** Public client flows (device code) allowed. */
  publicClient: boolean;
  /**
   * Delegated permissions consented for the app (names such as
   * IMAP.AccessAsUser.All). Absent: the user consents to whatever is asked at
   * sign-in. Present: a scope outside it gives AADSTS65001 (invalid_grant)
   * at the device code redemption and at every refresh.
   */
  delegatedConsent?: string[];
  /** Web platform redirect URIs (authorization code flow); a request with any other gets AADSTS50011. */
  redirectUris: string[];
}

export interface EmulatorMailbox {
  address: string;
  tenantId: string;
  /** Unlicensed: Graph answers MailboxNotEnabledForRESTAPI, SMTP refuses AUTH. */
  licensed: boolean;
  /** Set-CASMailbox -SmtpClientAuthenticationDisabled (false = SMTP AUTH allowed). */
  smtpAuthDisabled: boolean;
  /** Apps (client ids) and users (addresses) allowed to send as this mailbox besides itself. */
  sendAs: string[];
  /** Largest message the mailbox accepts (bytes; default 35 MB; up to 150 MB). */
  maxMessageSize: number;
  /** Password for the device-code sign-in of this mailbox's user. */
  password?: string;
}

export type FaultTarget = 'token' | 'graph' | 'upload' | 'smtp';

export type FaultKind =
  /** Answer with this HTTP status (503 ResourceUnhealthy, 504 GatewayTimeout, 500...) before acting. */
  | { status: number; retryAfterSeconds?: number }
  /** 429 ApplicationThrottled with Retry-After. */
  | { throttle: true; retryAfterSeconds: number }
  /** Accept and act on the request (the message IS sent), then answer 504: an uncertain outcome. */
  | { acceptThenStatus: number }
  /** Accept and act on the request (the message IS sent, the draft IS made), then close the connection without an answer. */
  | { acceptThenReset: true }
  /** Close the connection without an answer, once the whole request was received and before acting on it. */
  | { reset: true }
  /** Act normally but wait this long before answering. */
  | { delayMs: number }
  /** SMTP: answer this reply to the given command (e.g. '421 4.3.2 Service not available'). */
  | { smtpReply: string; at: 'connect' | 'ehlo' | 'auth' | 'mail' | 'rcpt' | 'data' };

export interface FaultRule {
  target: FaultTarget;
  fault: FaultKind;
  /** Only requests for this mailbox (Graph path user or SMTP AUTH user). */
  mailbox?: string;
  /** SMTP: only the RCPT command for this recipient address (with `at: 'rcpt'`). */
  recipient?: string;
  /** HTTP: only requests with this method (GET, POST, DELETE...). */
  method?: string;
  /** HTTP: only requests whose path (e.g. /v1.0/users/{u}/messages/{id}/send) matches. */
  path?: RegExp;
  /** Apply to this many requests, then stop (default: until cleared). */
  count?: number;
}

/** One message as Microsoft accepted it. */
export interface SentMessage {
  at: number;
  via: 'graph-mime' | 'graph-json' | 'graph-draft' | 'smtp' | 'direct-send';
  tenantId: string;
  /** The sending mailbox (Graph path user; SMTP AUTH user; Direct Send: none). */
  mailbox?: string;
  /** Who authenticated: client id (app) or user address (delegated). */
  principal?: string;
  /** SMTP envelope (smtp, direct-send). */
  envelope?: { from: string; to: string[] };
  /**
   * Recipients Microsoft delivers to: the envelope for SMTP; for Graph the
   * To, Cc and Bcc header addresses of the MIME (or the JSON recipients).
   */
  recipients: string[];
  /** MIME as received: decoded from base64 for Graph MIME, raw for SMTP. For a draft: the draft's MIME. */
  mime: Buffer;
  /** Attachments added to a draft (attachment POSTs and upload sessions), in order. */
  attachments: {
    name: string;
    contentType: string;
    size: number;
    isInline: boolean;
    contentId?: string;
    content: Buffer;
    via: 'post' | 'upload-session';
  }[];
  /** Graph only: whether a copy was kept in Sent Items. */
  savedToSentItems?: boolean;
}

export interface RequestRecord {
  /** When the answer was finished (or the connection closed). */
  at: number;
  /** When the request arrived (HTTPS requests; SMTP records leave it out). */
  startedAt?: number;
  /** 'proxy': a CONNECT or absolute-form request to the forward proxy itself (path = its target). */
  service: 'token' | 'devicecode' | 'discovery' | 'authorize' | 'graph' | 'upload' | 'smtp' | 'proxy' | 'report-download';
  method: string;
  path: string;
  status: number;
  mailbox?: string;
  clientId?: string;
  /** Bytes in the request body. */
  bytes: number;
  /** Whether an Authorization header came with it (upload URLs must have none). */
  authorization: boolean;
  /** The query string as received ('?$filter=...'), when there was one. */
  query?: string;
  /** How it came through the forward proxy ('CONNECT graph.microsoft.com:443', 'forwarded https://graph.microsoft.com'); absent when direct. */
  proxy?: string;
}

/** A draft in a mailbox's Drafts folder (made by POST /users/{u}/messages, not yet sent or deleted). */
export interface EmulatorDraft {
  id: string;
  mailbox: string;
  createdAt: number;
  internetMessageId: string;
  /** The MIME it was made from (decoded), without the attachments added later. */
  mime: Buffer;
  /** Custom (X-) header fields kept as PS_INTERNET_HEADERS named properties: name as written, value unfolded. */
  internetHeaders: { name: string; value: string }[];
  attachments: SentMessage['attachments'];
}

/** A message in a mailbox's Sent Items or Deleted Items (mail-items.ts). */
export interface EmulatorItem {
  id: string;
  mailbox: string;
  folder: 'sentitems' | 'deleteditems';
  internetMessageId: string;
  createdAt: number;
  /** Listed through Graph from this time on (a sent copy appears sentItemsDelayMs after the send). */
  visibleAt: number;
  size: number;
}

export interface Emulator {
  /** https://127.0.0.1:PORT (Entra sign-in host; tenants live under it). */
  readonly authorityHost: string;
  /** https://127.0.0.1:PORT/v1.0 */
  readonly graphUrl: string;
  readonly smtpHost: string;
  readonly smtpPort: number;
  /** Port 25 behaviour (Direct Send: no AUTH, STARTTLS offered, accepted domains only). */
  readonly directSendPort: number;
  /** PEM of the emulator's test CA, and a file holding it. */
  readonly caPem: string;
  readonly caFile: string;
  /**
   * http://127.0.0.1:PORT, a forward proxy to this emulator for clients that only take a proxy
   * (they keep using login.microsoftonline.com and graph.microsoft.com; see forward-proxy.ts).
   */
  readonly proxyUrl: string;

  addTenant(t?: Partial<EmulatorTenant>): EmulatorTenant;
  addApp(tenantId: string, a?: Partial<Omit<EmulatorApp, 'tenantId'>>): EmulatorApp;
  addMailbox(tenantId: string, m: Partial<Omit<EmulatorMailbox, 'tenantId'>> & { address: string }): EmulatorMailbox;
  /** Change permissions or mailbox settings at any time (takes effect on the next token / request). */
  app(clientId: string): EmulatorApp;
  mailbox(address: string): EmulatorMailbox;
  /** Device code flow: the user signs in and approves the code shown to them. */
  approveDeviceCode(userCode: string, user: string): void;
  declineDeviceCode(userCode: string): void;
  /** Pending device codes (user codes), newest last. */
  pendingDeviceCodes(): string[];
  /** Revoke every refresh token issued to this user (AADSTS50173 on next use). */
  revokeRefreshTokens(user: string): void;

  /** Token lifetime in seconds (default 3599). */
  tokenLifetimeSeconds: number;
  /** Refresh token lifetime in seconds (default 90 days); past it, AADSTS700082. */
  refreshTokenLifetimeSeconds: number;
  /** Polling interval the device code answer tells clients (default 5 seconds). */
  deviceCodeIntervalSeconds: number;
  /** Device code lifetime (default 900 seconds); past it, expired_token. */
  deviceCodeLifetimeSeconds: number;
  /** Graph requests in flight per app + mailbox before 429 ApplicationThrottled (default 4). */
  graphMailboxConcurrency: number;
  /** How Graph refuses a body over 4 MB: '413' (default) or the observed '400' BadRequest variant. */
  graphTooLargeStyle: '413' | '400';
  /** SMTP AUTH limits per mailbox: connections at once (3), messages per minute (30). */
  smtpConcurrentConnections: number;
  smtpMessagesPerMinute: number;
  /**
   * Recipients per mailbox in any 24 hours over Graph and SMTP AUTH together
   * (10,000); over it, SMTP AUTH answers 554 5.2.0 SubmissionQuotaExceeded and
   * Graph ErrorSubmissionQuotaExceeded, and the mailbox stays blocked 24 hours.
   */
  recipientsPerDay: number;
  /** The mailbox's count of the last 24 hours and whether it is blocked. */
  dailyUse(mailbox: string): { recipients: number; blocked: boolean };

  fault(rule: FaultRule): void;
  clearFaults(): void;

  /** Rows of the tenant's email apps usage report (added to what is there). */
  addEmailAppUsage(tenantId: string, rows: EmailAppUsage[]): void;
  /** Sign-ins of the tenant's Entra sign-in logs (added to what is there). */
  addSignIns(tenantId: string, rows: EmulatorSignIn[]): void;
  /** The day the usage reports were last refreshed (YYYY-MM-DD); default: yesterday (UTC), as the reports lag 24 to 48 hours. */
  reportRefreshDate: string | undefined;
  /** Throttling: usage report requests per 10 minutes per app and tenant (14), per tenant for all apps (40); sign-in log requests per 10 s per app and tenant (5). */
  reportsPerTenMinutesPerApp: number;
  reportsPerTenMinutesPerTenant: number;
  signInsPerTenSecondsPerApp: number;

  sent(): SentMessage[];
  requests(): RequestRecord[];
  /** Drafts now in the Drafts folders (of one mailbox when given), oldest first. */
  drafts(mailbox?: string): EmulatorDraft[];
  /** The mailbox's Sent Items, also copies not listed yet; and its Deleted Items. */
  sentItems(mailbox: string): EmulatorItem[];
  deletedItems(mailbox: string): EmulatorItem[];
  /** How long after a send its copy appears in Sent Items (default 200 ms; Exchange files it a moment later). */
  sentItemsDelayMs: number;
  /** Highest number of Graph requests in flight at once for this mailbox (app + mailbox). */
  peakConcurrency(mailbox: string): number;
  /** Highest number of SMTP connections authenticated as this mailbox at once. */
  peakSmtpConnections(mailbox: string): number;
  reset(): void;
  close(): Promise<void>;
}
