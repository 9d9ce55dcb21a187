/**
 * Legacy readers in `doctor` (docs/imap-pop.md): each exchange-mailbox
 * upstream — the sign-in and mail hosts reachable, an app token for
 * Exchange Online with the IMAP.AccessAsApp / POP.AccessAsApp role its
 * listeners need (or, with a delegated sign-in, a token renewed from the
 * stored refresh token with IMAP.AccessAsUser.All / POP.AccessAsUser.All),
 * then a real XOAUTH2 login to every mailbox a device may
 * open (the same login the proxy makes; nothing is read or changed) with
 * the server's capability list — and each IMAP/POP3 listener's TLS
 * settings and, when the port is taken, whether authrelay answers there.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Config, ExchangeMailboxUpstreamConfig, ListenerConfig } from '../config/schema.js';
import { asIs, joinTexts, NO_TEXT, type Text } from '../core/i18n.js';
import { explainTokenError } from '../deliver/microsoft/catalogue.js';
import { delegatedScopes, resolveEndpoints } from '../identity/entra/clouds.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import { TokenError, type AccessToken } from '../identity/entra/token-provider.js';
import { requiredPermission } from '../proxy/common/failure-catalogue.js';
import type { MailProtocol } from '../proxy/common/types.js';
import { tokenFacts } from '../proxy/common/xoauth2.js';
import { exchangeMailboxEndpoint } from '../proxy/exchange-endpoints.js';
import { tryMailboxLogin } from '../proxy/mailbox-check.js';
import { checkCredential } from './microsoft.js';
import { checkEndpoint } from './network.js';
import type { AddCheck } from './report.js';
import { READER_FAILURE, READER_TEXT as R } from './reader-texts.js';
import { both, explained, DOCTOR_TEXT as T } from './texts.js';

/** At most this many mailboxes are logged in to per upstream and protocol (each login takes a second or so). */
const MAX_MAILBOXES = 20;

const NAME: Record<MailProtocol, string> = { imap: 'IMAP', pop3: 'POP3' };

/** What the configuration asks of an exchange-mailbox upstream: the protocols of its listeners, the devices' mailboxes. */
export function readerNeeds(config: Config, upstream: string): { protocols: MailProtocol[]; mailboxes: string[] } {
  const protocols = new Set<MailProtocol>();
  for (const l of config.listeners) if (l.upstream === upstream && (l.protocol === 'imap' || l.protocol === 'pop3')) protocols.add(l.protocol);
  const mailboxes = new Map<string, string>();
  for (const d of config.devices) for (const m of d.mailboxes) if (!mailboxes.has(m.toLowerCase())) mailboxes.set(m.toLowerCase(), m);
  return { protocols: [...protocols].sort(), mailboxes: [...mailboxes.values()] };
}

export interface MailboxUpstreamCheckOptions {
  tokens: () => Promise<TokenProviders>;
  timeoutMs: number;
  now: number;
  protocols: readonly MailProtocol[];
  mailboxes: readonly string[];
}

