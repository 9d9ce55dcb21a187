/**
 * Every sentence `doctor` says (section names, check results, details and
 * fixes) in English and Japanese, with the same {placeholders} in both.
 * Microsoft's screens and settings are named as Microsoft's Japanese admin
 * centres name them ([アプリの登録], [証明書とシークレット], [API のアクセス許可],
 * Microsoft 365 管理センター → [設定] → [ドメイン]); commands, PowerShell,
 * setting names and codes stay as they are. The checks fill them with
 * `both()`: a placeholder's value may itself be a Text (a word that differs
 * by language). Fixes that come from the error catalogue keep its `ref`.
 */
import { renderBoth, type Placeholders, type Text } from '../core/i18n.js';
import type { Explained } from '../deliver/microsoft/catalogue.js';

/** The text in both languages, filled; a Text value gives each language its own word. */
export const both = renderBoth;

/** One of two texts by count (English has a singular). */
export function plural(n: number, one: Text, many: Text, values: Placeholders = {}): Text {
  return both(n === 1 ? one : many, { n, ...values });
}

/** The catalogue's hint and fix as Texts (its Japanese when the entry has one, else its English in both). */
export function explained(e: Pick<Explained, 'hint' | 'fix' | 'ja'> | undefined): { hint: Text | undefined; fix: Text | undefined } {
  if (!e) return { hint: undefined, fix: undefined };
  return {
    hint: e.hint ? { en: e.hint, ja: e.ja?.hint || e.hint } : undefined,
    fix: e.fix ? { en: e.fix, ja: e.ja?.fix || e.fix } : undefined,
  };
}

