/**
 * What a device's refusal or failed handshake means, and what to do, as the
 * live view of its sessions shows it (`authrelay device watch`, the console):
 * written for the person standing at the printer. Each explanation has a
 * stable name (`ref`), the same as the reply's (core/smtp-reply.ts Replies)
 * where there is one, and its reason and fix in Japanese too (`ja`; the faces
 * show the one in their language). The console's Japanese names its pages and
 * buttons as the console does ([デバイス] → [パスワードを再設定]).
 */
import type { SmtpReply } from '../core/smtp-reply.js';

export interface ListenerHint {
  name: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  minTlsVersion: string;
  allowInsecureAuth: boolean;
}

export interface ExplainContext {
  /** The listener the session is on. */
  listener: ListenerHint;
  /** Every listener of the relay (to point at the right one). */
  listeners: readonly ListenerHint[];
  device?: string;
}

export interface Explanation {
  ref: string;
  reason: string;
  fix: string;
  /** reason and fix in Japanese. */
  ja: { reason: string; fix: string };
}

const legacy = (c: ExplainContext) => c.listeners.find((l) => l.minTlsVersion === 'TLSv1' || l.minTlsVersion === 'TLSv1.1');
const withTls = (c: ExplainContext, mode: 'starttls' | 'implicit') => c.listeners.find((l) => l.tls === mode);
const where = (l: ListenerHint | undefined) => (l ? `port ${l.port} (listener ${l.name})` : undefined);
const whereJa = (l: ListenerHint | undefined) => (l ? `ポート ${l.port} (リスナー ${l.name})` : undefined);

