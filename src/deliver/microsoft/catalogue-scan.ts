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

const GRANT_JA = (permission: string, also = '') =>
  `Microsoft Entra 管理センターの [アプリの登録] → <appId> → [API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [アプリケーションの許可] で ${permission}${also} を追加し、[<tenant> に管理者の同意を与えます] をクリックしてください。発行済みのトークンには最大 1 時間、以前のアクセス許可が残るため、その後にもう一度スキャンしてください。`;

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
    ja: {
      hint: 'Microsoft はサインイン ログを、Microsoft Entra ID P1 または P2 のライセンスがあるテナントのアプリにしか提供しません。<tenant> にはこのライセンスがないため、スキャンはメール アプリの使用状況レポートだけで続行します。どのメールボックスが SMTP を使い、最後に使ったのがいつかはわかりますが、送信元のアドレス、正確な時刻、拒否された記録はわかりません。',
      fix: 'テナントに Microsoft Entra ID P1 (Microsoft 365 の Business Premium、E3、E5 に含まれます) または P2 を追加してから、もう一度スキャンしてください。追加より前のログは欠けている場合があり、新しいログが表示されるまで最大 1 日かかります。ライセンスがない場合は、Microsoft Entra 管理センターの [サインイン ログ] で [フィルターの追加] → [クライアントアプリ] → [レガシ認証クライアント] の [SMTP] を選んで確認してください。無料版でも 7 日分が保存されています。',
      effect: 'スキャンは使用状況レポートだけで続行します',
    },
  }),
  entry({
    ref: 'scan.Authentication_ApplicationHasNoDirectoryReadAccess', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'sign-ins', status: 403, code: 'Authentication_ApplicationHasNoDirectoryReadAccess' },
    example: { operation: 'sign-ins', status: 403, code: 'Authentication_ApplicationHasNoDirectoryReadAccess', message: 'Failed to do premium license check from ADGraph' },
    effect: 'the scan goes on with the usage report alone',
    hint: 'Microsoft could not check the tenant\'s licence for the sign-in logs because the app may not read the directory; the scan goes on with the usage report alone.',
    fix: GRANT('Directory.Read.All', ' (besides AuditLog.Read.All)'),
    ja: { hint: 'アプリにディレクトリの読み取りが許可されていないため、Microsoft はサインイン ログに必要なテナントのライセンスを確認できませんでした。スキャンは使用状況レポートだけで続行します。', fix: GRANT_JA('Directory.Read.All', ' (AuditLog.Read.All に加えて)'), effect: 'スキャンは使用状況レポートだけで続行します' },
  }),
  entry({
    ref: 'scan.sign-ins.AuditLog.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'sign-ins', status: 403 },
    example: { operation: 'sign-ins', status: 403, code: 'Authentication_MSGraphPermissionMissing', message: 'Calling principal does not have required MSGraph permissions AuditLog.Read.All' },
    effect: 'the scan goes on with the usage report alone',
    hint: 'The app <appId> may not read the sign-in logs: it lacks the Microsoft Graph application permission AuditLog.Read.All (or admin consent for it); the scan goes on with the usage report alone.',
    fix: GRANT('AuditLog.Read.All and Directory.Read.All'),
    ja: { hint: 'アプリ <appId> はサインイン ログを読み取れません。Microsoft Graph のアプリケーションのアクセス許可 AuditLog.Read.All (またはその管理者の同意) がありません。スキャンは使用状況レポートだけで続行します。', fix: GRANT_JA('AuditLog.Read.All と Directory.Read.All'), effect: 'スキャンは使用状況レポートだけで続行します' },
  }),
  entry({
    ref: 'scan.usage-report.Reports.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'usage-report', status: 403 },
    example: { operation: 'usage-report', status: 403, code: 'S2SUnauthorized', message: 'Invalid permission.' },
    effect: 'the scan goes on with the sign-in logs alone',
    hint: 'The app <appId> may not read the usage reports: it lacks the Microsoft Graph application permission Reports.Read.All (or admin consent for it); the scan goes on with the sign-in logs alone.',
    fix: GRANT('Reports.Read.All'),
    ja: { hint: 'アプリ <appId> は使用状況レポートを読み取れません。Microsoft Graph のアプリケーションのアクセス許可 Reports.Read.All (またはその管理者の同意) がありません。スキャンはサインイン ログだけで続行します。', fix: GRANT_JA('Reports.Read.All'), effect: 'スキャンはサインイン ログだけで続行します' },
  }),
  entry({
    ref: 'scan.report-settings.ReportSettings.Read.All', action: 'fail', scope: 'destination', category: 'permission',
    match: { operation: 'report-settings', status: 403 },
    example: { operation: 'report-settings', status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' },
    effect: 'nothing is missing; the setting is told from the report\'s rows instead',
    hint: 'The app <appId> may not read the report privacy setting (optional: concealed names are recognised in the report itself).',
    fix: `Optional. ${GRANT('ReportSettings.Read.All')}`,
    ja: { hint: 'アプリ <appId> はレポートのプライバシー設定を読み取れません (任意です。非表示の名前はレポート自体から判別できます)。', fix: `任意です。${GRANT_JA('ReportSettings.Read.All')}`, effect: '欠ける情報はありません。設定はレポートの行から判断します' },
  }),
  entry({
    ref: 'scan.concealed-names', action: 'fail', scope: 'destination', category: 'concealed',
    match: { operation: 'usage-report', finding: 'concealed-names' },
    example: { operation: 'usage-report', status: 200, finding: 'concealed-names' },
    effect: 'the senders are counted, but their mailboxes are not named',
    hint: 'The tenant conceals user names in usage reports (Microsoft\'s default since September 2021): the report shows each mailbox as a code such as FE7CC8C15246EDCCA289C9A4022762F7, so those senders are counted but cannot be named or matched to devices.',
    fix: 'In Microsoft 365 admin center → Settings → Org settings → Services → Reports, clear "Display concealed user, group, and site names in all reports" and save (it applies to the reports API within minutes), then scan again. With ReportSettings.ReadWrite.All the same is PATCH /admin/reportSettings {"displayConcealedNames": false}. The sign-in logs always show real names.',
    ja: {
      hint: 'テナントが使用状況レポートのユーザー名を非表示にしています (2021 年 9 月以降の Microsoft の既定)。レポートでは各メールボックスが FE7CC8C15246EDCCA289C9A4022762F7 のようなコードで表示されるため、それらの送信者は数えられますが、名前を特定したり機器と照合したりできません。',
      fix: 'Microsoft 365 管理センターの [設定] → [組織設定] → [サービス] → [レポート] で [非表示のユーザー、グループ、およびサイト名をすべてのレポートに表示する] をオフにして保存し (レポート API には数分で反映されます)、もう一度スキャンしてください。ReportSettings.ReadWrite.All があれば、PATCH /admin/reportSettings {"displayConcealedNames": false} でも同じ変更ができます。サインイン ログには常に実際の名前が表示されます。',
      effect: '送信者の数はわかりますが、どのメールボックスかはわかりません',
    },
  }),
  entry({
    ref: 'scan.usage-report.throttled', action: 'retry', scope: 'destination', category: 'throttled',
    match: { operation: 'usage-report', status: 429 },
    example: { operation: 'usage-report', status: 429, code: 'TooManyRequests', message: 'Please retry again later.' },
    effect: 'the scan waits as told and tries again, then goes on without the report',
    hint: 'Microsoft throttles the usage reports to 14 requests in 10 minutes per app and tenant (40 for all apps of the tenant); something else is reading reports with the same app or tenant.',
    fix: 'Nothing to do if the scan went through. If it keeps ending throttled, give the scan an app of its own (migration.app) or find the other tool reading the reports, then scan again after 10 minutes.',
    ja: { hint: 'Microsoft は使用状況レポートの要求を、アプリとテナントごとに 10 分間で 14 回 (テナントのすべてのアプリで合計 40 回) に制限しています。同じアプリまたはテナントで、ほかのツールがレポートを読み取っています。', fix: 'スキャンが完了していれば対処は不要です。何度も制限で終わる場合は、スキャン専用のアプリを用意する (migration.app) か、レポートを読み取っている別のツールを特定し、10 分後にもう一度スキャンしてください。', effect: 'スキャンは指示された時間だけ待って再試行し、それでも失敗した場合はレポートなしで続行します' },
  }),
  entry({
    ref: 'scan.sign-ins.throttled', action: 'retry', scope: 'destination', category: 'throttled',
    match: { operation: 'sign-ins', status: 429 },
    example: { operation: 'sign-ins', status: 429, code: 'UnknownError', message: 'This request is throttled. Please try again after the value specified in the Retry-After header. CorrelationId: 7a4af69e-f5af-4fa8-82b1-189e241ef715' },
    effect: 'the scan waits as told and tries again; what was read is kept',
    hint: 'Microsoft throttles the sign-in logs to 5 requests in 10 seconds per app and tenant; the scan waits as told between pages.',
    fix: 'Nothing to do if the scan went through. If it keeps ending throttled, choose a shorter period (--period D7), give the scan an app of its own (migration.app), or stop the other tool reading the sign-in logs with the same app.',
    ja: { hint: 'Microsoft はサインイン ログの要求を、アプリとテナントごとに 10 秒間で 5 回に制限しています。スキャンはページの間で指示された時間だけ待ちます。', fix: 'スキャンが完了していれば対処は不要です。何度も制限で終わる場合は、期間を短くする (--period D7)、スキャン専用のアプリを用意する (migration.app)、または同じアプリでサインイン ログを読み取っている別のツールを停止してください。', effect: 'スキャンは指示された時間だけ待って再試行します。読み取った分は保持されます' },
  }),
  entry({
    ref: 'scan.InvalidAuthenticationToken', action: 'fail', scope: 'destination', category: 'auth',
    match: { status: 401 },
    example: { operation: 'usage-report', status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience.' },
    effect: 'that source is skipped',
    hint: 'Microsoft Graph did not accept the app\'s token (expired, for another cloud, or for another resource).',
    fix: 'Check that the upstream\'s (or migration.app\'s) cloud and endpoints match the tenant\'s cloud and that the machine\'s clock is right; the reports and sign-in logs are served in the worldwide cloud only.',
    ja: { hint: 'Microsoft Graph がアプリのトークンを受け付けませんでした (有効期限切れ、別のクラウド用、または別のリソース用のトークン)。', fix: 'アップストリーム (または migration.app) の cloud とエンドポイントがテナントのクラウドと一致していること、マシンの時刻が正しいことを確認してください。レポートとサインイン ログはグローバル サービス (世界共通のクラウド) でのみ提供されます。', effect: 'その情報源はスキップされます' },
  }),
  entry({
    ref: 'scan.server-error', action: 'retry', scope: 'destination', category: 'unavailable',
    match: { status: [500, 502, 503, 504] },
    example: { operation: 'sign-ins', status: 503, code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' },
    effect: 'the scan tries again, then ends that source with what it has',
    hint: 'Microsoft Graph had an internal error or was unavailable while the scan read the tenant.',
    fix: 'Scan again later; if it lasts, check Microsoft 365 admin center → Health → Service health.',
    ja: { hint: 'スキャンがテナントを読み取っている間に、Microsoft Graph で内部エラーが発生したか、Microsoft Graph が利用できない状態でした。', fix: '時間をおいてもう一度スキャンしてください。続く場合は、Microsoft 365 管理センターの [正常性] → [サービス正常性] を確認してください。', effect: 'スキャンは再試行し、それでも失敗した場合はその情報源を取得済みの内容で終えます' },
  }),
];
