/**
 * What `authrelay init` asks and says on the terminal (questions, choices,
 * explanations, results and refusals) in English and Japanese, with the same
 * {placeholders}. The steps in Microsoft 365, the live test and the probe of
 * another relay are shared with the console and kept in
 * config/wizard/texts.ts. Microsoft's screens are named as Microsoft's
 * Japanese UI names them ([アプリケーション (クライアント) ID],
 * [ディレクトリ (テナント) ID], [証明書とシークレット] → [値]).
 */
import type { Text } from '../../core/i18n.js';

export const INIT_TEXT = {
  // init.ts
  intro: {
    en: 'authrelay setup: answer each question (Enter takes the value in [brackets]). The config is written to {file} at the end.\n',
    ja: 'authrelay のセットアップ: 各質問に答えてください (Enter で [ ] 内の値を使います)。最後に設定を {file} に書き込みます。\n',
  },
  stepsHeading: { en: '\nWhat to set up in Microsoft 365 for this route:', ja: '\nこのルートのために Microsoft 365 で行う設定:' },
  notValid: {
    en: 'the answers do not make a valid configuration; nothing was written:',
    ja: '入力内容では正しい設定になりません。何も書き込んでいません:',
  },
  forced: {
    en: 'The live test failed; writing the file anyway (--force). Fix what the test found before the relay starts.',
    ja: 'ライブ テストは失敗しましたが、`--force` が指定されているためファイルを書き込みます。リレーを起動する前に、テストで見つかった問題を直してください。',
  },
  unattendedFailed: {
    en: 'the live test failed (see above); nothing was written. Fix what it found, or add --force to write the file anyway.',
    ja: 'ライブ テストが失敗しました (上を参照)。何も書き込んでいません。見つかった問題を直すか、`--force` を付けて書き込んでください。',
  },
  testFailedWhatNow: { en: '\nThe test failed. What now?', ja: '\nテストが失敗しました。どうしますか?' },
  againEntra: { en: 'enter the tenant, client ID and credential again', ja: 'テナント、クライアント ID、資格情報を入力し直す' },
  againRelay: { en: 'enter the relay host and port again', ja: 'リレーのホストとポートを入力し直す' },
  againAnswer: { en: 'enter the answer again', ja: '入力し直す' },
  writeAnywayRelay: { en: 'write the file anyway (fix the relay or its settings later)', ja: 'それでも書き込む (リレーまたはその設定は後で直す)' },
  writeAnywayM365: { en: 'write the file anyway (fix Microsoft 365 later)', ja: 'それでも書き込む (Microsoft 365 の設定は後で直す)' },
  quit: { en: 'stop without writing anything', ja: '何も書き込まずに終了する' },
  nothingWritten: { en: 'Nothing was written.', ja: '何も書き込んでいません。' },
  askTenantAgain: { en: 'Directory (tenant) ID or domain', ja: 'ディレクトリ (テナント) ID またはドメイン' },
  askClientIdAgain: { en: 'Application (client) ID', ja: 'アプリケーション (クライアント) ID' },
  wrote: { en: '\nWrote {files}.', ja: '\n{files} を書き込みました。' },
  and: { en: ' and ', ja: ' と ' },
  setSecretEnv: {
    en: 'Set {env} to the client secret value where the relay runs (e.g. systemd: Environment={env}=... in a drop-in readable by root only).',
    ja: 'リレーを動かす環境で {env} にクライアント シークレットの値を設定してください (例: root だけが読める systemd のドロップインで `Environment={env}=...`)。',
  },
  secretInFile: {
    en: 'The client secret is in {file} (mode 0600); keep it readable by the relay\'s user only.',
    ja: 'クライアント シークレットは {file} (モード 0600) にあります。リレーの実行ユーザーだけが読めるようにしておいてください。',
  },
  deviceSummary: { en: 'Device {name}: {how}', ja: 'デバイス {name}: {how}' },
  trustedFrom: { en: 'trusted from {networks}', ja: '{networks} から信頼' },
  userName: { en: 'user {user}', ja: 'ユーザー名 {user}' },
  devicePassword: {
    en: '  Its password is: {password} (shown once; type it into the device)',
    ja: '  パスワード: {password} (表示はこの 1 回だけです。デバイスに入力してください)',
  },
  deviceSettings: {
    en: '  Device settings: SMTP server = this host, port {port} with STARTTLS{tls}{legacy}.',
    ja: '  デバイスの設定: SMTP サーバー = このホスト、ポート {port} (STARTTLS){tls}{legacy}。',
  },
  deviceSettingsTls: { en: ' (or port {port} with SSL/TLS)', ja: ' (またはポート {port} で SSL/TLS)' },
  deviceSettingsLegacy: { en: '; old devices: port {port}', ja: '、古いデバイスはポート {port}' },
  next: { en: 'Next:', ja: '次の手順:' },
  readerMailboxes: { en: '  It may open: {mailboxes}', ja: '  開けるメールボックス: {mailboxes}' },
  readerSettings: {
    en: '  Program settings: server = this host{ports}; security {tls}; user name = {user}; password = the device\'s password above (authentication "normal password").',
    ja: '  プログラムの設定: サーバー = このホスト{ports}、セキュリティ {tls}、ユーザー名 = {user}、パスワード = 上の機器のパスワード (認証方式は「通常のパスワード」)。',
  },
  readerSettingsImap: { en: ', IMAP port {port}', ja: '、IMAP のポート {port}' },
  readerSettingsPop3: { en: ', POP3 port {port}', ja: '、POP3 のポート {port}' },
  readerSettingsUser: { en: '{user} (or a mailbox address)', ja: '{user} (またはメールボックスのアドレス)' },
  readerSettingsMailbox: {
    en: 'one of the mailbox addresses above (the device opens several, so the address chooses; the device name works with SASL PLAIN naming one)',
    ja: '上のメールボックスのアドレスのいずれか (機器が複数のメールボックスを開けるため、アドレスで選びます。機器名は SASL PLAIN でどれか 1 つを指定する場合に使えます)',
  },
  readerSettingsTrusted: { en: 'a mailbox address, from {networks}', ja: '{networks} からはメールボックスのアドレス' },
  testAgain: { en: 'test again (after fixing Entra ID or Exchange Online)', ja: 'もう一度テストする (Entra ID または Exchange Online を直した後)' },
  yourAddress: { en: '<your address>', ja: '<あなたのアドレス>' },

  // prompter.ts
  stopped: { en: '\nStopped; nothing was written.\n', ja: '\n中止しました。何も書き込んでいません。\n' },
  emptyNone: { en: ' (empty: none)', ja: ' (空欄: なし)' },
  answerNeeded: { en: '  An answer is needed here.', ja: '  ここは入力が必要です。' },
  yourChoice: { en: 'Your choice (1-{n} or a name)', ja: '選択 (1-{n} の番号または名前)' },
  chooseOneOf: { en: 'choose one of {names}', ja: '次のいずれかを選んでください: {names}' },
  answerYesNo: { en: 'answer y or n', ja: 'y か n で答えてください' },
  inputEnded: {
    en: 'standard input ended before every question was answered; nothing was written',
    ja: 'すべての質問に答える前に標準入力が終わりました。何も書き込んでいません',
  },

  // answers.ts: questions
  askRoute: { en: 'How should authrelay deliver the mail?', ja: 'authrelay はどの方法でメールを配送しますか?' },
  askMailboxDelegated: { en: 'Mailbox that signs in and sends (its user name)', ja: 'サインインして送信するメールボックス (そのユーザー名)' },
  askMailbox: { en: 'Mailbox the relay sends as (when a device has no sendAs)', ja: 'リレーが送信に使うメールボックス (デバイスに sendAs がない場合)' },
  askDomain: { en: 'Your Microsoft 365 domain (its MX host receives the mail)', ja: 'Microsoft 365 のドメイン (その MX ホストがメールを受け取ります)' },
  askRelayHost: { en: 'Relay host[:port], e.g. contoso-com.mail.protection.outlook.com:25', ja: 'リレー ホスト[:ポート] (例: contoso-com.mail.protection.outlook.com:25)' },
  askClientCert: { en: 'Client certificate (PEM) for a certificate-based connector', ja: '証明書で識別するコネクタ用のクライアント証明書 (PEM)' },
  askClientKey: { en: 'Its private key (PEM)', ja: 'その秘密キー (PEM)' },
  askAdmin: { en: 'Address that gets a copy of every non-delivery notice', ja: 'すべての配信不能通知のコピーを受け取るアドレス' },
  askCloud: { en: 'Which Microsoft cloud is the tenant in?', ja: 'テナントはどの Microsoft クラウドにありますか?' },
  cloudGlobal: { en: 'worldwide (also GCC)', ja: 'グローバル (GCC を含む)' },
  cloudUsGov: { en: 'US Government GCC High', ja: '米国政府 GCC High' },
  cloudUsGovDod: { en: 'US Government DoD', ja: '米国政府 DoD' },
  cloudChina: { en: 'China (21Vianet)', ja: '中国 (21Vianet)' },
  askTenant: {
    en: 'Directory (tenant) ID, or a verified domain such as contoso.onmicrosoft.com',
    ja: 'ディレクトリ (テナント) ID、または確認済みのドメイン (例: contoso.onmicrosoft.com)',
  },
  askClientId: { en: 'Application (client) ID of the app registration', ja: 'アプリの登録の [アプリケーション (クライアント) ID]' },
  askCertFile: { en: 'Certificate file (PEM)', ja: '証明書ファイル (PEM)' },
  askKeyFile: { en: 'Private key file (PEM)', ja: '秘密キーのファイル (PEM)' },
  askCertUploaded: { en: 'Certificate file (PEM, the one uploaded to the app registration)', ja: '証明書ファイル (PEM、アプリの登録にアップロードしたもの)' },
  askSignIn: { en: 'How does the app sign in?', ja: 'アプリはどの方法でサインインしますか?' },
  signInSecret: { en: 'a client secret (its Value, shown once when it was made)', ja: 'クライアント シークレット (作成時に 1 回だけ表示される [値])' },
  signInCertificate: { en: 'a certificate (Microsoft recommends it): key and certificate files', ja: '証明書 (Microsoft の推奨): 鍵と証明書のファイル' },
  typeSecret: {
    en: 'Type the client secret VALUE (not the Secret ID). You may also type ${VARIABLE} or file:/path to refer to it.',
    ja: 'クライアント シークレットの [値] を入力してください ([シークレット ID] ではありません)。`${VARIABLE}` や `file:/path` で参照先を指定することもできます。',
  },
  askSecret: { en: 'Client secret', ja: 'クライアント シークレット' },
  secretLooksLikeId: {
    en: 'this looks like the Secret ID (a GUID); the secret VALUE is needed (Certificates & secrets → Value column)',
    ja: 'これは [シークレット ID] (GUID) のようです。必要なのはシークレットの [値] です ([証明書とシークレット] の [値] 列)',
  },
  envNotSet: {
    en: '  {name} is not set here. Type the secret once more to test and check the file with (it is not stored).',
    ja: '  ここでは {name} が設定されていません。テストとファイルの確認に使うため、シークレットをもう一度入力してください (保存はしません)。',
  },
  askValueOf: { en: 'Value of {name}', ja: '{name} の値' },
  askSecretWhere: { en: 'Where should the relay read the secret from?', ja: 'リレーはシークレットをどこから読み込みますか?' },
  secretFromEnv: { en: 'an environment variable (recommended: the secret stays out of files)', ja: '環境変数 (推奨。シークレットがファイルに残りません)' },
  secretFromFile: { en: 'a file next to the config, readable by its owner only (mode 0600)', ja: '設定ファイルの隣のファイル (所有者だけが読めるモード 0600)' },
  askSecretFile: { en: 'Secret file', ja: 'シークレットのファイル' },
  askEnvName: { en: 'Environment variable name', ja: '環境変数の名前' },
  listenersIntro: {
    en: '\nListeners: where devices connect. Ports below 1024 (25, 465, 587) need root or CAP_NET_BIND_SERVICE.',
    ja: '\nリスナー: デバイスの接続先です。1024 未満のポート (25、465、587) には root 権限か CAP_NET_BIND_SERVICE が必要です。',
  },
  askListenHost: { en: 'Address to listen on (0.0.0.0: all IPv4; :: all addresses)', ja: '待ち受けるアドレス (0.0.0.0: すべての IPv4、:: すべてのアドレス)' },
  askStarttlsPort: { en: 'Port for SMTP with STARTTLS (devices that do TLS or none)', ja: 'STARTTLS の SMTP のポート (TLS を使うデバイスと使わないデバイス用)' },
  askTlsPort: { en: 'Port for implicit TLS (port 465 style), or "no"', ja: '接続直後から TLS を使うポート (465 番と同じ方式)。使わない場合は "no"' },
  askLegacy: { en: 'Add a listener that also accepts TLS 1.0/1.1 (for old printers only)?', ja: 'TLS 1.0/1.1 も受け付けるリスナーを追加しますか (古いプリンター専用)?' },
  askLegacyPort: { en: 'Port for the legacy TLS 1.0 listener (STARTTLS)', ja: '古い TLS 1.0 用リスナーのポート (STARTTLS)' },
  deviceIntro: {
    en: '\nA first device (a printer, a scanner, an application). More later with `authrelay device add`.',
    ja: '\n最初のデバイス (プリンター、スキャナー、アプリケーション)。後から `authrelay device add` で追加できます。',
  },
  askDeviceName: { en: 'Device name, e.g. mfp-3f', ja: 'デバイス名 (例: mfp-3f)' },
  askNetworks: {
    en: 'Trusted network(s) it sends from without a password (CIDR, comma separated)',
    ja: 'パスワードなしで送信できる信頼済みネットワーク (CIDR 形式、カンマ区切り)',
  },
  askUsername: { en: 'SMTP user name for it (a password is generated)', ja: 'このデバイスの SMTP ユーザー名 (パスワードは自動で生成します)' },

  // answers.ts: legacy readers (route readers)
  readersIntro: {
    en: '\nThe mailboxes the reading program may open (it can never open another). Each one needs the Add-MailboxPermission line of the steps shown later.',
    ja: '\n読み取りプログラムが開けるメールボックスです (それ以外は決して開けません)。それぞれに、後で表示する手順の Add-MailboxPermission の行が必要です。',
  },
  askReaderMailboxes: { en: 'Mailbox address(es), comma separated, e.g. invoices@contoso.com', ja: 'メールボックスのアドレス (カンマ区切り。例: invoices@contoso.com)' },
  checkReaderMailbox: { en: '"{value}" is not a mailbox address such as invoices@contoso.com', ja: '"{value}" は invoices@contoso.com のようなメールボックスのアドレスではありません' },
  readersListenersIntro: {
    en: '\nListeners: where the reading programs log in with IMAP or POP3. Ports below 1024 (143, 993, 110, 995) need root or CAP_NET_BIND_SERVICE.',
    ja: '\nリスナー: 読み取りプログラムが IMAP または POP3 でログインする先です。1024 未満のポート (143、993、110、995) には root 権限か CAP_NET_BIND_SERVICE が必要です。',
  },
  askImapPort: { en: 'Port for IMAP, or "no"', ja: 'IMAP のポート。使わない場合は "no"' },
  askPop3Port: { en: 'Port for POP3, or "no"', ja: 'POP3 のポート。使わない場合は "no"' },
  askReaderTls: { en: 'How do the programs start TLS on these ports?', ja: 'プログラムはこれらのポートでどのように TLS を始めますか?' },
  readerTlsImplicit: { en: 'TLS from the first byte ("SSL/TLS", like 993 and 995)', ja: '接続直後から TLS (993 や 995 と同じ「SSL/TLS」)' },
  readerTlsStarttls: { en: 'STARTTLS (IMAP) or STLS (POP3) after connecting (like 143 and 110)', ja: '接続後に STARTTLS (IMAP) または STLS (POP3) (143 や 110 と同じ)' },
  askReaderLegacy: { en: 'Also accept TLS 1.0/1.1 on them (for old programs only)?', ja: 'TLS 1.0/1.1 も受け付けますか (古いプログラム専用)?' },
  readersNeedListener: { en: 'legacy readers need an IMAP or a POP3 port; nothing was written', ja: '従来のメール読み取りアプリには IMAP か POP3 のポートが必要です。何も書き込んでいません' },
  readerDeviceIntro: {
    en: '\nThe reader device: the program logs in to authrelay as this device, with a password of authrelay\'s own (never a Microsoft password). More later with `authrelay device add NAME --mailbox ADDR`.',
    ja: '\n読み取りアプリの機器: プログラムはこの機器として、authrelay 独自のパスワードで authrelay にログインします (Microsoft のパスワードは使いません)。後から `authrelay device add NAME --mailbox ADDR` で追加できます。',
  },
  askReaderDeviceName: { en: 'Device name, e.g. erp or fax', ja: 'デバイス名 (例: erp、fax)' },
  askReaderNetworks: {
    en: 'Trusted network(s) it logs in from with a mailbox address as the user and no password (CIDR, comma separated)',
    ja: 'メールボックスのアドレスをユーザー名にしてパスワードなしでログインできる信頼済みネットワーク (CIDR 形式、カンマ区切り)',
  },
  askReaderUsername: { en: 'User name the program logs in with (a password is generated)', ja: 'プログラムがログインに使うユーザー名 (パスワードは自動で生成します)' },
  oneMailbox: {
    en: '--mailbox: this route sends as one mailbox, not {mailboxes} (several are for --route readers)',
    ja: '`--mailbox`: このルートで送信に使うメールボックスは 1 つです ({mailboxes} は指定できません。複数指定は `--route readers` 用です)',
  },
  checkHostPort: { en: 'write host:port, e.g. outlook.office365.com:993', ja: 'ホスト:ポートの形で入力してください (例: outlook.office365.com:993)' },

  // answers.ts: checks and refusals
  checkMailbox: { en: 'write a mailbox address such as scanner@contoso.com', ja: 'メールボックスのアドレスを入力してください (例: scanner@contoso.com)' },
  checkPort: { en: 'write a port number (0 lets the system choose)', ja: 'ポート番号を入力してください (0 にするとシステムが選びます)' },
  checkUrl: { en: 'write an https:// URL', ja: 'https:// で始まる URL を入力してください' },
  noSuchFile: { en: 'no such file: {file}', ja: 'ファイルがありません: {file}' },
  checkDomain: { en: 'write a domain such as contoso.com', ja: 'ドメインを入力してください (例: contoso.com)' },
  checkTenant: {
    en: 'write the Directory (tenant) ID (a GUID) or a domain',
    ja: '[ディレクトリ (テナント) ID] (GUID) かドメインを入力してください',
  },
  checkClientId: {
    en: 'the Application (client) ID is a GUID such as 11111111-2222-3333-4444-555555555555',
    ja: '[アプリケーション (クライアント) ID] は 11111111-2222-3333-4444-555555555555 のような GUID です',
  },
  checkEnvName: { en: 'write an environment variable name such as M365_CLIENT_SECRET', ja: '環境変数の名前を入力してください (例: M365_CLIENT_SECRET)' },
  checkEnvChars: { en: 'letters, digits and _ only, not starting with a digit', ja: '英字、数字、_ だけを使い、数字で始めないでください' },
  checkNetwork: { en: '"{value}" is not an address or CIDR network, e.g. 192.168.10.0/24', ja: '"{value}" はアドレスでも CIDR 形式のネットワークでもありません (例: 192.168.10.0/24)' },
  checkNetworkFlag: { en: '"{value}" is not an address or CIDR network', ja: '"{value}" はアドレスでも CIDR 形式のネットワークでもありません' },
  envFlagNotSet: {
    en: '--client-secret-env: {name} is not set; export it before running init (the check and the live test read it)',
    ja: '`--client-secret-env`: {name} が設定されていません。init を実行する前に export してください (確認とライブ テストで読み込みます)',
  },
  missingFlags: {
    en: '--yes needs {flags}; nothing was written (see authrelay init --help)',
    ja: '`--yes` には {flags} が必要です。何も書き込んでいません (`authrelay init --help` を参照)',
  },
  missingSecretFlags: {
    en: '--client-secret-env (or --client-secret-file, or --cert-file and --key-file)',
    ja: '`--client-secret-env` (または `--client-secret-file`、または `--cert-file` と `--key-file`)',
  },
  missingDeviceFlags: { en: '--network or --username (for --device)', ja: '`--network` または `--username` (`--device` 用)' },
  deviceNeedsAuth: { en: 'a device needs a trusted network or a user name', ja: 'デバイスには信頼済みネットワークかユーザー名が必要です' },

  // relay-probe.ts
  lookingAtRelay: { en: 'Looking at the relay {host}:{port} ...', ja: 'リレー {host}:{port} を調べています ...' },
  writingNoTls: {
    en: '  Writing tls: none (--allow-no-tls): mail to this relay is not encrypted.',
    ja: '  tls: none を書き込みます (`--allow-no-tls`)。このリレーへのメールは暗号化されません。',
  },
  noTlsRefused: {
    en: '{host}:{port} offers no TLS, so mail (and any password) would cross the network unencrypted; nothing was written. Add --allow-no-tls to write tls: none anyway (on a network you trust), or use a relay that offers STARTTLS or TLS.',
    ja: '{host}:{port} は TLS を提供していないため、メール (とパスワード) が暗号化されずにネットワークを流れます。何も書き込んでいません。それでも tls: none を書き込むには `--allow-no-tls` を付けるか (信頼できるネットワークの場合のみ)、STARTTLS または TLS を提供するリレーを使ってください。',
  },
  noTlsWhatNow: {
    en: '\n{host}:{port} offers no TLS: mail (and a password, if one is set) would cross the network unencrypted. What now?',
    ja: '\n{host}:{port} は TLS を提供していません。メール (とパスワードを設定していればそれも) が暗号化されずにネットワークを流れます。どうしますか?',
  },
  anotherRelay: { en: 'enter another relay host and port', ja: '別のリレーのホストとポートを入力する' },
  writeNoTls: { en: 'write tls: none anyway (only on a network you trust)', ja: 'それでも tls: none を書き込む (信頼できるネットワークの場合のみ)' },
  askRelayHostAgain: { en: 'Relay host', ja: 'リレー ホスト' },
  askRelayPortAgain: { en: 'Relay port', ja: 'リレーのポート' },
  checkRelayPort: { en: 'a port number', ja: 'ポート番号を入力してください' },
} satisfies Record<string, Text>;
