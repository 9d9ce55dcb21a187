/**
 * Microsoft 365 checks for `doctor`: the Entra sign-in (a token, with the
 * catalogue's fix when Entra refuses), the credential's expiry where it is
 * known (a certificate), the permissions in the token's `roles` (or `scp`)
 * claim, and a probe of the sending mailbox that sends nothing: a Graph read
 * of the mailbox's Drafts folder where the permissions allow it, an SMTP
 * AUTH XOAUTH2 sign-in (then QUIT) for smtp-oauth.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { EntraAppUpstreamConfig, EntraUpstreamConfig, GraphUpstreamConfig, SmtpOauthUpstreamConfig } from '../config/schema.js';
import { HttpClient } from '../core/http.js';
import { explainGraph, explainSmtp, explainTokenError, type Explained, type PlaceholderValues } from '../deliver/microsoft/catalogue.js';
import { SmtpSession } from '../deliver/smtp-oauth/smtp-session.js';
import { isDelegated, type TokenProviders } from '../identity/entra/providers.js';
import { TokenError, type AccessToken, type TokenResource } from '../identity/entra/token-provider.js';
import { asIs, joinTexts, NO_TEXT, type Text } from '../core/i18n.js';
import type { AddCheck } from './report.js';
import { both, explained, DOCTOR_TEXT as T } from './texts.js';

const DAY = 86_400_000;

function has(perms: readonly string[], ...names: string[]): boolean {
  return perms.some((p) => names.some((n) => p.toLowerCase() === n.toLowerCase() || p.toLowerCase().endsWith(`/${n.toLowerCase()}`)));
}

export function placeholders(name: string, cfg: EntraUpstreamConfig): PlaceholderValues {
  const mailbox = cfg.type === 'smtp-oauth' && cfg.delegated ? cfg.delegated.user : cfg.mailbox;
  return { upstream: name, appId: cfg.clientId, tenant: cfg.tenant, ...(mailbox ? { mailbox } : {}) };
}

/** The catalogue's explanation as a check's detail (its hint and where to read more) and fix. */
function fromCatalogue(e: Pick<Explained, 'hint' | 'fix' | 'ja' | 'ref'> | undefined, withReference: boolean): { detail: Text; fix: Text | undefined; ref: string | undefined } {
  const { hint, fix } = explained(e);
  return {
    detail: joinTexts([hint, withReference && e?.ref ? both(T.reference, { ref: e.ref }) : undefined]),
    fix, ref: e?.ref,
  };
}

/** Expiry of a certificate credential (a client secret's expiry is not visible outside the app registration). */
export function checkCredential(add: AddCheck, id: string, cfg: EntraAppUpstreamConfig, now: number): void {
  if (isDelegated(cfg)) {
    add({ id: `${id}.credential`, status: 'info', title: both(T.delegatedCredential, { user: cfg.delegated.user }) });
    return;
  }
  if (!cfg.certificate) {
    add({ id: `${id}.credential`, status: 'info', title: T.secretInfo, detail: T.secretInfoDetail, fix: both(T.secretInfoFix, { appId: cfg.clientId }) });
    return;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(cfg.certificate.cert));
  } catch (err) {
    add({ id: `${id}.credential`, status: 'fail', title: both(T.credCertUnreadable, { file: cfg.certificate.cert }), detail: asIs((err as Error).message), fix: T.credCertUnreadableFix });
    return;
  }
  const until = new Date(cert.validTo);
  const date = until.toISOString().slice(0, 10);
  const left = until.getTime() - now;
  const renew = both(T.credRenew, { appId: cfg.clientId });
  const detail = asIs(`${cfg.certificate.cert}: ${cert.subject.replace(/\n/g, ', ')}, SHA-256 ${cert.fingerprint256}`);
  if (left <= 0) add({ id: `${id}.credential`, status: 'fail', title: both(T.credExpired, { date }), detail, fix: renew });
  else if (left < 30 * DAY) add({ id: `${id}.credential`, status: 'warn', title: both(T.credExpires, { days: Math.ceil(left / DAY), date }), detail, fix: renew });
  else add({ id: `${id}.credential`, status: 'pass', title: both(T.credValid, { date }), detail });
}

/** A token for the resource, or undefined after a failed check was added. */
export async function checkToken(
  add: AddCheck, id: string, name: string, cfg: EntraUpstreamConfig, resource: TokenResource, tokens: TokenProviders, timeoutMs: number,
): Promise<AccessToken | undefined> {
  try {
    const provider = tokens.get(name, cfg, resource);
    const token = await provider.getToken(AbortSignal.timeout(timeoutMs));
    add({
      id: `${id}.token`, status: 'pass', title: both(T.tokenIssued, { resource: resource === 'graph' ? 'Microsoft Graph' : 'Exchange Online SMTP' }),
      detail: both(T.tokenDetail, {
        provider: provider.description, kind: cfg.type === 'smtp-oauth' && cfg.delegated ? T.kindScopes : T.kindRoles,
        permissions: token.permissions.length ? token.permissions.join(', ') : T.none, until: new Date(token.expiresAt).toISOString(),
      }),
    });
    return token;
  } catch (err) {
    if (!(err instanceof TokenError)) {
      add({ id: `${id}.token`, status: 'fail', title: T.credentialUnusable, detail: asIs((err as Error).message), fix: T.credentialUnusableFix });
      return undefined;
    }
    const o = explainTokenError(err, placeholders(name, cfg));
    // An error the catalogue does not know keeps the sign-in service's own words in both languages.
    const ja = { hint: o.ja?.hint ?? o.hint ?? '', fix: o.ja?.fix ?? o.fix ?? '' };
    const c = fromCatalogue({ hint: o.hint ?? '', fix: o.fix ?? '', ref: o.ref ?? '', ja }, true);
    add({ id: `${id}.token`, status: 'fail', title: both(T.tokenRefused, { message: err.message }), detail: c.detail, fix: c.fix ?? NO_TEXT, ref: c.ref });
    return undefined;
  }
}

