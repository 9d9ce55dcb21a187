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
import type { EntraUpstreamConfig, GraphUpstreamConfig, SmtpOauthUpstreamConfig } from '../config/schema.js';
import { HttpClient } from '../core/http.js';
import { explainGraph, explainSmtp, explainTokenError, type PlaceholderValues } from '../deliver/microsoft/catalogue.js';
import { SmtpSession } from '../deliver/smtp-oauth/smtp-session.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import { TokenError, type AccessToken, type TokenResource } from '../identity/entra/token-provider.js';
import type { AddCheck } from './report.js';

const DAY = 86_400_000;

function has(perms: readonly string[], ...names: string[]): boolean {
  return perms.some((p) => names.some((n) => p.toLowerCase() === n.toLowerCase() || p.toLowerCase().endsWith(`/${n.toLowerCase()}`)));
}

export function placeholders(name: string, cfg: EntraUpstreamConfig): PlaceholderValues {
  const mailbox = cfg.type === 'smtp-oauth' && cfg.delegated ? cfg.delegated.user : cfg.mailbox;
  return { upstream: name, appId: cfg.clientId, tenant: cfg.tenant, ...(mailbox ? { mailbox } : {}) };
}

/** Expiry of a certificate credential (a client secret's expiry is not visible outside the app registration). */
export function checkCredential(add: AddCheck, id: string, cfg: EntraUpstreamConfig, now: number): void {
  if (cfg.type === 'smtp-oauth' && cfg.delegated) {
    add({ id: `${id}.credential`, status: 'info', title: `delegated sign-in of ${cfg.delegated.user} (refresh token kept encrypted in the data directory)` });
    return;
  }
  if (!cfg.certificate) {
    add({
      id: `${id}.credential`, status: 'info', title: 'client secret: its expiry date is shown only in the app registration',
      detail: 'Entra ID answers AADSTS7000222 once it has expired (checked by the token request below).',
      fix: `Note the expiry date from Entra admin center → App registrations → ${cfg.clientId} → Certificates & secrets, and create the next secret before it.`,
    });
    return;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(cfg.certificate.cert));
  } catch (err) {
    add({ id: `${id}.credential`, status: 'fail', title: `cannot read the certificate ${cfg.certificate.cert}`, detail: (err as Error).message, fix: 'Point certificate.cert at the PEM certificate uploaded to the app registration.' });
    return;
  }
  const until = new Date(cert.validTo);
  const left = until.getTime() - now;
  const renew = `Make a new key and certificate, upload the certificate to App registrations → ${cfg.clientId} → Certificates & secrets, then point certificate.key and certificate.cert at the new files.`;
  const detail = `${cfg.certificate.cert}: ${cert.subject.replace(/\n/g, ', ')}, SHA-256 ${cert.fingerprint256}`;
  if (left <= 0) add({ id: `${id}.credential`, status: 'fail', title: `the sign-in certificate expired on ${until.toISOString().slice(0, 10)}`, detail, fix: renew });
  else if (left < 30 * DAY) add({ id: `${id}.credential`, status: 'warn', title: `the sign-in certificate expires in ${Math.ceil(left / DAY)} days (${until.toISOString().slice(0, 10)})`, detail, fix: renew });
  else add({ id: `${id}.credential`, status: 'pass', title: `sign-in certificate valid until ${until.toISOString().slice(0, 10)}`, detail });
}

/** A token for the resource, or undefined after a failed check was added. */
export async function checkToken(
  add: AddCheck, id: string, name: string, cfg: EntraUpstreamConfig, resource: TokenResource, tokens: TokenProviders, timeoutMs: number,
): Promise<AccessToken | undefined> {
  try {
    const provider = tokens.get(name, cfg, resource);
    const token = await provider.getToken(AbortSignal.timeout(timeoutMs));
    const kind = cfg.type === 'smtp-oauth' && cfg.delegated ? 'scopes (scp)' : 'roles';
    add({
      id: `${id}.token`, status: 'pass', title: `token for ${resource === 'graph' ? 'Microsoft Graph' : 'Exchange Online SMTP'} issued`,
      detail: `${provider.description}; ${kind}: ${token.permissions.length ? token.permissions.join(', ') : '(none)'}; valid until ${new Date(token.expiresAt).toISOString()}`,
    });
    return token;
  } catch (err) {
    if (!(err instanceof TokenError)) {
      add({ id: `${id}.token`, status: 'fail', title: 'the sign-in credential cannot be used', detail: (err as Error).message, fix: 'Fix the credential files named above (key, certificate, passphrase).' });
      return undefined;
    }
    const o = explainTokenError(err, placeholders(name, cfg));
    add({
      id: `${id}.token`, status: 'fail', title: `token request refused: ${err.message}`,
      detail: [o.hint, o.ref ? `reference: ${o.ref} in docs/errors.md` : ''].filter(Boolean).join('\n'),
      fix: o.fix ?? '',
    });
    return undefined;
  }
}

