/**
 * What the setup wizard says (the terminal's `authrelay init` and the
 * console's wizard): the steps to take in Microsoft Entra ID and Exchange
 * Online, the live test's lines, what the probe of another SMTP relay found,
 * and the route choices, in English and Japanese with the same
 * {placeholders}. Microsoft's screens are named as Microsoft's Japanese
 * admin centres name them ([アプリの登録], [証明書とシークレット],
 * [API のアクセス許可], [管理者の同意を与えます], [メール フロー] → [コネクタ]);
 * PowerShell lines and settings stay as they are.
 */
import { fill, type Lang, type Text } from '../../core/i18n.js';

export type WizardValues = Record<string, string | number | undefined>;

/** The text in one language, filled. */
export function wz(text: Text, lang: Lang, values?: WizardValues): string {
  return fill(text[lang], values);
}

export const WIZARD_TEXT = {
  // answers.ts: the routes
  routeGraph: { en: 'Microsoft Graph with an app registration (recommended; reaches anyone)', ja: 'アプリの登録を使う Microsoft Graph (推奨。どの宛先にも届きます)' },
  routeSmtpOauth: { en: 'SMTP with OAuth 2.0, app registration (SMTP.SendAsApp)', ja: 'OAuth 2.0 の SMTP、アプリの登録を使用 (SMTP.SendAsApp)' },
  routeSmtpOauthDelegated: { en: 'SMTP with OAuth 2.0, one mailbox signs in by device code', ja: 'OAuth 2.0 の SMTP、1 つのメールボックスがデバイス コードでサインイン' },
  routeDirectSend: { en: 'Direct Send to your MX host (no sign-in; your own domains only)', ja: 'MX ホストへの Direct Send (サインインなし。自組織のドメインのみ)' },
  routeSmtp: { en: 'another SMTP relay, e.g. an Exchange Online inbound connector', ja: '別の SMTP リレー (例: Exchange Online の受信コネクタ)' },
  routeHold: { en: 'hold messages in the queue only (try the relay first)', ja: 'メッセージをキューに保留するだけ (まずリレーを試す場合)' },
  routeReaders: {
    en: 'legacy readers: programs that read Exchange Online mailboxes over IMAP or POP3 with a password (app-only OAuth 2.0, IMAP.AccessAsApp / POP.AccessAsApp)',
    ja: '従来のメール読み取りアプリ: パスワードで IMAP や POP3 を使って Exchange Online のメールボックスを読むプログラム (アプリのみの OAuth 2.0、IMAP.AccessAsApp / POP.AccessAsApp)',
  },

  // steps.ts
  register: {
    en: 'In the Entra admin center (entra.microsoft.com): App registrations → New registration (single tenant). Its Overview shows the Application (client) ID ({app}) and the Directory (tenant) ID (or use {tenant}).',
    ja: 'Microsoft Entra 管理センター (entra.microsoft.com) で [アプリの登録] → [新規登録] を選び、シングル テナントのアプリを登録します。[概要] に [アプリケーション (クライアント) ID] ({app}) と [ディレクトリ (テナント) ID] が表示されます ({tenant} を使うこともできます)。',
  },
  uploadCertificate: {
    en: 'App registration → Certificates & secrets → Certificates → Upload certificate: the .crt/.pem file (never the key).',
    ja: 'アプリの登録 → [証明書とシークレット] → [証明書] → [証明書のアップロード] で .crt/.pem ファイルをアップロードします (鍵はアップロードしません)。',
  },
  newSecret: {
    en: 'App registration → Certificates & secrets → New client secret. Copy its Value (shown once), not the Secret ID. Note when it expires and make the next one before then.',
    ja: 'アプリの登録 → [証明書とシークレット] → [新しいクライアント シークレット] で作成します。[シークレット ID] ではなく [値] をコピーしてください (表示は 1 回だけです)。有効期限を控え、期限の前に次のシークレットを作成してください。',
  },
  allowSmtpAuth: {
    en: 'Allow SMTP AUTH for the mailbox (Exchange Online PowerShell):\n    Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false\n  (or Microsoft 365 admin center → Users → Active users → the mailbox → Mail → Manage email apps → Authenticated SMTP). Security defaults block SMTP AUTH altogether.',
    ja: 'メールボックスで SMTP AUTH を許可します (Exchange Online PowerShell):\n    Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false\n  (または Microsoft 365 管理センター → [ユーザー] → [アクティブなユーザー] → メールボックス → [メール] → [メール アプリを管理する] → [認証済み SMTP])。[セキュリティの既定値群] が有効だと SMTP AUTH はすべてブロックされます。',
  },
  servicePrincipal: {
    en: 'Register the app\'s service principal in Exchange Online (Connect-ExchangeOnline first); the object ID is the Enterprise application\'s, not the App registration\'s:\n    New-ServicePrincipal -AppId {app} -ObjectId <enterprise app object id> -DisplayName authrelay',
    ja: 'Exchange Online にアプリのサービス プリンシパルを登録します (先に Connect-ExchangeOnline を実行します)。オブジェクト ID は [アプリの登録] のものではなく [エンタープライズ アプリケーション] のものです:\n    New-ServicePrincipal -AppId {app} -ObjectId <enterprise app object id> -DisplayName authrelay',
  },
  graphPermission: {
    en: 'API permissions → Add a permission → Microsoft Graph → Application permissions → Mail.Send (and Mail.ReadWrite for messages over about 3 MB) → Grant admin consent for {tenant}.',
    ja: '[API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [アプリケーションの許可] で Mail.Send (約 3 MB を超えるメッセージ用に Mail.ReadWrite も) を追加し、[{tenant} に管理者の同意を与えます] を選びます。',
  },
  graphRbac: {
    en: 'Limit the mailboxes the app may send as (RBAC for Applications). {servicePrincipal}\n    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'{mailbox}\'"\n    New-ManagementRoleAssignment -App {app} -Role "Application Mail.Send" -CustomResourceScope "authrelay mailboxes"\n  Then remove the Mail.Send grant of step 3 in Entra ID (it allows every mailbox); the role assignment scoped to these mailboxes takes its place.\n  Check it: Test-ServicePrincipalAuthorization -Identity {app} -Resource {mailbox}',
    ja: 'アプリが送信できるメールボックスを限定します (RBAC for Applications)。{servicePrincipal}\n    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'{mailbox}\'"\n    New-ManagementRoleAssignment -App {app} -Role "Application Mail.Send" -CustomResourceScope "authrelay mailboxes"\n  その後、Entra ID で手順 3 の Mail.Send の付与を削除します (すべてのメールボックスから送信できてしまうため)。これらのメールボックスに限定したロールの割り当てが代わりになります。\n  確認: Test-ServicePrincipalAuthorization -Identity {app} -Resource {mailbox}',
  },
  smtpPermission: {
    en: 'API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → SMTP.SendAsApp → Grant admin consent for {tenant}.',
    ja: '[API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [アプリケーションの許可] で SMTP.SendAsApp を追加し、[{tenant} に管理者の同意を与えます] を選びます。',
  },
  smtpMailboxAccess: {
    en: 'Let it use the mailbox:\n    Add-MailboxPermission -Identity {mailbox} -User <service principal id> -AccessRights FullAccess\n  Or, with RBAC for Applications instead (and without the permission of step 3):\n    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'{mailbox}\'"\n    New-ManagementRoleAssignment -App {app} -Role "Application SMTP.SendAsApp" -CustomResourceScope "authrelay mailboxes"',
    ja: 'アプリがメールボックスを使えるようにします:\n    Add-MailboxPermission -Identity {mailbox} -User <service principal id> -AccessRights FullAccess\n  または、代わりに RBAC for Applications を使います (この場合、手順 3 のアクセス許可は不要です):\n    New-ManagementScope -Name "authrelay mailboxes" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'{mailbox}\'"\n    New-ManagementRoleAssignment -App {app} -Role "Application SMTP.SendAsApp" -CustomResourceScope "authrelay mailboxes"',
  },
  publicClient: {
    en: 'App registration → Authentication → Allow public client flows → Yes (device code sign-in; no secret is used).',
    ja: 'アプリの登録 → [認証] → [パブリック クライアント フローを許可する] を [はい] にします (デバイス コードでサインインするため、シークレットは使いません)。',
  },
  delegatedPermission: {
    en: 'API permissions → Add a permission → Microsoft Graph → Delegated permissions → SMTP.Send and offline_access → Grant admin consent for {tenant}.',
    ja: '[API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [委任されたアクセス許可] で SMTP.Send と offline_access を追加し、[{tenant} に管理者の同意を与えます] を選びます。',
  },
  delegatedSignIn: {
    en: 'After writing the config, sign the mailbox in once: authrelay oauth login m365 (open the address shown, enter the code, sign in as {mailbox}).',
    ja: '設定を書き込んだら、メールボックスで一度サインインします: `authrelay oauth login m365` (表示されたアドレスを開いてコードを入力し、{mailbox} としてサインインします)。',
  },
  directSpf: {
    en: 'SPF: the SPF record of every sender domain ({domain}) must include this site\'s public IP address:\n    v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all',
    ja: 'SPF: すべての送信者ドメイン ({domain}) の SPF レコードに、このサイトのパブリック IP アドレスを含めます:\n    v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all',
  },
  directReject: {
    en: 'Check that the tenant allows Direct Send (Exchange Online PowerShell):\n    Get-OrganizationConfig | Format-List RejectDirectSend\n  When it is True, add an inbound connector for this site\'s public IP (Exchange admin center → Mail flow → Connectors) or choose a graph or smtp-oauth route.',
    ja: 'テナントで Direct Send が許可されていることを確認します (Exchange Online PowerShell):\n    Get-OrganizationConfig | Format-List RejectDirectSend\n  True の場合は、このサイトのパブリック IP 用の受信コネクタを追加するか (Exchange 管理センター → [メール フロー] → [コネクタ])、graph または smtp-oauth のルートを選んでください。',
  },
  directInternal: {
    en: 'Only mailboxes in your own domains can be reached; route other recipients to a graph, smtp-oauth or smtp upstream (routes: - when: { recipientDomain: [...] }).',
    ja: '届くのは自組織のドメインのメールボックスだけです。それ以外の宛先は graph、smtp-oauth または smtp のアップストリームに振り分けてください (`routes: - when: { recipientDomain: [...] }`)。',
  },
  directPort25: {
    en: 'Outbound port 25 to the MX host must be open (many internet providers block it).',
    ja: 'MX ホストへの送信方向のポート 25 が開いている必要があります (多くのインターネット プロバイダーはブロックしています)。',
  },
  connectorAdd: {
    en: 'For an Exchange Online inbound connector: Exchange admin center → Mail flow → Connectors → Add a connector, from "Your organization\'s email server" to "Office 365".',
    ja: 'Exchange Online の受信コネクタの場合: Exchange 管理センター → [メール フロー] → [コネクタ] → [コネクタの追加] で、[接続元] に [組織のメール サーバー]、[接続先] に [Office 365] を選びます。',
  },
  connectorCertificate: {
    en: 'Identify the relay by certificate: enter the certificate\'s subject name (a domain accepted in your tenant) in the connector.',
    ja: 'リレーを証明書で識別します: 証明書のサブジェクト名 (テナントの承認済みドメイン) をコネクタに入力します。',
  },
  connectorIp: {
    en: 'Identify the relay by its public IP address in the connector (a static IP is needed).',
    ja: 'コネクタでリレーをパブリック IP アドレスで識別します (固定 IP アドレスが必要です)。',
  },
  relayHost: {
    en: 'Relay host: {host} port {port} (for Exchange Online: your MX host, <domain-with-dashes>.mail.protection.outlook.com, port 25).',
    ja: 'リレー ホスト: {host}、ポート {port} (Exchange Online の場合は MX ホスト <domain-with-dashes>.mail.protection.outlook.com のポート 25)。',
  },
  holdNothing: {
    en: 'Nothing to set up: messages are kept in the queue (see `authrelay queue list`) until an upstream is added.',
    ja: '設定は不要です。アップストリームを追加するまで、メッセージはキューに保持されます (`authrelay queue list` で確認できます)。',
  },
  readersPermission: {
    en: 'API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → {roles} → Add permissions → Grant admin consent for {tenant}.',
    ja: '[API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [アプリケーションの許可] で {roles} を選んで [アクセス許可の追加] を選び、[{tenant} に管理者の同意を与えます] を選びます。',
  },
  readersObjectId: {
    en: 'Note the Enterprise application\'s object ID: Entra admin center → Enterprise applications → the app ({app}) → Object ID. It is not the object ID on the App registration page; that one makes every login fail. In PowerShell (Microsoft Graph module):\n    (Get-MgServicePrincipal -Filter "appId eq \'{app}\'").Id',
    ja: 'エンタープライズ アプリケーションのオブジェクト ID を控えます: Microsoft Entra 管理センター → [エンタープライズ アプリケーション] → 対象のアプリ ({app}) → [オブジェクト ID]。[アプリの登録] のページにあるオブジェクト ID ではありません。そちらを使うと、すべてのログインが失敗します。PowerShell (Microsoft Graph モジュール) では:\n    (Get-MgServicePrincipal -Filter "appId eq \'{app}\'").Id',
  },
  readersServicePrincipal: {
    en: 'Register the service principal in Exchange Online (Exchange Online PowerShell, Connect-ExchangeOnline first):\n    New-ServicePrincipal -AppId {app} -ObjectId {objectId} -DisplayName "authrelay readers"',
    ja: 'Exchange Online にサービス プリンシパルを登録します (Exchange Online PowerShell で、先に Connect-ExchangeOnline を実行します):\n    New-ServicePrincipal -AppId {app} -ObjectId {objectId} -DisplayName "authrelay readers"',
  },
  readersMailboxAccess: {
    en: 'Give it each mailbox the reader device opens (once per mailbox). FullAccess is the only grant Exchange Online offers for app-only IMAP/POP; the device\'s mailbox list in authrelay decides which program opens which:\n{commands}',
    ja: '読み取りアプリの機器が開く各メールボックスへの権限を与えます (メールボックスごとに 1 回)。アプリのみの IMAP/POP に Exchange Online が用意している付与は FullAccess だけです。どのプログラムがどのメールボックスを開くかは、authrelay の機器のメールボックス一覧で決まります:\n{commands}',
  },
  readersCasMailbox: {
    en: 'IMAP and POP are on by default for a mailbox (except on some mailbox plans). Check them and turn them on:\n{commands}',
    ja: 'メールボックスの IMAP と POP は既定で有効です (一部のメールボックス プランを除く)。確認して有効にします:\n{commands}',
  },
  readersWait: {
    en: 'Permissions and service principals can take some minutes to apply, and a token already issued keeps its roles until it expires (an hour). `authrelay doctor` tells which step is missing.',
    ja: 'アクセス許可とサービス プリンシパルの反映には数分かかることがあり、発行済みのトークンは期限 (1 時間) まで元のロールを持ち続けます。どの手順が足りないかは `authrelay doctor` で確認できます。',
  },
  whyReadWrite: { en: 'needed for messages over about 3 MB (large scans)', ja: '約 3 MB を超えるメッセージ (大きなスキャン) に必要です' },

  // live-test.ts
  delegatedLater: {
    en: 'A delegated route is tested after the sign-in: run `authrelay oauth login {name}`, then `authrelay send-test --route {name} --to <address>`.',
    ja: '委任されたサインインのルートはサインインの後でテストします: `authrelay oauth login {name}` を実行してから、`authrelay send-test --route {name} --to <address>` を実行してください。',
  },
  requestingToken: { en: 'Requesting a token: {provider} ...', ja: 'トークンを要求しています: {provider} ...' },
  signedIn: { en: '  Signed in. The token is valid until {until}.', ja: '  サインインしました。トークンの有効期限は {until} です。' },
  tokenRoles: { en: '  Permissions in the token (roles): {permissions}', ja: '  トークンのアクセス許可 (roles): {permissions}' },
  none: { en: '(none)', ja: '(なし)' },
  permissionGranted: { en: '  ✓ {name}: granted', ja: '  ✓ {name}: 付与されています' },
  permissionMissing: {
    en: '  ✗ {name}: not in the token. Grant it with admin consent (steps above), unless RBAC for Applications in Exchange Online gives it for the chosen mailboxes (such grants do not show in the token).',
    ja: '  ✗ {name}: トークンにありません。管理者の同意で付与してください (上の手順)。ただし、Exchange Online の RBAC for Applications で選んだメールボックスに付与している場合は不要です (その付与はトークンに表示されません)。',
  },
  permissionOptional: { en: '  - {name}: not granted; {why}', ja: '  - {name}: 付与されていません。{why}' },
  entraRefused: { en: '  Entra ID refused: {response}', ja: '  Entra ID が拒否しました: {response}' },
  whatItMeans: { en: '  What it means: {hint}', ja: '  意味: {hint}' },
  whatToDo: { en: '  What to do: {fix}', ja: '  対処: {fix}' },
  reference: { en: '  Reference: {ref} (docs/errors.md)', ja: '  参照: {ref} (docs/ja/errors.md)' },
  mxLooking: { en: 'Looking up the MX host of {domain} ...', ja: '{domain} の MX ホストを調べています ...' },
  mxHost: { en: '  MX host: {host} ({address})', ja: '  MX ホスト: {host} ({address})' },
  mxMicrosoft: { en: '  ✓ a Microsoft 365 host: Direct Send goes there on port 25.', ja: '  ✓ Microsoft 365 のホストです。Direct Send はこのホストのポート 25 に送信します。' },
  mxFailed: {
    en: '  The MX lookup failed ({code}): check the domain\'s spelling and that it is one of your Microsoft 365 domains.',
    ja: '  MX の参照に失敗しました ({code})。ドメインのつづりと、それが自組織の Microsoft 365 のドメインであることを確認してください。',
  },
  lookingAtRelay: { en: 'Looking at the relay {host}:{port} ...', ja: 'リレー {host}:{port} を調べています ...' },
  readersRoleMissing: {
    en: '  ✗ {name}: not in the token. Add it under Office 365 Exchange Online → Application permissions and grant admin consent (steps above); a token already issued keeps its old roles for up to an hour.',
    ja: '  ✗ {name}: トークンにありません。[Office 365 Exchange Online] → [アプリケーションの許可] で追加して管理者の同意を与えてください (上の手順)。発行済みのトークンは最長 1 時間、元のロールのままです。',
  },
  readersIds: {
    en: '  The ids for Exchange Online, from the token: application (client) ID {app}, Enterprise application object ID {objectId}. In Exchange Online PowerShell:',
    ja: '  トークンから得た Exchange Online 用の ID: アプリケーション (クライアント) ID {app}、エンタープライズ アプリケーションのオブジェクト ID {objectId}。Exchange Online PowerShell で:',
  },
  readersTrying: { en: 'Logging in to {mailbox} over {protocol} with XOAUTH2 at {server} ...', ja: '{server} の {mailbox} に {protocol} と XOAUTH2 でログインしています ...' },
  readersLoginOk: { en: '  ✓ {protocol}: {mailbox} opened (TLS {tls}); the server offers: {caps}', ja: '  ✓ {protocol}: {mailbox} を開けました (TLS {tls})。サーバーの機能: {caps}' },
  readersLoginRefused: { en: '  ✗ {protocol}: {mailbox} was refused: {kind}', ja: '  ✗ {protocol}: {mailbox} は拒否されました: {kind}' },
  readersServerSaid: { en: '    The server answered: {text}', ja: '    サーバーの応答: {text}' },
  readersLoginSkipped: { en: '  - {protocol}: no login tried, the token lacks {role}.', ja: '  - {protocol}: トークンに {role} がないため、ログインは試していません。' },
  readersMore: { en: '  {checked} of {total} mailboxes tried; the others were not.', ja: '  {total} 個のメールボックスのうち {checked} 個を試しました。残りは試していません。' },

  // smtp-probe-proposal.ts
  probeConnectFix: {
    en: 'Check the host name and port (a port-465 server needs TLS from the first byte; 25 and 587 use STARTTLS), that the upstream runs, and that a firewall lets this machine out (internet providers often block outbound port 25).',
    ja: 'ホスト名とポート (ポート 465 は接続直後から TLS、25 と 587 は STARTTLS)、アップストリームが動作していること、ファイアウォールがこのマシンからの送信を許可していること (プロバイダーは送信方向のポート 25 をよく遮断します) を確認してください。',
  },
  probeNoGreeting: { en: '{host}:{port} did not greet ({said})', ja: '{host}:{port} はグリーティングを返しませんでした ({said})' },
  probeUnreachable: { en: 'nothing answered at {host}:{port} ({said})', ja: '{host}:{port} から応答がありません ({said})' },
  probeNoGreetingWord: { en: 'no greeting', ja: 'グリーティングなし' },
  probeTlsFailed: { en: 'the TLS handshake failed ({error})', ja: 'TLS ハンドシェイクに失敗しました ({error})' },
  probeUnknownError: { en: 'unknown error', ja: '不明なエラー' },
  probeTlsFailedFix: {
    en: 'The upstream may only speak old TLS versions or ciphers, or its TLS is broken: ask its administrator. Writing tls: none instead would send mail unencrypted.',
    ja: 'アップストリームが古い TLS バージョンや暗号しか使えないか、TLS が壊れている可能性があります。管理者に確認してください。代わりに tls: none にするとメールは暗号化されずに送られます。',
  },
  probeExpired: { en: 'the upstream\'s certificate expired on {date}', ja: 'アップストリームの証明書の有効期限は {date} に切れています' },
  probeExpiredFix: {
    en: 'Renew the certificate on the upstream; the relay sends nothing over a connection with an expired certificate.',
    ja: 'アップストリーム側で証明書を更新してください。期限切れの証明書の接続ではメールを送りません。',
  },
  probeUntrusted: {
    en: 'the upstream\'s certificate is not trusted ({error}; issued by {issuer})',
    ja: 'アップストリームの証明書が信頼されていません ({error}、発行者 {issuer})',
  },
  probeUnknownIssuer: { en: 'unknown issuer', ja: '発行者不明' },
  probeUnknown: { en: 'unknown', ja: '不明' },
  probeUntrustedSelfSignedFix: {
    en: 'Trust the upstream\'s own certificate: give its PEM file as the CA certificate (authrelay init --ca FILE; the upstream\'s ca: setting), or give the upstream a certificate from a public or your private CA.',
    ja: 'アップストリーム自身の証明書を信頼させます: その PEM ファイルを CA 証明書として指定するか (`authrelay init --ca FILE`、アップストリームの ca: 設定)、公的な CA または自組織のプライベート CA の証明書をアップストリームに設定してください。',
  },
  probeUntrustedFix: {
    en: 'Give the certificate of the CA that issued it as a PEM file (authrelay init --ca FILE; the upstream\'s ca: setting). Leave certificate checking on.',
    ja: '発行した CA の証明書を PEM ファイルで指定してください (`authrelay init --ca FILE`、アップストリームの ca: 設定)。証明書の確認は有効のままにしてください。',
  },
  probeHostname: { en: 'the certificate does not name {host} (it names {names})', ja: '証明書に {host} の名前が含まれていません (含まれている名前: {names})' },
  probeHostnameFix: { en: 'Connect by a name the certificate carries, or set servername: to that name in the upstream.', ja: '証明書に含まれる名前で接続するか、アップストリームの servername: にその名前を設定してください。' },
  probeHostnameFixNamed: {
    en: 'Connect by a name the certificate carries ({name}), or set servername: to that name in the upstream.',
    ja: '証明書に含まれる名前 ({name}) で接続するか、アップストリームの servername: にその名前を設定してください。',
  },
  noteNoTls: {
    en: 'The upstream offers neither STARTTLS nor TLS on connect: mail (and a password, if one is set) would cross the network unencrypted.',
    ja: 'アップストリームは STARTTLS も接続直後からの TLS も提供していません。メール (とパスワードを設定していればそれも) が暗号化されずにネットワークを流れます。',
  },
  noteNoAuth: {
    en: 'It offers no AUTH: it must accept the relay by its address (its relay settings, a connector).',
    ja: 'AUTH を提供していません。リレーのアドレスで受け付ける設定 (リレーの許可やコネクタ) が必要です。',
  },
  noteAuthAfterTls: {
    en: 'It offers AUTH only after STARTTLS (good: a password never crosses in the clear).',
    ja: 'AUTH は STARTTLS の後にだけ提供されます (パスワードが平文で流れないので適切です)。',
  },
  noteNoSmtputf8: {
    en: 'It does not offer SMTPUTF8: messages to or from addresses such as müller@ or 山田@ will fail there with the reason (all other mail is fine).',
    ja: 'SMTPUTF8 を提供していません。müller@ や 山田@ のようなアドレスとのメールは理由付きで失敗します (その他のメールは問題ありません)。',
  },
  noteNo8bitmime: {
    en: 'It does not offer 8BITMIME: 8-bit messages go out as they are, without BODY=8BITMIME.',
    ja: '8BITMIME を提供していません。8 ビットのメッセージは BODY=8BITMIME を付けずにそのまま送られます。',
  },
  probeNothingAnswered: { en: 'nothing answered at {host}:{port}', ja: '{host}:{port} から応答がありません' },
  probeWhatToDo: { en: '    What to do: {fix}', ja: '    対処: {fix}' },
  probeGreeting: { en: '  Greeting ({mode}): {text}', ja: '  グリーティング ({mode}): {text}' },
  probeModeImplicit: { en: 'TLS from the first byte', ja: '接続直後から TLS' },
  probeModePlain: { en: 'in the clear', ja: '平文' },
  probeOffers: { en: '  Offers: {list}', ja: '  提供する拡張: {list}' },
  probeOffersTls: { en: '  Offers over TLS: {list}', ja: '  TLS 上で提供する拡張: {list}' },
  probeNothing: { en: '(nothing)', ja: '(なし)' },
  probeStarttlsNone: { en: '  STARTTLS: not offered', ja: '  STARTTLS: 提供されていません' },
  probeCertificate: {
    en: '  Certificate: {subject}; issued by {issuer}; valid {from} to {to}{names}',
    ja: '  証明書: {subject}、発行者 {issuer}、有効期間 {from} 〜 {to}{names}',
  },
  probeCertNames: { en: '; names {names}', ja: '、名前 {names}' },
  probeTrusted: { en: '✓ trusted', ja: '✓ 信頼済み' },
  probeNotTrusted: { en: '✗ not trusted ({error})', ja: '✗ 信頼されていません ({error})' },
  probeNamesHost: { en: '✓ names {host}', ja: '✓ {host} の名前を含みます' },
  probeNotNamesHost: { en: '✗ does not name {host}', ja: '✗ {host} の名前を含みません' },
  probeProposed: { en: '  Proposed: tls: {tls}{auth}{size}', ja: '  提案: tls: {tls}{auth}{size}' },
  probeProposedAuth: {
    en: '; AUTH {methods} offered (add upstreams.relay.auth if the upstream wants a sign-in)',
    ja: '、AUTH {methods} を提供 (アップストリームがサインインを求める場合は upstreams.relay.auth を追加してください)',
  },
  probeProposedSize: { en: '; messages up to {mb} MB', ja: '、メッセージは {mb} MB まで' },
  settingsUnreachable: { en: '  ✗ the relay cannot reach {where} ({said}).', ja: '  ✗ リレーから {where} に到達できません ({said})。' },
  settingsOk: { en: '  ✓ the relay can deliver to {where} with tls: {tls}.', ja: '  ✓ リレーは tls: {tls} で {where} に配送できます。' },
  settingsOkUnchecked: {
    en: '  ✓ the relay can deliver to {where} with tls: {tls} (the certificate is not checked: rejectUnauthorized is off).',
    ja: '  ✓ リレーは tls: {tls} で {where} に配送できます (rejectUnauthorized がオフのため、証明書は確認しません)。',
  },
  settingsNoneButOffered: {
    en: '  ! The upstream offers {offer}; tls: {tls} would protect the mail.',
    ja: '  ! アップストリームは {offer} を提供しています。tls: {tls} にすればメールを保護できます。',
  },
  settingsNotYet: { en: '  ✗ tls: {tls} will not work yet: {detail}.', ja: '  ✗ tls: {tls} はまだ使えません: {detail}。' },
  settingsWrongMode: { en: '  ✗ tls: {tls} will not work with {where}: {why}. Use tls: {proposed}.', ja: '  ✗ tls: {tls} は {where} では使えません: {why}。tls: {proposed} を使ってください。' },
  whyImplicit: { en: 'it speaks TLS from the first byte', ja: '接続直後から TLS で通信します' },
  whyNoStarttls: { en: 'it does not offer STARTTLS', ja: 'STARTTLS を提供していません' },
  whyPlain: { en: 'it greets in the clear on this port', ja: 'このポートでは平文でグリーティングを返します' },

  // the console's wizard (admin/api/routes-wizard.ts): its refusals and the next steps
  apiMissing: { en: 'the {route} route also needs: {fields}', ja: '{route} のルートには次の項目も必要です: {fields}' },
  apiInvalid: { en: 'the answers do not make a valid configuration: {problems}', ja: '入力内容では正しい設定になりません: {problems}' },
  apiNeedsSecret: {
    en: 'the live test needs clientSecret (it is used for this test only and never stored)',
    ja: 'ライブ テストには clientSecret が必要です (このテストにだけ使い、保存しません)',
  },
  apiInsecure: {
    en: 'tls: none sends mail (and any password) to {host} unencrypted; nothing was written. Confirm it (allowNoTls: true) or choose a relay that offers TLS',
    ja: 'tls: none では、メール (とパスワード) が暗号化されずに {host} へ送られます。何も書き込んでいません。了承する (allowNoTls: true) か、TLS を提供するリレーを選んでください',
  },
  apiLiveTestFailed: {
    en: 'the live test failed, so nothing was written: fix what it found, or confirm to write the file anyway (force: true)',
    ja: 'ライブ テストが失敗したため、何も書き込んでいません。見つかった問題を直すか、それでも書き込むことを確認してください (force: true)',
  },
  apiMergedInvalid: {
    en: 'merged into the relay\'s configuration, the answers would make it invalid; nothing was written: {problems}',
    ja: 'リレーの設定に反映すると設定が正しくなくなるため、何も書き込んでいません: {problems}',
  },
  envHolds: { en: 'the client secret\'s Value', ja: 'クライアント シークレットの値' },
  nextSave: {
    en: 'Save the file on the relay\'s host (for example /etc/authrelay/authrelay.yaml, mode 0600, owned by the relay\'s user).',
    ja: 'リレーのホストにファイルを保存してください (例: /etc/authrelay/authrelay.yaml、モード 0600、所有者はリレーの実行ユーザー)。',
  },
  nextSetEnv: {
    en: 'Set {env} to the client secret\'s Value where the relay runs (e.g. a systemd drop-in readable by root only).',
    ja: 'リレーを動かす環境で {env} にクライアント シークレットの値を設定してください (例: root だけが読める systemd のドロップイン)。',
  },
  nextCheck: { en: 'Check it: authrelay config check --config FILE', ja: '確認: authrelay config check --config FILE' },
  nextSignIn: { en: 'Sign the mailbox in: authrelay oauth login {upstream} --config FILE', ja: 'メールボックスでサインイン: authrelay oauth login {upstream} --config FILE' },
  nextReaderDevice: {
    en: 'Give the reading program a device with a password of its own: authrelay device add {name} --generate-password --mailbox {mailbox} (or authrelay device edit NAME --mailbox {mailbox} for a device that exists).',
    ja: '読み取りプログラム用に、独自のパスワードを持つ機器を作成します: `authrelay device add {name} --generate-password --mailbox {mailbox}` (既存の機器には `authrelay device edit NAME --mailbox {mailbox}`)。',
  },
  nextDoctor: {
    en: 'Check the Exchange side and every mailbox with a real login: authrelay doctor',
    ja: 'Exchange 側の設定とすべてのメールボックスを実際のログインで確認します: `authrelay doctor`',
  },
  nextApply: {
    en: 'Apply it: save it as the relay\'s configuration file, then authrelay reload (or write it from here: the running relay applies it at once).',
    ja: '反映: リレーの設定ファイルとして保存してから `authrelay reload` を実行してください (ここから書き込むこともでき、その場合は動作中のリレーにすぐ反映されます)。',
  },

  // config-document.ts
  fileExists: {
    en: '{file} exists already; nothing was written. Use --force to replace it or --out FILE to write another file',
    ja: '{file} はすでにあります。何も書き込んでいません。置き換えるには `--force` を、別のファイルに書き込むには `--out FILE` を指定してください',
  },
} satisfies Record<string, Text>;
