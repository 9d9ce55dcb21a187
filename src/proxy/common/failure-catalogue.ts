/**
 * The upstream's refusals, as data (zone-mta's bounces.txt shape): the
 * server's line → a failure kind; and each kind → a sentence for the log,
 * the fix with the real ids filled in (the PowerShell lines of
 * reference/migration-and-imap.md B.3), and the short text the legacy client
 * gets in its NO / -ERR. Every kind has a tested example
 * (test/proxy/failure-catalogue.test.ts).
 *
 * Exchange Online answers a refused token with `NO AUTHENTICATE failed.`
 * (IMAP) or `-ERR Authentication failure: unknown user name or bad
 * password.` (POP3) whatever the cause; the cause is then told from the
 * token itself: no IMAP.AccessAsApp / POP.AccessAsApp role → the Entra
 * permission; the role present → the Exchange side (service principal,
 * mailbox permission).
 */
import type { ExplainedFailure, MailProtocol, UpstreamFailure, UpstreamFailureKind } from './types.js';
import type { TokenFacts } from './xoauth2.js';

/** Rules tried in order on the server's refusal line; the first match wins. */
export const REFUSAL_RULES: readonly { match: RegExp; kind: UpstreamFailureKind; meaning: string }[] = [
  { match: /authenticated but not connected/i, kind: 'not-connected', meaning: 'token accepted, mailbox not opened (no permission on it, or token user differs)' },
  {
    match: /\b(imap4?|pop3?)\b[^.]*\b(disabled|not enabled|turned off)\b|\b(ImapEnabled|PopEnabled)\b|protocol (is )?disabled/i,
    kind: 'protocol-disabled', meaning: 'IMAP or POP turned off for the mailbox',
  },
  {
    match: /throttl|too many|maximum number of connections|server (is )?busy|try again later|\[(UNAVAILABLE|INUSE|LIMIT|SERVERBUG)\]|\[(SYS\/TEMP|IN-USE|LOGIN-DELAY)\]|MaxConcurrency/i,
    kind: 'throttled', meaning: 'too many connections or requests',
  },
  {
    match: /AUTHENTICATE failed|Authentication fail|AUTHENTICATIONFAILED|AUTHORIZATIONFAILED|\[AUTH\]|LOGIN failed|invalid (token|credentials)|unknown user name or bad password/i,
    kind: 'auth-failed', meaning: 'the token was refused',
  },
];

const ROLE: Record<MailProtocol, { app: string; delegated: string; name: string; casFlag: string }> = {
  imap: { app: 'IMAP.AccessAsApp', delegated: 'IMAP.AccessAsUser.All', name: 'IMAP', casFlag: '-ImapEnabled' },
  pop3: { app: 'POP.AccessAsApp', delegated: 'POP.AccessAsUser.All', name: 'POP3', casFlag: '-PopEnabled' },
};

/** The role (app token) or scope (delegated token) the protocol needs. */
export function requiredPermission(protocol: MailProtocol, appOnly: boolean): string {
  return appOnly ? ROLE[protocol].app : ROLE[protocol].delegated;
}

/**
 * The kind of a refusal line from the login (auth) or the first command
 * after it (probe). An auth refusal is refined with the token: without the
 * protocol's role it is 'role-missing', with it 'no-permission'.
 */
export function classifyRefusal(protocol: MailProtocol, text: string, token: TokenFacts | undefined): UpstreamFailureKind {
  const kind = REFUSAL_RULES.find((r) => r.match.test(text))?.kind ?? 'auth-failed';
  if (kind !== 'auth-failed' || !token) return kind;
  const needed = requiredPermission(protocol, token.appOnly);
  const has = (token.appOnly ? token.roles : token.scopes).some((p) => p.toLowerCase() === needed.toLowerCase());
  if (!has) return 'role-missing';
  return token.appOnly ? 'no-permission' : 'auth-failed';
}

export interface FailureContext {
  protocol: MailProtocol;
  mailbox: string;
  /** host:port of the upstream. */
  upstream: string;
  token?: TokenFacts;
}

const CLIENT_REFUSED = 'The mail server refused authrelay access to this mailbox; the relay administrator has the fix in its log.';
const CLIENT_LATER = 'The relay cannot log in to the mail server right now; try again later.';
const CLIENT_SIGN_IN = 'The relay\'s sign-in to the mail service is not valid; the relay administrator has the fix in its log.';

