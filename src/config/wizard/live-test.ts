/**
 * "Test the credentials live" for `authrelay init`, with the validated
 * config: for graph and smtp-oauth an app token is requested from Entra ID
 * (TokenProviders, as the relay does) and the permissions in its `roles`
 * claim are compared with what the route needs; a refusal is explained with
 * the error catalogue's text and fix. For Direct Send the domain's MX host
 * is looked up; another SMTP relay is probed (smtp-probe.ts: greeting, EHLO,
 * STARTTLS or TLS on connect, the certificate) and the settings about to be
 * written are checked against what it offers. For legacy readers the
 * token's IMAP.AccessAsApp / POP.AccessAsApp roles are checked, the
 * Exchange Online lines are given with the ids the token carries, and each
 * mailbox is logged in to with XOAUTH2 (proxy/mailbox-check.ts, as doctor
 * does); nothing is read. No message is sent. The
 * lines are in `opts.lang` (texts.ts); Microsoft's and the relay's own
 * answers as they are, the catalogue's explanations in Japanese where it has them.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config, EntraUpstreamConfig, ExchangeMailboxUpstreamConfig, SmtpUpstreamConfig } from '../schema.js';
import { createLogger } from '../../core/log.js';
import type { InitAnswers } from './answers.js';
import { UPSTREAM_NAME } from './config-document.js';
import { neededPermissions, readerCommands, readerRoles } from './steps.js';
import { probeSmtp, type ProbeOptions, type SmtpProbe } from './smtp-probe.js';
import { checkSettings, describeProbe } from './smtp-probe-proposal.js';
import type { Lang } from '../../core/i18n.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { WIZARD_TEXT as T, wz } from './texts.js';

export interface LiveResult {
  ok: boolean;
  /** False when nothing could be tested (e.g. a delegated route before its sign-in). */
  tested: boolean;
  /** For an SMTP relay: what the probe found. */
  probe?: SmtpProbe;
}

export interface LiveOptions {
  /** A probe of the same relay made already (it proposed the settings): it is not repeated. */
  probe?: SmtpProbe | undefined;
  /** The language of the lines (default English). */
  lang?: Lang | undefined;
}

type Say = (line?: string) => void;

export async function liveTest(a: InitAnswers, config: Config, say: Say, opts: LiveOptions = {}): Promise<LiveResult> {
  const name = UPSTREAM_NAME[a.route];
  const upstream = name ? config.upstreams[name] : undefined;
  const lang = opts.lang ?? 'en';
  if (!upstream || !name) return { ok: true, tested: false };
  if (upstream.type === 'graph' || (upstream.type === 'smtp-oauth' && !upstream.delegated)) return tokenTest(a, name, upstream, say, lang);
  if (upstream.type === 'smtp-oauth') {
    say(wz(T.delegatedLater, lang, { name }));
    return { ok: true, tested: false };
  }
  if (upstream.type === 'direct-send') return mxTest(upstream.domain, upstream.dnsServers, say, lang);
  if (upstream.type === 'smtp') return smtpTest(upstream, config, say, opts.probe, lang);
  if (upstream.type === 'exchange-mailbox') return readersTest(a, name, upstream, say, lang);
  return { ok: true, tested: false };
}

/** At most this many mailboxes are logged in to per protocol (each login takes a second or so). */
const MAX_READER_LOGINS = 10;

/**
 * Legacy readers: an app token for Exchange Online and the IMAP.AccessAsApp /
 * POP.AccessAsApp roles its listeners need; the Exchange Online lines with
 * the ids the token carries (the Enterprise application's object id is its
 * `oid`); then a real XOAUTH2 login to each mailbox (proxy/mailbox-check.ts,
 * as doctor makes it), with the fix when Exchange refuses.
 */
