/**
 * The one configuration schema. Everything the relay reads from YAML is
 * described here, validated once at start-up, and passed in frozen.
 * `authrelay config schema` exports it as JSON Schema for editors.
 */
import { fill } from '../core/i18n.js';
import { CONFIG_PROBLEM_TEXT as P } from './problem-texts.js';
import { z } from '../vendor/zod.js';
import { parseDuration, parseSize } from '../core/units.js';
import { migrationSchema } from './schema-migration.js';

/** Milliseconds from "30s", "5m", "2h", "5d" or a bare number of seconds; an issue otherwise. */
function toMs(v: string | number, ctx: z.RefinementCtx): number {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: fill(P.notDuration.en, { value: String(v) }), params: { text: 'notDuration', values: { value: String(v) } } });
    return z.NEVER;
  }
  return ms;
}

const duration = (dflt: string) =>
  z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform(toMs)
    .describe('A duration such as 30s, 5m, 2h, 5d (a bare number is seconds)');

/** A duration without a default: absent leaves the feature off. */
const optionalDuration = () =>
  z
    .union([z.string(), z.number()])
    .optional()
    .transform((v, ctx) => (v === undefined ? undefined : toMs(v, ctx)))
    .describe('A duration such as 30s, 5m, 2h, 5d (a bare number is seconds); absent: off');

/** The language of notices and alert e-mails; absent: chosen at start and at each reload from the relay's locale (report/report-language.ts). */
const reportLanguage = z.enum(['en', 'ja', 'both']).optional();

const size = (dflt: string) =>
  z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const bytes = typeof v === 'number' ? v : parseSize(v);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: fill(P.notSize.en, { value: String(v) }), params: { text: 'notSize', values: { value: String(v) } } });
        return z.NEVER;
      }
      return bytes;
    })
    .describe('A size such as 512KB, 25MB, 150MB (a bare number is bytes)');

const tlsVersion = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

export const listenerSchema = z
  .object({
    name: z.string().optional().describe('Shown in logs and the device inventory'),
    protocol: z
      .enum(['smtp', 'imap', 'pop3'])
      .default('smtp')
      .describe('smtp: devices send mail; imap or pop3: legacy readers log in as a device and read the mailboxes it may open, through the exchange-mailbox upstream named by upstream (docs/imap-pop.md)'),
    upstream: z
      .string()
      .optional()
      .describe('IMAP and POP3 listeners: the exchange-mailbox upstream that opens the mailboxes (required on them, not used on SMTP listeners)'),
    host: z.string().default('0.0.0.0').describe('Address to bind; use :: for all IPv6 and IPv4 addresses'),
    port: z.number().int().min(0).max(65535).describe('TCP port; 0 lets the system choose (tests)'),
    tls: z
      .enum(['none', 'starttls', 'implicit'])
      .default('starttls')
      .describe('none: plain SMTP only; starttls: offer STARTTLS; implicit: TLS from the first byte (port 465 style)'),
    minTlsVersion: tlsVersion
      .default('TLSv1.2')
      .describe('Oldest TLS version accepted. TLSv1 or TLSv1.1 makes this a legacy listener (weak ciphers allowed on it only)'),
    requireTls: z.boolean().default(false).describe('Refuse MAIL FROM until STARTTLS has been done (starttls listeners)'),
    requireAuth: z.boolean().default(false).describe('Every client must authenticate, even from a trusted network'),
    allowInsecureAuth: z
      .boolean()
      .default(false)
      .describe('Allow AUTH PLAIN/LOGIN without TLS (devices that cannot do TLS). Passwords cross the network in the clear'),
    authMethods: z.array(z.enum(['PLAIN', 'LOGIN'])).default(['PLAIN', 'LOGIN']),
    greetingDelay: duration('0s').describe(
      'Pause before the greeting; a client that talks before it is refused with 421 (early-talker protection). 0 greets at once',
    ),
    socketTimeout: duration('5m').describe('Idle time before a silent client is disconnected (at least 300s recommended)'),
    maxMessageSize: size('150MB').describe('Largest message accepted on this listener (advertised with SIZE)'),
    maxRecipients: z.number().int().min(1).default(1000),
    maxClients: z.number().int().min(1).default(500),
    cert: z.string().optional().describe('PEM certificate file for this listener (defaults to tls.cert)'),
    key: z.string().optional().describe('PEM private key file for this listener (defaults to tls.key)'),
    proxyProtocol: z
      .boolean()
      .default(false)
      .describe('Behind a TCP load balancer: every connection must start with a PROXY protocol header (v1 or v2, before TLS on implicit listeners) and the client address in it is used. Requires trustedProxies'),
    trustedProxies: z
      .array(z.string())
      .default([])
      .describe('Load balancer addresses (CIDR) that may connect to a proxyProtocol listener; connections from any other address are refused'),
    proxyHeaderTimeout: duration('5s').describe('How long a trusted proxy has to send the complete PROXY header before the connection is closed'),
  })
  .strict();

