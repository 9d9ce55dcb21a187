/**
 * What `authrelay store migrate|check`, `authrelay oauth status` and
 * `authrelay migrate scan|status` print, in English and Japanese (the
 * placeholders are the same in both). The English is what these commands
 * always printed; the column headers of the migration tables, the scan
 * sources and states use the console's own Japanese words (i18n/ja.json,
 * migration.*). Microsoft's answers, scan details recorded with a scan,
 * addresses and commands are shown as they are.
 */
import type { Text } from '../core/i18n.js';

export const STORE_TEXT = {
  pgAt: { en: 'PostgreSQL store at {where}: database {database} as {user}, {server}', ja: 'PostgreSQL ストア {where}: データベース {database}、ユーザー {user}、{server}' },
  pgAtShort: { en: 'PostgreSQL store at {where}', ja: 'PostgreSQL ストア {where}' },
  schema: {
    en: 'schema version {version} ({applied} migration(s) applied, {pending})',
    ja: 'スキーマ バージョン {version} (適用済みのマイグレーション {applied} 個、{pending})',
  },
  pending: { en: '{n} pending', ja: '未適用 {n} 個' },
  nonePending: { en: 'none pending', ja: '未適用なし' },
  appliedMigration: { en: 'applied migration {version}: {name}', ja: 'マイグレーション {version} を適用しました: {name}' },
  upToDate: { en: 'schema version {version}, up to date', ja: 'スキーマ バージョン {version} で最新です' },
  nothingToApply: { en: 'nothing to apply: schema version {version} is up to date', ja: '適用するものはありません。スキーマ バージョン {version} で最新です' },
  newerNote: {
    en: 'note: the database also has migration(s) {versions}, made by a newer authrelay',
    ja: '注意: データベースには新しい authrelay が適用したマイグレーション {versions} もあります',
  },
  messages: { en: 'messages: {counts}', ja: 'メッセージ: {counts}' },
  bodies: { en: 'bodies: {stored} stored ({size}), {writing} being received', ja: '本文: 保存済み {stored} 件 ({size})、受信中 {writing} 件' },
  bodiesAbandoned: {
    en: ' ({abandoned} left by a node that stopped, removed by the next clean-up)',
    ja: ' (停止したノードが残した {abandoned} 件は次回の整理で削除されます)',
  },
  leases: {
    en: 'leases: {n} message(s) in delivery with an expired lease (their node stopped; another node takes them over)',
    ja: 'リース: 配送中でリースの期限が切れたメッセージが {n} 件あります (担当ノードが停止しました。別のノードが引き継ぎます)',
  },
  problemPending: {
    en: '{n} migration(s) pending ({list}); apply them with: authrelay store migrate (the relay also applies them when it starts)',
    ja: '未適用のマイグレーションが {n} 個あります ({list})。`authrelay store migrate` で適用してください (リレーも起動時に適用します)',
  },
  problemUnknown: {
    en: 'the database has migration(s) {versions} that this authrelay does not know: a newer version migrated it; upgrade authrelay on this node',
    ja: 'データベースには、この authrelay が知らないマイグレーション {versions} があります。新しいバージョンが適用したものです。このノードの authrelay を更新してください',
  },
  problemEncoding: {
    en: 'the database encoding is {encoding}; authrelay needs UTF8: create the database with ENCODING \'UTF8\' (e.g. createdb -E UTF8 -T template0 authrelay)',
    ja: 'データベースのエンコードが {encoding} です。authrelay には UTF8 が必要です。ENCODING \'UTF8\' でデータベースを作成してください (例: `createdb -E UTF8 -T template0 authrelay`)',
  },
  sqliteAt: {
    en: 'SQLite store at {file}: up to date (its migrations run whenever it is opened)',
    ja: 'SQLite ストア {file}: 最新です (マイグレーションは開くたびに適用されます)',
  },
} as const satisfies Record<string, Text>;

export const OAUTH_STATUS_TEXT = {
  credential: { en: '  credential:   {value}', ja: '  資格情報:       {value}' },
  app: { en: '  app:          {clientId} in tenant {tenant} ({cloud} cloud, {authority})', ja: '  アプリ:         {clientId} (テナント {tenant}、クラウド {cloud}、{authority})' },
  token: { en: '  token:        {value}', ja: '  トークン:       {value}' },
  signedIn: { en: '  signed in:    {value}', ja: '  サインイン:     {value}' },
  lastError: { en: '  last error:   {value}', ja: '  最後のエラー:   {value}' },
  delegated: { en: 'delegated (device code) as {user}', ja: '委任されたサインイン (デバイス コード)、ユーザー {user}' },
  certificate: { en: 'certificate {cert}', ja: '証明書 {cert}' },
  secret: { en: 'client secret', ja: 'クライアント シークレット' },
  validUntil: { en: 'valid until {time} (last one {last})', ja: '{time} まで有効 (最後の取得 {last})' },
  noToken: { en: 'none recorded yet', ja: 'まだ記録がありません' },
  storedAs: { en: '{user} (stored {time}, refresh token {refresh}{access})', ja: '{user} (保存 {time}、更新トークン {refresh}{access})' },
  present: { en: 'present', ja: 'あり' },
  missing: { en: 'MISSING', ja: 'なし (要確認)' },
  accessUntil: { en: ', access token until {time}', ja: '、アクセス トークンは {time} まで' },
} as const satisfies Record<string, Text>;