async function readersTest(a: InitAnswers, name: string, cfg: ExchangeMailboxUpstreamConfig, say: Say, lang: Lang): Promise<LiveResult> {
  const [{ TokenProviders }, { TokenError }, { explainTokenError }, { tokenFacts }, { requiredPermission }, { tryMailboxLogin }, { READER_FAILURE }, { exchangeMailboxEndpoint }] = await Promise.all([
    import('../../identity/entra/providers.js'),
    import('../../identity/entra/token-provider.js'),
    import('../../deliver/microsoft/catalogue.js'),
    import('../../proxy/common/xoauth2.js'),
    import('../../proxy/common/failure-catalogue.js'),
    import('../../proxy/mailbox-check.js'),
    import('../../proxy/common/failure-texts.js'),
    import('../../proxy/exchange-endpoints.js'),
  ]);
  const providers = new TokenProviders({ dataDir: '', secretKey: undefined, log: createLogger('silent'), recordStatus: false, signInRenewalMs: 0 });
  try {
    const provider = providers.get(name, cfg, 'smtp');
    say(wz(T.requestingToken, lang, { provider: provider.description }));
    let token;
    try {
      token = await provider.getToken(AbortSignal.timeout(60_000));
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      return sayTokenRefusal(explainTokenError(err, { appId: cfg.clientId, tenant: cfg.tenant, upstream: name }), err.message, lang, say);
    }
    say(wz(T.signedIn, lang, { until: new Date(token.expiresAt).toISOString() }));
    say(wz(T.tokenRoles, lang, { permissions: token.permissions.length ? token.permissions.join(', ') : wz(T.none, lang) }));
    const has = new Set(token.permissions.map((r) => r.toLowerCase()));
    let ok = true;
    for (const role of readerRoles(a)) {
      const granted = has.has(role.toLowerCase());
      if (!granted) ok = false;
      say(wz(granted ? T.permissionGranted : T.readersRoleMissing, lang, { name: role }));
    }
    const facts = tokenFacts(token.token);
    const appId = facts?.appId ?? cfg.clientId;
    const mailboxes = a.readers?.mailboxes ?? [];
    const lines = readerCommands(appId, facts?.objectId, mailboxes);
    say(wz(T.readersIds, lang, { app: appId, objectId: facts?.objectId ?? wz(T.none, lang) }));
    for (const l of [lines.servicePrincipal, ...lines.mailboxes]) say(`    ${l}`);
    const getToken = async () => ({ token: token.token, permissions: token.permissions });
    const protocols = [...(a.readers?.imapPort !== undefined ? ['imap' as const] : []), ...(a.readers?.pop3Port !== undefined ? ['pop3' as const] : [])];
    for (const protocol of protocols) {
      const label = protocol === 'imap' ? 'IMAP' : 'POP3';
      const role = requiredPermission(protocol, true);
      if (!has.has(role.toLowerCase())) {
        say(wz(T.readersLoginSkipped, lang, { protocol: label, role }));
        continue;
      }
      const tried = mailboxes.slice(0, MAX_READER_LOGINS);
      for (const mailbox of tried) {
        const e = exchangeMailboxEndpoint(protocol, cfg.cloud, cfg.endpoints[protocol]);
        say(wz(T.readersTrying, lang, { mailbox, protocol: label, server: `${e.host}:${e.port}` }));
        const r = await tryMailboxLogin(cfg, protocol, mailbox, getToken, 30_000);
        if (r.ok) {
          say(wz(T.readersLoginOk, lang, { protocol: label, mailbox, tls: r.tlsVersion ?? '?', caps: r.capabilities ?? wz(T.none, lang) }));
          continue;
        }
        ok = false;
        const oid = r.token?.objectId ?? facts?.objectId ?? '<enterprise app object id>';
        const values = {
          role, appId, mailbox, server: r.server, casFlag: protocol === 'imap' ? '-ImapEnabled' : '-PopEnabled',
          registerSp: `New-ServicePrincipal -AppId ${appId} -ObjectId ${oid}`,
          grantMailbox: `Add-MailboxPermission -Identity ${mailbox} -User ${oid} -AccessRights FullAccess`,
        };
        const f = READER_FAILURE[r.failure.kind];
        say(wz(T.readersLoginRefused, lang, { protocol: label, mailbox, kind: wz(f.kind, lang, values) }));
        say(wz(T.readersServerSaid, lang, { text: r.failure.upstreamText.slice(0, 300) }));
        say(wz(T.whatToDo, lang, { fix: wz(f.fix, lang, values) }));
      }
      if (tried.length < mailboxes.length) say(wz(T.readersMore, lang, { checked: tried.length, total: mailboxes.length }));
    }
    return { ok, tested: true };
  } finally {
    providers.close();
  }
}