export const deviceSchema = z
  .object({
    name: z.string().min(1).describe('A name for the device, e.g. mfp-3f'),
    username: z.string().min(1).optional().describe('SMTP AUTH user name'),
    passwordHash: z
      .string()
      .regex(/^scrypt\$/, P.passwordHash.en)
      .optional(),
    networks: z.array(z.string()).default([]).describe('Trusted source networks in CIDR form (IPv4 or IPv6)'),
    sendAs: z.string().optional().describe('Mailbox the device sends as; unallowed From addresses are rewritten to it'),
    allowedFrom: z
      .array(z.string())
      .default([])
      .describe('From addresses the device may use: exact, *@domain, or * (empty: only sendAs)'),
    maxMessageSize: size('150MB'),
    rateLimit: z
      .object({ messages: z.number().int().min(1), per: duration('1m') })
      .strict()
      .optional()
      .describe('At most this many messages per period; more get a temporary 451'),
    bareLineEndings: z
      .enum(['normalize', 'reject'])
      .optional()
      .describe('Bare CR/LF/NUL in DATA: normalize to CRLF, or reject. Default: normalize for network-trusted devices, reject otherwise'),
    route: z.string().optional().describe('Upstream to use for this device (overrides the routes list)'),
    mailboxes: z
      .array(z.string())
      .default([])
      .describe('Mailboxes this device may read through the IMAP and POP3 listeners (a reader device); it can never open another. Empty: it reads none'),
  })
  .strict()
  .refine((d) => d.username !== undefined || d.networks.length > 0, {
    message: P.deviceNeedsAuth.en,
  })
  .refine((d) => (d.username === undefined) === (d.passwordHash === undefined), {
    message: P.userAndHash.en,
  });

const secret = z.string().describe('A secret: literal, ${ENV_VAR}, or file:/path/to/file');

export const smtpUpstreamSchema = z
  .object({
    type: z.literal('smtp'),
    host: z.string(),
    port: z.number().int().min(1).max(65535).default(587),
    tls: z.enum(['starttls', 'implicit', 'none']).default('starttls').describe('starttls requires STARTTLS (fails if not offered)'),
    rejectUnauthorized: z.boolean().default(true).describe('Check the upstream certificate (leave on)'),
    ca: z.string().optional().describe('PEM file with extra CA certificates to trust'),
    servername: z.string().optional(),
    auth: z
      .object({ user: z.string(), pass: secret, method: z.enum(['PLAIN', 'LOGIN']).optional() })
      .strict()
      .optional(),
    clientCert: z
      .object({ cert: z.string(), key: z.string() })
      .strict()
      .optional()
      .describe('Client certificate (PEM files) for certificate-based connectors such as Exchange Online'),
    helo: z.string().optional(),
    concurrency: z.number().int().min(1).default(4),
    pool: z.boolean().default(true).describe('Reuse connections between messages'),
    connectTimeout: duration('30s'),
    timeout: duration('10m').describe('Longest time for one message transfer'),
  })
  .strict();

/** Microsoft clouds: each has its own sign-in, Graph and SMTP hosts (see src/identity/entra/clouds.ts). */
export const cloudSchema = z
  .enum(['global', 'usgov', 'usgov-dod', 'china'])
  .default('global')
  .describe('Microsoft cloud: global (worldwide), usgov (GCC High), usgov-dod (DoD), china (21Vianet)');

