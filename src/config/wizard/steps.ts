/**
 * The steps to take in Entra ID and Exchange Online for each route, with
 * the tenant, app and mailbox filled in, as `authrelay init` prints them and
 * the console's wizard shows them, in the reader's language (texts.ts).
 * The wording follows docs/microsoft-365.md (docs/imap-pop.md for legacy
 * readers) and the error catalogue's fixes.
 */
import type { Lang } from '../../core/i18n.js';
import type { InitAnswers } from './answers.js';
import { WIZARD_TEXT as T, wz } from './texts.js';

/** Numbered steps (each a paragraph; commands on their own indented lines). */
export function setupSteps(a: InitAnswers, lang: Lang = 'en'): string[] {
  const app = a.entra?.clientId ?? '<appId>';
  const tenant = a.entra?.tenant ?? '<tenant>';
  const mailbox = a.mailbox ?? '<mailbox>';
  const v = { app, tenant, mailbox };
  const register = wz(T.register, lang, v);
  const secretStep = wz(a.entra?.credential.kind === 'certificate' ? T.uploadCertificate : T.newSecret, lang);
  const casMailbox = wz(T.allowSmtpAuth, lang, v);
  const servicePrincipal = wz(T.servicePrincipal, lang, v);
  switch (a.route) {
    case 'graph':
      return [register, secretStep, wz(T.graphPermission, lang, v), wz(T.graphRbac, lang, { ...v, servicePrincipal })];
    case 'smtp-oauth':
      return [register, secretStep, wz(T.smtpPermission, lang, v), servicePrincipal, wz(T.smtpMailboxAccess, lang, v), casMailbox];
    case 'smtp-oauth-delegated':
      return [register, wz(T.publicClient, lang), wz(T.delegatedPermission, lang, v), casMailbox, wz(T.delegatedSignIn, lang, v)];
    case 'direct-send': {
      const domain = a.directSend?.domain ?? '<domain>';
      return [wz(T.directSpf, lang, { domain }), wz(T.directReject, lang), wz(T.directInternal, lang), wz(T.directPort25, lang)];
    }
    case 'smtp':
      return [
        wz(T.connectorAdd, lang),
        wz(a.relay?.clientCert ? T.connectorCertificate : T.connectorIp, lang),
        wz(T.relayHost, lang, { host: a.relay?.host ?? '<host>', port: a.relay?.port ?? 25 }),
      ];
    case 'hold':
      return [wz(T.holdNothing, lang)];
    case 'readers':
      return readersSteps(a, lang, register, secretStep);
  }
}

/** The placeholder for the Enterprise application's object id until it is known (the live test reads it from the token). */
export const OBJECT_ID_PLACEHOLDER = '<enterprise app object id>';

/** The application permissions the readers' listeners need: IMAP.AccessAsApp for IMAP, POP.AccessAsApp for POP3. */
export function readerRoles(a: InitAnswers): string[] {
  const r = a.readers;
  return [...(r?.imapPort !== undefined ? ['IMAP.AccessAsApp'] : []), ...(r?.pop3Port !== undefined ? ['POP.AccessAsApp'] : [])];
}

/** The Exchange Online lines for app-only IMAP/POP access, one per line, with the ids filled in where known (docs/imap-pop.md). */
export function readerCommands(app: string, objectId: string | undefined, mailboxes: readonly string[]): { servicePrincipal: string; mailboxes: string[] } {
  const oid = objectId ?? OBJECT_ID_PLACEHOLDER;
  return {
    servicePrincipal: `New-ServicePrincipal -AppId ${app} -ObjectId ${oid} -DisplayName "authrelay readers"`,
    mailboxes: mailboxes.map((m) => `Add-MailboxPermission -Identity ${m} -User ${oid} -AccessRights FullAccess`),
  };
}

function readersSteps(a: InitAnswers, lang: Lang, register: string, secretStep: string): string[] {
  const app = a.entra?.clientId ?? '<appId>';
  const tenant = a.entra?.tenant ?? '<tenant>';
  const mailboxes = a.readers?.mailboxes.length ? a.readers.mailboxes : ['<mailbox>'];
  const roles = readerRoles(a);
  const indent = (lines: string[]) => lines.map((l) => `    ${l}`).join('\n');
  const cas = mailboxes.flatMap((m) => [
    `Get-CASMailbox -Identity ${m} | Format-List ImapEnabled,PopEnabled`,
    `Set-CASMailbox -Identity ${m}${a.readers?.imapPort !== undefined ? ' -ImapEnabled $true' : ''}${a.readers?.pop3Port !== undefined ? ' -PopEnabled $true' : ''}`,
  ]);
  return [
    register,
    secretStep,
    wz(T.readersPermission, lang, { roles: (roles.length ? roles : ['IMAP.AccessAsApp', 'POP.AccessAsApp']).join(lang === 'ja' ? '、' : ', '), tenant }),
    wz(T.readersObjectId, lang, { app }),
    wz(T.readersServicePrincipal, lang, { app, objectId: OBJECT_ID_PLACEHOLDER }),
    wz(T.readersMailboxAccess, lang, { commands: indent(readerCommands(app, undefined, mailboxes).mailboxes) }),
    wz(T.readersCasMailbox, lang, { commands: indent(cas) }),
    wz(T.readersWait, lang),
  ];
}

/** The application permissions a route's token should carry, and the ones that only matter sometimes. */
export function neededPermissions(route: InitAnswers['route'], lang: Lang = 'en'): { required: string[]; optional: { name: string; why: string }[] } {
  if (route === 'graph') return { required: ['Mail.Send'], optional: [{ name: 'Mail.ReadWrite', why: wz(T.whyReadWrite, lang) }] };
  if (route === 'smtp-oauth') return { required: ['SMTP.SendAsApp'], optional: [] };
  if (route === 'readers') return { required: ['IMAP.AccessAsApp', 'POP.AccessAsApp'], optional: [] };
  return { required: [], optional: [] };
}
