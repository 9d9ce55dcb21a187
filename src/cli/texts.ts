/**
 * What the command line says to a person when something cannot be done as
 * asked, in English and Japanese (the placeholders are the same in both). The
 * commands choose with `tr()` of common.ts; usage lines (commands and flags)
 * stay as they are in both languages. The setup wizard (init), doctor and
 * send-test keep their own tables (cli/init/texts.ts, doctor/texts.ts,
 * deliver/send-test-text.ts).
 */
import type { Text } from '../core/i18n.js';

/** "usage: LINES" in both languages (the command lines themselves are not translated). */
export function usage(lines: string): Text {
  return { en: `usage: ${lines}`, ja: `使い方: ${lines}` };
}

export const CLI_TEXT = {
  // main.ts and common.ts
  badLang: { en: '--lang must be en or ja (not "{value}")', ja: '`--lang` には en か ja を指定してください ("{value}" は使えません)' },
  noSuchHelp: { en: 'no command "{command}"; `help` lists them', ja: '"{command}" というコマンドはありません。`help` で一覧を表示できます' },
  badOption: { en: '{problem}; `help COMMAND` lists a command\'s options', ja: '{problem}。`help COMMAND` でコマンドのオプションを表示できます' },
  unknownCommand: { en: 'unknown command "{command}"\n\n{help}', ja: '"{command}" というコマンドはありません\n\n{help}' },
  configInvalid: { en: 'configuration is not valid:', ja: '設定が正しくありません:' },
  configMissing: {
    en: 'no such configuration file; create it (see docs/configuration.md) or run without --config for the embedded default',
    ja: 'この設定ファイルはありません。作成するか (docs/configuration.md を参照)、`--config` を付けずに実行して組み込みの既定値を使ってください',
  },

  // config
  configValid: {
    en: '{source}: valid. {listeners} listener(s), {devices} device(s), {upstreams} upstream(s), {routes} route(s).',
    ja: '{source}: 正しい設定です。リスナー {listeners} 個、デバイス {devices} 台、アップストリーム {upstreams} 個、ルート {routes} 個。',
  },
  configNoUpstream: {
    en: 'Note: no upstream is configured; messages will be held by the capture route.',
    ja: '注意: アップストリームが設定されていないため、メッセージは capture ルートで保留されます。',
  },

  // reload
  reloadNoFile: {
    en: 'there is no configuration file to apply (the embedded default runs without one): write one with `authrelay init`, or add a device with `authrelay device add`, then reload',
    ja: '反映する設定ファイルがありません (組み込みの既定値はファイルなしで動作します)。`authrelay init` で作成するか、`authrelay device add` でデバイスを追加してから、もう一度 reload してください',
  },
  reloadNotRunning: {
    en: '{file} is valid, but no relay is running on {dataDir} (no control socket there): it applies when the relay starts',
    ja: '{file} は正しい設定ですが、{dataDir} で動作中のリレーがありません (制御ソケットがありません)。リレーの起動時に反映されます',
  },
  appliedNotRunning: {
    en: 'no relay is running on this data directory: the change applies when it starts',
    ja: 'このデータ ディレクトリで動作中のリレーはありません。変更はリレーの起動時に反映されます',
  },
  applied: { en: 'applied to the running relay: {message}', ja: '動作中のリレーに反映しました: {message}' },
  // the relay's answer to a reload, told from its facts (the relay's own sentence is English)
  reloadInEffect: { en: 'configuration {version} is in effect: {changes}', ja: '設定 {version} が有効になりました: {changes}' },
  reloadNothingChanged: { en: 'nothing changed', ja: '変更はありません' },
  reloadAtRestart: { en: '. {keys} changed and take effect at the next restart', ja: '。{keys} の変更は次回の再起動で有効になります' },
  reloadRefused: {
    en: 'the configuration was not reloaded; the running configuration {version} stays: {problems}',
    ja: '設定は再読み込みされませんでした。動作中の設定 {version} のままです: {problems}',
  },
  reloadAdded: { en: '{what} added: {names}', ja: '{what}を追加: {names}' },
  reloadChanged: { en: '{what} changed: {names}', ja: '{what}を変更: {names}' },
  reloadRemoved: { en: '{what} removed: {names}', ja: '{what}を削除: {names}' },
  reloadDevices: { en: 'devices', ja: 'デバイス' },
  reloadListeners: { en: 'listeners', ja: 'リスナー' },
  reloadUpstreams: { en: 'upstreams', ja: 'アップストリーム' },
  reloadRoutes: { en: 'routes changed', ja: 'ルートを変更' },
  reloadRerouted: { en: '{n} queued message(s) routed again', ja: 'キューのメッセージ {n} 件を振り分け直しました' },
  reloadOther: { en: 'also changed: {keys}', ja: 'ほかに変更: {keys}' },
  notApplied: { en: 'NOT applied to the running relay: {message}', ja: '動作中のリレーには反映されていません: {message}' },

  // device
  deviceNeedsAuth: {
    en: 'a device needs a password (--password-stdin or --generate-password) or --network CIDR, or both',
    ja: 'デバイスにはパスワード (`--password-stdin` または `--generate-password`) か `--network CIDR` のどちらか、または両方が必要です',
  },
  noPasswordOnStdin: { en: 'no password on standard input', ja: '標準入力にパスワードがありません' },
  devicePasswordPrompt: { en: 'Password for the device: ', ja: 'デバイスのパスワード: ' },
  deviceAdded: { en: 'added device {name}', ja: 'デバイス {name} を追加しました' },
  deviceAddedPassword: {
    en: 'added device {name}; its password is: {password} (shown once; type it into the device)',
    ja: 'デバイス {name} を追加しました。パスワード: {password} (表示はこの 1 回だけです。デバイスに入力してください)',
  },
  deviceRemoved: { en: 'removed device {name}', ja: 'デバイス {name} を削除しました' },
  deviceEdited: { en: 'changed device {name}; {changes}', ja: 'デバイス {name} を変更しました。{changes}' },
  deviceEditNothing: {
    en: 'nothing to change: give --mailbox ADDR (or none), --network CIDR, --send-as ADDR or --allowed-from PATTERN',
    ja: '変更する内容がありません。`--mailbox ADDR` (または none)、`--network CIDR`、`--send-as ADDR`、`--allowed-from PATTERN` のいずれかを指定してください',
  },
  deviceBadMailbox: {
    en: '--mailbox: "{value}" is not a mailbox address such as invoices@contoso.com',
    ja: '`--mailbox`: "{value}" は invoices@contoso.com のようなメールボックスのアドレスではありません',
  },
  devicePasswordChanged: { en: 'password of {name} changed', ja: '{name} のパスワードを変更しました' },
  devicePasswordGenerated: { en: 'password of {name} changed; the new password is: {password}', ja: '{name} のパスワードを変更しました。新しいパスワード: {password}' },
  deviceFileCreated: {
    en: 'There was no configuration file: {file} was created with the embedded default\'s settings and this change; the relay reads it from now on.',
    ja: '設定ファイルがなかったため、組み込みの既定値とこの変更で {file} を作成しました。リレーは今後このファイルを読み込みます。',
  },
  watchNotRunning: {
    en: 'no relay is running on {dataDir} (no control socket there); start it, then watch again',
    ja: '{dataDir} で動作中のリレーがありません (制御ソケットがありません)。リレーを起動してから、もう一度 watch を実行してください',
  },
  watchHeader: { en: 'Sessions of {label}: the last ones first, then live.', ja: '{label} のセッション: 直近のものを先に表示し、続けてその場で表示します。' },
  watchLive: { en: '-- live: waiting for {label} (Ctrl-C to stop)', ja: '-- ライブ: {label} を待っています (Ctrl-C で終了)' },
  watchDevice: { en: 'device {name}', ja: 'デバイス {name}' },
  watchUnknown: { en: 'addresses that are no known device', ja: '登録されたデバイスではないアドレス' },
  watchWhy: { en: 'why', ja: '理由' },
  watchFix: { en: 'fix', ja: '対処' },

  // queue
  unknownState: { en: 'unknown state "{state}"; use {states}', ja: '"{state}" という状態はありません。次のいずれかを指定してください: {states}' },
  badLimit: { en: '--limit must be a whole number of messages, 1 or more (not "{value}")', ja: '`--limit` には 1 以上の整数を指定してください ("{value}" は使えません)' },
  noSuchMessage: { en: 'no message {id} in the queue', ja: 'キューにメッセージ {id} はありません' },
  failedWithRetry: { en: '--failed goes with retry: authrelay queue retry --failed', ja: '`--failed` は retry と一緒に使います: authrelay queue retry --failed' },
  noFailedMessages: { en: 'no failed messages', ja: '失敗したメッセージはありません' },
  queueDeleted: { en: '{id}: deleted', ja: '{id}: 削除しました' },
  queueRetried: { en: '{id}: queued again', ja: '{id}: もう一度キューに入れました' },
  queueReleased: { en: '{id}: released', ja: '{id}: 保留を解除しました' },
  queueNoSuchMessage: { en: '{id}: no such message', ja: '{id}: そのメッセージはありません' },
  queueNotInStateRelease: { en: '{id}: not possible in state {state} (only held messages are released)', ja: '{id}: 状態 {state} ではできません (保留を解除できるのは保留中のメッセージだけです)' },
  queueNotInStateRetry: {
    en: '{id}: not possible in state {state} (only failed, deferred or held messages with a body are retried)',
    ja: '{id}: 状態 {state} ではできません (再送できるのは、本文が残っている失敗・再試行待ち・保留中のメッセージだけです)',
  },
  queueNotInStateDelete: { en: '{id}: not possible in state {state} (a message being delivered cannot be deleted)', ja: '{id}: 状態 {state} ではできません (配送中のメッセージは削除できません)' },

  // send-test (the command's own checks; its steps are in deliver/send-test-text.ts)
  badWait: { en: '--wait must be a duration such as 30s or 2m (not "{value}")', ja: '`--wait` には 30s や 2m のような時間を指定してください ("{value}" は使えません)' },
  noListener: { en: 'no listener named {name}', ja: '{name} という名前のリスナーはありません' },
  badPort: { en: '--port must be a TCP port number (not "{value}")', ja: '`--port` には TCP のポート番号を指定してください ("{value}" は使えません)' },
  portZero: {
    en: 'the listener has port 0 (chosen at start); give the actual port with --port',
    ja: 'このリスナーのポートは 0 (起動時に決まります) です。実際のポートを `--port` で指定してください',
  },

  // oauth
  noUpstream: { en: 'no upstream named "{name}"; upstreams: {names}', ja: '"{name}" という名前のアップストリームはありません。アップストリーム: {names}' },
  none: { en: '(none)', ja: '(なし)' },
  notDelegated: {
    en: 'upstream "{name}" does not use a delegated sign-in; `oauth login` is for smtp-oauth and exchange-mailbox upstreams with `delegated: { user: ... }`',
    ja: 'アップストリーム "{name}" は委任されたサインインを使いません。`oauth login` は `delegated: { user: ... }` のある smtp-oauth または exchange-mailbox アップストリーム用です',
  },
  signInFailed: { en: 'sign-in failed: {message}', ja: 'サインインに失敗しました: {message}' },
  oauthSigningIn: { en: 'Signing in {user} for upstream {name} ({how}).', ja: 'アップストリーム {name} のために {user} でサインインします ({how})。' },
  oauthWaiting: {
    en: 'Waiting for the sign-in (the code is valid for {minutes} minutes)...',
    ja: 'サインインを待っています (コードの有効期間は {minutes} 分です)...',
  },
  oauthSignedIn: { en: 'Signed in as {user}.', ja: '{user} としてサインインしました。' },
  oauthScopes: { en: 'Token scopes: {scopes}', ja: 'トークンのスコープ: {scopes}' },
  oauthValidUntil: {
    en: 'Access token valid until {time}; the sign-in is renewed automatically.',
    ja: 'アクセス トークンの有効期限は {time} です。サインインは自動で更新されます。',
  },
  oauthStored: { en: 'Stored encrypted in {file}', ja: '{file} に暗号化して保存しました' },
  oauthNoneConfigured: { en: 'no Microsoft 365 upstream (graph or smtp-oauth) is configured', ja: 'Microsoft 365 のアップストリーム (graph または smtp-oauth) が設定されていません' },
  oauthNotSignedIn: { en: 'no; run `authrelay oauth login {name}`', ja: 'いいえ。`authrelay oauth login {name}` を実行してください' },
  noMicrosoftUpstream: { en: 'no Microsoft 365 upstream (graph or smtp-oauth) named "{name}"', ja: '"{name}" という名前の Microsoft 365 アップストリーム (graph または smtp-oauth) はありません' },

  // migrate
  migrateReason: {
    en: 'say why with --reason TEXT (it is kept with the mark and shown on the board)',
    ja: '`--reason TEXT` で理由を指定してください (印と一緒に保存され、ボードに表示されます)',
  },
  badPeriod: { en: '--period must be one of {periods}', ja: '`--period` には次のいずれかを指定してください: {periods}' },
  scanReadNothing: {
    en: 'neither the usage report nor the sign-in logs could be read; see the lines above for what to do',
    ja: '使用状況レポートもサインイン ログも読み取れませんでした。対処は上の行を参照してください',
  },
  notAMailbox: { en: '"{value}" is not a mailbox address such as scanner@contoso.com', ja: '"{value}" はメールボックスのアドレスではありません (例: scanner@contoso.com)' },
  badDeviceName: {
    en: '"{value}" cannot be a device name (letters, digits, . _ -, starting with a letter or digit)',
    ja: '"{value}" はデバイス名に使えません (英字・数字・. _ - が使え、先頭は英字か数字です)',
  },
  migrateIgnored: { en: '{key} is ignored on the board ({reason})', ja: '{key} をボードで無視するようにしました ({reason})' },
  migrateUnignored: { en: '{key} is back on the board', ja: '{key} をボードに戻しました' },
  migrateNotIgnored: { en: '{key} was not ignored', ja: '{key} は無視されていませんでした' },
  migrateWhatToDo: { en: 'what to do: {fix}', ja: '対処: {fix}' },
  migrateDeviceAdded: { en: 'added device {name} sending as {mailbox} ({file})', ja: '{mailbox} として送信するデバイス {name} を追加しました ({file})' },
  migrateFileCreated: {
    en: 'There was no configuration file: {file} was created with the embedded default\'s settings and this device.',
    ja: '設定ファイルがなかったため、組み込みの既定値とこのデバイスで {file} を作成しました。',
  },
  migrateTypeThese: {
    en: 'Type these into the device (the password is shown once):',
    ja: 'デバイスに次の内容を入力してください (パスワードの表示はこの 1 回だけです):',
  },

  // serve
  badLogFormat: { en: '--log-format: "{value}" is not a log format; use json or pretty', ja: '`--log-format`: "{value}" というログ形式はありません。json か pretty を指定してください' },

  // store
  storeUnreachable: { en: 'cannot use the PostgreSQL store at {where}: {error}; {hint}', ja: '{where} の PostgreSQL ストアを使えません: {error}。{hint}' },
  storeHintLogin: { en: 'check the user name and password in store.url', ja: 'store.url のユーザー名とパスワードを確認してください' },
  storeHintDatabase: {
    en: 'create the database (createdb -E UTF8 NAME) or fix its name in store.url',
    ja: 'データベースを作成するか (`createdb -E UTF8 NAME`)、store.url のデータベース名を直してください',
  },
  storeHintConnect: {
    en: 'check the host and port in store.url and that PostgreSQL runs and accepts connections from this host',
    ja: 'store.url のホストとポート、PostgreSQL が動作していてこのホストからの接続を受け付けることを確認してください',
  },
  storeHintOther: { en: 'check store.url and the server', ja: 'store.url とサーバーを確認してください' },
  storeProblem: { en: 'problem: {problem}', ja: '問題: {problem}' },

  storeNoQueue: {
    en: 'SQLite store: no queue yet at {file} (made when the relay first starts)',
    ja: 'SQLite ストア: {file} にはまだキューがありません (リレーの初回起動時に作成されます)',
  },

  // doctor (the command; the checks are in doctor/texts.ts)
  doctorConfigInvalid: {
    en: 'the configuration is not valid; nothing else can be checked',
    ja: '設定が正しくないため、ほかの項目は確認できません',
  },
  doctorConfigInvalidFix: {
    en: 'Correct the keys named above (authrelay config check shows the same), then run doctor again.',
    ja: '上に示したキーを直してから (`authrelay config check` でも同じ内容を確認できます)、もう一度 doctor を実行してください。',
  },

  // queue show
  qsMessage: { en: 'Message {id}{split}', ja: 'メッセージ {id}{split}' },
  qsSplit: { en: ' (split from {parent})', ja: ' ({parent} から分割)' },
  qsState: { en: '  State:      {state}{next}', ja: '  状態:       {state}{next}' },
  qsNextTry: { en: ', next try {at}', ja: '、次の試行 {at}' },
  qsReceived: { en: '  Received:   {at} from {device} at {ip} on {listener}{tls}{auth}', ja: '  受信:       {at}、{device} ({ip}) からリスナー {listener} で{tls}{auth}' },
  qsRelay: { en: '(relay)', ja: '(リレー)' },
  qsOverTls: { en: ' over {version}', ja: '、{version} で' },
  qsNoTls: { en: ' without TLS', ja: '、TLS なし' },
  qsAuth: { en: ', AUTH {mechanism} as {user}', ja: '、AUTH {mechanism} でユーザー {user}' },
  qsSender: { en: '  Sender:     {sender}', ja: '  エンベロープ送信者: {sender}' },
  qsFrom: { en: '  From:       {from}', ja: '  差出人 (From): {from}' },
  qsSubject: { en: '  Subject:    {subject}', ja: '  件名:       {subject}' },
  qsSize: { en: '  Size:       {size} bytes', ja: '  サイズ:     {size} バイト' },
  qsRoute: { en: '  Route:      {route}', ja: '  ルート:     {route}' },
  qsNotRouted: { en: '(not routed yet)', ja: '(まだルートが決まっていません)' },
  qsAttempts: { en: '  Attempts:   {attempts}; gives up {at} (in {left})', ja: '  試行回数:   {attempts} 回。{at} に断念します (残り {left})' },
  qsNotes: { en: '  Notes:      {notes}', ja: '  メモ:       {notes}' },
  qsRecipients: { en: '  Recipients:', ja: '  受信者:' },
  qsTrail: { en: '  Trail:', ja: '  経緯:' },
  qsMeans: { en: 'what it means: {hint}', ja: '意味: {hint}' },
  qsToDo: { en: 'what to do: {fix}', ja: '対処: {fix}' },
  qsSee: { en: 'see: {ref} in docs/errors.md', ja: '参照: docs/ja/errors.md の {ref}' },
  qsSame: { en: '      (same replies and explanation as the attempt before)', ja: '      (前の試行と同じ応答と説明)' },

  // serve: the start-up summary on a terminal
  sumRunning: { en: 'authrelay is running: configuration {version}, {file}', ja: 'authrelay が動作中です: 設定 {version}、{file}' },
  sumNoFile: { en: 'the embedded default (no configuration file)', ja: '組み込みの既定値 (設定ファイルなし)' },
  sumSmtpAt: { en: '  SMTP for your devices, at {addresses}:', ja: '  デバイスからの SMTP の接続先 ({addresses}):' },
  sumNoAddress: { en: 'no address of this machine was found', ja: 'このマシンのアドレスが見つかりません' },
  sumListener: { en: '    port {port}  {tls}; {auth}{require}   (listener {name})', ja: '    ポート {port}  {tls}、{auth}{require}   (リスナー {name})' },
  sumRequire: { en: '; every device must log in', ja: '、すべてのデバイスにログインが必要' },
  sumNoTls: { en: 'no TLS', ja: 'TLS なし' },
  sumStarttls: { en: 'STARTTLS, {version} or newer', ja: 'STARTTLS ({version} 以降)' },
  sumImplicit: { en: 'TLS from the first byte, {version} or newer', ja: '接続直後から TLS ({version} 以降)' },
  sumAuthInsecure: { en: 'passwords accepted without TLS', ja: 'TLS なしでもパスワードを受け付けます' },
  sumAuthStarttls: { en: 'passwords after STARTTLS', ja: 'パスワードは STARTTLS の後' },
  sumAuthTls: { en: 'passwords over TLS', ja: 'パスワードは TLS 上で' },
  sumAuthNone: { en: 'no passwords (trusted networks only)', ja: 'パスワードなし (信頼済みネットワークのみ)' },
  sumLoopbackOnly: {
    en: '    A device cannot reach 127.0.0.1: set publicAddress to the name or address devices use.',
    ja: '    デバイスは 127.0.0.1 に接続できません。デバイスが使う名前かアドレスを publicAddress に設定してください。',
  },
  sumReaders: { en: '  IMAP and POP3 for legacy readers:', ja: '  従来のメール読み取りアプリ用の IMAP と POP3:' },
  sumReader: { en: '    port {port}  {protocol}, {tls}; mailboxes opened through {upstream}   (listener {name})', ja: '    ポート {port}  {protocol}、{tls}、メールボックスは {upstream} で開きます   (リスナー {name})' },
  sumConsole: { en: '  Web console:  {url}', ja: '  Web コンソール:  {url}' },
  sumFirstStart: { en: '  First start:  open {link} to set the admin password (a one-time link)', ja: '  初回起動:  {link} を開いて管理者パスワードを設定してください (1 回だけ使えるリンク)' },
  sumWhere: { en: '  Where mail goes:', ja: '  メールの送信先:' },
  sumAllMail: { en: 'all mail', ja: 'すべてのメール' },
  sumFrom: { en: 'from {list}', ja: '{list} から' },
  sumSentBy: { en: 'sent by {list}', ja: '送信者 {list}' },
  sumTo: { en: 'to {list}', ja: '宛先ドメイン {list}' },
  sumHeld: { en: '    {when} → held in the queue (no upstream)', ja: '    {when} → キューに保留 (アップストリームなし)' },
  sumRoute: { en: '    {when} → {upstreams}', ja: '    {when} → {upstreams} で送信' },
  sumThen: { en: ', then ', ja: '、次に ' },
  sumHolding: {
    en: "    Every message is kept in the queue until an upstream is configured: the console's setup wizard, or `{cmd} init`.",
    ja: '    アップストリームを設定するまで、すべてのメッセージはキューに保持されます。コンソールのセットアップ ウィザードか `{cmd} init` で設定してください。',
  },
  sumChange: {
    en: '  Change the configuration: edit {file}, then `{cmd} reload`; `{cmd} help` lists every command.',
    ja: '  設定の変更: {file} を編集してから `{cmd} reload` を実行してください。`{cmd} help` ですべてのコマンドを表示できます。',
  },
} satisfies Record<string, Text>;