/** Sign-in with Entra ID (an app registration); shared by the graph and smtp-oauth upstreams. */
const entraFields = {
  tenant: z.string().min(1).describe('Directory (tenant) ID or a verified domain, e.g. contoso.onmicrosoft.com'),
  clientId: z.string().min(1).describe('Application (client) ID of the app registration'),
  clientSecret: secret.optional().describe('Client secret VALUE (not its ID)'),
  certificate: z
    .object({
      key: z.string().describe('PEM private key file'),
      cert: z.string().describe('PEM certificate file (the one uploaded to the app registration)'),
      passphrase: secret.optional(),
    })
    .strict()
    .optional()
    .describe('Certificate credential instead of a client secret (recommended by Microsoft)'),
  cloud: cloudSchema,
  endpoints: z
    .object({
      authority: z.string().url().optional().describe('Sign-in host, e.g. https://login.microsoftonline.com (overrides the cloud)'),
      graph: z.string().url().optional().describe('Graph base URL, e.g. https://graph.microsoft.com/v1.0 (overrides the cloud)'),
      smtp: z.string().optional().describe('SMTP host[:port] for smtp-oauth, e.g. smtp.office365.com:587 (overrides the cloud)'),
    })
    .strict()
    .prefault({}),
  ca: z.string().optional().describe('PEM file with extra CA certificates to trust for sign-in, Graph and SMTP (private clouds, tests)'),
  proxy: z.string().url().optional().describe('Outbound HTTP(S) proxy for sign-in and Graph, e.g. http://proxy.local:8080'),
  mailbox: z
    .string()
    .optional()
    .describe("Mailbox this route sends as when the device has no sendAs (before the message's From address)"),
};

/**
 * Sign-in to the admin console with Entra ID (OpenID Connect, authorization
 * code with PKCE): a web app registration in one tenant; only the users
 * listed may sign in.
 */
const { mailbox: _mailbox, ...entraAppFields } = entraFields;
export const entraSignInSchema = z
  .object({
    ...entraAppFields,
    tenant: entraFields.tenant.refine((t) => !['common', 'organizations', 'consumers'].includes(t.toLowerCase()), {
      message: P.ownTenant.en,
    }),
    users: z
      .array(z.string().min(1))
      .min(1, P.atLeastOneUser.en)
      .describe('Who may sign in: user principal names (it@contoso.com) or object IDs; everyone else is refused'),
    redirectUri: z
      .string()
      .url()
      .optional()
      .describe('Redirect URI registered on the app (Web platform). Default: http://localhost:PORT/api/v1/session/entra/callback, PORT from admin.listen; needed when the console is reached by another name'),
  })
  .strict()
  .refine((u) => (u.clientSecret === undefined) !== (u.certificate === undefined), {
    message: P.entraOneCredential.en,
  });

/** What happens to the copy Exchange keeps in the sending mailbox's Sent Items folder (graph, smtp-oauth). */
const sentItemsSchema = z
  .enum(['keep', 'delete'])
  .default('keep')
  .describe("The copy of each sent message in the mailbox's Sent Items: keep it (Exchange's default), or delete it for good after the send (needs the Mail.ReadWrite application permission; for smtp-oauth, a Graph token of the same app)");

/** Exchange Online's recipient rate limit, per sending mailbox over every route and node (graph, smtp-oauth). */
const recipientsPerDaySchema = z
  .number()
  .int()
  .min(1)
  .default(9500)
  .describe('Recipients per sending mailbox in any 24 hours, counted over every upstream and node sending as it; Exchange Online allows 10,000 (the default leaves room for what people send from the mailbox)');
const dailyWarningSchema = z
  .number()
  .gt(0)
  .max(1)
  .default(0.8)
  .describe('Share of recipientsPerDay at which the log warns and the mailbox-budget alert fires');

