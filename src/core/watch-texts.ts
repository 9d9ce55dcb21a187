/**
 * The lines of the live view of a device's SMTP sessions that are the relay's
 * own words (connected, TLS established, logged in, accepted, refused,
 * closed), in English and Japanese; the commands and replies of the protocol
 * are shown as they were sent. Each watch event carries its line in both
 * (`text` and `ja.text`), and the faces show the one in their language.
 */
import { renderBoth, type Text } from './i18n.js';

/** Every watched-session text, by key; both languages carry the same {placeholders} (a test keeps them equal). */
export const WATCH_TEXTS = {
  'connect': { en: 'connected from {ip}{proxy} to listener {listener} ({mode}){trusted}', ja: '{ip}{proxy} からリスナー {listener} に接続しました ({mode}){trusted}' },
  'connect.trusted': { en: ': device {device} by its trusted network', ja: ': 信頼済みネットワークによりデバイス {device}' },
  'connect.proxy': { en: ' (through load balancer {lb})', ja: ' (ロード バランサー {lb} 経由)' },
  'connect.implicit': { en: 'TLS from the first byte', ja: '最初から TLS' },
  'connect.starttls': { en: 'STARTTLS offered', ja: 'STARTTLS を提示' },
  'connect.none': { en: 'no TLS', ja: 'TLS なし' },
  'tls': { en: 'TLS established: {version}{cipher}', ja: 'TLS を確立しました: {version}{cipher}' },
  'tls.cipher': { en: ', cipher {cipher}', ja: '、暗号スイート {cipher}' },
  'tls.unknownVersion': { en: 'unknown version', ja: '不明なバージョン' },
  'tls.failed': { en: 'TLS handshake failed: {reason}', ja: 'TLS ハンドシェイクに失敗しました: {reason}' },
  'auth.ok': { en: 'logged in as {user} with AUTH {method}: device {device}', ja: 'AUTH {method} で {user} としてログインしました: デバイス {device}' },
  'auth.refused': { en: 'login as {user} with AUTH {method} refused: {reply}{unknown}', ja: 'AUTH {method} による {user} としてのログインを拒否しました: {reply}{unknown}' },
  'auth.noDevice': { en: ' (no device has this user name)', ja: ' (このユーザー名のデバイスはありません)' },
  'accepted': { en: 'message accepted as {id} ({size} bytes){routes}', ja: 'メッセージを {id} として受け付けました ({size} バイト){routes}' },
  'accepted.routes': { en: ', for {routes}', ja: '、送信先 {routes}' },
  'refused': { en: 'refused: {reply}', ja: '拒否しました: {reply}' },
  'close': { en: 'connection closed', ja: '接続を閉じました' },
  'more': { en: '(more than {n} events: the rest of this session is not kept)', ja: '(イベントが {n} 件を超えたため、このセッションの残りは記録しません)' },
} as const satisfies Record<string, Text>;

export type WatchKey = keyof typeof WATCH_TEXTS;

/** A watched-session line in both languages; a value is the same in both, or itself a text in both (a part of the sentence). */
export function watchText(key: WatchKey, values: Record<string, string | number | Text> = {}): Text {
  return renderBoth(WATCH_TEXTS[key], values);
}

/** No part (an optional part left out). */
export const NO_PART: Text = { en: '', ja: '' };
