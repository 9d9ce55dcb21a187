/**
 * What `doctor` says about legacy readers (IMAP and POP3 listeners and the
 * exchange-mailbox upstreams, docs/imap-pop.md), in English and Japanese
 * with the same {placeholders} in both, in the style of texts.ts. Entra's
 * and Exchange's screens are named as their Japanese admin centres name
 * them; PowerShell lines, role names and codes stay as they are.
 */
import type { Text } from '../core/i18n.js';

export const READER_TEXT = {
  // Listeners
  listenerSummary: {
    en: '{name}: {protocol} on {where}, {tls}, opening mailboxes through upstream {upstream} ({server})',
    ja: '{name}: {where} で {protocol}、{tls}。アップストリーム {upstream} ({server}) 経由でメールボックスを開きます',
  },
  tlsImplicit: { en: 'implicit TLS from {min}', ja: '暗黙の TLS ({min} 以上)' },
  tlsStarttls: { en: 'STARTTLS from {min}', ja: 'STARTTLS ({min} 以上)' },
  tlsNone: { en: 'no TLS', ja: 'TLS なし' },
  legacyTls: {
    en: '{name}: accepts {min}, which Exchange Online no longer accepts itself (MC1293480); keep it for the programs that need it',
    ja: '{name}: {min} を受け付けます。Exchange Online 自身はもう受け付けないバージョンです (MC1293480)。必要なプログラムのためだけに残してください',
  },
  legacyTlsDetail: {
    en: 'The weak versions and suites (OpenSSL security level 0) apply to this listener only; authrelay speaks TLS 1.2 or newer to Exchange Online.',
    ja: '弱いバージョンと暗号スイート (OpenSSL セキュリティ レベル 0) はこのリスナーだけに適用されます。authrelay から Exchange Online へは TLS 1.2 以上で接続します。',
  },
  legacyTlsFix: {
    en: 'Point programs that can do TLS 1.2 at a listener with minTlsVersion: TLSv1.2.',
    ja: 'TLS 1.2 を使えるプログラムは、minTlsVersion: TLSv1.2 のリスナーに接続するよう設定してください。',
  },
  plainPasswords: {
    en: '{name}: passwords are accepted without TLS (tls: none, allowInsecureAuth: true): the device passwords cross the network in the clear',
    ja: '{name}: TLS なしでパスワードを受け付けます (tls: none、allowInsecureAuth: true)。機器のパスワードが暗号化されずにネットワークを流れます',
  },
  plainPasswordsFix: {
    en: 'Use tls: starttls or implicit, or keep this listener on a network only the reading programs reach.',
    ja: 'tls: starttls または implicit を使うか、このリスナーを読み取りプログラムだけが届くネットワークに限ってください。',
  },
  bindReader: { en: '{name}: authrelay answers {protocol} on {where}', ja: '{name}: {where} で authrelay が {protocol} に応答しています' },
  bindReaderDetail: { en: 'it greets with "{greeting}"{tls}', ja: 'グリーティング: "{greeting}"{tls}' },
  bindReaderTls: { en: '; TLS {version} with the certificate {subject}', ja: '。TLS {version}、証明書 {subject}' },
  bindReaderForeign: {
    en: '{name}: {where} is in use by a program that does not answer {protocol} as authrelay does',
    ja: '{name}: {where} は authrelay として {protocol} に応答しないプログラムが使用しています',
  },
  noReaderListener: {
    en: 'no IMAP or POP3 listener names this upstream: no mailbox is opened through it',
    ja: 'このアップストリームを指定する IMAP/POP3 リスナーがありません。これを通して開かれるメールボックスはありません',
  },
  noReaderListenerFix: {
    en: 'Add a listener with protocol: imap or pop3 and upstream: {name} (docs/imap-pop.md), or remove the upstream.',
    ja: 'protocol: imap または pop3 と upstream: {name} を持つリスナーを追加する (docs/imap-pop.md) か、このアップストリームを削除してください。',
  },

  // The upstream: token and roles
  tokenIssued: { en: 'Entra ID issued an app token for Exchange Online ({scope})', ja: 'Entra ID が Exchange Online 向けのアプリ トークンを発行しました ({scope})' },
  tokenDetail: { en: '{provider}; roles: {roles}; valid until {until}', ja: '{provider}。ロール: {roles}。有効期限 {until}' },
  rolesNone: { en: '(none)', ja: '(なし)' },
  rolePresent: { en: 'the token has the {role} role ({protocol})', ja: 'トークンに {role} ロールがあります ({protocol})' },
  roleMissing: {
    en: 'the token has no {role} role: Exchange Online refuses every {protocol} login of this app',
    ja: 'トークンに {role} ロールがありません。Exchange Online はこのアプリの {protocol} ログインをすべて拒否します',
  },
  roleMissingFix: {
    en: 'Entra admin center → App registrations → {appId} → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → {role}, then Grant admin consent. A token already issued keeps its old roles for up to an hour.',
    ja: 'Entra 管理センター → [アプリの登録] → {appId} → [API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [アプリケーションの許可] → {role} を追加し、[管理者の同意を与えます] を選んでください。発行済みのトークンは最長 1 時間、元のロールのままです。',
  },
  noMailbox: {
    en: 'no device lists a mailbox: nothing to log in to (devices[].mailboxes)',
    ja: 'メールボックスを列挙している機器がありません。ログインを試すメールボックスがありません (devices[].mailboxes)',
  },
  tooManyMailboxes: {
    en: '{checked} of {total} mailboxes tried; the others were not',
    ja: '{total} 個のメールボックスのうち {checked} 個を試しました。残りは試していません',
  },
  // A delegated sign-in (one user, device code) instead of an app
  delegatedTokenIssued: {
    en: 'Entra ID issued a token for the signed-in user from the stored sign-in ({scope})',
    ja: '保存されたサインインから、サインインしたユーザーのトークンを Entra ID が発行しました ({scope})',
  },
  delegatedTokenDetail: {
    en: '{provider}; delegated permissions: {scopes}; valid until {until}; the refresh token is kept encrypted in the data directory',
    ja: '{provider}。委任されたアクセス許可: {scopes}。有効期限 {until}。更新トークンはデータ ディレクトリに暗号化して保存されています',
  },
  scopePresent: { en: 'the token has the delegated permission {scope} ({protocol})', ja: 'トークンに委任されたアクセス許可 {scope} があります ({protocol})' },
  scopeMissing: {
    en: 'the token has no delegated permission {scope}: Exchange Online refuses every {protocol} login with this sign-in',
    ja: 'トークンに委任されたアクセス許可 {scope} がありません。Exchange Online はこのサインインでの {protocol} ログインをすべて拒否します',
  },
  scopeMissingFix: {
    en: 'Entra admin center → App registrations → {appId} → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Delegated permissions → {scope}, grant consent, then sign in again: authrelay oauth login {name}',
    ja: 'Entra 管理センター → [アプリの登録] → {appId} → [API のアクセス許可] → [アクセス許可の追加] → [所属する組織で使用している API] → [Office 365 Exchange Online] → [委任されたアクセス許可] → {scope} を追加して同意を与えてから、もう一度サインインしてください: authrelay oauth login {name}',
  },
  delegatedRefused: {
    en: 'the signed-in user {user} may not open this mailbox, or {protocol} is off for it',
    ja: 'サインインしたユーザー {user} はこのメールボックスを開けないか、このメールボックスで {protocol} が無効です',
  },
  delegatedRefusedFix: {
    en: 'A delegated sign-in opens only the user\'s own mailbox and mailboxes the user has FullAccess to. In Exchange Online PowerShell: Add-MailboxPermission -Identity {mailbox} -User {user} -AccessRights FullAccess ; Set-CASMailbox -Identity {mailbox} {casFlag} $true',
    ja: '委任されたサインインで開けるのは、ユーザー自身のメールボックスと、フル アクセス権限を持つメールボックスだけです。Exchange Online PowerShell で実行してください: Add-MailboxPermission -Identity {mailbox} -User {user} -AccessRights FullAccess ; Set-CASMailbox -Identity {mailbox} {casFlag} $true',
  },
  loginSkipped: {
    en: '{protocol} logins not tried: the token lacks {role}',
    ja: '{protocol} のログインは試していません: トークンに {role} がありません',
  },

  // The upstream: a real XOAUTH2 login per mailbox
  loginPass: {
    en: '{protocol} XOAUTH2 login to {mailbox} at {server} works (TLS {tls})',
    ja: '{server} の {mailbox} への {protocol} XOAUTH2 ログインに成功しました (TLS {tls})',
  },
  capabilities: { en: 'the server offers: {caps}', ja: 'サーバーの機能: {caps}' },
  capabilitiesNone: { en: 'the server sent no capability list', ja: 'サーバーは機能一覧を返しませんでした' },
  capabilitiesNoIdle: {
    en: 'the server offers no IDLE: clients that wait for new mail poll instead',
    ja: 'サーバーが IDLE を提供していません。新着を待つクライアントはポーリングになります',
  },
  loginFail: {
    en: '{protocol} XOAUTH2 login to {mailbox} at {server} was refused: {kind}',
    ja: '{server} の {mailbox} への {protocol} XOAUTH2 ログインが拒否されました: {kind}',
  },
  serverSaid: { en: 'the server answered: {text}', ja: 'サーバーの応答: {text}' },
} satisfies Record<string, Text>;

/** Each login failure kind in a few words and its fix, shared with the setup wizard's live test. */
export { READER_FAILURE } from '../proxy/common/failure-texts.js';
