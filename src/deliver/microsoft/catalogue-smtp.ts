/**
 * Catalogue entries for SMTP replies from Exchange Online: SMTP AUTH
 * (smtp.office365.com with OAuth or a password), submission, and Direct Send
 * or connector relay to *.mail.protection.outlook.com. Patterns are tested
 * against the whole reply (continuation lines joined), in order, first match
 * wins; they name Microsoft's own texts so other servers' replies are not
 * mistaken for them. Examples follow Microsoft's NDR list and replies quoted
 * in public reports.
 */
import type { SmtpEntry } from './catalogue-types.js';

const HOST = '[SN4PR0501CA0054.namprd05.prod.outlook.com 2025-03-04T10:11:12.345Z 08DD5B1C2A3E4F50]';
const DAY = 24 * 3_600_000;
const USE_OAUTH = 'Switch the route to OAuth (an smtp-oauth upstream with an app registration) or to Graph (a graph upstream); both keep working where password sign-in is turned off.';
const ENABLE_SMTP_AUTH = 'Run in Exchange Online PowerShell: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (this overrides the tenant setting for that mailbox only). Or use a graph route, which needs no SMTP AUTH.';
const SEND_AS = 'Either let the device send as <mailbox> (the device\'s sendAs or the route\'s mailbox), or grant the right in Exchange Online PowerShell: Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs (for a user sign-in), or Add-MailboxPermission -Identity <From address> -User <service principal id> -AccessRights FullAccess (for an app).';
const CONNECTOR = 'In Exchange admin center → Mail flow → Connectors, add (or correct) a connector from "Your organization\'s email server" to Office 365 that identifies the relay by its public IP address or by a TLS certificate whose name is one of your accepted domains.';
const WAIT_SERVICE = 'Nothing to do if it passes; if it lasts, check Microsoft 365 admin center → Health → Service health → Exchange Online.';
// The same in Japanese, Microsoft's screens named as its Japanese UI names them.
const JA_USE_OAUTH = 'ルートを OAuth (アプリの登録を使う smtp-oauth アップストリーム) または Graph (graph アップストリーム) に切り替えます。どちらも、パスワードによるサインインが無効な環境でも動作します。';
const JA_ENABLE_SMTP_AUTH = 'Exchange Online PowerShell で Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false を実行します (そのメールボックスに限り、テナントの設定より優先されます)。または、SMTP AUTH が不要な graph ルートを使います。';
const JA_SEND_AS = 'デバイスが <mailbox> として送信するようにする (デバイスの sendAs またはルートの mailbox) か、Exchange Online PowerShell で権限を付与します: Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs (ユーザーのサインインの場合)、または Add-MailboxPermission -Identity <From address> -User <service principal id> -AccessRights FullAccess (アプリの場合)。';
const JA_CONNECTOR = 'Exchange 管理センター → [メール フロー] → [コネクタ] で、接続元が [組織のメール サーバー]、接続先が [Office 365] のコネクタを追加 (または修正) し、リレーをそのパブリック IP アドレス、または承認済みドメインのいずれかを名前に持つ TLS 証明書で識別するようにします。';
const JA_WAIT_SERVICE = '解消すれば対処は不要です。続く場合は、Microsoft 365 管理センター → [正常性] → [サービス正常性] → Exchange Online を確認してください。';

function entry(e: Omit<SmtpEntry, 'source'>): SmtpEntry {
  return { source: 'smtp', ...e };
}

function auth(e: Pick<SmtpEntry, 'ref' | 'match' | 'example' | 'hint' | 'fix' | 'ja'>): SmtpEntry {
  return entry({ action: 'fail', scope: 'message', category: 'auth', ...e });
}

