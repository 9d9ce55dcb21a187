/**
 * Catalogue entries for the migration scan's Graph answers (src/migration/):
 * the email apps usage report (`reports/getEmailAppUsageUserDetail`), the
 * Entra sign-in logs (`auditLogs/signIns`) and the report privacy setting
 * (`admin/reportSettings`). Bodies as Microsoft sends them, per
 * reference/migration-and-imap.md Part A and the public reports it cites:
 * the licence refusal (microsoft-graph-docs-contrib#3808, pnp/cli-microsoft365
 * #2910), a missing AuditLog.Read.All (docs-contrib#3196, graph-explorer-v4
 * #2731), the reports' S2SUnauthorized (microsoft-graph-docs#8547), the
 * sign-in logs' 429 (azure-docs#70953). Order matters: first match wins.
 */
import type { ScanEntry } from './catalogue-types.js';

const GRANT = (permission: string, also = '') =>
  `In Microsoft Entra admin center → App registrations → <appId> → API permissions → Add a permission → Microsoft Graph → Application permissions → ${permission}${also} → Grant admin consent for <tenant>. Tokens already issued keep the old permissions for up to an hour; scan again after that.`;

function entry(e: Omit<ScanEntry, 'source'>): ScanEntry {
  return { source: 'scan', ...e };
}

