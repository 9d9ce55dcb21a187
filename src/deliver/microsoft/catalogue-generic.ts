/**
 * Catalogue entries for what any SMTP server answers (Postfix, Exim, an
 * Exchange receive connector, a commercial relay) and for failures without a
 * reply (DNS, connection, TLS). They are looked at after the Exchange Online
 * entries (catalogue-smtp.ts), in order, first match wins, and end in
 * catch-alls per reply class, so every refusal an SMTP upstream gives carries
 * what it means and what to do. Used by the smtp upstream, Direct Send,
 * SMTP OAuth and `authrelay send-test --route`. Examples are the texts
 * Postfix and smtp-server give.
 */
import type { GenericEntry } from './catalogue-types.js';

const INIT = 'Run `authrelay init` (or the console\'s setup wizard) with this host: its probe shows what the upstream offers (STARTTLS, TLS on connect, AUTH) and proposes the settings that work.';
const WAIT = 'Nothing to do if it passes: the relay tries again with backoff. If it lasts, look in the upstream\'s log at that time.';
const INIT_JA = 'このホストを指定して `authrelay init` (またはコンソールのセットアップ ウィザード) を実行してください。そのプローブでアップストリームが提供する機能 (STARTTLS、接続直後からの TLS、AUTH) がわかり、動作する設定が提案されます。';
const WAIT_JA = '一時的なものであれば対処は不要です。リレーが間隔を空けて再試行します。続く場合は、その時刻のアップストリームのログを確認してください。';

function entry(e: Omit<GenericEntry, 'source'>): GenericEntry {
  return { source: 'generic', ...e };
}