export const graphUpstreamSchema = z
  .object({
    type: z.literal('graph'),
    ...entraFields,
    concurrency: z.number().int().min(1).default(8).describe('Messages in flight on this upstream at once (all mailboxes)'),
    mailboxConcurrency: z
      .number()
      .int()
      .min(1)
      .max(4)
      .default(4)
      .describe('Requests in flight per mailbox; Microsoft allows 4 per app and mailbox'),
    maxMessageSize: size('150MB').describe("Largest message sent (the tenant's maximum, 35MB by default, up to 150MB)"),
    timeout: duration('10m').describe('Longest time for one request'),
    recipientsPerDay: recipientsPerDaySchema,
    dailyWarning: dailyWarningSchema,
    sentItems: sentItemsSchema,
  })
  .strict()
  .refine((u) => (u.clientSecret === undefined) !== (u.certificate === undefined), {
    message: P.graphOneCredential.en,
  });

export const smtpOauthUpstreamSchema = z
  .object({
    type: z.literal('smtp-oauth'),
    ...entraFields,
    delegated: z
      .object({
        user: z.string().describe('The mailbox signed in with `authrelay oauth login UPSTREAM` (device code)'),
        scope: z.string().default('https://outlook.office.com/SMTP.Send offline_access'),
      })
      .strict()
      .optional()
      .describe('Delegated sign-in of one mailbox by device code, instead of an app credential'),
    port: z.number().int().min(1).max(65535).default(587),
    concurrency: z.number().int().min(1).default(4),
    mailboxConcurrency: z.number().int().min(1).default(3).describe('SMTP connections per mailbox at once'),
    messagesPerMinute: z.number().int().min(1).default(25).describe('Per mailbox; Exchange Online allows 30'),
    recipientsPerDay: recipientsPerDaySchema,
    dailyWarning: dailyWarningSchema,
    connectTimeout: duration('30s'),
    timeout: duration('10m'),
    sentItems: sentItemsSchema,
  })
  .strict()
  .refine((u) => [u.clientSecret, u.certificate, u.delegated].filter((x) => x !== undefined).length === 1, {
    message: P.smtpOauthOneCredential.en,
  })
  .refine((u) => !(u.delegated && u.sentItems === 'delete'), {
    message: P.sentItemsDelegated.en,
    path: ['sentItems'],
  });

export const directSendUpstreamSchema = z
  .object({
    type: z.literal('direct-send'),
    domain: z.string().min(1).describe('Your Microsoft 365 domain; its MX host (*.mail.protection.outlook.com) receives the mail'),
    acceptedDomains: z
      .array(z.string())
      .optional()
      .describe('Recipient domains Direct Send may deliver to (your accepted domains; default: domain only)'),
    mx: z.string().optional().describe('MX host to use instead of looking it up (host or host:port)'),
    port: z.number().int().min(1).max(65535).default(25),
    dnsServers: z.array(z.string()).optional().describe('DNS servers for the MX lookup (default: the system resolver)'),
    requireTls: z.boolean().default(false).describe('Fail instead of sending in the clear when STARTTLS is not offered'),
    ca: z.string().optional().describe('PEM file with extra CA certificates to trust'),
    rejectUnauthorized: z.boolean().default(true),
    helo: z.string().optional(),
    concurrency: z.number().int().min(1).default(4),
    connectTimeout: duration('30s'),
    timeout: duration('10m'),
  })
  .strict();

/**
 * The delegated permissions a signed-in user gives the IMAP/POP proxy
 * (global cloud): IMAP.AccessAsUser.All and POP.AccessAsUser.All of Office
 * 365 Exchange Online with the full resource URL (the short names fail), and
 * offline_access for a refresh token ("Authenticate an IMAP, POP or SMTP
 * connection using OAuth"). identity/entra/clouds.ts translates it to the
 * cloud's own Exchange resource.
 */
export const DEFAULT_MAILBOX_DELEGATED_SCOPE = 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All offline_access';

/**
 * Exchange Online mailboxes opened by IMAP and POP3 for legacy readers
 * (docs/imap-pop.md): an app registration with IMAP.AccessAsApp and/or
 * POP.AccessAsApp and app-only tokens for the cloud's Exchange resource, or
 * one user signed in by device code (delegated IMAP.AccessAsUser.All /
 * POP.AccessAsUser.All, the refresh token kept encrypted); then XOAUTH2 for
 * the mailbox a device may open. Not a delivery upstream: routes cannot use
 * it.
 */