/** The explanation of one of the relay's replies. */
export function explainReply(r: SmtpReply, c: ExplainContext): Explanation {
  const ref = r.ref ?? (r.code === 421 && r.enhanced === '4.4.2' ? 'line-timeout' : 'other');
  switch (ref) {
    case 'authFailed':
      return { ref, reason: 'The user name or password the device sent is not right.',
        fix: `Type the user name and password of the device${c.device ? ` ${c.device}` : ''} again, exactly as shown when it was added (they are case-sensitive), or give it a new password (Devices → Reset password) and type that.`,
        ja: { reason: 'デバイスが送ったユーザー名またはパスワードが正しくありません。',
          fix: `デバイス${c.device ? ` ${c.device} ` : ''}のユーザー名とパスワードを、追加したときに表示されたとおりに入力し直してください (大文字と小文字は区別されます)。または新しいパスワードを発行し ([デバイス] → [パスワードを再設定])、それを入力してください。` } };
    case 'lockedOut':
      return { ref, reason: 'Too many wrong passwords came from this address or for this user name: logins are refused for a while (brute-force protection).',
        fix: 'Correct the password in the device, then wait until the lock ends (security.lockoutDuration, 15 minutes by default) and send again.',
        ja: { reason: 'このアドレスから、またはこのユーザー名で、間違ったパスワードが何度も送られたため、しばらくの間ログインを拒否しています (ブルート フォース攻撃からの保護)。',
          fix: 'デバイスのパスワードを直してから、ロックが解除されるまで待って (security.lockoutDuration、既定では 15 分) 送信し直してください。' } };
    case 'relayDenied':
    case 'senderDenied':
      return { ref, reason: 'This address is not a known device and the session did not log in, so the relay does not accept mail from it (it is not an open relay).',
        fix: 'Set a user name and password in the device (SMTP authentication), or add the device with this address as a trusted network (Devices → Add, networks).',
        ja: { reason: 'このアドレスは登録されたデバイスではなく、セッションもログインしなかったため、リレーはここからのメールを受け付けません (オープン リレーにはなりません)。',
          fix: 'デバイスにユーザー名とパスワードを設定する (SMTP 認証) か、このアドレスを信頼済みネットワークとしてデバイスを追加してください ([デバイス] → [デバイスを追加]、ネットワーク)。' } };
    case 'authRequired':
      return { ref, reason: 'This port requires every client to log in.', fix: 'Turn on SMTP authentication in the device and enter its user name and password.',
        ja: { reason: 'このポートでは、すべてのクライアントにログインが必要です。', fix: 'デバイスで SMTP 認証を有効にし、ユーザー名とパスワードを入力してください。' } };
    case 'tlsRequired':
      return { ref, reason: 'This port requires TLS (STARTTLS) before the message.',
        fix: 'Turn on TLS/STARTTLS in the device\'s e-mail settings' + (withTls(c, 'implicit') ? `, or use SSL/TLS on ${where(withTls(c, 'implicit'))}` : '') + '.',
        ja: { reason: 'このポートでは、メッセージの前に TLS (STARTTLS) を開始する必要があります。',
          fix: 'デバイスのメール設定で TLS/STARTTLS を有効にしてください' + (withTls(c, 'implicit') ? `。または${whereJa(withTls(c, 'implicit'))} で SSL/TLS を使ってください` : '') + '。' } };
    case 'fromNotAllowed':
      return { ref, reason: 'The device sent as a From address it may not use.',
        fix: 'Set the device\'s sender address to its own mailbox, or allow that address for the device (Devices → Edit, allowed From addresses, or set "send as").',
        ja: { reason: 'デバイスが、使用を許可されていない From アドレスで送信しました。',
          fix: 'デバイスの送信者アドレスを自分のメールボックスにするか、そのアドレスをデバイスに許可してください ([デバイス] → [編集] の「使用を許可する From アドレス」、または「送信者として使えるアドレス」)。' } };
    case 'messageTooBig':
      return { ref, reason: 'The message is larger than this device or port may send.', fix: 'Scan at a lower resolution or fewer pages, or raise maxMessageSize for the device or listener.',
        ja: { reason: 'メッセージが、このデバイスまたはポートで送信できるサイズを超えています。', fix: '解像度を下げるかページ数を減らしてスキャンするか、デバイスまたはリスナーの maxMessageSize を大きくしてください。' } };
    case 'rateLimited':
      return { ref, reason: 'The device sent more messages than its rate limit allows.', fix: 'Wait a moment and send again, or raise the device\'s rateLimit.',
        ja: { reason: 'デバイスが、送信レートの上限を超える数のメッセージを送りました。', fix: '少し待ってから送信し直すか、デバイスの rateLimit を大きくしてください。' } };
    case 'bareLineEnding':
      return { ref, reason: 'The message has line endings that SMTP does not allow (a bare CR or LF).', fix: 'Set bareLineEndings: normalize on the device (safe for devices on a trusted network).',
        ja: { reason: 'メッセージに、SMTP で許されない改行 (単独の CR または LF) があります。', fix: 'デバイスに bareLineEndings: normalize を設定してください (信頼済みネットワーク上のデバイスなら安全です)。' } };
    case 'tooManyRecipients':
      return { ref, reason: 'The message has more recipients than the port allows.', fix: 'Send to fewer recipients at once, or raise maxRecipients on the listener.',
        ja: { reason: 'メッセージの宛先が、このポートで許される数を超えています。', fix: '一度に送る宛先を減らすか、リスナーの maxRecipients を大きくしてください。' } };
    case 'badRecipientSyntax':
      return { ref, reason: 'A recipient address is written in a form the relay refuses (a relay trick such as a source route or a %-hack).', fix: 'Type the recipient as a plain address, name@example.com.',
        ja: { reason: '宛先アドレスが、リレーが拒否する形式で書かれています (ソース ルートや % ハックなど、不正な中継に使われる書き方)。', fix: '宛先は name@example.com のような普通のアドレスで入力してください。' } };
    case 'headerTooBig':
      return { ref, reason: 'The message\'s header section (From, To, Subject and the other header fields) is larger than the relay accepts.',
        fix: 'Send to fewer recipients at once or shorten the subject; if it keeps happening, check what the device writes into the header.',
        ja: { reason: 'メッセージのヘッダー部分 (From、To、Subject などのヘッダー フィールド) が、リレーが受け付けるサイズを超えています。',
          fix: '一度に送る宛先を減らすか、件名を短くしてください。それでも続く場合は、デバイスがヘッダーに書き込む内容を確認してください。' } };
    case 'storeFailed':
      return { ref, reason: 'The relay could not store the message (its disk or database had a problem).', fix: 'Send again; if it keeps failing, look at the relay\'s log (event store-failed).',
        ja: { reason: 'リレーがメッセージを保存できませんでした (ディスクまたはデータベースに問題がありました)。', fix: '送信し直してください。失敗が続く場合は、リレーのログ (イベント store-failed) を確認してください。' } };
    case 'shuttingDown':
      return { ref, reason: 'The relay is stopping.', fix: 'Send again in a minute, when it runs again.',
        ja: { reason: 'リレーが停止処理中です。', fix: '1 分ほどして、リレーが再び動き出してから送信し直してください。' } };
    case 'line-timeout':
      return { ref, reason: 'The device took longer than the socket timeout to send one line.', fix: 'Check the network between the device and the relay.',
        ja: { reason: 'デバイスが 1 行を送るのに、ソケットのタイムアウトより長くかかりました。', fix: 'デバイスとリレーの間のネットワークを確認してください。' } };
    default:
      return { ref: 'other', reason: `The relay answered ${r.code} ${r.enhanced} ${r.text}.`, fix: 'See the reply; the relay\'s log has the details.',
        ja: { reason: `リレーは「${r.code} ${r.enhanced} ${r.text}」と応答しました。`, fix: '応答を確認してください。詳しくはリレーのログにあります。' } };
  }
}