export async function checkMailboxUpstream(add: AddCheck, id: string, name: string, cfg: ExchangeMailboxUpstreamConfig, o: MailboxUpstreamCheckOptions): Promise<void> {
  if (o.protocols.length === 0) add({ id: `${id}.listeners`, status: 'warn', title: R.noReaderListener, fix: both(R.noReaderListenerFix, { name }) });
  const ep = resolveEndpoints(cfg);
  const ca = cfg.ca ? readFileSync(cfg.ca, 'utf8') : undefined;
  const timeoutMs = Math.min(o.timeoutMs, cfg.connectTimeout);
  let reachable = true;
  if (cfg.proxy) add({ id: `${id}.proxy`, status: 'info', title: both(T.proxySignIn, { host: new URL(cfg.proxy).host }) });
  else {
    const u = new URL(ep.authorityHost);
    reachable = await checkEndpoint(add, { id: `${id}.sign-in`, host: u.hostname, port: u.port ? Number(u.port) : 443, tls: 'implicit', ca, timeoutMs });
  }
  const servers = new Map<MailProtocol, boolean>();
  for (const protocol of o.protocols) {
    const e = exchangeMailboxEndpoint(protocol, cfg.cloud, cfg.endpoints[protocol]);
    servers.set(protocol, await checkEndpoint(add, { id: `${id}.${protocol}`, host: e.host, port: e.port, tls: 'implicit', ca, timeoutMs }));
  }
  checkCredential(add, id, cfg, o.now);
  if (!reachable) {
    add({ id: `${id}.token`, status: 'info', title: T.unreachableSkip });
    return;
  }
  const token = await checkExchangeToken(add, id, name, cfg, await o.tokens(), o.timeoutMs);
  if (!token) return;
  const facts = tokenFacts(token.token);
  const user = cfg.delegated?.user;
  for (const protocol of o.protocols) {
    const role = requiredPermission(protocol, user === undefined);
    // Delegated scopes may come as names (scp) or with their resource (the token answer's scope list).
    const has = token.permissions.some((p) => p.toLowerCase() === role.toLowerCase() || p.toLowerCase().endsWith(`/${role.toLowerCase()}`));
    if (has) add({ id: `${id}.${protocol}.role`, status: 'pass', title: both(user ? R.scopePresent : R.rolePresent, { role, scope: role, protocol: NAME[protocol] }) });
    else {
      add(user
        ? { id: `${id}.${protocol}.role`, status: 'fail', title: both(R.scopeMissing, { scope: role, protocol: NAME[protocol] }), fix: both(R.scopeMissingFix, { scope: role, appId: cfg.clientId, name }) }
        : { id: `${id}.${protocol}.role`, status: 'fail', title: both(R.roleMissing, { role, protocol: NAME[protocol] }), fix: both(R.roleMissingFix, { role, appId: cfg.clientId }) });
      add({ id: `${id}.${protocol}.login`, status: 'info', title: both(R.loginSkipped, { protocol: NAME[protocol], role }) });
      continue;
    }
    if (!servers.get(protocol)) {
      add({ id: `${id}.${protocol}.login`, status: 'info', title: T.unreachableSkip });
      continue;
    }
    if (o.mailboxes.length === 0) {
      add({ id: `${id}.${protocol}.login`, status: 'info', title: R.noMailbox });
      continue;
    }
    const getToken = async () => ({ token: token.token, permissions: token.permissions });
    const tried = o.mailboxes.slice(0, MAX_MAILBOXES);
    for (const mailbox of tried) {
      const loginId = `${id}.${protocol}.login.${mailbox.toLowerCase()}`;
      const opened = await tryMailboxLogin(cfg, protocol, mailbox, getToken, o.timeoutMs);
      const server = opened.server;
      if (opened.ok) {
        const caps = opened.capabilities;
        const detail = caps ? both(R.capabilities, { caps }) : R.capabilitiesNone;
        const noIdle = protocol === 'imap' && caps !== undefined && !/(^| )IDLE( |$)/i.test(caps);
        add({
          id: loginId, status: noIdle ? 'warn' : 'pass', title: both(R.loginPass, { protocol: NAME[protocol], mailbox, server, tls: opened.tlsVersion ?? '?' }),
          detail: noIdle ? joinTexts([detail, R.capabilitiesNoIdle]) : detail,
        });
        continue;
      }
      const casFlag = protocol === 'imap' ? '-ImapEnabled' : '-PopEnabled';
      if (user && (opened.failure.kind === 'auth-failed' || opened.failure.kind === 'not-connected')) {
        add({
          id: loginId, status: 'fail', title: both(R.loginFail, { protocol: NAME[protocol], mailbox, server, kind: both(R.delegatedRefused, { user, protocol: NAME[protocol] }) }),
          detail: both(R.serverSaid, { text: opened.failure.upstreamText.slice(0, 300) }), fix: both(R.delegatedRefusedFix, { user, mailbox, casFlag }),
        });
        continue;
      }
      const f = READER_FAILURE[opened.failure.kind];
      const oid = opened.token?.objectId ?? facts?.objectId ?? '<Enterprise application object id>';
      const appId = opened.token?.appId ?? cfg.clientId;
      const values = {
        role: requiredPermission(protocol, user === undefined), appId, mailbox, server, casFlag,
        registerSp: `New-ServicePrincipal -AppId ${appId} -ObjectId ${oid}`,
        grantMailbox: `Add-MailboxPermission -Identity ${mailbox} -User ${oid} -AccessRights FullAccess`,
      };
      const temporary = opened.failure.kind === 'throttled' || opened.failure.kind === 'unreachable';
      add({
        id: loginId, status: temporary ? 'warn' : 'fail', title: both(R.loginFail, { protocol: NAME[protocol], mailbox, server, kind: both(f.kind, values) }),
        detail: both(R.serverSaid, { text: opened.failure.upstreamText.slice(0, 300) }), fix: both(f.fix, values),
      });
    }
    if (tried.length < o.mailboxes.length) add({ id: `${id}.${protocol}.login.more`, status: 'info', title: both(R.tooManyMailboxes, { checked: tried.length, total: o.mailboxes.length }) });
  }
}