export const SCAN_ENTRIES: readonly ScanEntry[] = [
  entry({
    ref: 'scan.Authentication_RequestFromNonPremiumTenantOrB2CTenant', action: 'fail', scope: 'destination', category: 'licence',
    match: { operation: 'sign-ins', status: 403, code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant' },
    example: { operation: 'sign-ins', status: 403, code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', message: "Neither tenant is B2C or tenant doesn't have premium license" },
    effect: 'the scan goes on with the usage report alone',
    hint: 'Microsoft gives the sign-in logs to apps only in tenants with a Microsoft Entra ID P1 or P2 licence, and <tenant> has none; the scan goes on with the email apps usage report alone, so it knows which mailboxes used SMTP and their last activity day, but not the addresses they sent from, the exact times or the refusals.',
    fix: 'Add Microsoft Entra ID P1 (part of Microsoft 365 Business Premium, E3 and E5) or P2 to the tenant, then scan again; logs from before may be missing and new ones can take up to a day to appear. Without it, look in Microsoft Entra admin center → Sign-in logs, filter Client app = Authenticated SMTP (legacy authentication clients): the free tier keeps 7 days there.',
  }),
  entry({
    ref: 'scan.Authentication_ApplicationHasNoDirectoryReadAccess', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'sign-ins', status: 403, code: 'Authentication_ApplicationHasNoDirectoryReadAccess' },
    example: { operation: 'sign-ins', status: 403, code: 'Authentication_ApplicationHasNoDirectoryReadAccess', message: 'Failed to do premium license check from ADGraph' },
    effect: 'the scan goes on with the usage report alone',
    hint: 'Microsoft could not check the tenant\'s licence for the sign-in logs because the app may not read the directory; the scan goes on with the usage report alone.',
    fix: GRANT('Directory.Read.All', ' (besides AuditLog.Read.All)'),
  }),
  entry({
    ref: 'scan.sign-ins.AuditLog.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'sign-ins', status: 403 },
    example: { operation: 'sign-ins', status: 403, code: 'Authentication_MSGraphPermissionMissing', message: 'Calling principal does not have required MSGraph permissions AuditLog.Read.All' },
    effect: 'the scan goes on with the usage report alone',
    hint: 'The app <appId> may not read the sign-in logs: it lacks the Microsoft Graph application permission AuditLog.Read.All (or admin consent for it); the scan goes on with the usage report alone.',
    fix: GRANT('AuditLog.Read.All and Directory.Read.All'),
  }),
  entry({
    ref: 'scan.usage-report.Reports.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'usage-report', status: 403 },
    example: { operation: 'usage-report', status: 403, code: 'S2SUnauthorized', message: 'Invalid permission.' },
    effect: 'the scan goes on with the sign-in logs alone',
    hint: 'The app <appId> may not read the usage reports: it lacks the Microsoft Graph application permission Reports.Read.All (or admin consent for it); the scan goes on with the sign-in logs alone.',
    fix: GRANT('Reports.Read.All'),
  }),
  entry({
    ref: 'scan.report-settings.ReportSettings.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'report-settings', status: 403 },
    example: { operation: 'report-settings', status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' },
    effect: 'nothing is missing; the setting is told from the report\'s rows instead',
    hint: 'The app <appId> may not read the report privacy setting (optional: concealed names are recognised in the report itself).',
    fix: `Optional. ${GRANT('ReportSettings.Read.All')}`,
  }),
  entry({
    ref: 'scan.concealed-names', action: 'fail', scope: 'destination', category: 'concealed',
    match: { operation: 'usage-report', finding: 'concealed-names' },
    example: { operation: 'usage-report', status: 200, finding: 'concealed-names' },
    effect: 'the senders are counted, but their mailboxes are not named',
    hint: 'The tenant conceals user names in usage reports (Microsoft\'s default since September 2021): the report shows each mailbox as a code such as FE7CC8C15246EDCCA289C9A4022762F7, so those senders are counted but cannot be named or matched to devices.',
    fix: 'In Microsoft 365 admin center → Settings → Org settings → Services → Reports, clear "Display concealed user, group, and site names in all reports" and save (it applies to the reports API within minutes), then scan again. With ReportSettings.ReadWrite.All the same is PATCH /admin/reportSettings {"displayConcealedNames": false}. The sign-in logs always show real names.',
  }),
  entry({
    ref: 'scan.usage-report.throttled', action: 'retry', scope: 'destination', category: 'throttled',
    match: { operation: 'usage-report', status: 429 },
    example: { operation: 'usage-report', status: 429, code: 'TooManyRequests', message: 'Please retry again later.' },
    effect: 'the scan waits as told and tries again, then goes on without the report',
    hint: 'Microsoft throttles the usage reports to 14 requests in 10 minutes per app and tenant (40 for all apps of the tenant); something else is reading reports with the same app or tenant.',
    fix: 'Nothing to do if the scan went through. If it keeps ending throttled, give the scan an app of its own (migration.app) or find the other tool reading the reports, then scan again after 10 minutes.',
  }),
  entry({
    ref: 'scan.sign-ins.throttled', action: 'retry', scope: 'destination', category: 'throttled',
    match: { operation: 'sign-ins', status: 429 },
    example: { operation: 'sign-ins', status: 429, code: 'UnknownError', message: 'This request is throttled. Please try again after the value specified in the Retry-After header. CorrelationId: 7a4af69e-f5af-4fa8-82b1-189e241ef715' },
    effect: 'the scan waits as told and tries again; what was read is kept',
    hint: 'Microsoft throttles the sign-in logs to 5 requests in 10 seconds per app and tenant; the scan waits as told between pages.',
    fix: 'Nothing to do if the scan went through. If it keeps ending throttled, choose a shorter period (--period D7), give the scan an app of its own (migration.app), or stop the other tool reading the sign-in logs with the same app.',
  }),
  entry({
    ref: 'scan.InvalidAuthenticationToken', action: 'fail', scope: 'destination', category: 'auth',
    match: { status: 401 },
    example: { operation: 'usage-report', status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience.' },
    effect: 'that source is skipped',
    hint: 'Microsoft Graph did not accept the app\'s token (expired, for another cloud, or for another resource).',
    fix: 'Check that the upstream\'s (or migration.app\'s) cloud and endpoints match the tenant\'s cloud and that the machine\'s clock is right; the reports and sign-in logs are served in the worldwide cloud only.',
  }),
  entry({
    ref: 'scan.server-error', action: 'retry', scope: 'destination', category: 'unavailable',
    match: { status: [500, 502, 503, 504] },
    example: { operation: 'sign-ins', status: 503, code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' },
    effect: 'the scan tries again, then ends that source with what it has',
    hint: 'Microsoft Graph had an internal error or was unavailable while the scan read the tenant.',
    fix: 'Scan again later; if it lasts, check Microsoft 365 admin center → Health → Service health.',
  }),
];