/** A code that is not one of the relay's own replies: e.g. 538 before STARTTLS. */
export function explainAuthBeforeTls(c: ExplainContext): Explanation {
  const tls = withTls(c, 'implicit') ?? withTls(c, 'starttls');
  return { ref: 'authBeforeTls', reason: 'The device tried to log in before starting TLS, and this port does not accept passwords without TLS.',
    fix: `Turn on TLS in the device's e-mail settings (STARTTLS on this port${tls && tls !== c.listener ? `, or SSL/TLS on ${where(tls)}` : ''})` +
      (c.listeners.some((l) => l.allowInsecureAuth) ? `, or use ${where(c.listeners.find((l) => l.allowInsecureAuth))}, which accepts passwords without TLS` : '') + '.',
    ja: { reason: 'デバイスが TLS を開始する前にログインしようとしましたが、このポートは TLS なしのパスワードを受け付けません。',
      fix: `デバイスのメール設定で TLS を有効にしてください (このポートでは STARTTLS${tls && tls !== c.listener ? `、または${whereJa(tls)} で SSL/TLS` : ''})` +
        (c.listeners.some((l) => l.allowInsecureAuth) ? `。または TLS なしのパスワードを受け付ける${whereJa(c.listeners.find((l) => l.allowInsecureAuth))} を使ってください` : '') + '。' } };
}

/** OpenSSL's reason in a TLS error ("unsupported protocol"), without its codes and source file. */
export function tlsReason(message: string): string {
  return /routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim() ?? message.slice(0, 160);
}

/** A TLS handshake that failed: the OpenSSL reason in the error, said for people. */
export function explainTlsFailure(message: string, c: ExplainContext): Explanation {
  const old = legacy(c);
  if (/unsupported protocol|version too low|wrong_version|tlsv1 alert protocol version/i.test(message) && !/wrong version number/i.test(message)) {
    return { ref: 'tlsTooOld', reason: `The device offered a TLS version older than this port accepts (${c.listener.minTlsVersion} or newer here): many older printers and scanners only speak TLS 1.0 or 1.1.`,
      fix: old ? `Point the device at ${where(old)}, which accepts ${old.minTlsVersion}, or update the device's firmware to one with TLS 1.2.`
        : 'Add a legacy listener for it (e.g. { port: 2526, tls: starttls, minTlsVersion: TLSv1 }), or update the device\'s firmware to one with TLS 1.2.',
      ja: { reason: `デバイスが、このポートで受け付けるより古い TLS バージョンを提示しました (ここでは ${c.listener.minTlsVersion} 以降)。古いプリンターやスキャナーの多くは TLS 1.0 または 1.1 しか使えません。`,
        fix: old ? `デバイスの送信先を ${old.minTlsVersion} を受け付ける${whereJa(old)} にするか、TLS 1.2 に対応したファームウェアに更新してください。`
          : 'そのデバイス用に旧バージョン向けのリスナーを追加する (例: { port: 2526, tls: starttls, minTlsVersion: TLSv1 }) か、TLS 1.2 に対応したファームウェアに更新してください。' } };
  }
  if (/wrong version number|http request|unknown protocol/i.test(message)) {
    return { ref: 'tlsNotStarted', reason: 'The device did not start TLS on a port where TLS comes first (it spoke plain SMTP, or uses STARTTLS).',
      fix: `Set the device's security to SSL/TLS for this port${withTls(c, 'starttls') ? `, or use STARTTLS on ${where(withTls(c, 'starttls'))}` : ''}.`,
      ja: { reason: 'TLS から始めるポートで、デバイスが TLS を開始しませんでした (暗号化なしの SMTP で話したか、STARTTLS を使っています)。',
        fix: `このポートではデバイスのセキュリティ設定を SSL/TLS にしてください${withTls(c, 'starttls') ? `。または${whereJa(withTls(c, 'starttls'))} で STARTTLS を使ってください` : ''}。` } };
  }
  if (/no shared cipher|handshake failure|no suitable signature/i.test(message)) {
    return { ref: 'tlsNoCipher', reason: 'The device and this port have no encryption method in common (old devices only know old ciphers).',
      fix: old ? `Point the device at ${where(old)}, which accepts old ciphers.` : 'Add a legacy listener for it (minTlsVersion: TLSv1), which accepts old ciphers.',
      ja: { reason: 'デバイスとこのポートに共通の暗号化方式がありません (古いデバイスは古い暗号しか知りません)。',
        fix: old ? `デバイスの送信先を、古い暗号を受け付ける${whereJa(old)} にしてください。` : '古い暗号を受け付ける旧バージョン向けのリスナー (minTlsVersion: TLSv1) を追加してください。' } };
  }
  if (/certificate|unknown ca|bad certificate/i.test(message)) {
    return { ref: 'tlsCertificate', reason: 'The device does not trust the relay\'s certificate.',
      fix: 'Turn off certificate checking in the device (many cannot check a self-signed certificate), or give the relay a certificate the device trusts (tls.cert and tls.key).',
      ja: { reason: 'デバイスがリレーの証明書を信頼していません。',
        fix: 'デバイスの証明書の検証をオフにする (多くのデバイスは自己署名証明書を検証できません) か、デバイスが信頼する証明書をリレーに設定してください (tls.cert と tls.key)。' } };
  }
  const said = message.replace(/^.*routines:/, '').slice(0, 120);
  return { ref: 'tlsFailed', reason: `The TLS handshake failed (${said}).`, fix: 'Check the device\'s TLS/SSL setting for this port; the relay\'s log has the details.',
    ja: { reason: `TLS ハンドシェイクに失敗しました:「${said}」。`, fix: 'このポートに対するデバイスの TLS/SSL 設定を確認してください。詳しくはリレーのログにあります。' } };
}
