/**
 * An IMAP/POP3 login failure (failure-catalogue.ts's kinds) in a few words
 * and what to do about it, in English and Japanese with the same
 * {placeholders} ({registerSp}, {grantMailbox}, {mailbox}, {casFlag},
 * {role}, {appId}, {server}): what `doctor` and the setup wizard's live test
 * say after a real XOAUTH2 login was refused. Entra's screens are named as
 * its Japanese admin centre names them; PowerShell lines stay as they are.
 */
import type { Text } from '../../core/i18n.js';
import type { UpstreamFailureKind } from './types.js';

/** A failure kind in a few words, and what to do about it ({registerSp}, {grantMailbox}, {mailbox}, {casFlag}, {role}, {appId}, {server}). */
export const READER_FAILURE: Record<UpstreamFailureKind, { kind: Text; fix: Text }> = {
  'role-missing': {
    kind: { en: 'the token has no {role} role', ja: 'トークンに {role} ロールがありません' },
    fix: {
      en: 'Grant {role} to app {appId} with admin consent (Entra admin center → App registrations → API permissions → Office 365 Exchange Online), then in Exchange Online PowerShell: {registerSp} ; {grantMailbox}',
      ja: 'アプリ {appId} に {role} を追加して管理者の同意を与え (Entra 管理センター → [アプリの登録] → [API のアクセス許可] → [Office 365 Exchange Online])、Exchange Online PowerShell で次を実行してください: {registerSp} ; {grantMailbox}',
    },
  },
  'no-permission': {
    kind: {
      en: 'the service principal is not registered in Exchange Online or has no permission on the mailbox',
      ja: 'サービス プリンシパルが Exchange Online に登録されていないか、メールボックスへの権限がありません',
    },
    fix: {
      en: 'In Exchange Online PowerShell (the ObjectId is the Enterprise application\'s object id): {registerSp} ; {grantMailbox}',
      ja: 'Exchange Online PowerShell で実行してください (ObjectId はエンタープライズ アプリケーションのオブジェクト ID): {registerSp} ; {grantMailbox}',
    },
  },
  'auth-failed': {
    kind: { en: 'the token was refused', ja: 'トークンが拒否されました' },
    fix: {
      en: 'Check that the token is for https://outlook.office365.com with {role}, then in Exchange Online PowerShell: {registerSp} ; {grantMailbox}',
      ja: 'トークンが https://outlook.office365.com 向けで {role} を持つことを確認し、Exchange Online PowerShell で次を実行してください: {registerSp} ; {grantMailbox}',
    },
  },
  'not-connected': {
    kind: {
      en: 'the token was accepted but the mailbox was not opened ("authenticated but not connected")',
      ja: 'トークンは受け付けられましたが、メールボックスが開かれませんでした ("authenticated but not connected")',
    },
    fix: {
      en: 'Give the app the mailbox and check that it exists and has a licence: {grantMailbox} ; Get-EXOMailbox -Identity {mailbox}',
      ja: 'アプリにメールボックスへの権限を与え、メールボックスが存在しライセンスがあることを確認してください: {grantMailbox} ; Get-EXOMailbox -Identity {mailbox}',
    },
  },
  'protocol-disabled': {
    kind: { en: 'the protocol is turned off for the mailbox', ja: 'メールボックスでこのプロトコルが無効になっています' },
    fix: { en: 'Set-CASMailbox -Identity {mailbox} {casFlag} $true', ja: 'Exchange Online PowerShell で実行してください: Set-CASMailbox -Identity {mailbox} {casFlag} $true' },
  },
  throttled: {
    kind: { en: 'the server is throttling (too many connections)', ja: 'サーバーが制限しています (接続が多すぎます)' },
    fix: {
      en: 'Exchange Online allows about 20 concurrent connections per mailbox: lower the number of clients or their polling rate, then try again.',
      ja: 'Exchange Online の同時接続はメールボックスあたり約 20 です。クライアント数を減らすかポーリング間隔を延ばしてから、もう一度試してください。',
    },
  },
  unreachable: {
    kind: { en: 'no session could be opened', ja: 'セッションを開けませんでした' },
    fix: {
      en: 'Check that authrelay can reach {server} (DNS, firewall, proxy) and trusts its certificate (ca on the upstream).',
      ja: 'authrelay から {server} に届くか (DNS、ファイアウォール、プロキシ)、その証明書を信頼しているか (アップストリームの ca) を確認してください。',
    },
  },
  'token-failed': {
    kind: { en: 'no access token', ja: 'アクセス トークンを取得できませんでした' },
    fix: { en: 'Fix the sign-in problem reported above.', ja: '上に示したサインインの問題を解決してください。' },
  },
  'protocol-error': {
    kind: { en: 'an answer authrelay does not understand', ja: 'authrelay が解釈できない応答' },
    fix: {
      en: 'Check that {server} is an IMAP or POP3 server with implicit TLS (ports 993 and 995).',
      ja: '{server} が暗黙の TLS を使う IMAP/POP3 サーバー (ポート 993 と 995) であることを確認してください。',
    },
  },
};