export const DOCTOR_TEXT = {
  // report.ts
  fixLabel: { en: 'fix:', ja: '対処:' },
  summaryOneWarning: { en: '{pass} passed, {warn} warning, {fail} failed', ja: '成功 {pass} 件、警告 {warn} 件、失敗 {fail} 件' },
  summary: { en: '{pass} passed, {warn} warnings, {fail} failed', ja: '成功 {pass} 件、警告 {warn} 件、失敗 {fail} 件' },
  summaryInfo: { en: ', {info} for information', ja: '、情報 {info} 件' },

  // doctor.ts: sections and the configuration
  sectionConfiguration: { en: 'Configuration', ja: '設定' },
  sectionListeners: { en: 'Listeners', ja: 'リスナー' },
  sectionUpstreams: { en: 'Upstreams', ja: 'アップストリーム' },
  sectionUpstream: { en: 'Upstream {name} ({type})', ja: 'アップストリーム {name} ({type})' },
  sectionQueue: { en: 'Queue', ja: 'キュー' },
  configValid: { en: 'configuration is valid', ja: '設定は正しい形式です' },
  configValidFrom: { en: 'configuration is valid ({source})', ja: '設定は正しい形式です ({source})' },
  configValidDefault: { en: 'configuration is valid (the embedded default)', ja: '設定は正しい形式です (組み込みの既定値)' },
  upstreamsNone: {
    en: 'no upstream is configured: every message is held by the capture route',
    ja: 'アップストリームが設定されていません。すべてのメッセージは capture ルートで保留されます',
  },
  upstreamsNoneFix: {
    en: 'Add an upstream (see docs/microsoft-365.md and docs/configuration.md) and a route.',
    ja: 'アップストリーム (docs/microsoft-365.md と docs/configuration.md を参照) とルートを追加してください。',
  },

  // listeners.ts
  bindPortZero: { en: '{name}: port 0, the system chooses a free port at start', ja: '{name}: ポート 0 (起動時にシステムが空いているポートを選びます)' },
  bindPass: { en: '{name}: {where} can be bound', ja: '{name}: {where} で待ち受けできます' },
  bindRelay: { en: '{name}: a relay is listening on {where}', ja: '{name}: {where} ではリレーが待ち受けています' },
  bindRelayDetail: { en: 'it greets with "{greeting}"', ja: 'グリーティング: "{greeting}"' },
  bindProxy: {
    en: '{name}: {where} is in use; it closed the doctor\'s connection without a greeting',
    ja: '{name}: {where} は使用中です。doctor の接続はグリーティングなしで閉じられました',
  },
  bindProxyDetail: {
    en: 'This is a proxyProtocol listener: the relay closes connections from addresses that are not in trustedProxies, so this is expected unless this host is a trusted proxy.',
    ja: 'このリスナーは proxyProtocol を使います。リレーは trustedProxies にないアドレスからの接続を閉じるため、このホストが信頼されたプロキシでなければ想定どおりの動作です。',
  },
  bindForeign: { en: '{name}: {where} is in use by a program that does not answer SMTP', ja: '{name}: {where} は SMTP に応答しないプログラムが使用しています' },
  bindForeignAnswered: { en: 'it answered "{greeting}"', ja: '応答: "{greeting}"' },
  bindForeignSilent: { en: 'it did not greet within 5 s', ja: '5 秒以内にグリーティングがありませんでした' },
  bindForeignFix: {
    en: 'Find the program with: ss -ltnp \'sport = :{port}\' and stop it, or give this listener another port.',
    ja: '`ss -ltnp \'sport = :{port}\'` でプログラムを見つけて停止するか、このリスナーに別のポートを指定してください。',
  },
  bindFailed: { en: '{name}: {where} cannot be bound ({code})', ja: '{name}: {where} で待ち受けできません ({code})' },
  bindFixPrivileged: {
    en: 'Ports below 1024 need privileges: run the relay with CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE), or use a port from 1024 up (e.g. 2525) and point devices at it.',
    ja: '1024 未満のポートには特権が必要です。CAP_NET_BIND_SERVICE 付きでリレーを実行する (systemd: `AmbientCapabilities=CAP_NET_BIND_SERVICE`) か、1024 以上のポート (例: 2525) を使い、デバイスの送信先をそのポートにしてください。',
  },
  bindFixNotLocal: {
    en: '{host} is not an address of this machine: use one of its addresses, or 0.0.0.0 (all IPv4) or :: (all addresses).',
    ja: '{host} はこのマシンのアドレスではありません。このマシンのアドレスか、0.0.0.0 (すべての IPv4) または :: (すべてのアドレス) を指定してください。',
  },
  bindFixOther: { en: 'Check the listener\'s host and port ({code}).', ja: 'リスナーのホストとポートを確認してください ({code})。' },
  selfSignedLater: {
    en: '{listeners}: a self-signed certificate is made in {dir} at first start',
    ja: '{listeners}: 初回起動時に {dir} に自己署名証明書が作成されます',
  },
  certUnreadable: { en: '{who}: cannot read the certificate {file}', ja: '{who}: 証明書 {file} を読み取れません' },
  certUnreadableFix: {
    en: 'Point tls.cert (or the listener\'s cert) at a readable PEM certificate file.',
    ja: 'tls.cert (またはリスナーの cert) に、読み取り可能な PEM 形式の証明書ファイルを指定してください。',
  },
  certDetail: { en: '{file}: {subject}, valid until {date}', ja: '{file}: {subject}、有効期限 {date}' },
  keyMismatch: { en: '{who}: the key {file} does not belong to the certificate', ja: '{who}: 鍵 {file} はこの証明書の鍵ではありません' },
  keyMismatchFix: { en: 'Configure the key that was made together with this certificate.', ja: 'この証明書と一緒に作成された鍵を設定してください。' },
  keyUnreadable: { en: '{who}: cannot read the key {file}', ja: '{who}: 鍵 {file} を読み取れません' },
  keyUnreadableFix: {
    en: 'Point tls.key (or the listener\'s key) at the readable, unencrypted PEM key of the certificate.',
    ja: 'tls.key (またはリスナーの key) に、この証明書の鍵 (読み取り可能で暗号化されていない PEM 形式) を指定してください。',
  },
  renewSelfSigned: {
    en: 'The self-signed certificate is made again at the next start when it has less than 7 days left: restart the relay.',
    ja: '自己署名証明書は、残りが 7 日未満になると次回の起動時に作り直されます。リレーを再起動してください。',
  },
  renewOwn: {
    en: 'Get a new certificate and put it in place of the old one, then restart the relay.',
    ja: '新しい証明書を入手して古い証明書と置き換え、リレーを再起動してください。',
  },
  certExpired: { en: '{who}: the certificate expired on {date}', ja: '{who}: 証明書の有効期限は {date} に切れています' },
  certExpires: { en: '{who}: the certificate expires in {days} days', ja: '{who}: 証明書の有効期限まであと {days} 日です' },
  certValid: { en: '{who}: certificate valid for {days} more days', ja: '{who}: 証明書はあと {days} 日有効です' },

  // microsoft.ts
  delegatedCredential: {
    en: 'delegated sign-in of {user} (refresh token kept encrypted in the data directory)',
    ja: '{user} の委任されたサインイン (更新トークンはデータ ディレクトリに暗号化して保存されています)',
  },
  secretInfo: { en: 'client secret: its expiry date is shown only in the app registration', ja: 'クライアント シークレット: 有効期限はアプリの登録でのみ確認できます' },
  secretInfoDetail: {
    en: 'Entra ID answers AADSTS7000222 once it has expired (checked by the token request below).',
    ja: '期限が切れると Entra ID は AADSTS7000222 を返します (下のトークン要求で確認します)。',
  },
  secretInfoFix: {
    en: 'Note the expiry date from Entra admin center → App registrations → {appId} → Certificates & secrets, and create the next secret before it.',
    ja: 'Microsoft Entra 管理センター → [アプリの登録] → {appId} → [証明書とシークレット] で有効期限を確認し、期限が切れる前に次のシークレットを作成してください。',
  },
  credCertUnreadable: { en: 'cannot read the certificate {file}', ja: '証明書 {file} を読み取れません' },
  credCertUnreadableFix: {
    en: 'Point certificate.cert at the PEM certificate uploaded to the app registration.',
    ja: 'certificate.cert に、アプリの登録にアップロードした PEM 形式の証明書を指定してください。',
  },
  credRenew: {
    en: 'Make a new key and certificate, upload the certificate to App registrations → {appId} → Certificates & secrets, then point certificate.key and certificate.cert at the new files.',
    ja: '新しい鍵と証明書を作成し、[アプリの登録] → {appId} → [証明書とシークレット] で証明書をアップロードしてから、certificate.key と certificate.cert に新しいファイルを指定してください。',
  },
  credExpired: { en: 'the sign-in certificate expired on {date}', ja: 'サインイン用の証明書の有効期限は {date} に切れています' },
  credExpires: { en: 'the sign-in certificate expires in {days} days ({date})', ja: 'サインイン用の証明書の有効期限まであと {days} 日です ({date})' },
  credValid: { en: 'sign-in certificate valid until {date}', ja: 'サインイン用の証明書の有効期限: {date}' },
  tokenIssued: { en: 'token for {resource} issued', ja: '{resource} のトークンを取得しました' },
  tokenDetail: { en: '{provider}; {kind}: {permissions}; valid until {until}', ja: '{provider}、{kind}: {permissions}、有効期限 {until}' },
  kindRoles: { en: 'roles', ja: 'ロール (roles)' },
  kindScopes: { en: 'scopes (scp)', ja: 'スコープ (scp)' },
  none: { en: '(none)', ja: '(なし)' },
  credentialUnusable: { en: 'the sign-in credential cannot be used', ja: 'サインイン用の資格情報を使えません' },
  credentialUnusableFix: {
    en: 'Fix the credential files named above (key, certificate, passphrase).',
    ja: '上に示した資格情報のファイル (鍵、証明書、パスフレーズ) を直してください。',
  },
  tokenRefused: { en: 'token request refused: {message}', ja: 'トークン要求が拒否されました: {message}' },
  reference: { en: 'reference: {ref} in docs/errors.md', ja: '参照: docs/ja/errors.md の {ref}' },
  mailSendGranted: { en: 'Mail.Send granted', ja: 'Mail.Send が付与されています' },
  mailSendMissing: {
    en: 'Mail.Send is not in the token: Graph will refuse every message (403 ErrorAccessDenied)',
    ja: 'トークンに Mail.Send がありません。Graph はすべてのメッセージを拒否します (403 ErrorAccessDenied)',
  },
  readWriteGranted: {
    en: 'Mail.ReadWrite granted (messages over about 3 MB go as a draft with uploads)',
    ja: 'Mail.ReadWrite が付与されています (約 3 MB を超えるメッセージは下書きとアップロードで送信されます)',
  },
  readWriteMissing: {
    en: 'Mail.ReadWrite is not in the token: messages over about 3 MB will fail',
    ja: 'トークンに Mail.ReadWrite がありません。約 3 MB を超えるメッセージは失敗します',
  },
  mailboxNone: {
    en: 'mailbox probe skipped: the route has no mailbox (messages go as the device\'s sendAs or From address)',
    ja: 'メールボックスの確認を省略しました: ルートにメールボックスがありません (メッセージはデバイスの sendAs または From アドレスで送信されます)',
  },
  mailboxNeedsRead: {
    en: 'mailbox probe of {mailbox} skipped: needs Mail.ReadWrite (or Mail.Read); Mail.Send alone allows no read',
    ja: '{mailbox} の確認を省略しました: Mail.ReadWrite (または Mail.Read) が必要です。Mail.Send だけでは読み取りできません',
  },
  mailboxPass: {
    en: 'mailbox {mailbox} answers through Graph (its Drafts folder was read)',
    ja: 'メールボックス {mailbox} は Graph 経由で応答しました (下書きフォルダーを読み取りました)',
  },
  mailboxFail: { en: 'mailbox {mailbox}: Graph answered {status}', ja: 'メールボックス {mailbox}: Graph の応答は {status} です' },
  mailboxFailFix: {
    en: 'Check that {mailbox} is a mailbox in Exchange Online and that the app may use it.',
    ja: '{mailbox} が Exchange Online のメールボックスであること、アプリがそれを使えることを確認してください。',
  },
  mailboxProbeFailed: { en: 'mailbox probe of {mailbox} failed: {message}', ja: '{mailbox} の確認に失敗しました: {message}' },
  mailboxProbeFailedFix: { en: 'See the connection checks of the Graph host above.', ja: '上の Graph ホストへの接続の確認結果を参照してください。' },
  smtpSendGranted: { en: 'SMTP.Send granted to the signed-in user', ja: 'サインインしたユーザーに SMTP.Send が付与されています' },
  smtpSendMissing: { en: 'SMTP.Send is not among the token\'s scopes', ja: 'トークンのスコープに SMTP.Send がありません' },
  smtpSendMissingFix: {
    en: 'In Entra admin center → App registrations → {appId} → API permissions → Microsoft Graph → Delegated permissions → SMTP.Send and offline_access; then run: authrelay oauth login {name}',
    ja: 'Microsoft Entra 管理センター → [アプリの登録] → {appId} → [API のアクセス許可] → [Microsoft Graph] → [委任されたアクセス許可] で SMTP.Send と offline_access を追加してから、次を実行してください: authrelay oauth login {name}',
  },
  sendAsAppGranted: { en: 'SMTP.SendAsApp granted', ja: 'SMTP.SendAsApp が付与されています' },
  sendAsAppMissing: {
    en: 'SMTP.SendAsApp is not in the token: Exchange Online will refuse the sign-in (535 5.7.3)',
    ja: 'トークンに SMTP.SendAsApp がありません。Exchange Online はサインインを拒否します (535 5.7.3)',
  },
  smtpAuthNoMailbox: {
    en: 'SMTP sign-in probe skipped: the route has no mailbox (set mailbox to test it)',
    ja: 'SMTP サインインの確認を省略しました: ルートにメールボックスがありません (確認するには mailbox を設定してください)',
  },
  smtpAuthPass: {
    en: 'AUTH XOAUTH2 as {mailbox} accepted ({tls}); nothing was sent',
    ja: '{mailbox} としての AUTH XOAUTH2 が受け付けられました ({tls})。メールは送信していません',
  },
  smtpAuthFail: { en: 'AUTH XOAUTH2 as {mailbox} refused: {response}', ja: '{mailbox} としての AUTH XOAUTH2 が拒否されました: {response}' },
  smtpAuthFailFix: {
    en: 'Check SMTP AUTH for the mailbox: Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false',
    ja: 'メールボックスの SMTP AUTH を確認してください: Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false',
  },

  // network.ts
  connectRefused: {
    en: 'Nothing accepts connections on {host}:{port}: check the host and port in the config, and that the server runs.',
    ja: '{host}:{port} で接続を受け付けるものがありません。設定のホストとポート、サーバーが動作していることを確認してください。',
  },
  connectBlocked: {
    en: 'Allow outbound TCP to {host}:{port} in the firewall (many networks block port 25 and 587 outbound), or go through a proxy where the upstream supports one.',
    ja: 'ファイアウォールで {host}:{port} への送信方向の TCP を許可するか (多くのネットワークではポート 25 と 587 への送信がブロックされています)、アップストリームが対応していればプロキシを経由してください。',
  },
  connectOther: {
    en: 'Check that {host}:{port} is right and reachable from this machine ({code}).',
    ja: '{host}:{port} が正しく、このマシンから到達できることを確認してください ({code})。',
  },
  dnsAddress: { en: '{host} is an address (no DNS lookup)', ja: '{host} はアドレスです (DNS の参照はしません)' },
  dnsPass: { en: '{host} resolves to {addresses}', ja: '{host} の名前解決の結果: {addresses}' },
  dnsFail: { en: '{host} does not resolve ({code})', ja: '{host} の名前解決ができません ({code})' },
  dnsFailFix: {
    en: 'Check the host name in the config and this machine\'s DNS settings (/etc/resolv.conf); try: getent hosts {host}',
    ja: '設定のホスト名と、このマシンの DNS 設定 (/etc/resolv.conf) を確認してください。確認用のコマンド: `getent hosts {host}`',
  },
  tcpPass: { en: 'TCP connection to {where} in {ms} ms', ja: '{where} への TCP 接続: {ms} ms' },
  tcpFail: { en: 'cannot connect to {where} ({code})', ja: '{where} に接続できません ({code})' },
  noTls: { en: 'no TLS to {where} (tls: none)', ja: '{where} への接続に TLS を使いません (tls: none)' },
  noTlsDetail: { en: 'Mail and any password cross the network in the clear.', ja: 'メールとパスワードが暗号化されずにネットワークを流れます。' },
  noTlsFix: { en: 'Use tls: starttls or implicit if the server offers it.', ja: 'サーバーが対応していれば tls: starttls または implicit を使ってください。' },
  tlsDetail: { en: 'certificate {subject}, issued by {issuer}, valid until {date}', ja: '証明書 {subject}、発行者 {issuer}、有効期限 {date}' },
  tlsUntrusted: {
    en: '{version} with {where}, but the certificate is not trusted ({reason})',
    ja: '{where} と {version} で接続しましたが、証明書が信頼されていません ({reason})',
  },
  unknownReason: { en: 'unknown reason', ja: '理由は不明' },
  tlsUntrustedFix: {
    en: 'If the server uses a private CA, set ca to a PEM file with that CA; a TLS-inspecting proxy or firewall can also cause this. Check the host name matches the certificate.',
    ja: 'サーバーがプライベート CA を使う場合は、ca にその CA の PEM ファイルを指定してください。TLS を検査するプロキシやファイアウォールが原因のこともあります。ホスト名が証明書と一致していることも確認してください。',
  },
  tlsOld: { en: '{where} negotiated {version}', ja: '{where} とのネゴシエーションの結果は {version} です' },
  tlsOldFix: {
    en: 'The server offers only an old TLS version; Microsoft 365 refuses TLS 1.0/1.1. Update the server to TLS 1.2 or later.',
    ja: 'サーバーは古いバージョンの TLS しか提供していません。Microsoft 365 は TLS 1.0/1.1 を受け付けません。サーバーを TLS 1.2 以降に対応させてください。',
  },
  tlsPass: { en: '{version} with {where}, certificate trusted', ja: '{where} と {version} で接続、証明書は信頼されています' },
  tlsFail: { en: 'TLS with {where} failed ({code})', ja: '{where} との TLS に失敗しました ({code})' },
  tlsNoStarttlsFix: {
    en: 'The server does not offer STARTTLS: use the port that does (587 for submission), or tls: implicit on 465.',
    ja: 'サーバーが STARTTLS を提供していません。STARTTLS のあるポート (メール送信用は 587) を使うか、465 で tls: implicit を使ってください。',
  },
  tlsCheckImplicit: { en: 'Check that {where} speaks TLS from the first byte.', ja: '{where} が接続直後から TLS で通信することを確認してください。' },
  tlsCheckStarttls: { en: 'Check that {where} speaks SMTP with STARTTLS.', ja: '{where} が STARTTLS 付きの SMTP で通信することを確認してください。' },

  // upstreams.ts
  capture: { en: 'capture: messages routed here are held in the queue, nothing is delivered', ja: 'capture: ここに振り分けられたメッセージはキューに保留され、配送されません' },
  verifyOff: {
    en: 'rejectUnauthorized: false: the upstream\'s certificate is not checked',
    ja: 'rejectUnauthorized: false のため、アップストリームの証明書を検証しません',
  },
  verifyOffFix: {
    en: 'Set ca to the upstream\'s CA instead and remove rejectUnauthorized: false.',
    ja: '代わりに ca にアップストリームの CA を指定し、rejectUnauthorized: false を削除してください。',
  },
  proxyGraph: { en: 'requests go through the proxy {host}: direct connection checks skipped', ja: '要求はプロキシ {host} を経由します。直接接続の確認は省略しました' },
  proxySignIn: { en: 'sign-in goes through the proxy {host}: its connection check is skipped', ja: 'サインインはプロキシ {host} を経由します。その接続の確認は省略しました' },
  unreachableSkip: {
    en: 'sign-in and permission checks skipped until the hosts above can be reached',
    ja: '上のホストに到達できるまで、サインインとアクセス許可の確認は省略します',
  },

  // direct-send.ts
  mxConfiguredFail: { en: 'the configured mx {mx} does not resolve ({code})', ja: '設定した mx {mx} の名前解決ができません ({code})' },
  mxNotFound: { en: 'no MX host found for {domain} ({code})', ja: '{domain} の MX ホストが見つかりません ({code})' },
  mxFailFix: {
    en: 'Check the domain; its MX record should name <domain-with-dashes>.mail.protection.outlook.com (Microsoft 365 admin center → Settings → Domains → {domain} → DNS records), or set mx.',
    ja: 'ドメインを確認してください。MX レコードは <domain-with-dashes>.mail.protection.outlook.com を指している必要があります (Microsoft 365 管理センター → [設定] → [ドメイン] → {domain} → [DNS レコード])。または mx を設定してください。',
  },
  mxConfigured: { en: 'configured mx: {host} ({address})', ja: '設定した mx: {host} ({address})' },
  mxOfDomain: { en: 'MX of {domain}: {host} ({address})', ja: '{domain} の MX: {host} ({address})' },
  mxAddressFix: {
    en: 'Direct Send normally goes to Microsoft\'s host for {domain} (<domain-with-dashes>.mail.protection.outlook.com); an address is fine for a test.',
    ja: 'Direct Send の送信先は通常、{domain} 用の Microsoft のホスト (<domain-with-dashes>.mail.protection.outlook.com) です。テストであれば IP アドレスでも問題ありません。',
  },
  mxConfiguredForeign: {
    en: 'configured mx: {host} is not a *.mail.protection.outlook.com host',
    ja: '設定した mx: {host} は *.mail.protection.outlook.com のホストではありません',
  },
  mxOfDomainForeign: {
    en: 'MX of {domain}: {host} is not a *.mail.protection.outlook.com host',
    ja: '{domain} の MX: {host} は *.mail.protection.outlook.com のホストではありません',
  },
  mxForeignFix: {
    en: 'Set mx to {mx} if the domain is in Microsoft 365.',
    ja: 'ドメインが Microsoft 365 にある場合は、mx に {mx} を設定してください。',
  },
  rejectDirectSend: {
    en: 'Direct Send stops working if the tenant turns on RejectDirectSend (doctor cannot see this setting)',
    ja: 'テナントで RejectDirectSend が有効になると Direct Send は使えなくなります (この設定は doctor からは確認できません)',
  },
  rejectDirectSendFix: {
    en: 'Check in Exchange Online PowerShell: Get-OrganizationConfig | Select RejectDirectSend. If True, add an inbound connector for this site\'s public IP, or use a graph or smtp-oauth upstream.',
    ja: 'Exchange Online PowerShell で確認してください: `Get-OrganizationConfig | Select RejectDirectSend`。True の場合は、このサイトのパブリック IP 用の受信コネクタを追加するか、graph または smtp-oauth のアップストリームを使ってください。',
  },
  spfNoIp: {
    en: 'SPF of {domain} not evaluated: give this site\'s public IP with --public-ip A.B.C.D',
    ja: '{domain} の SPF は評価していません: このサイトのパブリック IP を `--public-ip A.B.C.D` で指定してください',
  },
  spfNoIpDetail: {
    en: 'Microsoft 365 treats Direct Send mail as spoofed unless the SPF record of the sender domain includes the public IP address it comes from.',
    ja: '送信者ドメインの SPF レコードに送信元のパブリック IP アドレスが含まれていないと、Microsoft 365 は Direct Send のメールをなりすましとして扱います。',
  },
  spfBadIp: { en: '--public-ip {ip} is not an IP address', ja: '`--public-ip` の {ip} は IP アドレスではありません' },
  spfBadIpFix: {
    en: 'Give the address the relay\'s mail leaves from (see https://ifconfig.me from this machine), e.g. --public-ip 203.0.113.7',
    ja: 'リレーのメールが出ていくアドレスを指定してください (このマシンから https://ifconfig.me で確認できます)。例: `--public-ip 203.0.113.7`',
  },
  spfPublish: {
    en: 'Publish this TXT record for {domain} (replacing the old SPF record): "{record}"',
    ja: '{domain} に次の TXT レコードを公開してください (古い SPF レコードと置き換えます): "{record}"',
  },
  spfRecord: { en: 'record: "{record}"', ja: 'レコード: "{record}"' },
  spfNoRecord: { en: 'no SPF record at {domain}', ja: '{domain} に SPF レコードがありません' },
  spfDecidedBy: { en: 'decided by: {matched}', ja: '判定した項目: {matched}' },
  spfPass: { en: 'SPF of {domain} authorises {ip}', ja: '{domain} の SPF は {ip} を許可しています' },
  spfUnevaluated: { en: 'SPF of {domain} could not be evaluated for {ip} ({result})', ja: '{domain} の SPF を {ip} について評価できませんでした ({result})' },
  spfUnevaluatedFix: {
    en: 'Check the record by hand; it must authorise {ip}, e.g. "{record}"',
    ja: 'レコードを手動で確認してください。{ip} を許可している必要があります。例: "{record}"',
  },
  spfNone: {
    en: '{domain} has no SPF record: Direct Send mail from {ip} looks spoofed',
    ja: '{domain} に SPF レコードがありません。{ip} からの Direct Send のメールはなりすましと見なされます',
  },
  spfBroken: { en: 'the SPF record of {domain} is broken (permerror)', ja: '{domain} の SPF レコードに誤りがあります (permerror)' },
  spfFail: { en: 'SPF of {domain} does not authorise {ip} ({result})', ja: '{domain} の SPF は {ip} を許可していません ({result})' },

  // queue-health.ts
  queueNone: { en: 'no queue yet at {file} (made when the relay first starts)', ja: '{file} にはまだキューがありません (リレーの初回起動時に作成されます)' },
  queueSchema: { en: 'the PostgreSQL store has {n} migration(s) pending', ja: 'PostgreSQL ストアに未適用のマイグレーションが {n} 件あります' },
  queueSchemaFix: {
    en: 'Apply them: authrelay store migrate (the relay also applies them when it starts).',
    ja: '適用してください (リレーも起動時に適用します): authrelay store migrate',
  },
  storeUnopened: { en: 'the {type} store cannot be opened: {message}', ja: '{type} ストアを開けません: {message}' },
  storeUnopenedFixPostgres: { en: 'See the details with: authrelay store check', ja: '詳しくは次のコマンドで確認してください: authrelay store check' },
  storeUnopenedFixSqlite: { en: 'Check dataDir and store.path and their permissions.', ja: 'dataDir と store.path、それぞれのアクセス権を確認してください。' },
  queueCounts: { en: 'queue: {counts}', ja: 'キュー: {counts}' },
  stateCount: { en: '{state} {n}', ja: '{state} {n} 件' },
  stateIncoming: { en: 'incoming', ja: '受信中' },
  stateActive: { en: 'active', ja: '配送中' },
  stateDeferred: { en: 'deferred', ja: '再試行待ち' },
  stateHeld: { en: 'held', ja: '保留' },
  stateDelivered: { en: 'delivered', ja: '配送済み' },
  stateFailed: { en: 'failed', ja: '失敗' },
  queueFailedOne: { en: '{n} failed message waiting (oldest received {age} ago)', ja: '失敗したメッセージが {n} 件あります ({age} 前に受信)' },
  queueFailedMany: { en: '{n} failed messages waiting (oldest received {age} ago)', ja: '失敗したメッセージが {n} 件あります (最も古いものは {age} 前に受信)' },
  queueFailedFix: {
    en: 'Fix what made them fail (see: authrelay queue show ID), then send them again: authrelay queue retry --failed (or delete them: authrelay queue delete ID).',
    ja: '失敗の原因を直してから (確認: `authrelay queue show ID`)、もう一度送信してください: `authrelay queue retry --failed` (削除する場合: `authrelay queue delete ID`)。',
  },
  queueFailedNone: { en: 'no failed messages waiting', ja: '失敗したメッセージはありません' },
  queueDeferredOne: {
    en: '{n} message waiting for a retry for over an hour (oldest {age})',
    ja: '1 時間以上再試行を待っているメッセージが {n} 件あります ({age} 前に受信)',
  },
  queueDeferredMany: {
    en: '{n} messages waiting for a retry for over an hour (oldest {age})',
    ja: '1 時間以上再試行を待っているメッセージが {n} 件あります (最も古いものは {age} 前に受信)',
  },
  queueDeferredFix: {
    en: 'See why with: authrelay queue show ID; the route\'s checks above show whether its upstream can be reached. They give up after queue.maxLifetime.',
    ja: '理由は `authrelay queue show ID` で確認できます。アップストリームに到達できるかどうかは、上のルートの確認結果でわかります。queue.maxLifetime を過ぎると送信をあきらめます。',
  },
  queueDeferredRecent: { en: '{n} deferred, none older than an hour', ja: '再試行待ちが {n} 件、1 時間を超えて待っているものはありません' },
  queueDeferredNone: { en: 'no messages waiting for a retry', ja: '再試行を待っているメッセージはありません' },
  queueLeasesOne: { en: '{n} message left in delivery with an expired lease', ja: 'リースの期限が切れたまま配送中になっているメッセージが {n} 件あります' },
  queueLeasesMany: { en: '{n} messages left in delivery with an expired lease', ja: 'リースの期限が切れたまま配送中になっているメッセージが {n} 件あります' },
  leaseHolder: { en: '{id} (held by {owner})', ja: '{id} (保持しているノード: {owner})' },
  queueLeasesFix: {
    en: 'The relay that was delivering them stopped; they go back to the queue when the relay starts. Start it: authrelay serve',
    ja: '配送していたリレーが停止しています。リレーが起動するとキューに戻ります。起動してください: authrelay serve',
  },
  queueIncomingOne: { en: '{n} message due for over an hour without an attempt', ja: '送信予定から 1 時間以上たっても送信されていないメッセージが {n} 件あります' },
  queueIncomingMany: { en: '{n} messages due for over an hour without an attempt', ja: '送信予定から 1 時間以上たっても送信されていないメッセージが {n} 件あります' },
  queueIncomingFix: {
    en: 'Is the relay running? Start it (authrelay serve) and watch its log.',
    ja: 'リレーは動作していますか? 起動して (`authrelay serve`) ログを確認してください。',
  },
  queueHeldOne: { en: '{n} message held for inspection', ja: '確認のために保留されているメッセージが {n} 件あります' },
  queueHeldMany: { en: '{n} messages held for inspection', ja: '確認のために保留されているメッセージが {n} 件あります' },
  queueHeldDetail: {
    en: 'authrelay queue list --state held; release one with: authrelay queue release <message id from the list>',
    ja: '一覧: `authrelay queue list --state held`、保留の解除: `authrelay queue release <一覧のメッセージ ID>`',
  },
  noReplyRecorded: { en: 'no reply recorded', ja: '応答の記録なし' },

  // sent-items.ts
  sentReadWriteGranted: {
    en: 'Mail.ReadWrite granted: sent copies can be deleted from Sent Items (sentItems: delete)',
    ja: 'Mail.ReadWrite が付与されています: 送信済みアイテムのコピーを削除できます (sentItems: delete)',
  },
  sentReadWriteMissing: {
    en: 'Mail.ReadWrite is not in the token: with sentItems: delete, the copies in Sent Items cannot be deleted (messages are still delivered)',
    ja: 'トークンに Mail.ReadWrite がありません: sentItems: delete でも送信済みアイテムのコピーを削除できません (メッセージは配送されます)',
  },
  sentReadWriteMissingDetail: {
    en: 'Graph answers 403 ErrorAccessDenied to the search of Sent Items and to permanentDelete; each failure is logged (event sent-items-denied) and counted (authrelay_sent_items_cleanups_total{result="denied"}).',
    ja: '送信済みアイテムの検索と permanentDelete に Graph が 403 ErrorAccessDenied を返します。失敗はそのつどログに記録され (イベント sent-items-denied)、カウントされます (`authrelay_sent_items_cleanups_total{result="denied"}`)。',
  },
  sentGrantReadWrite: {
    en: 'In the Microsoft Entra admin center → App registrations → {appId} → API permissions → Add a permission → Microsoft Graph → Application permissions → Mail.ReadWrite → Add permissions, then Grant admin consent. A token issued before the consent does not have it: the relay gets a new one within about an hour, or at once after a restart.',
    ja: 'Microsoft Entra 管理センター → [アプリの登録] → {appId} → [API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [アプリケーションの許可] → Mail.ReadWrite → [アクセス許可の追加] の順に選び、[管理者の同意を与えます] を選んでください。同意の前に発行されたトークンにはこのアクセス許可がありません。リレーは約 1 時間以内に新しいトークンを取得します (再起動すればすぐに取得します)。',
  },
  sentKeep: {
    en: 'sentItems: keep: Exchange keeps a copy of every message sent in the mailbox\'s Sent Items folder',
    ja: 'sentItems: keep: Exchange は送信したすべてのメッセージのコピーをメールボックスの [送信済みアイテム] フォルダーに残します',
  },
  sentFolder: { en: 'Sent Items of {mailbox}: {items}{size}', ja: '{mailbox} の送信済みアイテム: {items}{size}' },
  sentItemOne: { en: '{n} item', ja: '{n} 件' },
  sentItemMany: { en: '{n} items', ja: '{n} 件' },
  sentFolderSizeUnknown: {
    en: 'Graph did not return the folder\'s size (PR_MESSAGE_SIZE_EXTENDED); only the number of items is shown.',
    ja: 'Graph がフォルダーのサイズ (PR_MESSAGE_SIZE_EXTENDED) を返さなかったため、アイテム数だけを表示しています。',
  },
  sentFolderLarge: { en: 'Sent Items of {mailbox} is large: {items}{size}', ja: '{mailbox} の送信済みアイテムが大きくなっています: {items}{size}' },
  sentFolderLargeDetail: {
    en: 'Warned above {maxItems} items or {maxSize}: the size is a fifth of the 50 GB that an Exchange Online Plan 1 or Business mailbox holds (100 GB with Plan 2, E3 or E5); the count is the relay\'s own mark (about a year of 30 scans a day), not a Microsoft limit. A mailbox that reaches its quota can no longer send.',
    ja: '{maxItems} 件または {maxSize} を超えると警告します。サイズは Exchange Online Plan 1 や Business のメールボックス容量 50 GB の 5 分の 1 です (Plan 2、E3、E5 では 100 GB)。件数はリレー独自の目安 (1 日 30 件のスキャンで約 1 年分) で、Microsoft の制限ではありません。容量の上限に達したメールボックスは送信できなくなります。',
  },
  sentFolderLargeFixKeep: {
    en: 'Set upstreams.{name}.sentItems: delete so that the relay deletes each copy after the send, and empty the folder once (Outlook on the web → Sent Items → Empty folder).',
    ja: 'upstreams.{name}.sentItems: delete を設定して送信後にリレーがコピーを削除するようにし、フォルダーを一度空にしてください (Web 版 Outlook → [送信済みアイテム] → [フォルダーを空にする])。',
  },
  sentFolderLargeFixDelete: {
    en: 'The relay deletes new copies; empty the folder once for the old ones (Outlook on the web → Sent Items → Empty folder), and check the clean-up counter for failures.',
    ja: '新しいコピーはリレーが削除します。古いコピーはフォルダーを一度空にして削除し (Web 版 Outlook → [送信済みアイテム] → [フォルダーを空にする])、削除処理のカウンターで失敗がないか確認してください。',
  },
  sentFolderUnreadable: { en: 'The Sent Items folder of {mailbox} could not be read ({status})', ja: '{mailbox} の送信済みアイテム フォルダーを読み取れませんでした ({status})' },
  graphAnswered: { en: 'Graph answered {status}', ja: 'Graph の応答: {status}' },
  sentFolderNeedsRead: {
    en: 'Size of Sent Items of {mailbox} not checked: reading a folder needs Mail.Read or Mail.ReadWrite',
    ja: '{mailbox} の送信済みアイテムのサイズは確認していません: フォルダーの読み取りには Mail.Read または Mail.ReadWrite が必要です',
  },
  sentNoMailbox: {
    en: 'Sent Items not checked: no sending mailbox is known (set mailbox on the upstream, or sendAs on the devices that use it)',
    ja: '送信済みアイテムは確認していません: 送信に使うメールボックスがわかりません (アップストリームに mailbox を、またはそれを使うデバイスに sendAs を設定してください)',
  },
} satisfies Record<string, Text>;
