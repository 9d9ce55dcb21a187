/**
 * Catalogue entries for Entra ID (the token endpoint): AADSTS errors, the
 * sign-in host not reached, and no sign-in stored. All of them stop every
 * message of the route the same way until an admin fixes them, so messages
 * wait (retry, scope destination) instead of bouncing. Wording of the
 * examples follows Microsoft's error code reference and replies quoted in
 * public reports.
 */
import type { EntraEntry } from './catalogue-types.js';

const TRACE = '\r\nTrace ID: 0b3c6e2a-4f0e-4c1b-9d3e-3f1a2b4c5d00\r\nCorrelation ID: 7d9e1f20-1a2b-4c3d-8e9f-0a1b2c3d4e5f\r\nTimestamp: 2025-03-04 10:11:12Z';
const APP = '11111111-2222-3333-4444-555555555555';
const TENANT = 'contoso.onmicrosoft.com';
const SEND_TEST = 'Then check with: authrelay send-test --route <upstream> --to <an address>.';
const SEND_TEST_JA = 'その後、authrelay send-test --route <upstream> --to <an address> で確認してください。';
const READER_CHECK = 'Then check with: authrelay doctor (it logs in to each mailbox).';
const READER_CHECK_JA = 'その後、authrelay doctor で確認してください (各メールボックスへのログインを試します)。';

function entry(e: Omit<EntraEntry, 'source' | 'action' | 'scope'> & Partial<Pick<EntraEntry, 'action' | 'scope'>>): EntraEntry {
  return { source: 'entra', action: 'retry', scope: 'destination', ...e };
}