export const exchangeMailboxUpstreamSchema = z
  .object({
    type: z.literal('exchange-mailbox'),
    ...entraAppFields,
    endpoints: z
      .object({
        authority: z.string().url().optional().describe('Sign-in host, e.g. https://login.microsoftonline.com (overrides the cloud)'),
        imap: z.string().optional().describe("IMAP host[:port] with implicit TLS (default: the cloud's, outlook.office365.com:993)"),
        pop3: z.string().optional().describe("POP3 host[:port] with implicit TLS (default: the cloud's, outlook.office365.com:995)"),
      })
      .strict()
      .prefault({}),
    ca: z.string().optional().describe('PEM file with extra CA certificates to trust for sign-in and the IMAP/POP3 server (private endpoints, tests)'),
    delegated: z
      .object({
        user: z
          .string()
          .describe('The user signed in with `authrelay oauth login UPSTREAM` (device code): the mailbox the devices read, or a user with FullAccess to the shared mailboxes they read'),
        scope: z.string().default(DEFAULT_MAILBOX_DELEGATED_SCOPE),
      })
      .strict()
      .optional()
      .describe('Delegated sign-in of one user by device code (IMAP.AccessAsUser.All / POP.AccessAsUser.All), instead of an app credential'),
    connectTimeout: duration('15s').describe('Connection and TLS handshake to the IMAP/POP3 server'),
    loginTimeout: duration('30s').describe('Longest wait for each line of the server during the XOAUTH2 login'),
  })
  .strict()
  .refine((u) => [u.clientSecret, u.certificate, u.delegated].filter((x) => x !== undefined).length === 1, {
    message: P.mailboxOneCredential.en,
  });

export const captureUpstreamSchema = z
  .object({
    type: z.literal('capture'),
  })
  .strict()
  .describe('Holds messages in the queue for inspection; nothing leaves the relay');

export const upstreamSchema = z.discriminatedUnion('type', [
  smtpUpstreamSchema,
  graphUpstreamSchema,
  smtpOauthUpstreamSchema,
  directSendUpstreamSchema,
  captureUpstreamSchema,
  exchangeMailboxUpstreamSchema,
]);