/** A token for the cloud's Exchange resource (app-only, or the delegated sign-in's), or undefined after a failed check was added. */
async function checkExchangeToken(add: AddCheck, id: string, name: string, cfg: ExchangeMailboxUpstreamConfig, tokens: TokenProviders, timeoutMs: number): Promise<AccessToken | undefined> {
  try {
    const provider = tokens.get(name, cfg, 'smtp');
    const token = await provider.getToken(AbortSignal.timeout(timeoutMs));
    const permissions = token.permissions.length ? token.permissions.join(', ') : R.rolesNone;
    const until = new Date(token.expiresAt).toISOString();
    add(cfg.delegated
      ? {
        id: `${id}.token`, status: 'pass', title: both(R.delegatedTokenIssued, { scope: delegatedScopes(cfg, cfg.delegated.scope).join(' ') }),
        detail: both(R.delegatedTokenDetail, { provider: provider.description, scopes: permissions, until }),
      }
      : {
        id: `${id}.token`, status: 'pass', title: both(R.tokenIssued, { scope: resolveEndpoints(cfg).smtpScope }),
        detail: both(R.tokenDetail, { provider: provider.description, roles: permissions, until }),
      });
    return token;
  } catch (err) {
    if (!(err instanceof TokenError)) {
      add({ id: `${id}.token`, status: 'fail', title: T.credentialUnusable, detail: asIs((err as Error).message), fix: T.credentialUnusableFix });
      return undefined;
    }
    const e = explainTokenError(err, { reader: cfg.delegated !== undefined, upstream: name, appId: cfg.clientId, tenant: cfg.tenant, ...(cfg.delegated ? { mailbox: cfg.delegated.user } : {}) });
    // An error the catalogue does not know keeps the sign-in service's own words in both languages.
    const { hint, fix } = explained({ hint: e.hint ?? '', fix: e.fix ?? '', ja: { hint: e.ja?.hint ?? e.hint ?? '', fix: e.ja?.fix ?? e.fix ?? '' } });
    add({
      id: `${id}.token`, status: 'fail', title: both(T.tokenRefused, { message: err.message }),
      detail: joinTexts([hint, e.ref ? both(T.reference, { ref: e.ref }) : undefined]), fix: fix ?? NO_TEXT, ...(e.ref ? { ref: e.ref } : {}),
    });
    return undefined;
  }
}