export const ENTRA_ENTRIES: readonly EntraEntry[] = [
  // Reading mailboxes over IMAP/POP (an exchange-mailbox upstream with a delegated sign-in): the devices' logins are
  // refused until someone signs in again, so these fail the login instead of holding a route, and point at doctor.
  entry({
    ref: 'entra.reader.sign-in-lost', category: 'auth', action: 'fail', scope: 'message', match: { reader: true, aadsts: [70008, 700082, 50173] },
    example: { reader: true, status: 400, error: 'invalid_grant', aadsts: 50173, notSignedIn: true, description: `AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.${TRACE}` },
    hint: 'The stored sign-in that opens the mailboxes over IMAP/POP has expired or was revoked (password change, admin sign-out, 90 days unused), so devices are refused until someone signs in again.',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> again. ${READER_CHECK}`,
    ja: { hint: 'IMAP/POP でメールボックスを開くための保存されたサインインの有効期限が切れたか、取り消されました (パスワードの変更、管理者によるサインアウト、90 日間の未使用など)。もう一度サインインするまで、デバイスのログインは拒否されます。', fix: `authrelay oauth login <upstream> を実行し、<mailbox> としてもう一度サインインしてください。${READER_CHECK_JA}` },
  }),
  entry({
    ref: 'entra.reader.consent', category: 'permission', action: 'fail', scope: 'message', match: { reader: true, aadsts: [65001, 90094] },
    example: { reader: true, status: 400, error: 'invalid_grant', aadsts: 65001, notSignedIn: true, description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${APP}' named 'authrelay'. Send an interactive authorization request for this user and resource.${TRACE}` },
    hint: 'Nobody has consented to the app\'s delegated permissions for reading mail (IMAP.AccessAsUser.All, POP.AccessAsUser.All), so Entra ID gives the signed-in user no token for them.',
    fix: `In Entra admin center → App registrations → <appId> → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Delegated permissions, add IMAP.AccessAsUser.All and POP.AccessAsUser.All, then "Grant admin consent for <tenant>"; then run authrelay oauth login <upstream> again. ${READER_CHECK}`,
    ja: { hint: 'メールを読むためのアプリの委任されたアクセス許可 (IMAP.AccessAsUser.All、POP.AccessAsUser.All) に誰も同意していません。そのため、Entra ID はサインインしたユーザーにそのトークンを発行しません。', fix: `Microsoft Entra 管理センターの [アプリの登録] → <appId> → [API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [委任されたアクセス許可] で IMAP.AccessAsUser.All と POP.AccessAsUser.All を追加し、[<tenant> に管理者の同意を与えます] を選んでください。その後、authrelay oauth login <upstream> をもう一度実行します。${READER_CHECK_JA}` },
  }),
  entry({
    ref: 'entra.reader.not-signed-in', category: 'auth', action: 'fail', scope: 'message', match: { reader: true, notSignedIn: true },
    example: { reader: true, notSignedIn: true },
    hint: 'The mailboxes are opened over IMAP/POP as a signed-in user, and nobody has signed in yet (or the stored sign-in was removed), so devices are refused.',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> in a browser with the code shown. ${READER_CHECK}`,
    ja: { hint: 'メールボックスはサインインしたユーザーとして IMAP/POP で開かれますが、まだ誰もサインインしていません (または保存されていたサインインが削除されました)。そのため、デバイスのログインは拒否されます。', fix: `authrelay oauth login <upstream> を実行し、表示されたコードを使ってブラウザーで <mailbox> としてサインインしてください。${READER_CHECK_JA}` },
  }),
  entry({
    ref: 'entra.AADSTS7000215', category: 'auth', match: { aadsts: [7000215] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000215, description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${APP}'.${TRACE}` },
    hint: 'Entra ID rejected the client secret: it is wrong, or it is the secret\'s ID instead of its value.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets, create a new client secret and copy its Value (not the Secret ID) into the route\'s clientSecret, then restart the relay.',
    ja: { hint: 'Entra ID がクライアント シークレットを拒否しました。シークレットが間違っているか、シークレットの値ではなくシークレット ID が設定されています。', fix: 'Microsoft Entra 管理センターの [アプリの登録] → <appId> → [証明書とシークレット] で新しいクライアント シークレットを作成し、その [値] ([シークレット ID] ではありません) をルートの clientSecret にコピーしてから、リレーを再起動してください。' },
  }),
  entry({
    ref: 'entra.AADSTS7000222', category: 'auth', match: { aadsts: [7000222] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000222, description: `AADSTS7000222: The provided client secret keys for app '${APP}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.${TRACE}` },
    hint: 'The app\'s client secret has expired, so Entra ID no longer issues tokens with it.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets → New client secret; put its Value into the route\'s clientSecret and restart the relay (or switch the route to a certificate).',
    ja: { hint: 'アプリのクライアント シークレットの有効期限が切れたため、Entra ID はこのシークレットではトークンを発行しません。', fix: 'Microsoft Entra 管理センターの [アプリの登録] → <appId> → [証明書とシークレット] → [新しいクライアント シークレット] でシークレットを作成し、その [値] をルートの clientSecret に設定してリレーを再起動してください (または、ルートを証明書に切り替えます)。' },
  }),
  entry({
    ref: 'entra.AADSTS7000218', category: 'auth', match: { aadsts: [7000218] },
    example: { status: 401, error: 'invalid_client', aadsts: 7000218, description: `AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.${TRACE}` },
    hint: 'No credential reached Entra ID: the route has neither a client secret nor a certificate.',
    fix: 'Set the route\'s clientSecret (or certificate and key) in the configuration; a secret given through an environment variable or file must not be empty. Restart the relay.',
    ja: { hint: 'Entra ID に資格情報が届いていません。ルートにクライアント シークレットも証明書も設定されていません。', fix: '設定ファイルでルートの clientSecret (または certificate: 証明書と秘密キー) を設定してください。環境変数やファイルで渡すシークレットは空にできません。その後、リレーを再起動します。' },
  }),
  entry({
    ref: 'entra.AADSTS700027', category: 'auth', match: { aadsts: [700027] },
    example: { status: 401, error: 'invalid_client', aadsts: 700027, description: `AADSTS700027: Client assertion failed signature validation.${TRACE}` },
    hint: 'Entra ID could not verify the certificate sign-in: the certificate is not uploaded to the app, or the key does not belong to it.',
    fix: 'In Entra admin center → App registrations → <appId> → Certificates & secrets → Certificates, upload the public certificate (.cer/.pem) whose private key the route uses; check that the thumbprints match.',
    ja: { hint: 'Entra ID が証明書によるサインインを検証できませんでした。証明書がアプリにアップロードされていないか、秘密キーがその証明書のものではありません。', fix: 'Microsoft Entra 管理センターの [アプリの登録] → <appId> → [証明書とシークレット] → [証明書] で、ルートが使う秘密キーに対応する公開証明書 (.cer/.pem) をアップロードし、拇印が一致することを確認してください。' },
  }),
  entry({
    ref: 'entra.AADSTS700016', category: 'auth', match: { aadsts: [700016] },
    example: { status: 400, error: 'unauthorized_client', aadsts: 700016, description: `AADSTS700016: Application with identifier '${APP}' was not found in the directory '${TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.${TRACE}` },
    hint: 'The tenant has no app with this client ID: the ID is mistyped, the app was deleted, or the route points at another tenant.',
    fix: 'Copy the Application (client) ID and Directory (tenant) ID from Entra admin center → App registrations → the app → Overview into the route\'s clientId and tenant.',
    ja: { hint: 'テナントにこのクライアント ID のアプリがありません。ID の入力ミス、アプリの削除、またはルートが別のテナントを指していることが考えられます。', fix: 'Microsoft Entra 管理センターの [アプリの登録] → 対象のアプリ → [概要] から [アプリケーション (クライアント) ID] と [ディレクトリ (テナント) ID] をコピーし、ルートの clientId と tenant に設定してください。' },
  }),
  entry({
    ref: 'entra.AADSTS90002', category: 'auth', match: { aadsts: [90002] },
    example: { status: 400, error: 'invalid_request', aadsts: 90002, description: `AADSTS90002: Tenant 'contoso.onmicrosft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.${TRACE}` },
    hint: 'Entra ID does not know this tenant in this cloud: the tenant ID or domain is mistyped, or the tenant is in another cloud (e.g. US Government).',
    fix: 'Set the route\'s tenant to the Directory (tenant) ID from Entra admin center → Overview, and its cloud to the one the tenant lives in (global, usgov, usgov-dod, china).',
    ja: { hint: 'このクラウドの Entra ID はこのテナントを認識していません。テナント ID またはドメインの入力ミスか、テナントが別のクラウド (米国政府機関向けなど) にあります。', fix: 'ルートの tenant に Microsoft Entra 管理センターの [概要] にある [ディレクトリ (テナント) ID] を設定し、cloud にテナントのあるクラウド (global、usgov、usgov-dod、china) を設定してください。' },
  }),
  entry({
    ref: 'entra.AADSTS700022', category: 'auth', match: { aadsts: [700022, 70011] },
    example: { status: 400, error: 'invalid_scope', aadsts: 70011, description: `AADSTS70011: The provided value for the input parameter 'scope' isn't valid. The scope https://graph.microsoft.com/Mail.Send isn't valid.${TRACE}` },
    hint: 'The relay asked Entra ID for a token with a scope it does not accept (an app token needs exactly one "<resource>/.default").',
    fix: 'Check the route\'s cloud and, for delegated sign-in, that the app is allowed the scope; if the configuration is right, report it as a relay bug with this reply.',
    ja: { hint: 'リレーが Entra ID に、受け付けられないスコープでトークンを要求しました (アプリのトークンには "<resource>/.default" をちょうど 1 つ指定する必要があります)。', fix: 'ルートの cloud を確認し、委任されたサインインの場合はアプリにそのスコープが許可されていることを確認してください。設定が正しい場合は、この応答を添えてリレーのバグとして報告してください。' },
  }),
  entry({
    ref: 'entra.AADSTS65001', category: 'permission', match: { aadsts: [65001, 90094] },
    example: { status: 400, error: 'invalid_grant', aadsts: 65001, description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${APP}' named 'authrelay'. Send an interactive authorization request for this user and resource.${TRACE}` },
    hint: 'Nobody has granted the app the permissions it asks for (admin consent is missing).',
    fix: 'In Entra admin center → App registrations → <appId> → API permissions, click "Grant admin consent for <tenant>"; for a delegated route run authrelay oauth login <upstream> again afterwards.',
    ja: { hint: 'アプリが要求するアクセス許可を誰も付与していません (管理者の同意がありません)。', fix: 'Microsoft Entra 管理センターの [アプリの登録] → <appId> → [API のアクセス許可] で [<tenant> に管理者の同意を与えます] をクリックしてください。委任されたサインインのルートでは、その後 authrelay oauth login <upstream> をもう一度実行します。' },
  }),
  entry({
    ref: 'entra.AADSTS70008', category: 'auth', match: { aadsts: [70008, 700082, 50173] },
    example: { status: 400, error: 'invalid_grant', aadsts: 700082, description: `AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2024-11-02T09:15:00.0000000Z and was inactive for 90.00:00:00.${TRACE}` },
    hint: 'The stored sign-in has expired or was revoked (password change, admin sign-out, 90 days unused), so the relay cannot get new tokens.',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> again. ${SEND_TEST}`,
    ja: { hint: '保存されたサインインの有効期限が切れたか、取り消されました (パスワードの変更、管理者によるサインアウト、90 日間の未使用など)。そのため、リレーは新しいトークンを取得できません。', fix: `authrelay oauth login <upstream> を実行し、<mailbox> としてもう一度サインインしてください。${SEND_TEST_JA}` },
  }),
  entry({
    ref: 'entra.AADSTS50076', category: 'auth', match: { aadsts: [50076, 50079] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50076, description: `AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.${TRACE}` },
    hint: 'A sign-in policy now requires multi-factor authentication for this account, which a stored sign-in cannot satisfy on its own.',
    fix: 'Run: authrelay oauth login <upstream> and complete the MFA prompt; if it keeps coming back, switch the route to an app registration (client credentials) instead of a user sign-in.',
    ja: { hint: 'サインイン ポリシーにより、このアカウントに多要素認証 (MFA) が必要になりました。保存されたサインインだけではこれを満たせません。', fix: 'authrelay oauth login <upstream> を実行して MFA の確認を完了してください。何度も求められる場合は、ユーザーのサインインではなくアプリの登録 (クライアント資格情報) を使うようにルートを切り替えてください。' },
  }),
  entry({
    ref: 'entra.AADSTS53003', category: 'auth', match: { aadsts: [53003] },
    example: { status: 400, error: 'invalid_grant', aadsts: 53003, description: `AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.${TRACE}` },
    hint: 'A Conditional Access policy blocks this sign-in (for example from this IP address or for this app).',
    fix: 'In Entra admin center → Sign-in logs, open the failed sign-in of <appId> and see which Conditional Access policy applied; exclude the app (workload identity) or the relay\'s public IP from it.',
    ja: { hint: '条件付きアクセス ポリシーがこのサインインをブロックしています (たとえば、この IP アドレスからのサインインや、このアプリへのサインイン)。', fix: 'Microsoft Entra 管理センターの [サインイン ログ] で <appId> の失敗したサインインを開き、適用された条件付きアクセス ポリシーを確認してください。そのポリシーの対象から、アプリ (ワークロード ID) またはリレーのパブリック IP アドレスを除外します。' },
  }),
  entry({
    ref: 'entra.AADSTS50034', category: 'auth', match: { aadsts: [50034] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50034, description: `AADSTS50034: The user account scanner@contoso.com does not exist in the ${TENANT} directory. To sign into this application, the account must be added to the directory.${TRACE}` },
    hint: 'The account used to sign in does not exist in this tenant.',
    fix: 'Check the user name in the route\'s configuration (it must be the account\'s sign-in name, its UPN) and that the route\'s tenant is the one that holds it; then run authrelay oauth login <upstream>.',
    ja: { hint: 'サインインに使用したアカウントがこのテナントに存在しません。', fix: 'ルートの設定にあるユーザー名 (アカウントのサインイン名、つまり UPN) と、ルートの tenant がそのアカウントのあるテナントであることを確認してください。その後、authrelay oauth login <upstream> を実行します。' },
  }),
  entry({
    ref: 'entra.AADSTS7000112', category: 'auth', match: { aadsts: [7000112] },
    example: { status: 401, error: 'unauthorized_client', aadsts: 7000112, description: `AADSTS7000112: Application '${APP}'(authrelay) is disabled.${TRACE}` },
    hint: 'The app registration is disabled in this tenant, so nobody can sign in with it.',
    fix: 'In Entra admin center → Enterprise applications → the app → Properties, set "Enabled for users to sign-in?" to Yes.',
    ja: { hint: 'このテナントでアプリが無効になっているため、このアプリでは誰もサインインできません。', fix: 'Microsoft Entra 管理センターの [エンタープライズ アプリケーション] → 対象のアプリ → [プロパティ] で、[ユーザーのサインインが有効になっていますか?] を [はい] に設定してください。' },
  }),
  entry({
    ref: 'entra.AADSTS50126', category: 'auth', match: { aadsts: [50126] },
    example: { status: 400, error: 'invalid_grant', aadsts: 50126, description: `AADSTS50126: Error validating credentials due to invalid username or password.${TRACE}` },
    hint: 'Entra ID rejected the user name or password.',
    fix: 'Check the account and password set for the route, then run authrelay oauth login <upstream> to sign in again.',
    ja: { hint: 'Entra ID がユーザー名またはパスワードを拒否しました。', fix: 'ルートに設定したアカウントとパスワードを確認し、authrelay oauth login <upstream> を実行してもう一度サインインしてください。' },
  }),
  // After the AADSTS entries: a stored sign-in that Entra refused (revoked, no consent) is explained by its code.
  entry({
    ref: 'entra.not-signed-in', category: 'auth', match: { notSignedIn: true },
    example: { notSignedIn: true },
    hint: 'This route sends as a signed-in user, and nobody has signed in yet (or the stored sign-in was removed).',
    fix: `Run: authrelay oauth login <upstream> and sign in as <mailbox> in a browser with the code shown. ${SEND_TEST}`,
    ja: { hint: 'このルートはサインインしたユーザーとして送信しますが、まだ誰もサインインしていません (または保存されていたサインインが削除されました)。', fix: `authrelay oauth login <upstream> を実行し、表示されたコードを使ってブラウザーで <mailbox> としてサインインしてください。${SEND_TEST_JA}` },
  }),
  entry({
    ref: 'entra.unavailable', category: 'unavailable', match: { status: [429, 500, 502, 503, 504] },
    example: { status: 503, error: 'temporarily_unavailable', aadsts: 90033, description: `AADSTS90033: A transient error has occurred. Please try again.${TRACE}` },
    hint: 'Entra ID is busy or having trouble; the relay tries again shortly.',
    fix: 'Nothing to do if it passes; if it lasts, check https://status.cloud.microsoft and the Microsoft 365 admin center → Health → Service health.',
    ja: { hint: 'Entra ID が高負荷の状態か、障害が発生しています。リレーはまもなく再試行します。', fix: '一時的なものであれば対処は不要です。続く場合は https://status.cloud.microsoft と、Microsoft 365 管理センターの [正常性] → [サービス正常性] を確認してください。' },
  }),
];

/** The sign-in host not reached at all (DNS, connection, TLS). */
export const ENTRA_NETWORK_ENTRIES: readonly EntraEntry[] = [
  entry({
    ref: 'entra.network-dns', category: 'connection', match: { networkCode: /^(ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME)$/ },
    example: { networkCode: 'ENOTFOUND' },
    hint: 'The relay cannot look up the Microsoft sign-in host name (DNS).',
    fix: 'Check the relay machine\'s DNS (try: nslookup login.microsoftonline.com) and, behind a proxy, set the route\'s proxy.',
    ja: { hint: 'リレーが Microsoft のサインイン ホスト名を DNS で解決できません。', fix: 'リレーのマシンの DNS を確認し (例: nslookup login.microsoftonline.com)、プロキシ経由の場合はルートの proxy を設定してください。' },
  }),
  entry({
    ref: 'entra.network-tls', category: 'tls', match: { networkCode: /^(CERT_|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_CERT|ERR_SSL|EPROTO)/ },
    example: { networkCode: 'SELF_SIGNED_CERT_IN_CHAIN' },
    hint: 'The sign-in host\'s TLS certificate is not trusted: usually a proxy or firewall that inspects HTTPS with its own certificate.',
    fix: 'Give the route the inspecting proxy\'s root certificate (ca: /path/to/proxy-root.pem), or exempt login.microsoftonline.com from HTTPS inspection.',
    ja: { hint: 'サインイン ホストの TLS 証明書が信頼されていません。通常は、独自の証明書で HTTPS を検査するプロキシやファイアウォールが原因です。', fix: 'HTTPS を検査するプロキシのルート証明書をルートの設定で指定するか (ca: /path/to/proxy-root.pem)、login.microsoftonline.com を HTTPS 検査の対象から除外してください。' },
  }),
  entry({
    ref: 'entra.network-connect', category: 'connection', match: { networkCode: /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ECONNABORTED|UND_ERR_|ESOCKETTIMEDOUT)/ },
    example: { networkCode: 'ECONNREFUSED' },
    hint: 'The relay cannot connect to the Microsoft sign-in host (refused, reset or timed out).',
    fix: 'Allow outbound HTTPS (port 443) from the relay to login.microsoftonline.com, or set the route\'s proxy if the network requires one.',
    ja: { hint: 'リレーが Microsoft のサインイン ホストに接続できません (拒否、リセット、またはタイムアウト)。', fix: 'リレーから login.microsoftonline.com への送信方向の HTTPS (ポート 443) を許可するか、ネットワークでプロキシが必要な場合はルートの proxy を設定してください。' },
  }),
];