export const MIGRATE_TEXT = {
  scanHeader: {
    en: 'Scan {id} of {tenant} with the app of {app} (period {period}), {time}',
    ja: 'テナント {tenant} のスキャン {id} ({app} のアプリを使用、期間 {period})、{time}',
  },
  concealed: {
    en: 'The report conceals names: see docs/errors.md, scan.concealed-names, for how to show them.',
    ja: 'レポートで名前が非表示になっています。表示する方法は docs/errors.md の scan.concealed-names を参照してください。',
  },
  noSenders: { en: 'No mailbox used basic-auth SMTP AUTH in the period.', ja: '期間内に基本認証の SMTP AUTH を使ったメールボックスはありません。' },
  senders: { en: '{n} sender(s) used basic-auth SMTP AUTH in the period:', ja: '期間内に基本認証の SMTP AUTH を使った送信元: {n} 件' },
  concealedKey: { en: '{key} (concealed)', ja: '{key} (非表示の名前)' },
  onDay: { en: '{day} (day)', ja: '{day} (レポートの日付)' },
  colMailbox: { en: 'MAILBOX', ja: 'メールボックス' },
  colLastBasic: { en: 'LAST BASIC AUTH', ja: '最後の基本認証' },
  colSignIns: { en: 'SIGN-INS', ja: 'サインイン' },
  colRefused: { en: 'REFUSED', ja: '拒否' },
  colAddresses: { en: 'FROM ADDRESSES', ja: '送信元アドレス' },
  colReasons: { en: 'REFUSAL REASONS', ja: '拒否の理由' },
  colState: { en: 'STATE', ja: '状態' },
  colAtRelay: { en: 'AT AUTHRELAY', ja: 'authrelay 経由の送信' },
  colDevices: { en: 'DEVICES', ja: 'デバイス' },
  colNote: { en: 'NOTE', ja: '備考' },
  noScan: { en: 'No scan yet: run authrelay migrate scan.', ja: 'まだスキャンしていません。`authrelay migrate scan` を実行してください。' },
  latestScan: { en: 'Latest scan: {time} ({period}, {tenant}); {sources}', ja: '最新のスキャン: {time} ({period}、{tenant})。{sources}' },
  ignoredBy: { en: 'ignored by {by}: {reason}', ja: '{by} が対象外にしました: {reason}' },
  basicAfterRelay: {
    en: 'also seen at authrelay: another device may still use the password',
    ja: 'authrelay 経由でも送信あり。別のデバイスがまだパスワードを使っている可能性があります',
  },
  summary: {
    en: '{moved} of {total} senders moved; {left} left; {days} days to the deadline ({deadline})',
    ja: '{total} 件中 {moved} 件の送信元が移行済み、残り {left} 件、期限 ({deadline}) まであと {days} 日',
  },
  summaryPast: {
    en: '{moved} of {total} senders moved; {left} left; {days} days past the deadline ({deadline})',
    ja: '{total} 件中 {moved} 件の送信元が移行済み、残り {left} 件、期限 ({deadline}) を {days} 日過ぎています',
  },
  summaryIgnored: { en: '; {n} ignored', ja: '、対象外 {n} 件' },
  // Scan sources and their outcomes (the console's migration.source.* and migration.status.*).
  'source.usage-report': { en: 'usage report', ja: 'メール アプリの使用状況レポート' },
  'source.report-settings': { en: 'report setting', ja: 'レポートのプライバシー設定' },
  'source.sign-ins': { en: 'sign-in logs', ja: 'サインイン ログ (認証済み SMTP)' },
  'status.ok': { en: 'ok', ja: '取得済み' },
  'status.not-modified': { en: 'not-modified', ja: '変更なし' },
  'status.licence': { en: 'licence', ja: 'ライセンスなし' },
  'status.permission': { en: 'permission', ja: 'アクセス許可なし' },
  'status.throttled': { en: 'throttled', ja: 'スロットリング' },
  'status.partial': { en: 'partial', ja: '一部のみ取得' },
  'status.failed': { en: 'failed', ja: '失敗' },
  'status.skipped': { en: 'skipped', ja: '未実行' },
  // Sender states (the console's migration.state.*).
  'state.basic-auth': { en: 'still on basic auth', ja: '基本認証のまま' },
  'state.moved': { en: 'moved', ja: '移行済み' },
  'state.quiet': { en: 'quiet', ja: '最近の利用なし' },
  'state.ignored': { en: 'ignored', ja: '対象外' },
} as const satisfies Record<string, Text>;
