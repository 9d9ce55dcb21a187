/**
 * A check that a Japanese text is really Japanese: after taking out what
 * stays as it is in both languages (commands and PowerShell lines, code in
 * backticks, addresses and URLs, placeholders, setting names, product and
 * protocol names, codes), no run of three or more English words may be
 * left, and the text must contain Japanese at all. Used by the tests that
 * keep the two languages complete (catalogue, trail, doctor, notices, alerts,
 * CLI, console).
 */

/** Names that stay in English in Japanese texts (Microsoft's own Japanese UI keeps them too). */
const KEPT = [
  'Microsoft 365', 'Microsoft Entra', 'Microsoft Graph', 'Exchange Online PowerShell', 'Exchange Online', 'Exchange', 'Entra ID', 'Azure', 'Outlook',
  'Office 365', 'PowerShell', 'Graph API', 'Graph', 'Direct Send', 'High Volume Email', 'SMTP AUTH', 'SMTP', 'OAuth', 'IMAP', 'POP3', 'POP', 'TLS', 'STARTTLS',
  'XOAUTH2', 'DNS', 'MX', 'SPF', 'DKIM', 'DMARC', 'IP', 'HTTP', 'HTTPS', 'URL', 'API', 'ID', 'JSON', 'YAML', 'PEM', 'CA', 'MFA', 'Security Defaults',
  'authrelay', 'Postfix', 'Dovecot', 'PostgreSQL', 'SQLite', 'Node.js', 'systemd', 'Docker', 'Windows', 'Linux', 'Chrome', 'Edge',
  'Send As', 'SendAs', 'Mail.Send', 'Mail.ReadWrite', 'SMTP.SendAsApp', 'IMAP.AccessAsApp', 'POP.AccessAsApp', 'Reports.Read.All', 'AuditLog.Read.All',
  'Application Access Policy', 'RBAC for Applications', 'Sent Items', 'Deleted Items', 'Retry-After', 'Message-ID', 'From', 'To', 'Cc', 'Bcc', 'Subject',
];

/** What is left of a Japanese text once the parts that stay in English are taken out. */
export function untranslatedEnglish(text: string): string[] {
  let t = text;
  t = t.replace(/`[^`]*`/g, ' ');
  t = t.replace(/https?:\/\/\S+/g, ' ');
  t = t.replace(/\b[\w.+-]+@[\w.-]+\b/g, ' ');
  t = t.replace(/<[A-Za-z][A-Za-z0-9 ._-]*>/g, ' ');
  t = t.replace(/\{[A-Za-z][A-Za-z0-9]*\}/g, ' ');
  // Names kept in English, before the codes and numbers below take digits out of "Microsoft 365".
  for (const k of [...KEPT].sort((a, b) => b.length - a.length)) {
    t = t.replace(new RegExp(`(?<![A-Za-z0-9])${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`, 'g'), ' ');
  }
  // PowerShell lines: Verb-Noun with its parameters, up to the end of the sentence.
  t = t.replace(/\b(?:Get|Set|New|Add|Remove|Enable|Disable|Connect|Test|Grant|Revoke|Update|Install|Import|Export|Start|Stop|Restart)-[A-Za-z]+(?:[^。、\n]*)/g, ' ');
  // authrelay and other commands.
  t = t.replace(/\b(?:authrelay|npx authrelay|npm|sudo|systemctl|apt-get|docker|ss|openssl|swaks)\b[^。、\n]*/g, ' ');
  // Setting paths and identifiers: upstreams.m365.mailbox, queue.maxLifetime, recipientsPerDay, AADSTS7000215, 5.7.139
  t = t.replace(/\b[a-z]+[A-Z][A-Za-z0-9]*\b/g, ' ');
  t = t.replace(/\b[A-Za-z]+(?:\.[A-Za-z0-9]+)+\b/g, ' ');
  t = t.replace(/\b[A-Z0-9_]{2,}\b/g, ' ');
  t = t.replace(/\b\d[\w.:-]*\b/g, ' ');
  // Microsoft's error codes and names in CamelCase (ErrorSendAsDenied, SubmissionQuotaExceededException).
  t = t.replace(/\b[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+\b/g, ' ');
  const runs = t.match(/[A-Za-z][A-Za-z'’-]*(?:[ \t]+[A-Za-z][A-Za-z'’-]*){2,}/g) ?? [];
  return runs.map((r) => r.trim());
}

/** Undefined when the text reads as Japanese; otherwise what is wrong with it. */
export function notJapanese(text: string): string | undefined {
  if (!/[\u3040-\u30ff\u4e00-\u9fff]/.test(text)) return 'no Japanese in it';
  const runs = untranslatedEnglish(text);
  return runs.length ? `English left untranslated: ${runs.map((r) => JSON.stringify(r)).join(', ')}` : undefined;
}