export function explainFailure(f: UpstreamFailure, ctx: FailureContext): ExplainedFailure {
  const r = ROLE[ctx.protocol];
  const appId = ctx.token?.appId ?? '<application (client) id>';
  const oid = ctx.token?.objectId ?? '<Enterprise application object id>';
  const registerSp = `New-ServicePrincipal -AppId ${appId} -ObjectId ${oid}`;
  const grantMailbox = `Add-MailboxPermission -Identity ${ctx.mailbox} -User ${oid} -AccessRights FullAccess`;
  const exchangeSide = 'in Exchange Online PowerShell (the ObjectId is the Enterprise application\'s object id, not the App registration\'s)';
  const saw = `${ctx.upstream} answered ${JSON.stringify(f.upstreamText)}`;
  const done = (summary: string, fix: string[], temporary: boolean, clientText: string): ExplainedFailure =>
    ({ kind: f.kind, summary, fix, temporary, clientText });
  // A delegated token speaks for the signed-in user: the mailbox is theirs, or one they have FullAccess to.
  const signedIn = ctx.token && !ctx.token.appOnly ? ctx.token.user ?? 'the signed-in user' : undefined;
  if (signedIn && (f.kind === 'auth-failed' || f.kind === 'not-connected')) {
    const grantUser = `Add-MailboxPermission -Identity ${ctx.mailbox} -User ${signedIn} -AccessRights FullAccess`;
    return done(`The signed-in user ${signedIn} was refused ${r.name} access to ${ctx.mailbox} (${saw}): a delegated sign-in opens only the user's own mailbox and mailboxes the user has FullAccess to, and ${r.name} must be on for the mailbox.`,
      [`${grantUser} (in Exchange Online PowerShell), or sign in as ${ctx.mailbox} with authrelay oauth login`, `Set-CASMailbox -Identity ${ctx.mailbox} ${r.casFlag} $true`], false, CLIENT_REFUSED);
  }
  switch (f.kind) {
    case 'role-missing': {
      const delegated = ctx.token && !ctx.token.appOnly;
      if (delegated) {
        return done(`The signed-in token for ${ctx.mailbox} lacks the delegated permission ${r.delegated} (${saw}).`,
          [`Sign in again with the scope https://outlook.office.com/${r.delegated} offline_access (authrelay oauth login)`], false, CLIENT_REFUSED);
      }
      return done(`The app token has no ${r.app} role, so ${r.name} access to ${ctx.mailbox} was refused (${saw}); grant the permission, then register the service principal and give it the mailbox ${exchangeSide}.`,
        [
          `Entra admin center → App registrations → ${appId} → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → ${r.app}, then Grant admin consent`,
          registerSp,
          grantMailbox,
        ], false, CLIENT_REFUSED);
    }
    case 'no-permission':
      return done(`The app token has the ${r.app} role but ${r.name} access to ${ctx.mailbox} was refused (${saw}): the service principal is not registered in Exchange Online or has no permission on the mailbox; run these ${exchangeSide}.`,
        [registerSp, grantMailbox], false, CLIENT_REFUSED);
    case 'auth-failed':
      return done(`The token was refused for ${r.name} access to ${ctx.mailbox} (${saw}); check that it is for https://outlook.office365.com with ${r.app}, then run these ${exchangeSide}.`,
        [registerSp, grantMailbox], false, CLIENT_REFUSED);
    case 'not-connected':
      return done(`The token was accepted but ${ctx.mailbox} could not be opened (${saw}): the app has no permission on that mailbox, or the mailbox does not exist or has no licence.`,
        [grantMailbox, `Get-EXOMailbox -Identity ${ctx.mailbox}`], false, CLIENT_REFUSED);
    case 'protocol-disabled':
      return done(`${r.name} is turned off for ${ctx.mailbox} (${saw}).`,
        [`Set-CASMailbox -Identity ${ctx.mailbox} ${r.casFlag} $true`], false,
        `${r.name} is turned off for this mailbox on the mail server; the relay administrator has the fix in its log.`);
    case 'throttled':
      return done(`The mail server is throttling ${r.name} for ${ctx.mailbox} (${saw}).`,
        [`Exchange Online allows about 20 concurrent ${r.name} connections per mailbox: lower the number of clients or their polling rate`], true,
        'The mail server is busy; try again later.');
    case 'unreachable':
      return done(`authrelay could not open an ${r.name} session to ${ctx.upstream}: ${f.upstreamText}.`,
        [`Check that authrelay can reach ${ctx.upstream} (DNS, firewall) and trusts its certificate (ca)`], true, CLIENT_LATER);
    case 'token-failed':
      if (f.token) {
        return { ...done(`authrelay could not get an access token for ${ctx.mailbox}: ${f.token.hint} (${f.upstreamText})`,
          [f.token.fix], !f.token.permanent, f.token.permanent ? CLIENT_SIGN_IN : CLIENT_LATER), ref: f.token.ref };
      }
      return done(`authrelay could not get an access token for ${ctx.mailbox}: ${f.upstreamText}.`,
        ['Fix the Entra app credentials or consent named above (authrelay doctor explains the AADSTS code)'], true, CLIENT_LATER);
    case 'protocol-error':
      return done(`${ctx.upstream} answered the ${r.name} login with something authrelay does not understand (${saw}).`,
        [`Check that ${ctx.upstream} is an ${r.name} server with implicit TLS (ports 993 and 995)`], true, CLIENT_LATER);
  }
}

/** A server that refuses at its greeting (`* BYE`, `-ERR`) is busy or unavailable. */
export function greetingRefusalKind(text: string): UpstreamFailureKind {
  return REFUSAL_RULES.find((r) => r.match.test(text))?.kind === 'throttled' ? 'throttled' : 'unreachable';
}