const MAIL_READ = ['Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];

export async function checkGraphAccess(add: AddCheck, id: string, name: string, cfg: GraphUpstreamConfig, graphUrl: string, token: AccessToken, timeoutMs: number): Promise<void> {
  const ctx = placeholders(name, cfg);
  const perms = token.permissions;
  if (has(perms, 'Mail.Send')) add({ id: `${id}.mail-send`, status: 'pass', title: T.mailSendGranted });
  else {
    const c = fromCatalogue(explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { ...ctx, operation: 'sendMail' }), false);
    add({ id: `${id}.mail-send`, status: 'fail', title: T.mailSendMissing, detail: c.detail, fix: c.fix, ref: c.ref });
  }
  if (has(perms, 'Mail.ReadWrite')) add({ id: `${id}.mail-readwrite`, status: 'pass', title: T.readWriteGranted });
  else {
    const c = fromCatalogue(explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { ...ctx, operation: 'draft' }), false);
    add({ id: `${id}.mail-readwrite`, status: 'warn', title: T.readWriteMissing, detail: c.detail, fix: c.fix, ref: c.ref });
  }
  if (!cfg.mailbox) {
    add({ id: `${id}.mailbox`, status: 'info', title: T.mailboxNone });
    return;
  }
  const mailbox = cfg.mailbox;
  if (!has(perms, ...MAIL_READ)) {
    add({ id: `${id}.mailbox`, status: 'info', title: both(T.mailboxNeedsRead, { mailbox }) });
    return;
  }
  const http = new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) });
  try {
    const res = await http.request({
      method: 'GET', url: `${graphUrl}/users/${encodeURIComponent(mailbox)}/mailFolders/drafts?$select=id`,
      headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' }, timeoutMs,
    });
    if (res.status === 200) {
      add({ id: `${id}.mailbox`, status: 'pass', title: both(T.mailboxPass, { mailbox }) });
      return;
    }
    const body = res.json<{ error?: { code?: string; message?: string } }>();
    const c = fromCatalogue(explainGraph(res.status, body?.error?.code, body?.error?.message, { ...ctx, operation: 'sendMail' }), false);
    add({
      id: `${id}.mailbox`, status: 'fail', title: both(T.mailboxFail, { mailbox, status: `${res.status} ${body?.error?.code ?? ''}`.trim() }),
      detail: joinTexts([body?.error?.message ? asIs(body.error.message) : undefined, c.detail]),
      fix: c.fix ?? both(T.mailboxFailFix, { mailbox }), ref: c.ref,
    });
  } catch (err) {
    add({ id: `${id}.mailbox`, status: 'fail', title: both(T.mailboxProbeFailed, { mailbox, message: (err as Error).message }), fix: T.mailboxProbeFailedFix });
  } finally {
    http.close();
  }
}

export function checkSmtpPermission(add: AddCheck, id: string, name: string, cfg: SmtpOauthUpstreamConfig, token: AccessToken): boolean {
  if (cfg.delegated) {
    if (has(token.permissions, 'SMTP.Send')) {
      add({ id: `${id}.smtp-permission`, status: 'pass', title: T.smtpSendGranted });
      return true;
    }
    add({ id: `${id}.smtp-permission`, status: 'fail', title: T.smtpSendMissing, fix: both(T.smtpSendMissingFix, { appId: cfg.clientId, name }) });
    return false;
  }
  if (has(token.permissions, 'SMTP.SendAsApp')) {
    add({ id: `${id}.smtp-permission`, status: 'pass', title: T.sendAsAppGranted });
    return true;
  }
  const c = fromCatalogue(explainSmtp('535 5.7.3 Authentication unsuccessful', placeholders(name, cfg)), false);
  add({ id: `${id}.smtp-permission`, status: 'fail', title: T.sendAsAppMissing, detail: c.detail, fix: c.fix, ref: c.ref });
  return false;
}

/** AUTH XOAUTH2 as the mailbox, then QUIT: nothing is sent. */
export async function checkSmtpSignIn(
  add: AddCheck, id: string, name: string, cfg: SmtpOauthUpstreamConfig, host: string, port: number, token: AccessToken, timeoutMs: number,
): Promise<void> {
  const mailbox = cfg.delegated?.user ?? cfg.mailbox;
  if (!mailbox) {
    add({ id: `${id}.smtp-auth`, status: 'info', title: T.smtpAuthNoMailbox });
    return;
  }
  let session: SmtpSession | undefined;
  try {
    session = await SmtpSession.open({
      host, port, requireTLS: true, connectTimeoutMs: timeoutMs, socketTimeoutMs: timeoutMs,
      tls: { minVersion: 'TLSv1.2', ...(cfg.ca ? { ca: [...rootCertificates, readFileSync(cfg.ca, 'utf8')] } : {}) },
    });
    await session.loginXOAuth2(mailbox, token.token);
    add({ id: `${id}.smtp-auth`, status: 'pass', title: both(T.smtpAuthPass, { mailbox, tls: session.tlsVersion ?? 'TLS' }) });
  } catch (err) {
    const response = (err as { response?: string }).response;
    const c = fromCatalogue(response ? explainSmtp(response, placeholders(name, cfg)) : undefined, true);
    add({
      id: `${id}.smtp-auth`, status: 'fail', title: both(T.smtpAuthFail, { mailbox, response: response ?? (err as Error).message }),
      detail: c.detail, fix: c.fix ?? both(T.smtpAuthFailFix, { mailbox }), ref: c.ref,
    });
  } finally {
    session?.quit();
  }
}
