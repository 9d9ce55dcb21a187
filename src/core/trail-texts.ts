/**
 * The delivery trail's texts in English and Japanese, and the names of the
 * queue states. A trail entry keeps a stable text key and the values it was
 * made from (`data.say`, a `Say`), besides the English line it was written
 * with; a face renders the entry in its language from those (the console from
 * its setting, the API from Accept-Language, the CLI from LANG). Entries
 * written before the trail had keys carry only their English line, which is
 * shown as it is.
 *
 * A value of a Say is a plain value (a name, an address, a number, the
 * upstream's own reply: the same in both languages), a text already in both
 * languages (`{ en, ja }`, e.g. a catalogue explanation), or another Say
 * (a part of the sentence that differs by language, e.g. "over TLSv1.3").
 */
import { asIs, fill, type Lang, type Text } from './i18n.js';

/** Every trail text, by key. Both languages carry the same {placeholders} (a test keeps them equal). */
export const TRAIL_TEXTS = {
  // A message arrives: "received 467 bytes from mfp-3f at 10.0.0.7 on listener submission over TLSv1.3 as scan (PLAIN)".
  'received': {
    en: 'received {size} bytes from {device} at {clientIp} on listener {listener} {tls} {auth}{config}{split}',
    ja: '{device} ({clientIp}) からリスナー {listener} で {size} バイトを受信しました ({tls}、{auth}{config}){split}',
  },
  'received.relay': { en: 'the relay itself', ja: 'リレー自身' },
  'received.tls': { en: 'over {version}', ja: '{version} で暗号化' },
  'received.noTls': { en: 'without TLS', ja: 'TLS なし' },
  'received.auth': { en: 'as {user} ({mechanism})', ja: '{user} として認証 ({mechanism})' },
  'received.noAuth': { en: 'without AUTH', ja: 'AUTH なし' },
  'received.config': { en: ' under configuration {version}', ja: '、構成 {version}' },
  'received.split': { en: '; split from {id}', ja: '。{id} から分割しました' },
  // Routing.
  'routed': { en: 'routed to {route}{rule}: {recipients}', ja: '{route} にルーティングしました{rule}: {recipients}' },
  'routed.rule': { en: ' ({rule})', ja: ' (ルール {rule})' },
  'routed.ruleDevice': { en: ' (device {device})', ja: ' (デバイス {device} のルート)' },
  'routed.ruleNone': { en: ' (no rule matched)', ja: ' (一致するルールなし)' },
  'routed.ruleOnly': { en: ' (the only upstream)', ja: ' (唯一のアップストリーム)' },
  'routed.ruleDefault': { en: ' (embedded default)', ja: ' (組み込みの既定ルート)' },
  'split': { en: 'split from {id}: {n} recipient(s) routed to {route}', ja: '{id} から分割しました: {n} 件の宛先を {route} にルーティングしました' },
  'reroute': { en: 'routed again: {reason}', ja: 'ルーティングし直しました: {reason}' },
  'reroute.upstreamOut': {
    en: '{upstream} cannot take mail now ({reason}); routed to the next upstream of the route',
    ja: '{upstream} は現在メールを受け付けられません ({reason})。ルートの次のアップストリームに回しました',
  },
  'reroute.downSince': { en: 'down since {since}: {error}', ja: '{since} から停止中: {error}' },
  'reroute.noAnswer': { en: 'no answer', ja: '応答なし' },
  'reroute.configChanged': { en: 'the routes changed in configuration {version}', ja: '構成 {version} でルートが変更されました' },
  // Delivery attempts.
  'attempt.delivered': { en: 'delivered to {n} recipient(s) via {route}: {reply}', ja: '{route} 経由で {n} 件の宛先に配送しました: {reply}' },
  'attempt.accepted': { en: 'accepted', ja: '受け付けられました' },
  'attempt.held': { en: 'held ({route}): {reply}', ja: '保留しました ({route}): {reply}' },
  'attempt.failed': { en: 'failed via {route}: {reply}', ja: '{route} 経由の配送に失敗しました: {reply}' },
  'attempt.expired': {
    en: 'failed via {route}: expired after the maximum queue lifetime; last reply: {reply}',
    ja: '{route} 経由の配送に失敗しました: キューの最大保持期間を過ぎました。最後の応答: {reply}',
  },
  'attempt.deferred': {
    en: 'deferred via {route}, next try in {seconds}s: {reply}',
    ja: '{route} 経由の配送を延期しました。{seconds} 秒後に再試行します: {reply}',
  },
  'attempt.error': { en: 'error', ja: 'エラー' },
  'attempt.movedOn': {
    en: '{attempt}; {route} cannot take mail now, so the message goes to the next upstream of its route',
    ja: '{attempt}。{route} は現在メールを受け付けられないため、メッセージはルートの次のアップストリームに送られます',
  },
  // Actions by people.
  'retry': { en: 'queued again by {by}', ja: '{by} が再送のためにキューに戻しました' },
  'release': { en: 'released by {by}', ja: '{by} が保留を解除しました' },
  'by.api': { en: 'admin API ({name})', ja: '管理 API ({name})' },
  'by.cli': { en: 'cli ({user})', ja: 'コマンド ライン ({user})' },
  // Notes made when a message is accepted (shown on the message's page).
  'note.lineEndings': {
    en: 'normalised line endings (bare LF {lf}, bare CR {cr}, NUL {nul})',
    ja: '改行を正規化しました (単独の LF {lf} 個、単独の CR {cr} 個、NUL {nul} 個)',
  },
  'note.senderRewritten': { en: 'envelope sender {from} rewritten to {to}', ja: 'エンベロープの送信者 {from} を {to} に書き換えました' },
  'note.proxied': {
    en: 'client address {ip} from the PROXY protocol header of load balancer {lb}',
    ja: 'クライアントのアドレス {ip} は、ロード バランサー {lb} の PROXY プロトコル ヘッダーから取得しました',
  },
  'note.fromRewritten': {
    en: 'From header {from} rewritten to {to} (original kept in Reply-To)',
    ja: 'From ヘッダーの {from} を {to} に書き換えました (元のアドレスは Reply-To に残しています)',
  },
  'note.fromMissing': { en: 'From header missing; set to {to}', ja: 'From ヘッダーがないため、{to} を設定しました' },
  'note.bccRemoved': { en: 'Bcc header removed (its recipients stay in the envelope)', ja: 'Bcc ヘッダーを削除しました (その宛先はエンベロープに残っています)' },
  // Reports.
  'notice': { en: 'non-delivery notice {id} queued for {to}', ja: '配信不能通知 {id} を {to} 宛てにキューに入れました' },
  // The notes a notice or an alert e-mail carries (on the queued message itself).
  'note.noticeAbout': { en: 'non-delivery notice for {id}', ja: '{id} の配信不能通知' },
  'note.alert': { en: 'alert {key} ({status})', ja: 'アラート {key} ({status})' },
  'alertStatus.firing': { en: 'firing', ja: '発生中' },
  'alertStatus.resolved': { en: 'resolved', ja: '解決済み' },
} as const satisfies Record<string, Text>;