export const GENERIC_ENTRIES: readonly GenericEntry[] = [
  // ---- the relay's own refusal before sending ----
  entry({
    ref: 'generic.smtputf8-not-offered', action: 'fail', scope: 'message', category: 'smtputf8', match: { error: /^ESMTPUTF8$/ },
    example: { command: 'MAIL FROM', error: 'ESMTPUTF8', response: 'the upstream does not offer SMTPUTF8, which the address müller@contoso.com needs' },
    hint: 'An address of this message has non-ASCII characters before the @ (such as müller@ or 山田@), which only the SMTPUTF8 extension carries, and the upstream does not offer SMTPUTF8. The relay did not send it, because the address would arrive garbled or be lost.',
    fix: 'Use an ASCII address for this mailbox (most mailboxes have an ASCII alias), or send these messages through an upstream that offers SMTPUTF8 (enable it on the upstream: Postfix smtputf8_enable = yes), then: authrelay queue retry <queue id>.',
    ja: {
      hint: 'このメッセージのアドレスに、@ の前に ASCII 以外の文字 (müller@ や 山田@ など) を含むものがあります。このようなアドレスは SMTPUTF8 拡張でしか送れませんが、アップストリームは SMTPUTF8 を提供していません。アドレスが文字化けしたり失われたりするため、リレーは送信しませんでした。',
      fix: 'このメールボックスには ASCII のアドレスを使うか (ほとんどのメールボックスには ASCII の別名があります)、SMTPUTF8 を提供するアップストリーム経由でこれらのメッセージを送信してください (アップストリームで有効にします。Postfix では smtputf8_enable = yes)。その後、authrelay queue retry <queue id> を実行します。',
    },
  }),

  // ---- TLS and sign-in: the route's settings do not fit the upstream ----
  entry({
    ref: 'generic.starttls-not-offered', action: 'retry', scope: 'destination', category: 'tls', match: { command: /^STARTTLS$/, code: /^5/ },
    example: { command: 'STARTTLS', error: 'ETLS', response: '500 Error: command "STARTTLS" not recognized' },
    hint: 'The route requires STARTTLS (tls: starttls) and the upstream does not offer it, so the relay sent nothing rather than mail in the clear. Messages wait in the queue.',
    fix: `If the upstream speaks TLS from the first byte (usually port 465), set upstreams.<upstream>.tls: implicit and that port. If it has no TLS at all and the network to it is trusted, set tls: none (mail and any password then cross the network unencrypted). ${INIT}`,
    ja: {
      hint: 'ルートは STARTTLS を必須にしていますが (tls: starttls)、アップストリームは STARTTLS を提供していません。暗号化されていない接続でメールを送らないよう、リレーは何も送信していません。メッセージはキューで待機します。',
      fix: `アップストリームが接続直後から TLS を使う場合 (通常はポート 465) は、upstreams.<upstream>.tls: implicit とそのポートを設定してください。TLS にまったく対応しておらず、そこまでのネットワークが信頼できる場合は tls: none を設定します (メールとパスワードは暗号化されずにネットワークを流れます)。${INIT_JA}`,
    },
  }),
  entry({
    ref: 'generic.454.tls-unavailable', action: 'retry', scope: 'destination', category: 'tls', match: { command: /^STARTTLS$/, code: /^4/ },
    example: { command: 'STARTTLS', error: 'ETLS', response: '454 4.7.0 TLS not available due to local problem' },
    hint: 'The upstream offers STARTTLS but cannot start TLS now (its certificate or key is missing or unreadable). Messages wait in the queue.',
    fix: 'Ask the upstream\'s administrator to check its TLS certificate and key (Postfix: smtpd_tls_cert_file and smtpd_tls_key_file, and the log line before this reply).',
    ja: { hint: 'アップストリームは STARTTLS を提供していますが、現在 TLS を開始できません (証明書または秘密キーがないか、読み取れません)。メッセージはキューで待機します。', fix: 'アップストリームの管理者に、TLS の証明書と秘密キーを確認するよう依頼してください (Postfix の場合は smtpd_tls_cert_file と smtpd_tls_key_file、およびこの応答の直前のログ行)。' },
  }),
  entry({
    ref: 'generic.530.starttls-first', action: 'retry', scope: 'destination', category: 'tls', match: { code: /^530$/, text: /STARTTLS/i },
    example: { command: 'MAIL FROM', response: '530 5.7.0 Must issue a STARTTLS command first' },
    hint: 'The upstream takes mail only over TLS, and the route talks to it in the clear (tls: none).',
    fix: `Set upstreams.<upstream>.tls: starttls (or implicit on port 465); for a private certificate authority also set ca: to its certificate file. ${INIT}`,
    ja: { hint: 'アップストリームは TLS でのみメールを受け付けますが、ルートは暗号化なしで接続しています (tls: none)。', fix: `upstreams.<upstream>.tls: starttls を設定してください (ポート 465 では implicit)。プライベート証明機関の場合は、ca: にその証明書ファイルも設定します。${INIT_JA}` },
  }),
  entry({
    ref: 'generic.auth-not-offered', action: 'retry', scope: 'destination', category: 'auth', match: { command: /^AUTH\b/, code: /^50[0-3]$/ },
    example: { command: 'AUTH PLAIN', error: 'EAUTH', response: '503 5.5.1 Error: authentication not enabled' },
    hint: 'The route has credentials (upstreams.<upstream>.auth) but the upstream does not accept a sign-in on this connection: it offers none, or only after STARTTLS.',
    fix: `If the upstream trusts the relay by its address and needs no sign-in, remove upstreams.<upstream>.auth; if it offers AUTH only over TLS, set tls: starttls (or implicit on port 465). ${INIT}`,
    ja: {
      hint: 'ルートには資格情報 (upstreams.<upstream>.auth) がありますが、アップストリームはこの接続でサインインを受け付けません。AUTH を提供していないか、STARTTLS の後でのみ提供しています。',
      fix: `アップストリームがリレーをアドレスで信頼していてサインインが不要な場合は、upstreams.<upstream>.auth を削除してください。TLS 上でのみ AUTH を提供している場合は、tls: starttls (ポート 465 では implicit) を設定します。${INIT_JA}`,
    },
  }),
  entry({
    ref: 'generic.504.auth-mechanism', action: 'retry', scope: 'destination', category: 'auth', match: { command: /^AUTH\b/, code: /^504$/ },
    example: { command: 'AUTH LOGIN', error: 'EAUTH', response: '504 5.5.4 Unrecognized authentication type' },
    hint: 'The upstream does not know the sign-in mechanism the route uses (upstreams.<upstream>.auth.method).',
    fix: 'Set upstreams.<upstream>.auth.method to a mechanism the upstream offers (PLAIN or LOGIN; the setup wizard\'s probe lists them), or remove method to let the relay choose.',
    ja: { hint: 'アップストリームは、ルートが使用するサインイン方式 (upstreams.<upstream>.auth.method) に対応していません。', fix: 'upstreams.<upstream>.auth.method をアップストリームが提供する方式 (PLAIN または LOGIN。セットアップ ウィザードのプローブで一覧表示されます) に設定するか、method を削除してリレーに選ばせてください。' },
  }),
  entry({
    ref: 'generic.535.auth-failed', action: 'retry', scope: 'destination', category: 'auth', match: { code: /^535$/ },
    example: { command: 'AUTH PLAIN', error: 'EAUTH', response: '535 5.7.8 Error: authentication failed: authentication failure' },
    hint: 'The upstream refused the route\'s user name or password. Messages wait in the queue until the sign-in works.',
    fix: 'Check upstreams.<upstream>.auth: the user (often the full mailbox address) and the password (write it as ${VARIABLE} or file:/path, and check that the variable is set where the relay runs). Some servers lock an account for a while after repeated failures.',
    ja: {
      hint: 'アップストリームがルートのユーザー名またはパスワードを拒否しました。サインインできるようになるまで、メッセージはキューで待機します。',
      fix: 'upstreams.<upstream>.auth のユーザー (多くの場合はメールボックスの完全なアドレス) とパスワードを確認してください。パスワードは ${VARIABLE} または file:/path の形式で記述し、リレーを実行する環境でその変数が設定されていることを確認します。サーバーによっては、失敗が繰り返されるとアカウントを一定時間ロックします。',
    },
  }),
  entry({
    ref: 'generic.auth-refused', action: 'retry', scope: 'destination', category: 'auth', match: { command: /^AUTH\b/, code: /^5/ },
    example: { command: 'AUTH PLAIN', error: 'EAUTH', response: '538 5.7.11 Encryption required for requested authentication mechanism' },
    hint: 'The upstream refused the sign-in for a reason of its own (its reply says which: often a password sent without TLS, or a mechanism it finds too weak).',
    fix: `Read the reason in the reply. Sign in over TLS (upstreams.<upstream>.tls: starttls, or implicit on port 465), and set auth.method to a mechanism the upstream offers. ${INIT}`,
    ja: {
      hint: 'アップストリームが独自の理由でサインインを拒否しました (理由は応答に示されます。多くの場合、TLS なしでパスワードが送られたか、方式が弱すぎると判断されています)。',
      fix: `応答に示された理由を確認してください。TLS 上でサインインし (upstreams.<upstream>.tls: starttls、またはポート 465 では implicit)、auth.method をアップストリームが提供する方式に設定します。${INIT_JA}`,
    },
  }),
  entry({
    ref: 'generic.auth-error', action: 'retry', scope: 'destination', category: 'auth', match: { error: /^EAUTH$/, noReply: true },
    example: { command: 'API', error: 'EAUTH', response: 'Missing credentials for "PLAIN"' },
    hint: 'The relay could not sign in to the upstream: the credentials are incomplete or the sign-in was cut off. Messages wait in the queue.',
    fix: 'Check that upstreams.<upstream>.auth has both user and pass (and that a ${VARIABLE} in them is set where the relay runs); then authrelay send-test --route <upstream> shows the sign-in step by step.',
    ja: {
      hint: 'リレーがアップストリームにサインインできませんでした。資格情報が不完全か、サインインが途中で切断されました。メッセージはキューで待機します。',
      fix: 'upstreams.<upstream>.auth に user と pass の両方があること (そこで使う ${VARIABLE} が、リレーを実行する環境で設定されていること) を確認してください。その後、authrelay send-test --route <upstream> でサインインの各手順を確認できます。',
    },
  }),
  entry({
    ref: 'generic.530.auth-required', action: 'retry', scope: 'destination', category: 'auth', match: { code: /^530$/ },
    example: { command: 'MAIL FROM', response: '530 5.7.0 Authentication required' },
    hint: 'The upstream takes mail from this relay only after a sign-in, and the route did not sign in.',
    fix: 'Add upstreams.<upstream>.auth: { user, pass } with an account the upstream knows (over TLS: tls: starttls or implicit), or let the upstream accept the relay\'s address without a sign-in (its relay or connector settings).',
    ja: {
      hint: 'アップストリームはサインインした場合にのみこのリレーからのメールを受け付けますが、ルートはサインインしていません。',
      fix: 'アップストリームが認識するアカウントで upstreams.<upstream>.auth: { user, pass } を追加するか (TLS を使うため tls: starttls または implicit も設定します)、サインインなしでリレーのアドレスを受け付けるようにアップストリームを設定してください (リレーまたはコネクタの設定)。',
    },
  }),

  // ---- refusals of this message or recipient ----
  entry({
    ref: 'generic.relay-denied', action: 'fail', scope: 'message', category: 'policy',
    match: { code: /^5/, text: /relay(ing)? (access )?(denied|not permitted|prohibited|not allowed)|not permitted to relay|unable to relay|relay not (permitted|allowed)/i },
    example: { command: 'RCPT TO', response: '554 5.7.1 <alice@example.org>: Relay access denied' },
    hint: 'The upstream does not relay for this relay: it accepts mail only for its own domains from unknown senders, and it does not know the relay (by address or sign-in).',
    fix: 'Let the upstream relay for this relay: add the relay\'s address (its public IP when the upstream is on the internet) to the upstream\'s permitted clients (Postfix mynetworks; an Exchange receive connector with relay permission; a Microsoft 365 connector), or give the route credentials (upstreams.<upstream>.auth). Then: authrelay queue retry --failed.',
    ja: {
      hint: 'アップストリームはこのリレーのメールを中継しません。不明な送信者からは自ドメイン宛てのメールしか受け付けず、このリレーを (アドレスでもサインインでも) 認識していません。',
      fix: 'アップストリームがこのリレーのメールを中継するように設定してください。リレーのアドレス (アップストリームがインターネット上にある場合はパブリック IP アドレス) をアップストリームの許可されたクライアントに追加するか (Postfix の mynetworks、リレーを許可した Exchange の受信コネクタ、Microsoft 365 のコネクタ)、ルートに資格情報を設定します (upstreams.<upstream>.auth)。その後、authrelay queue retry --failed を実行します。',
    },
  }),
  entry({
    ref: 'generic.552.too-big', action: 'fail', scope: 'message', category: 'too-big', match: { code: /^5/, text: /^552\b|\b5\.3\.4\b|\b5\.2\.3\b/ },
    example: { command: 'DATA', response: '552 5.3.4 Message size exceeds fixed limit' },
    hint: 'The message is larger than the upstream accepts.',
    fix: 'Lower the device\'s scan resolution or colour depth, scan fewer pages per message (or set a split size on the device), or raise the upstream\'s message size limit (Postfix message_size_limit); then send it again.',
    ja: { hint: 'メッセージが、アップストリームで受け付けられるサイズを超えています。', fix: '機器のスキャン解像度やカラー設定を下げる、1 通あたりのページ数を減らす (または機器で分割送信のサイズを設定する)、またはアップストリームのメッセージ サイズの上限 (Postfix の message_size_limit) を上げてから、もう一度送信してください。' },
  }),
  entry({
    ref: 'generic.bad-recipient', action: 'fail', scope: 'message', category: 'bad-recipient',
    match: { command: /^RCPT TO$/, code: /^5/, text: /\b5\.1\.\d{1,3}\b|user unknown|unknown (user|recipient)|no such (user|mailbox|recipient)|mailbox (unavailable|not found)|does not exist/i },
    example: { command: 'RCPT TO', response: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table' },
    hint: 'The upstream says the recipient address does not exist.',
    fix: 'Check the recipient address for typos (the device\'s address book or the scan-to-email profile).',
    ja: { hint: 'アップストリームによると、宛先アドレスが存在しません。', fix: '宛先アドレスに入力ミスがないか確認してください (機器のアドレス帳や、スキャン to メールのプロファイル)。' },
  }),
  entry({
    ref: 'generic.policy', action: 'fail', scope: 'message', category: 'policy', match: { code: /^5/, text: /\b5\.7\.\d{1,3}\b/ },
    example: { command: 'MAIL FROM', response: '550 5.7.1 <scanner@contoso.com>: Sender address rejected: Access denied' },
    hint: 'The upstream refused it for a policy reason (the sender, a recipient or the content is not permitted); its reply says which.',
    fix: 'Read the reason in the reply. Check which senders this route may use on the upstream (its sender permissions; the device\'s sendAs), its relay rules and the route\'s credentials; then authrelay queue retry --failed.',
    ja: { hint: 'アップストリームがポリシー上の理由で拒否しました (送信者、宛先、または内容が許可されていません)。理由は応答に示されています。', fix: '応答に示された理由を確認してください。このルートがアップストリームで使える送信者 (送信者の許可、機器の sendAs)、リレーのルール、ルートの資格情報を確認し、その後 authrelay queue retry --failed を実行します。' },
  }),
  entry({
    ref: 'generic.sender-rejected', action: 'fail', scope: 'message', category: 'sender', match: { command: /^MAIL FROM$/, code: /^5/ },
    example: { command: 'MAIL FROM', response: '553 5.1.8 <scanner@printer.local>: Sender address rejected: Domain not found' },
    hint: 'The upstream refused the envelope sender (MAIL FROM): a domain it cannot find, or an address the route may not send from.',
    fix: 'Make the device send from an address in a real domain that the upstream allows: set the device\'s sendAs (devices[].sendAs) to such a mailbox, or allow the sender on the upstream; then authrelay queue retry --failed.',
    ja: { hint: 'アップストリームがエンベロープの送信者 (MAIL FROM) を拒否しました。見つからないドメインか、このルートが送信元として使えないアドレスです。', fix: 'アップストリームが許可する、実在するドメインのアドレスから機器が送信するようにしてください。機器の sendAs (devices[].sendAs) をそのようなメールボックスに設定するか、アップストリームでその送信者を許可し、その後 authrelay queue retry --failed を実行します。' },
  }),
  entry({
    ref: 'generic.554.transaction-failed', action: 'fail', scope: 'message', category: 'rejected', match: { code: /^554$/ },
    example: { command: 'DATA', response: '554 5.6.0 Message content rejected' },
    hint: 'The upstream refused the message after receiving it (transaction failed), usually because of its content (a spam or virus filter, a header or attachment it does not accept).',
    fix: 'Read the reason in the reply and look in the upstream\'s log at that time (by the message\'s Message-ID); if a content filter refused it, ask the upstream\'s administrator to allow the device\'s messages.',
    ja: { hint: 'アップストリームがメッセージを受信した後に拒否しました (トランザクションの失敗)。通常は内容が原因です (迷惑メールやウイルスのフィルター、受け付けられないヘッダーや添付ファイル)。', fix: '応答に示された理由と、その時刻のアップストリームのログ (メッセージの Message-ID で検索) を確認してください。コンテンツ フィルターが拒否した場合は、アップストリームの管理者に機器からのメッセージを許可するよう依頼してください。' },
  }),
  entry({
    ref: 'generic.5xx', action: 'fail', scope: 'message', category: 'rejected', match: { code: /^5/ },
    example: { command: 'DATA', response: '550 Requested action not taken: rejected by local policy' },
    hint: 'The upstream refused the message for good; its reply says why.',
    fix: 'Read the reason in the reply and look in the upstream\'s log at that time; once the cause is fixed: authrelay queue retry --failed.',
    ja: { hint: 'アップストリームがメッセージを恒久的に拒否しました。理由は応答に示されています。', fix: '応答に示された理由と、その時刻のアップストリームのログを確認してください。原因を解消したら、authrelay queue retry --failed を実行します。' },
  }),

  // ---- temporary ----
  entry({
    ref: 'generic.421', action: 'retry', scope: 'destination', category: 'unavailable', match: { code: /^421$/ },
    example: { command: 'MAIL FROM', response: '421 4.3.2 Service not available, closing transmission channel' },
    hint: 'The upstream is not taking mail now and closed the connection; the relay pauses this route and tries again.',
    fix: `${WAIT} If it refuses more connections than it allows per client, lower upstreams.<upstream>.concurrency.`,
    ja: { hint: 'アップストリームは現在メールを受け付けておらず、接続を閉じました。リレーはこのルートを一時停止して再試行します。', fix: `${WAIT_JA}クライアントごとに許可された数を超える接続を拒否している場合は、upstreams.<upstream>.concurrency を下げてください。` },
  }),
  entry({
    ref: 'generic.4.4', action: 'retry', scope: 'destination', category: 'unavailable', match: { code: /^4/, text: /\b4\.4\.\d{1,3}\b|\b4\.3\.2\b/ },
    example: { command: 'DATA', response: '451 4.4.1 Error: queue file write error' },
    hint: 'The upstream has trouble of its own (network, queue or system); the relay pauses this route and tries again.',
    fix: WAIT,
    ja: { hint: 'アップストリーム自体に問題 (ネットワーク、キュー、またはシステム) が発生しています。リレーはこのルートを一時停止して再試行します。', fix: WAIT_JA },
  }),
  entry({
    ref: 'generic.450', action: 'retry', scope: 'message', category: 'deferred', match: { code: /^450$/ },
    example: { command: 'RCPT TO', response: '450 4.2.0 <alice@example.org>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/' },
    hint: 'The upstream asks to try again later (a busy mailbox, or greylisting, which accepts a sender only on a later try).',
    fix: 'Nothing to do: the relay tries again with backoff. If it lasts until queue.maxLifetime, the message fails and a notice is sent.',
    ja: { hint: 'アップストリームが後で再試行するよう求めています (メールボックスが混雑しているか、グレーリストです。グレーリストは、2 回目以降の試行でのみ送信者を受け付けます)。', fix: '対処は不要です。リレーが間隔を空けて再試行します。queue.maxLifetime まで続いた場合、メッセージは失敗となり、通知が送信されます。' },
  }),
  entry({
    ref: 'generic.451', action: 'retry', scope: 'message', category: 'deferred', match: { code: /^451$/ },
    example: { command: 'DATA', response: '451 4.3.0 Error: queue file write error' },
    hint: 'The upstream had a local problem while taking the message; the relay tries again with backoff.',
    fix: WAIT,
    ja: { hint: 'メッセージの受信中に、アップストリームでローカルの問題が発生しました。リレーは間隔を空けて再試行します。', fix: WAIT_JA },
  }),
  entry({
    ref: 'generic.452', action: 'retry', scope: 'message', category: 'deferred', match: { code: /^452$/ },
    example: { command: 'MAIL FROM', response: '452 4.3.1 Insufficient system storage' },
    hint: 'The upstream is short of space, or takes fewer recipients at once; the relay tries again later.',
    fix: `${WAIT} A full disk on the upstream is the usual cause.`,
    ja: { hint: 'アップストリームの空き容量が不足しているか、一度に受け付ける宛先の数が少なくなっています。リレーは後で再試行します。', fix: `${WAIT_JA}多くの場合、原因はアップストリームのディスクがいっぱいになっていることです。` },
  }),
  entry({
    ref: 'generic.4xx', action: 'retry', scope: 'message', category: 'deferred', match: { code: /^4/ },
    example: { command: 'RCPT TO', response: '454 4.7.1 <alice@example.org>: Relay access denied' },
    hint: 'The upstream deferred the message; the relay tries again with backoff.',
    fix: `${WAIT} A deferral that names a policy (relay access, a sender) becomes a refusal once the upstream stops deferring: fix that the same way.`,
    ja: { hint: 'アップストリームがメッセージの受信を延期しました。リレーは間隔を空けて再試行します。', fix: `${WAIT_JA}ポリシー (リレーのアクセス許可や送信者) を理由とする延期は、アップストリームが延期をやめると拒否になります。その場合も同じ方法で対処してください。` },
  }),

  // ---- no reply: DNS, connection, TLS ----
  entry({
    ref: 'generic.dns', action: 'retry', scope: 'destination', category: 'dns', match: { noReply: true, text: /ENOTFOUND|EAI_AGAIN|ENODATA/ },
    example: { command: 'CONN', error: 'EDNS', response: 'getaddrinfo ENOTFOUND smtp.contoso.test' },
    hint: 'The upstream\'s host name could not be found in DNS; the relay pauses this route and tries again.',
    fix: 'Check upstreams.<upstream>.host for typos and that the relay\'s DNS servers know the name (nslookup <host> on the relay\'s machine).',
    ja: { hint: 'アップストリームのホスト名が DNS で見つかりませんでした。リレーはこのルートを一時停止して再試行します。', fix: 'upstreams.<upstream>.host に入力ミスがないこと、リレーの DNS サーバーがその名前を解決できることを確認してください (リレーのマシンで nslookup <host>)。' },
  }),
  entry({
    ref: 'generic.connect', action: 'retry', scope: 'destination', category: 'connection',
    match: { noReply: true, text: /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|Connection timeout|Greeting never received/i },
    example: { command: 'CONN', error: 'ESOCKET', response: 'connect ECONNREFUSED 127.0.0.1:25' },
    hint: 'The upstream could not be reached; the relay pauses this route and tries again.',
    fix: 'Check upstreams.<upstream>.host and port, that the upstream is running, and that a firewall lets the relay out (internet providers often block outbound port 25). A port-465 server needs tls: implicit; a silent port often means the wrong TLS mode.',
    ja: {
      hint: 'アップストリームに接続できませんでした。リレーはこのルートを一時停止して再試行します。',
      fix: 'upstreams.<upstream>.host と port、アップストリームが稼働していること、ファイアウォールがリレーからの送信を許可していることを確認してください (インターネット プロバイダーは送信方向のポート 25 をブロックしていることがよくあります)。ポート 465 のサーバーには tls: implicit が必要です。応答のないポートは、多くの場合 TLS モードの誤りです。',
    },
  }),
  entry({
    ref: 'generic.tls-certificate', action: 'retry', scope: 'destination', category: 'tls',
    match: { noReply: true, text: /certificate|self[- ]signed|altnames|UNABLE_TO_(GET|VERIFY)|CERT_/i },
    example: { command: 'CONN', error: 'ESOCKET', response: 'self-signed certificate' },
    hint: 'The upstream\'s TLS certificate is not trusted, has expired, or does not carry the host name the route uses; the relay sends nothing over such a connection.',
    fix: 'For a private certificate authority (or a self-signed upstream) set upstreams.<upstream>.ca to its certificate file (PEM); when the certificate names another host than host:, set servername: to that name; an expired certificate must be renewed on the upstream. Leave rejectUnauthorized on.',
    ja: {
      hint: 'アップストリームの TLS 証明書が信頼されていないか、有効期限が切れているか、ルートが使うホスト名を含んでいません。リレーはそのような接続では何も送信しません。',
      fix: 'プライベート証明機関 (または自己署名証明書のアップストリーム) の場合は、upstreams.<upstream>.ca にその証明書ファイル (PEM) を設定してください。証明書が host: とは別のホスト名を示している場合は、servername: にその名前を設定します。有効期限切れの証明書は、アップストリームで更新する必要があります。rejectUnauthorized はオンのままにしてください。',
    },
  }),
  entry({
    ref: 'generic.tls-handshake', action: 'retry', scope: 'destination', category: 'tls', match: { noReply: true, text: /wrong version number|handshake|SSL|TLS|EPROTO/i },
    example: { command: 'CONN', error: 'ESOCKET', response: 'write EPROTO 80F8C2E6:error:0A00010B:SSL routines:ssl3_get_record:wrong version number' },
    hint: 'TLS with the upstream failed before any mail was sent: usually TLS on connect (tls: implicit) against a port that expects STARTTLS, or a server that only knows old TLS versions.',
    fix: `Use tls: starttls for ports 25 and 587 and tls: implicit for port 465. ${INIT}`,
    ja: { hint: 'メールを送る前に、アップストリームとの TLS が失敗しました。通常は、STARTTLS を想定するポートに接続直後からの TLS (tls: implicit) で接続しているか、古い TLS バージョンにしか対応していないサーバーが原因です。', fix: `ポート 25 と 587 では tls: starttls を、ポート 465 では tls: implicit を使用してください。${INIT_JA}` },
  }),
  entry({
    ref: 'generic.connection-lost', action: 'retry', scope: 'destination', category: 'connection',
    match: { noReply: true, error: /^(ECONNECTION|ECONNRESET|ESOCKET|EPROTOCOL|ETIMEDOUT|ETLS)$/ },
    example: { command: 'DATA', error: 'ECONNECTION', response: 'Connection closed unexpectedly' },
    hint: 'The connection to the upstream broke before it answered; the relay pauses this route and tries again.',
    fix: 'Nothing to do if it passes. If it lasts, look in the upstream\'s log for why it drops the relay (a limit on connections or messages per client, a time limit), and lower upstreams.<upstream>.concurrency.',
    ja: { hint: 'アップストリームが応答する前に接続が切れました。リレーはこのルートを一時停止して再試行します。', fix: '一時的なものであれば対処は不要です。続く場合は、アップストリームのログでリレーの接続が切られる理由 (クライアントごとの接続数やメッセージ数の上限、時間制限) を確認し、upstreams.<upstream>.concurrency を下げてください。' },
  }),
];