async function tokenTest(a: InitAnswers, name: string, cfg: EntraUpstreamConfig, say: Say, lang: Lang): Promise<LiveResult> {
  const resource = cfg.type === 'graph' ? 'graph' : 'smtp';
  const [{ TokenProviders }, { TokenError }, { explainTokenError }] = await Promise.all([
    import('../../identity/entra/providers.js'),
    import('../../identity/entra/token-provider.js'),
    import('../../deliver/microsoft/catalogue.js'),
  ]);
  const providers = new TokenProviders({ dataDir: '', secretKey: undefined, log: createLogger('silent'), recordStatus: false, signInRenewalMs: 0 });
  try {
    const provider = providers.get(name, cfg, resource);
    say(wz(T.requestingToken, lang, { provider: provider.description }));
    const token = await provider.getToken(AbortSignal.timeout(60_000));
    say(wz(T.signedIn, lang, { until: new Date(token.expiresAt).toISOString() }));
    say(wz(T.tokenRoles, lang, { permissions: token.permissions.length ? token.permissions.join(', ') : wz(T.none, lang) }));
    const need = neededPermissions(a.route, lang);
    const has = new Set(token.permissions.map((r) => r.toLowerCase()));
    for (const r of need.required) say(wz(has.has(r.toLowerCase()) ? T.permissionGranted : T.permissionMissing, lang, { name: r }));
    for (const o of need.optional) say(wz(has.has(o.name.toLowerCase()) ? T.permissionGranted : T.permissionOptional, lang, { name: o.name, why: o.why }));
    return { ok: true, tested: true };
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return sayTokenRefusal(explainTokenError(err, { appId: cfg.clientId, tenant: cfg.tenant, upstream: name, mailbox: a.mailbox }), err.message, lang, say);
  } finally {
    providers.close();
  }
}

async function mxTest(domain: string, dnsServers: string[] | undefined, say: Say, lang: Lang): Promise<LiveResult> {
  const [{ MxLookup, isMicrosoftMx }, { directSendWarningTexts, foreignMxText }] = await Promise.all([
    import('../../deliver/direct-send/mx.js'),
    import('../../deliver/direct-send/warnings-text.js'),
  ]);
  say(wz(T.mxLooking, lang, { domain }));
  try {
    const target = await new MxLookup({ domain, ...(dnsServers?.length ? { dnsServers } : {}) }).resolve();
    say(wz(T.mxHost, lang, { host: target.host, address: target.address }));
    say(isMicrosoftMx(target.host) ? wz(T.mxMicrosoft, lang) : `  ! ${foreignMxText(domain, target.host)[lang]}`);
    for (const w of directSendWarningTexts({ domain, requireTls: false })) say(`  - ${w[lang]}`);
    return { ok: true, tested: true };
  } catch (err) {
    const code = (err as { code?: string }).code;
    say(wz(T.mxFailed, lang, { code: code ?? (err as Error).message }));
    return { ok: false, tested: true };
  }
}

/** What the probe needs to look at an smtp upstream the way the transport will use it. */
export function probeOptions(u: Pick<SmtpUpstreamConfig, 'host' | 'port' | 'ca' | 'servername' | 'helo'>, config: Pick<Config, 'hostname'>): ProbeOptions {
  return {
    host: u.host, port: u.port, helo: u.helo ?? config.hostname ?? hostname(),
    ...(u.ca ? { ca: readFileSync(u.ca, 'utf8') } : {}), ...(u.servername ? { servername: u.servername } : {}),
  };
}

async function smtpTest(u: SmtpUpstreamConfig, config: Config, say: Say, known: SmtpProbe | undefined, lang: Lang): Promise<LiveResult> {
  let probe = known;
  if (!probe || probe.host !== u.host || probe.port !== u.port) {
    say(wz(T.lookingAtRelay, lang, { host: u.host, port: u.port }));
    probe = await probeSmtp(probeOptions(u, config));
    for (const line of describeProbe(probe, lang)) say(line);
  }
  const check = checkSettings(probe, { tls: u.tls, rejectUnauthorized: u.rejectUnauthorized }, lang);
  for (const line of check.lines) say(line);
  return { ok: check.ok, tested: true, probe };
}

/** A sign-in the Entra service refused: its answer, what it means and what to do (the catalogue's Japanese when it has one, else its English). */
function sayTokenRefusal(e: DeliveryOutcome, message: string, lang: Lang, say: Say): { ok: false; tested: true } {
  const hint = (lang === 'ja' ? e.ja?.hint : undefined) || e.hint;
  const fix = (lang === 'ja' ? e.ja?.fix : undefined) || e.fix;
  say(wz(T.entraRefused, lang, { response: e.response ?? message }));
  if (hint) say(wz(T.whatItMeans, lang, { hint }));
  if (fix) say(wz(T.whatToDo, lang, { fix }));
  if (e.ref) say(wz(T.reference, lang, { ref: e.ref }));
  return { ok: false, tested: true };
}
