/**
 * Exchange Online's SMTP wording, in one place: greeting, EHLO lists (before
 * and after STARTTLS, submission and Direct Send), and the reply catalogue
 * of the reference (§3, §4) with Microsoft's trailing diagnostic
 * "[host timestamp id]" or "[Hostname=...]".
 */
import { randomBytes } from 'node:crypto';

export type SmtpMode = 'submission' | 'direct-send';

export const SUBMISSION_HOST = 'SN4PR0501CA0123.outlook.office365.com';
export const SUBMISSION_BACKEND = 'SN4PR05MB1234.namprd05.prod.outlook.com';
export const DIRECT_SEND_HOST = 'AM4PEPF00027A5F.mail.protection.outlook.com';
export const MAX_SIZE = 157_286_400;

export function greetingHost(mode: SmtpMode): string {
  return mode === 'submission' ? SUBMISSION_HOST : DIRECT_SEND_HOST;
}

function rfc2822Date(d = new Date()): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function sessionTag(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

export function greeting(mode: SmtpMode): string {
  return `220 ${greetingHost(mode)} Microsoft ESMTP MAIL Service ready at ${rfc2822Date()} [${sessionTag()}]`;
}

/** "[host 2025-01-01T00:00:00.000Z 08DC...]" as Exchange appends to refusals. */
export function diag(mode: SmtpMode): string {
  return `[${greetingHost(mode)} ${new Date().toISOString()} ${sessionTag()}]`;
}

export function ehloLines(mode: SmtpMode, tls: boolean, clientIp: string): string[] {
  const ext = ['SIZE 157286400', 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES'];
  if (!tls) ext.push('STARTTLS');
  else if (mode === 'submission') ext.push('AUTH LOGIN XOAUTH2');
  ext.push('8BITMIME', 'BINARYMIME', 'CHUNKING', 'SMTPUTF8');
  return [`${greetingHost(mode)} Hello [${clientIp}]`, ...ext];
}

export const R = {
  starttls: '220 2.0.0 SMTP server ready',
  legacyTls: '421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.',
  authOk: '235 2.7.0 Authentication successful',
  authUnrecognized: (m: SmtpMode) => `504 5.7.4 Unrecognized authentication type ${diag(m)}`,
  authFailed: (m: SmtpMode) => `535 5.7.3 Authentication unsuccessful ${diag(m)}`,
  basicDisabled: (m: SmtpMode) => `535 5.7.139 Authentication unsuccessful, basic authentication is disabled. ${diag(m)}`,
  smtpAuthDisabled: (m: SmtpMode) => `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. ${diag(m)}`,
  criteriaNotMet: (m: SmtpMode) => `535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. ${diag(m)}`,
  notAuthenticated: (m: SmtpMode) => `530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM ${diag(m)}`,
  senderOk: '250 2.1.0 Sender OK',
  recipientOk: '250 2.1.5 Recipient OK',
  startData: '354 Start mail input; end with <CRLF>.<CRLF>',
  queued: (messageId: string) => `250 2.0.0 OK ${messageId} [Hostname=${SUBMISSION_BACKEND.toUpperCase()}]`,
  tooBig: (m: SmtpMode) => `552 5.3.4 Message size exceeds fixed maximum message size ${diag(m)}`,
  sendAsDenied: (mailbox: string, from: string) =>
    `554 5.2.252 SendAsDenied; ${mailbox} not allowed to send as ${from}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. 0.35250:0A00D681, 1.36674:0A000000, 1.61250:00000000 [EndDiagnosticData] [Hostname=${SUBMISSION_BACKEND.toUpperCase()}]`,
  quota: () =>
    `554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. [EndDiagnosticData] [Hostname=${SUBMISSION_BACKEND.toUpperCase()}]`,
  threadLimit: () => `432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded [Hostname=${SUBMISSION_BACKEND.toUpperCase()}]`,
  tooManyRecipients: '452 4.5.3 Too many recipients',
  relayDenied: (m: SmtpMode) => `550 5.7.64 TenantAttribution; Relay Access Denied ${diag(m)}`,
  directSendRejected: (m: SmtpMode) => `550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources ${diag(m)}`,
  recipientRejected: (m: SmtpMode) => `550 5.4.1 Recipient address rejected: Access denied. AS(201806281) ${diag(m)}`,
  badSequence: '503 5.5.2 Send hello first',
  needMail: '503 5.5.2 Need mail command',
  needRcpt: '503 5.5.2 Need rcpt command',
  senderAlready: '503 5.5.2 Sender already specified',
  unrecognized: (m: SmtpMode, verb: string) => `500 5.3.3 Unrecognized command '${verb.slice(0, 32)}' ${diag(m)}`,
  syntax: '501 5.5.4 Invalid arguments',
  badDomain: '501 5.5.4 Invalid domain name',
  bye: '221 2.0.0 Service closing transmission channel',
};
