/**
 * Why a configuration is refused, in English and Japanese (the placeholders
 * are the same in both): the messages the schema (schema.ts,
 * schema-migration.ts) and the checks of load.ts write, the framing of a
 * problem (the key's path, the line of the file) and of zod's own messages,
 * which stay as zod words them. Keys, values, commands and file names stay
 * as they are in both languages.
 */
import type { Text } from '../core/i18n.js';

export const CONFIG_PROBLEM_TEXT = {
  // Framing
  atLine: { en: 'line {line}: {problem}', ja: '{line} 行目: {problem}' },
  at: { en: '{where}: {problem}', ja: '{where} の設定: {problem}' },
  topLevel: { en: '(top level)', ja: '(最上位)' },
  zodMessage: { en: '{message}', ja: '値が正しくありません ({message})' },
  yamlSyntax: { en: 'YAML syntax error: {message}', ja: 'YAML の構文エラーです: {message}' },
  unknownKey: {
    en: 'unknown key {keys}; check the spelling (`authrelay config schema` lists every key)',
    ja: '不明なキー {keys} があります。つづりを確認してください (すべてのキーは `authrelay config schema` で表示できます)',
  },
  unknownKeys: {
    en: 'unknown keys {keys}; check the spelling (`authrelay config schema` lists every key)',
    ja: '不明なキー {keys} があります。つづりを確認してください (すべてのキーは `authrelay config schema` で表示できます)',
  },
  useOneOf: { en: '{message}; use one of {values}', ja: '値が正しくありません ({message})。次のいずれかを指定してください: {values}' },
  badStore: {
    en: 'not a valid store; "type" must be "sqlite" (the default, with an optional path) or "postgres" (with url)',
    ja: 'ストアの設定が正しくありません。"type" は "sqlite" (既定値。path は省略可) か "postgres" (url が必要) にしてください',
  },
  badUpstream: {
    en: 'not a valid upstream; "type" must be one of "smtp", "graph", "smtp-oauth", "direct-send", "capture", "exchange-mailbox" and the keys must match that type',
    ja: 'アップストリームの設定が正しくありません。"type" は "smtp"、"graph"、"smtp-oauth"、"direct-send"、"capture"、"exchange-mailbox" のいずれかにし、キーはその種類に合わせてください',
  },

  // References (${VARIABLE}, file:)
  envNotSet: {
    en: 'environment variable {name} is not set; export it or put the value in the file',
    ja: '環境変数 {name} が設定されていません。export するか、値をファイルに書いてください',
  },
  secretFile: {
    en: 'cannot read secret file {file}; check the path and its permissions',
    ja: 'シークレットのファイル {file} を読み取れません。パスとアクセス許可を確認してください',
  },

  // The schema's own messages
  notDuration: { en: '"{value}" is not a duration; write it like 30s, 5m, 2h or 5d', ja: '"{value}" は期間として読めません。30s、5m、2h、5d のように書いてください' },
  notDays: { en: '"{value}" is not a duration; write it like 14d or 36h', ja: '"{value}" は期間として読めません。14d や 36h のように書いてください' },
  notSize: { en: '"{value}" is not a size; write it like 512KB, 25MB or 1GB', ja: '"{value}" はサイズとして読めません。512KB、25MB、1GB のように書いてください' },
  passwordHash: {
    en: 'must be a hash made by `authrelay device add` or `authrelay device passwd` (scrypt$...)',
    ja: '`authrelay device add` または `authrelay device passwd` で作成したハッシュ (scrypt$...) を指定してください',
  },
  deviceNeedsAuth: {
    en: 'a device needs a username (with passwordHash) or networks, or both',
    ja: 'デバイスには username (passwordHash とともに) か networks のどちらか、または両方が必要です',
  },
  userAndHash: {
    en: 'username and passwordHash go together; set the password with `authrelay device passwd NAME`',
    ja: 'username と passwordHash は両方とも指定します。パスワードは `authrelay device passwd NAME` で設定してください',
  },
  ownTenant: {
    en: 'use your own tenant (its ID or a verified domain), not common/organizations/consumers: only people of your directory may sign in',
    ja: 'common、organizations、consumers ではなく、自組織のテナント (テナント ID または確認済みドメイン) を指定してください。サインインできるのは自組織のディレクトリのユーザーだけです',
  },
  atLeastOneUser: {
    en: 'list at least one user (user principal name such as it@contoso.com, or object ID)',
    ja: 'ユーザーを 1 人以上指定してください (it@contoso.com のようなユーザー プリンシパル名、またはオブジェクト ID)',
  },
  entraOneCredential: {
    en: 'Entra sign-in needs exactly one credential: clientSecret or certificate',
    ja: 'Entra ID のサインインには資格情報を 1 つだけ指定します: clientSecret か certificate',
  },
  graphOneCredential: {
    en: 'a graph upstream needs exactly one credential: clientSecret or certificate',
    ja: 'graph アップストリームには資格情報を 1 つだけ指定します: clientSecret か certificate',
  },
  smtpOauthOneCredential: {
    en: 'an smtp-oauth upstream needs exactly one credential: clientSecret, certificate or delegated',
    ja: 'smtp-oauth アップストリームには資格情報を 1 つだけ指定します: clientSecret、certificate、delegated のいずれか',
  },
  sentItemsDelegated: {
    en: 'sentItems: delete needs a Graph token of the app (clientSecret or certificate with the Mail.ReadWrite permission); a delegated sign-in has none. Use sentItems: keep, or an app credential',
    ja: '`sentItems: delete` にはアプリの Graph トークン (Mail.ReadWrite のアクセス許可がある clientSecret または certificate) が必要ですが、委任されたサインインにはありません。`sentItems: keep` にするか、アプリの資格情報を使ってください',
  },
  mailboxOneCredential: {
    en: 'an exchange-mailbox upstream needs exactly one credential: clientSecret or certificate (app-only access with IMAP.AccessAsApp / POP.AccessAsApp), or delegated (one user signs in by device code: IMAP.AccessAsUser.All / POP.AccessAsUser.All)',
    ja: 'exchange-mailbox アップストリームには資格情報を 1 つだけ指定します: clientSecret か certificate (IMAP.AccessAsApp / POP.AccessAsApp によるアプリのみのアクセス)、または delegated (1 人のユーザーがデバイス コードでサインイン: IMAP.AccessAsUser.All / POP.AccessAsUser.All)',
  },
  hostPort: { en: 'must be host:port, e.g. 127.0.0.1:8025 or [::1]:8025', ja: 'ホスト:ポートの形で指定してください (例: 127.0.0.1:8025、[::1]:8025)' },
  dateExpiry: { en: 'must be a date such as 2027-03-31', ja: '2027-03-31 のような日付を指定してください' },
  dateDeadline: { en: 'must be a date such as 2026-12-31', ja: '2026-12-31 のような日付を指定してください' },
  notCalendarDate: { en: 'is not a calendar date', ja: '存在しない日付です' },
  migrationAppOneCredential: {
    en: 'migration.app needs exactly one credential: clientSecret or certificate',
    ja: 'migration.app には資格情報を 1 つだけ指定します: clientSecret か certificate',
  },

  // The checks across keys (load.ts)
  noUpstreamNamed: { en: 'no upstream named "{name}"; define it under upstreams or fix the name', ja: '"{name}" という名前のアップストリームはありません。upstreams の下に定義するか、名前を直してください' },
  notADeliveryRoute: {
    en: '"{name}" is an exchange-mailbox upstream: it opens mailboxes for the IMAP/POP3 listeners and cannot deliver mail; name a delivery upstream (graph, smtp-oauth, smtp, direct-send or capture) here',
    ja: '"{name}" は exchange-mailbox アップストリームです。IMAP/POP3 のリスナーのためにメールボックスを開くもので、メールは配送できません。ここには配送用のアップストリーム (graph、smtp-oauth、smtp、direct-send、capture) を指定してください',
  },
  listedTwice: { en: 'an upstream is listed twice; list each once, the preferred first', ja: '同じアップストリームが 2 回指定されています。それぞれ 1 回ずつ、優先するものから順に指定してください' },
  deviceNameTwice: { en: '"{name}" is used twice; device names must be unique', ja: '"{name}" が 2 回使われています。デバイス名は重複しないようにしてください' },
  usernameTwice: { en: '"{name}" is used by two devices; user names must be unique', ja: '"{name}" が 2 つのデバイスで使われています。ユーザー名は重複しないようにしてください' },
  notCidr: {
    en: '"{value}" is not an address or CIDR network, e.g. {example}',
    ja: '"{value}" はアドレスでも CIDR 表記のネットワークでもありません (例: {example})',
  },
  notMailbox: { en: '"{value}" is not a mailbox address such as {example}', ja: '"{value}" はメールボックスのアドレスではありません ({example} のように指定してください)' },
  listedTwiceMailbox: { en: '"{value}" is listed twice', ja: '"{value}" が 2 回指定されています' },
  portUsed: { en: '{key} is already used by listeners[{other}]', ja: '{key} はすでに listeners[{other}] で使われています' },
  requireTlsNone: {
    en: 'a listener with tls: none cannot require TLS; use tls: starttls',
    ja: '`tls: none` のリスナーでは TLS を必須にできません。`tls: starttls` にしてください',
  },
  certAndKey: { en: 'cert and key go together; set both or neither', ja: 'cert と key は組で指定します。両方を指定するか、どちらも指定しないでください' },
  trustedProxiesNeeded: {
    en: 'required with proxyProtocol: true; list the load balancer addresses, e.g. trustedProxies: [10.0.0.5/32] (connections from other addresses are refused)',
    ja: '`proxyProtocol: true` では必須です。ロード バランサーのアドレスを指定してください (例: `trustedProxies: [10.0.0.5/32]`。ほかのアドレスからの接続は拒否されます)',
  },
  trustedProxiesUnused: {
    en: 'only used with proxyProtocol: true; set proxyProtocol: true on this listener or remove trustedProxies',
    ja: '`proxyProtocol: true` のときだけ使われます。このリスナーで `proxyProtocol: true` にするか、trustedProxies を削除してください',
  },
  redirectUri: {
    en: 'needed because admin.listen ({listen}) is not loopback; set it to the https address people open the console at followed by /api/v1/session/entra/callback, and register that address on the app',
    ja: 'admin.listen ({listen}) がループバックではないため必要です。コンソールを開く https のアドレスに /api/v1/session/entra/callback を付けたものを設定し、そのアドレスをアプリに登録してください',
  },
  secretExpiresUpstream: {
    en: 'no upstream named "{name}"; use the name of the upstream whose secret or password expires',
    ja: '"{name}" という名前のアップストリームはありません。シークレットまたはパスワードの期限が切れるアップストリームの名前を指定してください',
  },
  smtpOnlyKey: {
    en: '{keys} is an SMTP setting and does nothing on a {protocol} listener; remove it',
    ja: '{keys} は SMTP の設定で、{protocol} のリスナーでは効果がありません。削除してください',
  },
  smtpOnlyKeys: {
    en: '{keys} are SMTP settings and do nothing on a {protocol} listener; remove them',
    ja: '{keys} は SMTP の設定で、{protocol} のリスナーでは効果がありません。削除してください',
  },
  upstreamOnSmtp: {
    en: 'only IMAP and POP3 listeners name an upstream (SMTP listeners follow the routes); remove it, or set protocol: imap or pop3',
    ja: 'アップストリームを指定するのは IMAP と POP3 のリスナーだけです (SMTP のリスナーはルートに従います)。削除するか、`protocol: imap` または `pop3` にしてください',
  },
  readerNeedsUpstreamExample: {
    en: 'a {protocol} listener needs the exchange-mailbox upstream that opens the mailboxes; e.g. upstream: {name}',
    ja: '{protocol} のリスナーには、メールボックスを開く exchange-mailbox アップストリームが必要です (例: `upstream: {name}`)',
  },
  readerNeedsUpstreamAdd: {
    en: 'a {protocol} listener needs the exchange-mailbox upstream that opens the mailboxes; add one under upstreams (type: exchange-mailbox, see docs/imap-pop.md)',
    ja: '{protocol} のリスナーには、メールボックスを開く exchange-mailbox アップストリームが必要です。upstreams の下に追加してください (`type: exchange-mailbox`。docs/imap-pop.md を参照)',
  },
  readerNoSuchUpstreamUse: { en: 'no upstream named "{name}"; use {names}', ja: '"{name}" という名前のアップストリームはありません。{names} を指定してください' },
  readerNoSuchUpstreamAdd: {
    en: 'no upstream named "{name}"; add an exchange-mailbox upstream (docs/imap-pop.md)',
    ja: '"{name}" という名前のアップストリームはありません。exchange-mailbox アップストリームを追加してください (docs/imap-pop.md)',
  },
  readerDeliveryUpstream: {
    en: '"{name}" is a {type} upstream, which delivers mail; a {protocol} listener needs an exchange-mailbox upstream{which}',
    ja: '"{name}" はメールを配送する {type} アップストリームです。{protocol} のリスナーには exchange-mailbox アップストリームが必要です{which}',
  },
  readerNoTls: {
    en: 'on a {protocol} listener with tls: none nobody could log in; use tls: starttls or implicit, or set allowInsecureAuth: true (the device\'s password then crosses the network in the clear)',
    ja: '`tls: none` の {protocol} リスナーには誰もログインできません。`tls: starttls` か `implicit` にするか、`allowInsecureAuth: true` を設定してください (その場合、デバイスのパスワードは暗号化されずにネットワークを通ります)',
  },
  migrationBoth: {
    en: 'set either upstream (use that upstream\'s app registration) or app (a separate one), not both',
    ja: 'upstream (そのアップストリームのアプリ登録を使う) か app (別のアプリ登録) のどちらか一方だけを設定してください',
  },
  migrationNoUpstream: { en: 'no upstream named "{name}"; use one of {names}', ja: '"{name}" という名前のアップストリームはありません。次のいずれかを指定してください: {names}' },
  migrationNoneToUse: {
    en: '(none: add a graph upstream, or give migration.app)',
    ja: '(ありません。graph アップストリームを追加するか、migration.app を指定してください)',
  },
  migrationWrongType: {
    en: '"{name}" is a {type} upstream; the scan needs the app registration of a graph or smtp-oauth upstream, or migration.app',
    ja: '"{name}" は {type} アップストリームです。スキャンには graph または smtp-oauth アップストリームのアプリ登録か、migration.app が必要です',
  },
  migrationDelegated: {
    en: '"{name}" signs in as one mailbox (delegated); the scan needs an app credential (client secret or certificate): use another upstream or migration.app',
    ja: '"{name}" は 1 つのメールボックスとしてサインインします (委任)。スキャンにはアプリの資格情報 (クライアント シークレットまたは証明書) が必要です。別のアップストリームか migration.app を使ってください',
  },
  migrationNoApp: {
    en: 'no graph or smtp-oauth upstream with an app credential to read the tenant with; give migration.app (tenant, clientId, clientSecret or certificate)',
    ja: 'テナントの読み取りに使える、アプリの資格情報を持つ graph または smtp-oauth アップストリームがありません。migration.app (tenant、clientId、clientSecret または certificate) を指定してください',
  },
  migrationSeveral: {
    en: 'several upstreams could read the tenant ({names}); name one',
    ja: 'テナントを読み取れるアップストリームが複数あります ({names})。1 つを指定してください',
  },
} as const satisfies Record<string, Text>;

export type ConfigProblemKey = keyof typeof CONFIG_PROBLEM_TEXT;