export type TrailKey = keyof typeof TRAIL_TEXTS;

/** One value of a Say: the same in both languages, in both languages already, or another trail text. */
export type SayValue = string | number | Text | Say;

/** A trail text by key with its values: what a trail entry keeps (data.say) so it can be shown in either language. */
export interface Say {
  key: TrailKey;
  values?: Record<string, SayValue>;
}

/** Who did something to a message (queued it again, released it, routed it again) and why: a name as it is, or a trail text. */
export type Actor = string | Say;

export function say(key: TrailKey, values?: Record<string, SayValue>): Say {
  return values ? { key, values } : { key };
}

/** The names of the trail's entry kinds (the console shows them beside each line). */
export const TRAIL_KIND_TEXTS = {
  received: { en: 'received', ja: '受信' },
  routed: { en: 'routed', ja: 'ルーティング' },
  split: { en: 'split', ja: '分割' },
  attempt: { en: 'attempt', ja: '配送試行' },
  retry: { en: 'retry', ja: '再試行' },
  release: { en: 'release', ja: '保留解除' },
  reroute: { en: 'routed again', ja: '再ルーティング' },
  expired: { en: 'expired', ja: '期限切れ' },
  notice: { en: 'notice', ja: '通知' },
} as const satisfies Record<string, Text>;