/** The IMAP/POP3 listeners: what each serves and its TLS; when its port is taken, whether authrelay answers there (and with which TLS). */
export async function checkReaderListener(add: AddCheck, id: string, name: string, l: ListenerConfig, config: Config): Promise<void> {
  const protocol = l.protocol as MailProtocol;
  const up = l.upstream ? config.upstreams[l.upstream] : undefined;
  const server = up?.type === 'exchange-mailbox' ? (() => {
    const e = exchangeMailboxEndpoint(protocol, up.cloud, up.endpoints[protocol]);
    return `${e.host}:${e.port}`;
  })() : '?';
  const tls: Text = l.tls === 'implicit' ? both(R.tlsImplicit, { min: l.minTlsVersion }) : l.tls === 'starttls' ? both(R.tlsStarttls, { min: l.minTlsVersion }) : R.tlsNone;
  add({ id: `${id}.reader`, status: 'info', title: both(R.listenerSummary, { name, protocol: NAME[protocol], where: `${l.host}:${l.port}`, tls, upstream: l.upstream ?? '?', server }) });
  if (l.tls !== 'none' && (l.minTlsVersion === 'TLSv1' || l.minTlsVersion === 'TLSv1.1')) {
    add({ id: `${id}.legacy-tls`, status: 'info', title: both(R.legacyTls, { name, min: l.minTlsVersion }), detail: R.legacyTlsDetail, fix: R.legacyTlsFix });
  }
  if (l.tls === 'none' && l.allowInsecureAuth) add({ id: `${id}.plain`, status: 'warn', title: both(R.plainPasswords, { name }), fix: R.plainPasswordsFix });
}

/**
 * For a reader listener whose port is taken: the greeting (after implicit
 * TLS, or before STARTTLS/STLS) and the TLS version and certificate, or
 * undefined when nothing answers like authrelay.
 */
export function readerGreeting(l: ListenerConfig): Promise<{ greeting: string; tls?: { version: string; subject: string } } | undefined> {
  const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
  const protocol = l.protocol as MailProtocol;
  const ok = (line: string) => (protocol === 'imap' ? /^\* OK\b/i.test(line) : /^\+OK\b/i.test(line));
  return new Promise((resolve) => {
    const raw = netConnect({ host, port: l.port });
    let current: Socket | TLSSocket = raw;
    let greeting: string | undefined;
    let text = '';
    const finish = (v: { greeting: string; tls?: { version: string; subject: string } } | undefined) => {
      clearTimeout(timer);
      current.destroy();
      raw.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(greeting ? { greeting } : undefined), 5_000);
    const tlsOf = (t: TLSSocket) => {
      const c = t.getPeerCertificate();
      const cn = c?.subject?.CN;
      return { version: t.getProtocol() ?? '?', subject: (Array.isArray(cn) ? cn[0] : cn) ?? '?' };
    };
    const upgrade = (after: (t: TLSSocket) => void) => {
      const t = tlsConnect({ socket: raw, rejectUnauthorized: false, minVersion: 'TLSv1', ...(l.minTlsVersion === 'TLSv1' || l.minTlsVersion === 'TLSv1.1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}) });
      current = t;
      t.once('secureConnect', () => after(t));
      t.on('error', () => finish(greeting ? { greeting } : undefined));
    };
    const onLine = (line: string) => {
      if (greeting === undefined) {
        greeting = line;
        if (!ok(line)) return finish(undefined);
        if (l.tls !== 'starttls') return finish({ greeting, ...(current !== raw ? { tls: tlsOf(current as TLSSocket) } : {}) });
        raw.write(protocol === 'imap' ? 'S STARTTLS\r\n' : 'STLS\r\n');
        return;
      }
      // The answer to STARTTLS / STLS: go ahead, then the handshake.
      if ((protocol === 'imap' && /^S OK/i.test(line)) || (protocol === 'pop3' && /^\+OK/i.test(line))) {
        raw.removeAllListeners('data');
        upgrade((t) => finish({ greeting: greeting!, tls: tlsOf(t) }));
      } else finish({ greeting: greeting! });
    };
    const read = (s: Socket | TLSSocket) => s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      let i;
      while ((i = text.indexOf('\r\n')) >= 0) {
        const line = text.slice(0, i);
        text = text.slice(i + 2);
        onLine(line);
      }
    });
    raw.on('error', () => finish(undefined));
    raw.once('connect', () => {
      const start = () => {
        if (l.tls === 'implicit') upgrade((t) => read(t));
        else read(raw);
      };
      if (l.proxyProtocol) raw.write('PROXY UNKNOWN\r\n', start);
      else start();
    });
  });
}