export const routeSchema = z
  .object({
    name: z.string().optional(),
    when: z
      .object({
        device: z.array(z.string()).optional().describe('Device names'),
        sender: z.array(z.string()).optional().describe('Envelope sender patterns: exact, *@domain, *'),
        recipientDomain: z.array(z.string()).optional().describe('Recipient domains (sub.example.com or *.example.com)'),
      })
      .strict()
      .prefault({}),
    use: z
      .union([z.string(), z.array(z.string()).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .describe('An upstream, or an ordered list: the first one, then the next when the first cannot take the mail (down past queue.fallbackAfter, sign-in or permission refused, a daily limit reached); never for a refusal about the message or a recipient'),
  })
  .strict();

/** The spool: SQLite in dataDir (one node), or PostgreSQL shared by several nodes (docs/postgresql.md). */
export const sqliteStoreSchema = z
  .object({
    type: z.literal('sqlite').default('sqlite'),
    path: z.string().optional().describe('Database file (default dataDir/queue/queue.db)'),
  })
  .strict();

export const postgresStoreSchema = z
  .object({
    type: z.literal('postgres'),
    url: secret.describe('postgres://USER:PASSWORD@HOST:5432/DATABASE (libpq parameters such as sslmode allowed); ${ENV_VAR} or file:/path/to/file'),
    poolSize: z.number().int().min(1).max(200).default(10).describe('Connections this node opens at most'),
    ssl: z
      .object({
        ca: z.string().optional().describe('PEM file with the CA certificates that signed the server certificate'),
        rejectUnauthorized: z.boolean().default(true).describe('Check the server certificate (leave on)'),
      })
      .strict()
      .optional()
      .describe('TLS to the server (or sslmode= in the URL)'),
    node: z
      .string()
      .min(1)
      .optional()
      .describe("This node's name in delivery leases, unique per node (default: system host name and process id). With a stable name a restarted node takes its unfinished messages back at once instead of after the lease"),
  })
  .strict();

export const storeSchema = z.discriminatedUnion('type', [sqliteStoreSchema, postgresStoreSchema]).prefault({});

export const configSchema = z
  .object({
    hostname: z.string().optional().describe('Name in the SMTP greeting and Received headers (default: system host name)'),
    publicAddress: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]))
      .describe("The name or address (or several) devices use to reach the relay, shown in the console's device settings, `device add` and at start-up. Default: this machine's own addresses and host name"),
    dataDir: z.string().default('./data').describe('Where the queue, certificates and state are kept'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(32)])
      .default(1)
      .describe(
        'How many processes receive SMTP: 1 (one process does everything), a number, or auto (one per CPU core, at most 8). ' +
        'The extra processes share the listening sockets and the store; deliveries, the console and the counts of failed logins stay in the main process (docs/architecture.md). Applies at the next start',
      ),
    shutdownTimeout: duration('30s').describe(
      'On SIGTERM/SIGINT: how long open SMTP sessions may take to finish their current message and deliveries in flight may take to finish; then sessions get 421 and deliveries are interrupted (retried later)',
    ),
    listeners: z
      .array(listenerSchema)
      .min(1)
      .prefault([
        { name: 'starttls', port: 2525, tls: 'starttls' },
        { name: 'implicit-tls', port: 2465, tls: 'implicit' },
      ]),
    tls: z
      .object({ cert: z.string().optional(), key: z.string().optional() })
      .strict()
      .prefault({})
      .describe('Default certificate for listeners; a self-signed RSA certificate is made in dataDir when absent'),
    devices: z.array(deviceSchema).default([]),
    trustLoopback: z
      .boolean()
      .default(true)
      .describe('Treat 127.0.0.1 and ::1 as a trusted device named "localhost" (for local tools and send-test)'),
    upstreams: z.record(z.string(), upstreamSchema).default({}),
    routes: z.array(routeSchema).default([]),
    secretKey: secret
      .optional()
      .describe('Key that encrypts stored sign-ins (refresh tokens) at rest; default: a random key kept in dataDir/secret.key (mode 0600)'),
    store: storeSchema,
    queue: z
      .object({
        maxLifetime: duration('5d').describe('Give up and send a non-delivery notice after this long'),
        minBackoff: duration('1m'),
        maxBackoff: duration('1h'),
        destinationMinBackoff: duration('30s').describe('First pause after an upstream is found down'),
        destinationMaxBackoff: duration('10m'),
        lease: duration('5m').describe('How long a delivery attempt owns a message before others may take it'),
        fallbackAfter: duration('5m').describe("How long an upstream may be down (paused after connection failures) before its messages go to the next upstream of their route's list"),
        pollInterval: duration('1s'),
        keepDelivered: duration('1d').describe('Keep delivered message bodies this long (metadata stays)'),
      })
      .strict()
      .prefault({}),
    notices: z
      .object({
        toSender: z.boolean().default(true).describe('Send non-delivery notices to the envelope sender when it is a real mailbox'),
        admin: z.string().optional().describe('Address that gets a copy of every non-delivery notice'),
        from: z.string().optional().describe('From address of notices (default MAILER-DAEMON@hostname)'),
        language: reportLanguage.describe('Language of the human-readable part and the Subject of notices: en, ja or both (Japanese first). Default: both when the relay\'s locale (LC_ALL, LC_MESSAGES, LANG) is Japanese, else en'),
      })
      .strict()
      .prefault({}),
    security: z
      .object({
        authFailureLimit: z.number().int().min(1).default(5).describe('Failed logins before an IP or user name is locked out'),
        authFailureWindow: duration('15m'),
        lockoutDuration: duration('15m'),
        authFailureDelay: duration('1s').describe('Pause before answering a failed login'),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        enabled: z.boolean().default(true).describe('Run the admin HTTP server (/metrics, /healthz, /readyz, the console)'),
        listen: z
          .string()
          .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, P.hostPort.en)
          .default('127.0.0.1:8025')
          .describe('host:port of the admin HTTP server. Loopback by default; another address exposes /metrics, /healthz and /readyz to that network without sign-in'),
        sessionLifetime: duration('8h').describe('How long an admin sign-in lasts before the password is asked again'),
        entraSignIn: entraSignInSchema.optional().describe('Sign-in to the console with Entra ID (OpenID Connect), for the users listed'),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        webhook: z
          .object({
            url: z.string().url().describe('Receives a JSON POST per alert (raised and resolved)'),
            headers: z.record(z.string(), secret).default({}).describe('Extra request headers, e.g. Authorization: "Bearer ${ALERT_TOKEN}"'),
            timeout: duration('10s').describe('Longest time for one POST'),
            retries: z.number().int().min(0).max(10).default(3).describe('Further tries after a failed POST (1s, 2s, 4s... apart)'),
          })
          .strict()
          .optional(),
        email: z
          .object({
            to: z
              .union([z.string(), z.array(z.string()).min(1)])
              .transform((v) => (Array.isArray(v) ? v : [v]))
              .describe('Address(es) that get alert e-mails, queued through the relay itself'),
            from: z.string().optional().describe('From address of alert e-mails (default: authrelay@hostname)'),
          })
          .strict()
          .optional(),
        language: reportLanguage.describe('Language of alert e-mails: en, ja or both (Japanese first); the webhook always carries both. Default: notices.language (set or defaulted)'),
        failedMessages: z.boolean().default(true).describe('Alert when a message fails (once per route until no failed message is left on it)'),
        queueDepth: z.number().int().min(1).optional().describe('Alert when more messages than this are waiting'),
        queueAge: optionalDuration().describe('Alert when a message has been waiting longer than this'),
        upstreamDown: optionalDuration().describe('Alert when a route has been unreachable (paused) this long'),
        expiryWarning: optionalDuration().describe('Alert this long before a certificate or client secret expires, e.g. 14d'),
        secretExpires: z
          .record(z.string(), z.string().regex(/^\d{4}-\d{2}-\d{2}/, P.dateExpiry.en))
          .default({})
          .describe('Client secret expiry dates by upstream name, as shown in Entra ID (the relay cannot read them)'),
        checkInterval: duration('1m').describe('How often the alert conditions are checked'),
      })
      .strict()
      .prefault({}),
    migration: migrationSchema(entraAppFields).optional(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type DeviceConfig = z.output<typeof deviceSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type SmtpUpstreamConfig = z.output<typeof smtpUpstreamSchema>;
export type GraphUpstreamConfig = z.output<typeof graphUpstreamSchema>;
export type SmtpOauthUpstreamConfig = z.output<typeof smtpOauthUpstreamSchema>;
export type DirectSendUpstreamConfig = z.output<typeof directSendUpstreamSchema>;
/** The Entra sign-in settings of a graph or smtp-oauth upstream. */
export type EntraUpstreamConfig = GraphUpstreamConfig | SmtpOauthUpstreamConfig;
export type ExchangeMailboxUpstreamConfig = z.output<typeof exchangeMailboxUpstreamSchema>;
/** Every upstream that gets Entra tokens (token providers take any of them). */
export type EntraAppUpstreamConfig = EntraUpstreamConfig | ExchangeMailboxUpstreamConfig;
/** The upstreams messages can be delivered through (routes and devices may use them). */
export type DeliveryUpstreamConfig = Exclude<UpstreamConfig, ExchangeMailboxUpstreamConfig>;
export type ListenerProtocol = ListenerConfig['protocol'];

/** An upstream that only serves IMAP/POP3 readers (never a delivery route). */
export function isMailboxUpstream(u: UpstreamConfig | undefined): u is ExchangeMailboxUpstreamConfig {
  return u?.type === 'exchange-mailbox';
}

/** The upstreams messages can be delivered through, by name (exchange-mailbox upstreams left out). */
export function deliveryUpstreams(upstreams: Readonly<Record<string, UpstreamConfig>>): [string, DeliveryUpstreamConfig][] {
  return Object.entries(upstreams).filter((e): e is [string, DeliveryUpstreamConfig] => !isMailboxUpstream(e[1]));
}
export type MicrosoftCloud = z.output<typeof cloudSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type StoreConfig = z.output<typeof storeSchema>;
export type PostgresStoreConfig = z.output<typeof postgresStoreSchema>;
export type EntraSignInConfig = z.output<typeof entraSignInSchema>;
export type MigrationConfig = NonNullable<Config['migration']>;