/** The names of a message's states (the same words as the console's state.* keys). */
export const MESSAGE_STATE_TEXTS = {
  incoming: { en: 'incoming', ja: '受信中' },
  active: { en: 'being delivered', ja: '配送中' },
  deferred: { en: 'deferred', ja: '再試行待ち' },
  held: { en: 'held', ja: '保留' },
  delivered: { en: 'delivered', ja: '配送済み' },
  failed: { en: 'failed', ja: '失敗' },
} as const satisfies Record<string, Text>;

/** The names of a recipient's states (the console's rstate.* keys). */
export const RECIPIENT_STATE_TEXTS = {
  pending: { en: 'pending', ja: '未配送' },
  delivered: { en: 'delivered', ja: '配送済み' },
  failed: { en: 'failed', ja: '失敗' },
  held: { en: 'held', ja: '保留' },
} as const satisfies Record<string, Text>;

/** A name from one of the tables above; an unknown name (a newer state or kind) is shown as it is. */
export function labelOf(table: Readonly<Record<string, Text>>, name: string): Text {
  return Object.hasOwn(table, name) ? table[name]! : asIs(name);
}

function isText(v: unknown): v is Text {
  return typeof v === 'object' && v !== null && typeof (v as Text).en === 'string' && typeof (v as Text).ja === 'string';
}

/** A stored data.say, checked (rows are read back from the database; anything unexpected is not a Say). */
export function asSay(v: unknown): Say | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as { key?: unknown; values?: unknown };
  if (typeof s.key !== 'string' || !Object.hasOwn(TRAIL_TEXTS, s.key)) return undefined;
  if (s.values !== undefined && (typeof s.values !== 'object' || s.values === null)) return undefined;
  return s as Say;
}

function valueIn(v: unknown, lang: Lang): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (isText(v)) return v[lang];
  const nested = asSay(v);
  if (nested) return renderSay(nested, lang);
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

/** A Say in one language, filled (nested texts rendered in the same language). */
export function renderSay(s: Say, lang: Lang): string {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.values ?? {})) values[k] = valueIn(v, lang);
  return fill(TRAIL_TEXTS[s.key][lang], values);
}

/** A Say in both languages. */
export function sayBoth(s: Say): Text {
  return { en: renderSay(s, 'en'), ja: renderSay(s, 'ja') };
}

/** Notes to keep with a message: each in English, and as trail texts (so its page can show them in Japanese). */
export function notesOf(said: readonly Say[]): { notes: string[]; notesSaid: Say[] } {
  return { notes: said.map((s) => renderSay(s, 'en')), notesSaid: [...said] };
}

/** Any value of a Say in both languages (a plain value reads the same in both). */
export function valueBoth(v: SayValue): Text {
  return { en: valueIn(v, 'en'), ja: valueIn(v, 'ja') };
}

/** A trail entry's line in both languages: from its key and values, or (an entry written before keys) its stored line as it is. */
export function trailLine(e: { text: string; data?: Record<string, unknown> }): Text {
  const s = asSay(e.data?.say);
  return s ? sayBoth(s) : asIs(e.text);
}

/**
 * A message's notes in one language: from the received entry's notesSaid when
 * it matches the notes (same count), else the notes as they were written.
 */
export function notesIn(notes: readonly unknown[], receivedData: Record<string, unknown> | undefined, lang: Lang): { lang: Lang; notes: string[] } {
  const said = Array.isArray(receivedData?.notesSaid) ? receivedData.notesSaid.map(asSay) : [];
  if (said.length === notes.length && said.every((s) => s !== undefined)) return { lang, notes: said.map((s) => renderSay(s!, lang)) };
  return { lang: 'en', notes: notes.map((n) => (typeof n === 'string' ? n : JSON.stringify(n))) };
}

/** Whether a trail entry can be shown in Japanese (it has a key), or only as it was written. */
export function trailHasKey(e: { data?: Record<string, unknown> }): boolean {
  return asSay(e.data?.say) !== undefined;
}
