/**
 * The comments of the config file `authrelay init` (and the console's setup
 * wizard) writes, in English and Japanese (the placeholders are the same in
 * both): the file is commented in the language the person set it up in. Keys,
 * values, commands and file names stay as they are.
 */
import type { Text } from '../../core/i18n.js';

export const CONFIG_COMMENT_TEXT = {
  header: {
    en: ' authrelay configuration, written by `authrelay init` on {date}.',
    ja: ' authrelay の設定ファイルです。{date} に `authrelay init` で作成しました。',
  },
  headerCheck: {
    en: ' Check it with `authrelay config check --config <this file>`; every key: `authrelay config schema`,',
    ja: ' `authrelay config check --config <このファイル>` で確認できます。すべてのキーは `authrelay config schema`、',
  },
  headerDocs: { en: ' docs/configuration.md and docs/microsoft-365.md.', ja: ' docs/configuration.md、docs/microsoft-365.md を参照してください。' },
  headerSecretEnv: {
    en: ' The client secret is read from the environment variable {name}: set it where the relay runs.',
    ja: ' クライアント シークレットは環境変数 {name} から読み取ります。リレーを動かす環境で設定してください。',
  },
  dataDir: {
    en: 'Where the queue, the listeners\' certificate and sign-in state are kept (relative to this file).',
    ja: 'キュー、リスナーの証明書、サインインの状態を保存する場所 (このファイルからの相対パス)。',
  },
  readerListeners: {
    en: 'Where reading programs log in (IMAP, POP3) with the device\'s password; a self-signed certificate is made in dataDir unless tls.cert and tls.key are set. No SMTP listener: add one to send mail too (docs/configuration.md).',
    ja: 'メールを読むプログラムがデバイスのパスワードでログインする場所 (IMAP、POP3)。tls.cert と tls.key を設定しない場合は、自己署名証明書を dataDir に作成します。SMTP のリスナーはありません。メールも送信する場合は追加してください (docs/configuration.md)。',
  },
  legacyReaders: {
    en: 'accepts TLS 1.0 and 1.1 (weak ciphers allowed here only): for old programs that cannot do TLS 1.2',
    ja: 'TLS 1.0 と 1.1 を受け付けます (弱い暗号はここでだけ許可)。TLS 1.2 に対応していない古いプログラム用',
  },
  listeners: {
    en: 'Where devices connect. A self-signed certificate is made in dataDir unless tls.cert and tls.key are set.',
    ja: 'デバイスの接続先。tls.cert と tls.key を設定しない場合は、自己署名証明書を dataDir に作成します。',
  },
  legacyDevices: {
    en: 'accepts TLS 1.0 and 1.1 (weak ciphers allowed here only): for old devices that cannot do TLS 1.2',
    ja: 'TLS 1.0 と 1.1 を受け付けます (弱い暗号はここでだけ許可)。TLS 1.2 に対応していない古いデバイス用',
  },
  readerDevices: {
    en: 'Reader devices: each opens only the mailboxes listed for it. Add more with `authrelay device add NAME --mailbox ADDR`; only password hashes are stored.',
    ja: 'メールを読むデバイス: それぞれ、ここに記載したメールボックスだけを開きます。追加するには `authrelay device add NAME --mailbox ADDR` を実行します。保存するのはパスワードのハッシュだけです。',
  },
  devices: {
    en: 'Devices that may send. Add more with `authrelay device add NAME`; only password hashes are stored.',
    ja: '送信を許可するデバイス。追加するには `authrelay device add NAME` を実行します。保存するのはパスワードのハッシュだけです。',
  },
  readerUpstream: {
    en: 'Exchange Online mailboxes opened for the reader devices (app-only XOAUTH2; not a delivery route).',
    ja: 'メールを読むデバイスのために開く Exchange Online のメールボックス (アプリのみの XOAUTH2。配送ルートではありません)。',
  },
  readerUpstreams: { en: 'Upstreams: where the relay connects.', ja: 'アップストリーム: リレーの接続先。' },
  secretFromEnv: { en: 'the secret\'s Value, read from the environment variable {name}', ja: 'シークレットの値。環境変数 {name} から読み取ります' },
  secretFromFile: { en: 'the secret\'s Value, read from this file (keep it mode 0600)', ja: 'シークレットの値。このファイルから読み取ります (モード 0600 のままにしてください)' },
  readersOnly: {
    en: ' Legacy readers only (docs/imap-pop.md): no SMTP listener and no delivery route.',
    ja: ' 従来のメール クライアントでの読み取り専用の構成です (docs/imap-pop.md)。SMTP のリスナーも配送ルートもありません。',
  },
  upstream: { en: 'Where the mail goes.', ja: 'メールの送り先。' },
  upstreams: { en: 'Upstreams: how mail leaves the relay.', ja: 'アップストリーム: メールがリレーから送り出される経路。' },
  noTls: {
    en: 'no TLS: the relay offers none, so mail crosses the network unencrypted (accepted at setup)',
    ja: 'TLS なし: 送信先のリレーが TLS に対応していないため、メールは暗号化されずにネットワークを通ります (セットアップ時に了承済み)',
  },
  endpoints: {
    en: 'Where to sign in and send instead of the cloud\'s hosts (private clouds, tests).',
    ja: 'クラウドの既定のホストの代わりに使う、サインインと送信の接続先 (プライベート クラウド、テスト用)。',
  },
  directSendRoutes: {
    en: 'Direct Send reaches your own domains only; other recipients are held in the queue (add a route for them).',
    ja: 'Direct Send で届くのは自組織のドメインだけです。ほかの宛先はキューに保留されます (そのためのルートを追加してください)。',
  },
  routes: { en: 'Every message goes to this upstream.', ja: 'すべてのメッセージをこのアップストリームに送ります。' },
  noUpstream: {
    en: ' No upstream: every message is held in the queue for inspection (`authrelay queue list`).',
    ja: ' アップストリームがありません。すべてのメッセージは確認用にキューに保留されます (`authrelay queue list`)。',
  },
  noticesAdmin: {
    en: 'Non-delivery notices go to the sender and a copy to this address.',
    ja: '配信不能通知は送信者に送り、そのコピーをこのアドレスに送ります。',
  },
} as const satisfies Record<string, Text>;