export const SMTP_ENTRIES: readonly SmtpEntry[] = [
  auth({
    ref: 'smtp.5.7.139.tenant-disabled', match: /\b5\.7\.139\b.*SmtpClientAuthentication is disabled for the Tenant/i,
    example: `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. ${HOST}`,
    hint: 'SMTP AUTH is turned off for the whole Microsoft 365 organisation, so no mailbox may sign in over SMTP.',
    fix: ENABLE_SMTP_AUTH,
    ja: {
      hint: 'Microsoft 365 の組織全体で SMTP AUTH が無効 ([組織で SMTP AUTH プロトコルを無効にする]) になっているため、どのメールボックスも SMTP でサインインできません。',
      fix: JA_ENABLE_SMTP_AUTH,
    },
  }),
  auth({
    ref: 'smtp.5.7.139.mailbox-disabled', match: /\b5\.7\.139\b.*SmtpClientAuthentication is disabled for the Mailbox/i,
    example: `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. ${HOST}`,
    hint: 'SMTP AUTH is turned off for the mailbox <mailbox>.',
    fix: `${ENABLE_SMTP_AUTH} In Microsoft 365 admin center this is Users → <mailbox> → Mail → Manage email apps → Authenticated SMTP.`,
    ja: {
      hint: 'メールボックス <mailbox> で SMTP AUTH が無効になっています。',
      fix: `${JA_ENABLE_SMTP_AUTH}Microsoft 365 管理センターでは [ユーザー] → [アクティブなユーザー] → <mailbox> → [メール] → [メール アプリを管理する] → [認証済み SMTP] です。`,
    },
  }),
  auth({
    ref: 'smtp.5.7.139.basic-auth-disabled', match: /\b5\.7\.139\b.*basic authentication is disabled/i,
    example: `535 5.7.139 Authentication unsuccessful, basic authentication is disabled. ${HOST}`,
    hint: 'The route signs in with a password, and password (basic) sign-in is turned off for SMTP in this organisation.',
    fix: `${USE_OAUTH} (An authentication policy with -AllowBasicAuthSmtp can re-enable it until Microsoft removes basic authentication for SMTP.)`,
    ja: {
      hint: 'ルートはパスワードでサインインしていますが、この組織では SMTP でのパスワード (基本認証) によるサインインが無効です。',
      fix: `${JA_USE_OAUTH}(Microsoft が SMTP の基本認証を廃止するまでは、-AllowBasicAuthSmtp を指定した認証ポリシーで再び有効にできます。)`,
    },
  }),
  auth({
    ref: 'smtp.5.7.139.credentials-incorrect', match: /\b5\.7\.139\b.*user credentials were incorrect/i,
    example: `535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. ${HOST}`,
    hint: 'Exchange Online rejected the user name or password.',
    fix: 'Check the route\'s user (the mailbox\'s full sign-in address) and password; an account with MFA needs an app password, or better a switch to OAuth (smtp-oauth or graph upstream).',
    ja: {
      hint: 'Exchange Online がユーザー名またはパスワードを拒否しました。',
      fix: 'ルートの user (メールボックスの完全なサインイン アドレス) と password を確認してください。MFA が有効なアカウントにはアプリ パスワードが必要です。OAuth (smtp-oauth アップストリームまたは graph アップストリーム) への切り替えをお勧めします。',
    },
  }),
  auth({
    ref: 'smtp.5.7.139.security-defaults', match: /\b5\.7\.139\b.*security defaults/i,
    example: `535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator. ${HOST}`,
    hint: 'The organisation\'s Security Defaults block password sign-in over SMTP.',
    fix: `${USE_OAUTH} Turning Security Defaults off (Entra admin center → Overview → Properties → Manage security defaults) also works but weakens the whole tenant.`,
    ja: {
      hint: '組織のセキュリティの既定値群により、SMTP でのパスワードによるサインインがブロックされています。',
      fix: `${JA_USE_OAUTH}セキュリティの既定値群を無効にする (Microsoft Entra 管理センター → [概要] → [プロパティ] → [セキュリティの既定値の管理]) ことでも解決しますが、テナント全体のセキュリティが弱まります。`,
    },
  }),
  auth({
    ref: 'smtp.5.7.139.criteria', match: /\b5\.7\.139\b.*did not meet the criteria/i,
    example: `535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. ${HOST}`,
    hint: 'Exchange Online refused this sign-in by policy: usually Conditional Access, an authentication policy, or an account that is blocked from signing in.',
    fix: 'In Entra admin center → Sign-in logs, find the failed sign-in for <mailbox> and see which policy blocked it; allow the relay\'s public IP or the app there, and check that the account is not blocked (Microsoft 365 admin center → Users → <mailbox>).',
    ja: {
      hint: 'Exchange Online がポリシーによってこのサインインを拒否しました。通常は、条件付きアクセス、認証ポリシー、またはサインインがブロックされたアカウントが原因です。',
      fix: 'Microsoft Entra 管理センター → [サインイン ログ] で <mailbox> の失敗したサインインを探し、どのポリシーがブロックしたかを確認します。そのポリシーでリレーのパブリック IP アドレスまたはアプリを許可し、アカウントのサインインがブロックされていないことを確認してください (Microsoft 365 管理センター → [ユーザー] → [アクティブなユーザー] → <mailbox>)。',
    },
  }),
  auth({
    ref: 'smtp.5.7.139.organization-configuration', match: /\b5\.7\.139\b.*organization configuration doesn'?t allow/i,
    example: `535 5.7.139 Authentication unsuccessful, the organization configuration doesn't allow this authentication request. Visit https://aka.ms/smtp_auth_disabled for more information. ${HOST}`,
    hint: 'The organisation\'s settings do not allow this kind of sign-in for this account (for High Volume Email: the app is not given access to the HVE account, or basic auth is not allowed by its authentication policy).',
    fix: 'For a High Volume Email account run: Add-HVEAppAccess -Identity <mailbox> -AppIds <appId> (and give the app the Office 365 Exchange Online Mail.Send application permission). For a password, allow AllowBasicAuthSmtp in the authentication policy that applies to <mailbox>.',
    ja: {
      hint: '組織の設定で、このアカウントにこの種類のサインインが許可されていません (High Volume Email の場合: アプリに HVE アカウントへのアクセスが与えられていないか、認証ポリシーで基本認証が許可されていません)。',
      fix: 'High Volume Email アカウントの場合は Add-HVEAppAccess -Identity <mailbox> -AppIds <appId> を実行します (アプリには Office 365 Exchange Online の Mail.Send アプリケーションのアクセス許可も与えます)。パスワードの場合は、<mailbox> に適用される認証ポリシーで AllowBasicAuthSmtp を許可します。',
    },
  }),
  auth({
    ref: 'smtp.5.7.139', match: /\b5\.7\.139\b/,
    example: `535 5.7.139 Authentication unsuccessful, the user is disabled. ${HOST}`,
    hint: 'Exchange Online refused the sign-in for a reason of its own (the text after the code says which).',
    fix: 'Read the reply text and see https://aka.ms/smtp_auth_disabled; check that SMTP AUTH is enabled for <mailbox> and that the account may sign in.',
    ja: {
      hint: 'Exchange Online が独自の理由でサインインを拒否しました (理由はコードの後のテキストに書かれています)。',
      fix: '応答のテキストを読み、https://aka.ms/smtp_auth_disabled を参照してください。<mailbox> で SMTP AUTH が有効なこと、アカウントがサインインできることを確認してください。',
    },
  }),
  auth({
    ref: 'smtp.5.7.3', match: /^535[ -]5\.7\.3\b/,
    example: '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]',
    hint: 'Exchange Online did not accept the OAuth sign-in for <mailbox>: for an app, the SMTP permission, the Exchange service principal or the mailbox permission is missing.',
    fix: 'For an app: (1) Entra admin center → App registrations → <appId> → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → SMTP.SendAsApp → Grant admin consent; (2) Exchange Online PowerShell: New-ServicePrincipal -AppId <appId> -ObjectId <enterprise app object id> (from Entra admin center → Enterprise applications, not App registrations); (3) Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess. Also check SMTP AUTH for the mailbox: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false.',
    ja: {
      hint: 'Exchange Online が <mailbox> の OAuth サインインを受け付けませんでした。アプリの場合は、SMTP のアクセス許可、Exchange のサービス プリンシパル、またはメールボックスのアクセス許可が不足しています。',
      fix: 'アプリの場合: (1) Microsoft Entra 管理センター → [アプリの登録] → <appId> → [API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [アプリケーションの許可] → SMTP.SendAsApp → [管理者の同意を与えます]。(2) Exchange Online PowerShell で New-ServicePrincipal -AppId <appId> -ObjectId <enterprise app object id> を実行します (ObjectId は [アプリの登録] ではなく、Microsoft Entra 管理センター → [エンタープライズ アプリケーション] で確認します)。(3) Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess。メールボックスの SMTP AUTH も確認してください: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false。',
    },
  }),
  auth({
    ref: 'smtp.5.5.124', match: /\b5\.5\.124\b/,
    example: '501 5.5.124 Invalid XOAUTH2 auth data',
    hint: 'Exchange Online could not read the OAuth sign-in: the token is for another resource or cloud, or the user name is not a mailbox address.',
    fix: 'Check the route\'s cloud and mailbox (<mailbox> must be a full address); app tokens for SMTP must be for https://outlook.office365.com/.default. If those are right, report it as a relay bug with this reply.',
    ja: {
      hint: 'Exchange Online が OAuth サインインの内容を読み取れませんでした。トークンが別のリソースやクラウド用か、ユーザー名がメールボックスのアドレスではありません。',
      fix: 'ルートの cloud と mailbox を確認してください (<mailbox> は完全なアドレスである必要があります)。SMTP 用のアプリ トークンは https://outlook.office365.com/.default 用である必要があります。これらが正しい場合は、この応答を添えてリレーの不具合として報告してください。',
    },
  }),
  auth({
    ref: 'smtp.5.7.30', match: /\b5\.7\.30\b/,
    example: '550 5.7.30 Basic authentication is not supported for Client Submission.',
    hint: 'Microsoft no longer accepts password (basic) sign-in for sending mail from this organisation.',
    fix: USE_OAUTH,
    ja: {
      hint: 'Microsoft は、この組織からのメール送信に、パスワード (基本認証) によるサインインを受け付けなくなりました。',
      fix: JA_USE_OAUTH,
    },
  }),
  auth({
    ref: 'smtp.5.7.57', match: /\b5\.7\.57\b/,
    example: '530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM [SN4PR0501CA0054.namprd05.prod.outlook.com]',
    hint: 'The relay sent mail to smtp.office365.com without signing in, which Microsoft only accepts from signed-in mailboxes.',
    fix: 'Give the route credentials (an smtp-oauth upstream, or auth on an smtp upstream), or send without sign-in through Direct Send: a direct-send upstream to your domain\'s MX host (*.mail.protection.outlook.com, port 25).',
    ja: {
      hint: 'リレーがサインインせずに smtp.office365.com へメールを送信しました。Microsoft は、サインインしたメールボックスからの送信しか受け付けません。',
      fix: 'ルートに資格情報を設定する (smtp-oauth アップストリーム、または smtp アップストリームの auth) か、Direct Send でサインインせずに送信します: ドメインの MX ホスト (*.mail.protection.outlook.com、ポート 25) への direct-send アップストリームです。',
    },
  }),
  entry({
    ref: 'smtp.5.2.252.SendAsDenied', action: 'fail', scope: 'message', category: 'sender', match: /\b5\.2\.252\b/,
    example: '554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as boss@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. 0.35250:0F000000, 1.36674:0A000000, 1.61250:00000000 [Hostname=PH0PR07MB8510.namprd07.prod.outlook.com]',
    hint: 'The message\'s From address is not the mailbox the relay signs in as (<mailbox>), and that mailbox has no right to send as that address.',
    fix: SEND_AS,
    ja: {
      hint: 'メッセージの差出人 (From) アドレスが、リレーがサインインしているメールボックス (<mailbox>) ではなく、そのメールボックスにはそのアドレスの「送信者として送信」権限がありません。',
      fix: JA_SEND_AS,
    },
  }),
  entry({
    ref: 'smtp.5.2.0.SendAsDenied', action: 'fail', scope: 'message', category: 'sender', match: /SendAsDenied(Exception)?\b/i,
    example: '554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message. 16.55847:6C090000, 17.43559:0000000094020000000000000100000000000000 [Hostname=DM6PR19MB2555.namprd19.prod.outlook.com]',
    hint: 'The message\'s From address is not the mailbox the relay signs in as (<mailbox>), and that mailbox has no right to send as that address.',
    fix: SEND_AS,
    ja: {
      hint: 'メッセージの差出人 (From) アドレスが、リレーがサインインしているメールボックス (<mailbox>) ではなく、そのメールボックスにはそのアドレスの「送信者として送信」権限がありません。',
      fix: JA_SEND_AS,
    },
  }),
  entry({
    ref: 'smtp.5.7.60', action: 'fail', scope: 'message', category: 'sender',
    match: /\b5\.7\.60\b/,
    example: '550 5.7.60 SMTP; Client does not have permissions to send as this sender',
    hint: 'The message\'s From address is not the mailbox the relay signs in as (<mailbox>), and that mailbox has no right to send as that address.',
    fix: SEND_AS,
    ja: {
      hint: 'メッセージの差出人 (From) アドレスが、リレーがサインインしているメールボックス (<mailbox>) ではなく、そのメールボックスにはそのアドレスの「送信者として送信」権限がありません。',
      fix: JA_SEND_AS,
    },
  }),
  entry({
    ref: 'smtp.5.2.0.SubmissionQuotaExceeded', action: 'retry', scope: 'message', category: 'quota', retryAfterMs: DAY,
    match: /SubmissionQuotaExceeded|\b5\.2\.2\b.*submission quota/i,
    example: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message Cannot submit message. [Hostname=BY5PR12MB4244.namprd12.prod.outlook.com]',
    hint: 'The mailbox <mailbox> has reached its sending limit (10,000 recipients in any 24 hours); nothing is sent as it, from any route, until the 24 hours have passed.',
    fix: 'Lower what this mailbox sends (the route\'s recipientsPerDay keeps the relay under the limit; people sending from the mailbox count too), spread devices over more mailboxes, or add a fallback upstream to the route (use: [this, another]).',
    ja: {
      hint: 'メールボックス <mailbox> が送信制限 (24 時間で 10,000 受信者) に達しました。24 時間が経過するまで、どのルートからもこのメールボックスとしては送信されません。',
      fix: 'このメールボックスから送る量を減らす (ルートの recipientsPerDay でリレーを制限内に保てます。このメールボックスから人が送る分も数えられます) か、デバイスを複数のメールボックスに分けるか、ルートにフォールバックのアップストリームを追加します (use: [this, another])。',
    },
  }),
  entry({
    ref: 'smtp.5.1.90', action: 'retry', scope: 'message', category: 'quota', retryAfterMs: DAY,
    match: /\b5\.1\.90\b/,
    example: "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients",
    hint: 'The mailbox <mailbox> has sent to more recipients in the last 24 hours than Exchange Online allows (10,000); nothing is sent as it until the 24 hours have passed.',
    fix: 'Wait: the limit counts a rolling 24 hours and cannot be lifted by an administrator. Keep the route\'s recipientsPerDay below what the mailbox really has left (people sending from it count too), spread devices over more mailboxes, or add a fallback upstream to the route (use: [this, another]).',
    ja: {
      hint: 'メールボックス <mailbox> が直近 24 時間に送信した受信者の数が、Exchange Online の上限 (10,000) を超えました。24 時間が経過するまで、このメールボックスとしては送信されません。',
      fix: 'そのまま待ちます。制限は直近 24 時間の累計で、管理者が解除することはできません。ルートの recipientsPerDay を、メールボックスに実際に残っている数 (このメールボックスから人が送る分も数えられます) より低く保つか、デバイスを複数のメールボックスに分けるか、ルートにフォールバックのアップストリームを追加します (use: [this, another])。',
    },
  }),
  entry({
    ref: 'smtp.4.3.2.sender-thread-limit', action: 'retry', scope: 'message', category: 'throttled', retryAfterMs: 60_000,
    match: /\b4\.3\.2\b.*sender thread limit/i,
    example: '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded [Hostname=SN6PR04MB4526.namprd04.prod.outlook.com]',
    hint: 'Too many messages are being submitted from <mailbox> at the same time; the relay waits a minute and tries again.',
    fix: 'Nothing to do if it passes; if it lasts, lower the route\'s mailboxConcurrency (Exchange Online allows only a few submissions per mailbox at once).',
    ja: {
      hint: '<mailbox> から同時に送信されているメッセージが多すぎます。リレーは 1 分待ってから再試行します。',
      fix: '解消すれば対処は不要です。続く場合は、ルートの mailboxConcurrency を下げてください (Exchange Online では、1 つのメールボックスで同時に送信できる数はわずかです)。',
    },
  }),
  entry({
    ref: 'smtp.4.3.2.concurrent-connections', action: 'retry', scope: 'message', category: 'throttled', retryAfterMs: 60_000,
    match: /\b4\.3\.2\b.*Concurrent connections limit/i,
    example: '432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=AM0PR04MB6724.eurprd04.prod.outlook.com]',
    hint: 'Too many connections are open for <mailbox> at the same time; the relay waits a minute and tries again.',
    fix: 'Lower the route\'s mailboxConcurrency (3 is safe) and make sure no other program sends as <mailbox> in parallel.',
    ja: {
      hint: '<mailbox> に対して同時に開いている接続が多すぎます。リレーは 1 分待ってから再試行します。',
      fix: 'ルートの mailboxConcurrency を下げ (3 なら安全です)、ほかのプログラムが <mailbox> として同時に送信していないことを確認してください。',
    },
  }),
  entry({
    ref: 'smtp.4.7.66', action: 'retry', scope: 'destination', category: 'tls', match: /\b4\.7\.66\b/,
    example: '421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls. [SN4PR0501CA0054.namprd05.prod.outlook.com]',
    hint: 'Microsoft refused the connection because it used TLS 1.0 or 1.1.',
    fix: 'Let the route use TLS 1.2 or later (remove any tls.maxVersion or legacy cipher setting on the upstream), and check that no network device downgrades the connection.',
    ja: {
      hint: '接続に TLS 1.0 または 1.1 が使われたため、Microsoft が接続を拒否しました。',
      fix: 'ルートで TLS 1.2 以降を使えるようにし (アップストリームの tls.maxVersion や古い暗号の設定を削除します)、接続をダウングレードするネットワーク機器がないことを確認してください。',
    },
  }),
  entry({
    ref: 'smtp.5.7.68.RejectDirectSend', action: 'fail', scope: 'message', category: 'tenant-config',
    match: /\b5\.7\.68\b|TenantInboundAttribution/i,
    example: '550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources [BN1PEPF00004680.namprd05.prod.outlook.com 2025-09-12T08:00:00.000Z 08DDF0A1B2C3D4E5]',
    hint: 'The organisation has turned on RejectDirectSend, so it refuses anonymous mail from its own domains that does not come through a connector.',
    fix: `${CONNECTOR} Or send through an smtp-oauth or graph route. (Set-OrganizationConfig -RejectDirectSend $false turns the protection off again.)`,
    ja: {
      hint: '組織で RejectDirectSend が有効になっているため、自組織のドメインからの匿名のメールのうち、コネクタを経由しないものは拒否されます。',
      fix: `${JA_CONNECTOR}smtp-oauth ルートや graph ルートで送信することもできます。(Set-OrganizationConfig -RejectDirectSend $false でこの保護を再び無効にできます。)`,
    },
  }),
  entry({
    ref: 'smtp.5.7.64.TenantAttribution', action: 'fail', scope: 'message', category: 'tenant-config', match: /\b5\.7\.64\b/,
    example: '550 5.7.64 TenantAttribution; Relay Access Denied [AM4PEPF00027A5F.eurprd04.prod.outlook.com 2025-03-04T10:11:12.345Z 08DD5B1C2A3E4F50]',
    hint: 'Microsoft 365 does not recognise the relay as your organisation\'s server: no connector matches its public IP address or certificate.',
    fix: CONNECTOR,
    ja: {
      hint: 'Microsoft 365 がリレーを自組織のサーバーとして認識していません。リレーのパブリック IP アドレスや証明書に一致するコネクタがありません。',
      fix: JA_CONNECTOR,
    },
  }),
  entry({
    ref: 'smtp.4.4.62', action: 'retry', scope: 'destination', category: 'tenant-config', match: /\b4\.4\.62\b/,
    example: '451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35. For more information please go to https://go.microsoft.com/fwlink/?linkid=865268 [BN1PEPF00004680.namprd05.prod.outlook.com]',
    hint: 'The mail reached a Microsoft 365 region that does not serve your organisation, usually because a connector matches the relay in another tenant.',
    fix: `Send to your own domain's MX host (the route's domain or mx), and check the connector: ${CONNECTOR}`,
    ja: {
      hint: 'メールが、自組織を担当していない Microsoft 365 のリージョンに届きました。通常は、別のテナントのコネクタがリレーに一致していることが原因です。',
      fix: `自組織のドメインの MX ホスト (ルートの domain または mx) に送信し、コネクタを確認してください: ${JA_CONNECTOR}`,
    },
  }),
  entry({
    ref: 'smtp.5.7.700-749', action: 'fail', scope: 'message', category: 'blocked', match: /\b5\.7\.7([0-4]\d)\b/,
    example: '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7230) [BN1PEPF00004680.namprd05.prod.outlook.com]',
    hint: 'Microsoft has blocked the organisation (or the relay\'s IP address) from sending, usually after suspected spam or a new tenant sending too much.',
    fix: 'Open a case in Microsoft 365 admin center → Support → New service request and quote this reply; also check Microsoft Defender portal → Restricted entities for blocked users.',
    ja: {
      hint: 'Microsoft が組織 (またはリレーの IP アドレス) からの送信をブロックしました。通常は、スパムの疑いがある場合や、新しいテナントが大量に送信した場合です。',
      fix: 'Microsoft 365 管理センターの [ヘルプとサポート] からサービス リクエストを作成し、この応答を記載してください。また、Microsoft Defender ポータルの [制限付きエンティティ] で、ブロックされたユーザーがいないか確認してください。',
    },
  }),
  entry({
    ref: 'smtp.5.7.750', action: 'fail', scope: 'message', category: 'tenant-config', match: /\b5\.7\.750\b/,
    example: '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7232) [BN1PEPF00004680.namprd05.prod.outlook.com]',
    hint: 'The sender\'s domain is not a verified domain of your Microsoft 365 organisation, and Microsoft refuses to relay mail for domains it does not know.',
    fix: 'Add and verify the sending domain in Microsoft 365 admin center → Settings → Domains, or make the devices send from one of your verified domains.',
    ja: {
      hint: '送信者のドメインが、Microsoft 365 組織の承認済みドメインではありません。Microsoft は、組織のものと確認できないドメインのメールを中継しません。',
      fix: 'Microsoft 365 管理センター → [設定] → [ドメイン] で送信ドメインを追加して所有を確認するか、デバイスが承認済みドメインのいずれかから送信するようにしてください。',
    },
  }),
  entry({
    ref: 'smtp.4.7.500-699', action: 'retry', scope: 'destination', category: 'unavailable', match: /^4\d\d[ -]4\.7\.[56]\d\d\b/,
    example: '451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77719) [BN1PEPF00004680.namprd05.prod.outlook.com]',
    hint: 'Microsoft is temporarily not accepting mail from the relay\'s IP address; the relay pauses the route and tries again.',
    fix: WAIT_SERVICE,
    ja: {
      hint: 'Microsoft が一時的に、リレーの IP アドレスからのメールを受け付けていません。リレーはルートを一時停止し、後で再試行します。',
      fix: JA_WAIT_SERVICE,
    },
  }),
  entry({
    ref: 'smtp.5.7.606-649', action: 'fail', scope: 'message', category: 'blocked', match: /\b5\.7\.6(0[6-9]|[1-4]\d)\b/,
    example: '550 5.7.606 Access denied, banned sending IP [185.234.72.45]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)',
    hint: 'The relay\'s public IP address is on Microsoft\'s block list.',
    fix: 'Request removal at https://sender.office.com (delist the IP shown in the reply); until then send through an smtp-oauth or graph route.',
    ja: {
      hint: 'リレーのパブリック IP アドレスが、Microsoft のブロック リストに登録されています。',
      fix: 'https://sender.office.com で削除を申請してください (応答に示された IP の登録解除)。それまでは、smtp-oauth ルートまたは graph ルートで送信します。',
    },
  }),
  entry({
    ref: 'smtp.4.5.3', action: 'retry', scope: 'message', category: 'too-many-recipients', match: /\b4\.5\.3\b.*Too many recipients/i,
    example: '452 4.5.3 Too many recipients (AS780090) [BN1PEPF00004680.namprd05.prod.outlook.com]',
    hint: 'The message has more recipients than Microsoft takes in one go; the remaining recipients are sent in a later try.',
    fix: 'Nothing to do; if a message with hundreds of recipients keeps failing, send it to a distribution group instead.',
    ja: {
      hint: 'メッセージの受信者の数が、Microsoft が一度に受け付ける数を超えています。残りの受信者には次の試行で送信します。',
      fix: '対処は不要です。受信者が数百あるメッセージが失敗し続ける場合は、代わりに配布グループ宛てに送信してください。',
    },
  }),
  entry({
    ref: 'smtp.5.1.10', action: 'fail', scope: 'message', category: 'bad-recipient', match: /\b5\.1\.10\b/,
    example: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@contoso.com not found by SMTP address lookup',
    hint: 'The recipient address does not exist in the receiving organisation.',
    fix: 'Check the recipient address for typos (the device\'s address book or the scan-to-email profile).',
    ja: {
      hint: '受信者のアドレスが、受信側の組織に存在しません。',
      fix: '受信者のアドレスに入力ミスがないか確認してください (デバイスのアドレス帳、またはスキャン to メールのプロファイル)。',
    },
  }),
  entry({
    ref: 'smtp.5.2.2.mailbox-full', action: 'fail', scope: 'message', category: 'mailbox-full', match: /\b5\.2\.2\b.*(mailbox full|QuotaExceeded)/i,
    example: '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception with message Cannot open mailbox. [Hostname=PH0PR07MB8510.namprd07.prod.outlook.com]',
    hint: 'The recipient\'s mailbox is full and accepts no more mail.',
    fix: 'Ask the recipient to free space in their mailbox (or their admin to raise its quota), then: authrelay queue retry <queue id>.',
    ja: {
      hint: '受信者のメールボックスがいっぱいで、これ以上メールを受信できません。',
      fix: '受信者にメールボックスの空き容量を増やしてもらい (または受信者側の管理者にクォータを引き上げてもらい)、その後 authrelay queue retry <queue id> を実行します。',
    },
  }),
  entry({
    ref: 'smtp.5.4.1', action: 'fail', scope: 'message', category: 'bad-recipient', match: /\b5\.4\.1\b.*Recipient address rejected/i,
    example: '550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [AM4PEPF00025F9B.EURPRD04.PROD.OUTLOOK.COM 2025-03-04T10:11:12.345Z 08DD5B1C2A3E4F50]',
    hint: 'The receiving organisation has no such recipient (Direct Send reaches only existing mailboxes and groups of your own organisation).',
    fix: 'Check the recipient address; to reach addresses outside your organisation, send through an smtp-oauth or graph route or a connector instead of Direct Send.',
    ja: {
      hint: '受信側の組織にその受信者がいません (Direct Send で届くのは、自組織に存在するメールボックスとグループだけです)。',
      fix: '受信者のアドレスを確認してください。組織外のアドレスに送るには、Direct Send ではなく、smtp-oauth ルート、graph ルート、またはコネクタを経由して送信します。',
    },
  }),
];
