/**
 * The steps to take in Entra ID and Exchange Online for each route, with
 * the tenant, app and mailbox filled in, as `authrelay init` prints them.
 * The wording follows docs/microsoft-365.md and the error catalogue's fixes.
 */
import type { InitAnswers } from './answers.js';

/** Numbered steps (each a paragraph; commands on their own indented lines). */
export function setupSteps(a: InitAnswers): string[] {
  const app = a.entra?.clientId ?? '<appId>';
  const tenant = a.entra?.tenant ?? '<tenant>';
  const mailbox = a.mailbox ?? '<mailbox>';
  const register = `In the Entra admin center (entra.microsoft.com): App registrations → New registration (single tenant). ` +
    `Its Overview shows the Application (client) ID (${app}) and the Directory (tenant) ID (or use ${tenant}).`;
  const secretStep = a.entra?.credential.kind === 'certificate'
    ? 'App registration → Certificates & secrets → Certificates → Upload certificate: the .crt/.pem file (never the key).'
    : 'App registration → Certificates & secrets → New client secret. Copy its Value (shown once), not the Secret ID. Note when it expires and make the next one before then.';
  const casMailbox = `Allow SMTP AUTH for the mailbox (Exchange Online PowerShell):\n    Set-CASMailbox -Identity ${mailbox} -SmtpClientAuthenticationDisabled $false\n` +
    '  Security defaults block SMTP AUTH altogether.';
  const servicePrincipal = `Register the app's service principal in Exchange Online (Connect-ExchangeOnline first); the object ID is the Enterprise application's, not the App registration's:\n` +
    `    New-ServicePrincipal -AppId ${app} -ObjectId <enterprise app object id> -DisplayName authrelay`;
  switch (a.route) {
    case 'graph':
      return [
        register,
        secretStep,
        `API permissions → Add a permission → Microsoft Graph → Application permissions → Mail.Send (and Mail.ReadWrite for messages over about 3 MB) → Grant admin consent for ${tenant}.`,
        'Limit the mailboxes the app may send as (RBAC for Applications). ' + servicePrincipal + '\n' +
          `    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq '${mailbox}'"\n` +
          `    New-ManagementRoleAssignment -App ${app} -Role "Application Mail.Send" -CustomResourceScope "authrelay mailboxes"\n` +
          '  Then remove the Mail.Send grant of step 3 in Entra ID (it allows every mailbox); the role assignment scoped to these mailboxes takes its place.\n' +
          `  Check it: Test-ServicePrincipalAuthorization -Identity ${app} -Resource ${mailbox}`,
      ];
    case 'smtp-oauth':
      return [
        register,
        secretStep,
        `API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → SMTP.SendAsApp → Grant admin consent for ${tenant}.`,
        servicePrincipal,
        `Let it use the mailbox:\n    Add-MailboxPermission -Identity ${mailbox} -User <service principal id> -AccessRights FullAccess\n` +
          `  Or, with RBAC for Applications instead (and without the permission of step 3):\n` +
          `    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq '${mailbox}'"\n` +
          `    New-ManagementRoleAssignment -App ${app} -Role "Application SMTP.SendAsApp" -CustomResourceScope "authrelay mailboxes"`,
        casMailbox,
      ];
    case 'smtp-oauth-delegated':
      return [
        register,
        'App registration → Authentication → Allow public client flows → Yes (device code sign-in; no secret is used).',
        `API permissions → Add a permission → Microsoft Graph → Delegated permissions → SMTP.Send and offline_access → Grant admin consent for ${tenant}.`,
        casMailbox,
        `After writing the config, sign the mailbox in once: authrelay oauth login m365 (open the address shown, enter the code, sign in as ${mailbox}).`,
      ];
    case 'direct-send': {
      const domain = a.directSend?.domain ?? '<domain>';
      return [
        `SPF: the SPF record of every sender domain (${domain}) must include this site's public IP address:\n    v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all`,
        'Check that the tenant allows Direct Send (Exchange Online PowerShell):\n    Get-OrganizationConfig | Format-List RejectDirectSend\n' +
          '  When it is True, add an inbound connector for this site\'s public IP (Exchange admin center → Mail flow → Connectors) or choose a graph or smtp-oauth route.',
        `Only mailboxes in your own domains can be reached; route other recipients to a graph, smtp-oauth or smtp upstream (routes: - when: { recipientDomain: [...] }).`,
        'Outbound port 25 to the MX host must be open (many internet providers block it).',
      ];
    }
    case 'smtp':
      return [
        'For an Exchange Online inbound connector: Exchange admin center → Mail flow → Connectors → Add a connector, from "Your organization\'s email server" to "Office 365".',
        a.relay?.clientCert
          ? 'Identify the relay by certificate: enter the certificate\'s subject name (a domain accepted in your tenant) in the connector.'
          : 'Identify the relay by its public IP address in the connector (a static IP is needed).',
        `Relay host: ${a.relay?.host ?? '<host>'} port ${a.relay?.port ?? 25} (for Exchange Online: your MX host, <domain-with-dashes>.mail.protection.outlook.com, port 25).`,
      ];
    case 'hold':
      return ['Nothing to set up: messages are kept in the queue (see `authrelay queue list`) until an upstream is added.'];
  }
}

/** The application permissions a route's token should carry, and the ones that only matter sometimes. */
export function neededPermissions(route: InitAnswers['route']): { required: string[]; optional: { name: string; why: string }[] } {
  if (route === 'graph') return { required: ['Mail.Send'], optional: [{ name: 'Mail.ReadWrite', why: 'needed for messages over about 3 MB (large scans)' }] };
  if (route === 'smtp-oauth') return { required: ['SMTP.SendAsApp'], optional: [] };
  return { required: [], optional: [] };
}