const MAIL_READ = ['Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];

export async function checkGraphAccess(add: AddCheck, id: string, name: string, cfg: GraphUpstreamConfig, graphUrl: string, token: AccessToken, timeoutMs: number): Promise<void> {
  const ctx = placeholders(name, cfg);
  const perms = token.permissions;
  if (has(perms, 'Mail.Send')) add({ id: `${id}.mail-send`, status: 'pass', title: 'Mail.Send granted' });
  else {
    const e = explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { ...ctx, operation: 'sendMail' });
    add({ id: `${id}.mail-send`, status: 'fail', title: 'Mail.Send is not in the token: Graph will refuse every message (403 ErrorAccessDenied)', detail: e?.hint ?? '', fix: e?.fix ?? '' });
  }
  if (has(perms, 'Mail.ReadWrite')) add({ id: `${id}.mail-readwrite`, status: 'pass', title: 'Mail.ReadWrite granted (messages over about 3 MB go as a draft with uploads)' });
  else {
    const e = explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { ...ctx, operation: 'draft' });
    add({ id: `${id}.mail-readwrite`, status: 'warn', title: 'Mail.ReadWrite is not in the token: messages over about 3 MB will fail', detail: e?.hint ?? '', fix: e?.fix ?? '' });
  }
  if (!cfg.mailbox) {
    add({ id: `${id}.mailbox`, status: 'info', title: 'mailbox probe skipped: the route has no mailbox (messages go as the device\'s sendAs or From address)' });
    return;
  }
  if (!has(perms, ...MAIL_READ)) {
    add({ id: `${id}.mailbox`, status: 'info', title: `mailbox probe of ${cfg.mailbox} skipped: needs Mail.ReadWrite (or Mail.Read); Mail.Send alone allows no read` });
    return;
  }
  const http = new HttpClient({ ...(cfg.ca ? { ca: readFileSync(cfg.ca, 'utf8') } : {}), ...(cfg.proxy ? { proxy: cfg.proxy } : {}) });
  try {
    const res = await http.request({
      method: 'GET', url: `${graphUrl}/users/${encodeURIComponent(cfg.mailbox)}/mailFolders/drafts?$select=id`,
      headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' }, timeoutMs,
    });
    if (res.status === 200) {
      add({ id: `${id}.mailbox`, status: 'pass', title: `mailbox ${cfg.mailbox} answers through Graph (its Drafts folder was read)` });
      return;
    }
    const body = res.json<{ error?: { code?: string; message?: string } }>();
    const e = explainGraph(res.status, body?.error?.code, body?.error?.message, { ...ctx, operation: 'sendMail' });
    add({
      id: `${id}.mailbox`, status: 'fail', title: `mailbox ${cfg.mailbox}: Graph answered ${res.status} ${body?.error?.code ?? ''}`.trim(),
      detail: [body?.error?.message ?? '', e?.hint ?? ''].filter(Boolean).join('\n'),
      fix: e?.fix ?? `Check that ${cfg.mailbox} is a mailbox in Exchange Online and that the app may use it.`,
    });
  } catch (err) {
    add({ id: `${id}.mailbox`, status: 'fail', title: `mailbox probe of ${cfg.mailbox} failed: ${(err as Error).message}`, fix: 'See the connection checks of the Graph host above.' });
  } finally {
    http.close();
  }
}

export function checkSmtpPermission(add: AddCheck, id: string, name: string, cfg: SmtpOauthUpstreamConfig, token: AccessToken): boolean {
  if (cfg.delegated) {
    if (has(token.permissions, 'SMTP.Send')) {
      add({ id: `${id}.smtp-permission`, status: 'pass', title: 'SMTP.Send granted to the signed-in user' });
      return true;
    }
    add({
      id: `${id}.smtp-permission`, status: 'fail', title: 'SMTP.Send is not among the token\'s scopes',
      fix: `In Entra admin center → App registrations → ${cfg.clientId} → API permissions → Microsoft Graph → Delegated permissions → SMTP.Send and offline_access; then run: authrelay oauth login ${name}`,
    });
    return false;
  }
  if (has(token.permissions, 'SMTP.SendAsApp')) {
    add({ id: `${id}.smtp-permission`, status: 'pass', title: 'SMTP.SendAsApp granted' });
    return true;
  }
  const e = explainSmtp('535 5.7.3 Authentication unsuccessful', placeholders(name, cfg));
  add({ id: `${id}.smtp-permission`, status: 'fail', title: 'SMTP.SendAsApp is not in the token: Exchange Online will refuse the sign-in (535 5.7.3)', detail: e?.hint ?? '', fix: e?.fix ?? '' });
  return false;
}

/** AUTH XOAUTH2 as the mailbox, then QUIT: nothing is sent. */
export async function checkSmtpSignIn(
  add: AddCheck, id: string, name: string, cfg: SmtpOauthUpstreamConfig, host: string, port: number, token: AccessToken, timeoutMs: number,
): Promise<void> {
  const mailbox = cfg.delegated?.user ?? cfg.mailbox;
  if (!mailbox) {
    add({ id: `${id}.smtp-auth`, status: 'info', title: 'SMTP sign-in probe skipped: the route has no mailbox (set mailbox to test it)' });
    return;
  }
  let session: SmtpSession | undefined;
  try {
    session = await SmtpSession.open({
      host, port, requireTLS: true, connectTimeoutMs: timeoutMs, socketTimeoutMs: timeoutMs,
      tls: { minVersion: 'TLSv1.2', ...(cfg.ca ? { ca: [...rootCertificates, readFileSync(cfg.ca, 'utf8')] } : {}) },
    });
    await session.loginXOAuth2(mailbox, token.token);
    add({ id: `${id}.smtp-auth`, status: 'pass', title: `AUTH XOAUTH2 as ${mailbox} accepted (${session.tlsVersion ?? 'TLS'}); nothing was sent` });
  } catch (err) {
    const response = (err as { response?: string }).response;
    const e = response ? explainSmtp(response, placeholders(name, cfg)) : undefined;
    add({
      id: `${id}.smtp-auth`, status: 'fail', title: `AUTH XOAUTH2 as ${mailbox} refused: ${response ?? (err as Error).message}`,
      detail: [e?.hint ?? '', e?.ref ? `reference: ${e.ref} in docs/errors.md` : ''].filter(Boolean).join('\n'),
      fix: e?.fix ?? `Check SMTP AUTH for the mailbox: Set-CASMailbox -Identity ${mailbox} -SmtpClientAuthenticationDisabled $false`,
    });
  } finally {
    session?.quit();
  }
}
