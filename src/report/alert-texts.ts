/**
 * The words of alerts (alerts.ts, alert-channels.ts) in English and Japanese,
 * with the same {placeholders} in both. The English summary is the webhook's
 * `summary` and the log line as before; the Japanese goes in the webhook's
 * `ja` object and in alert e-mails written in Japanese (alerts.language).
 * Values (names, counts, dates, durations such as 5m or 2h, an upstream's
 * reply) are filled in as they are.
 */
import type { Text } from '../core/i18n.js';

/** What each condition says when it is raised or resolved. */
export const ALERT_TEXT = {
  failed: {
    en: 'message {id} failed via {route}: {reply}',
    ja: 'メッセージ {id} を {route} 経由で配信できませんでした: {reply}',
  },
  failedExpired: {
    en: 'message {id} failed via {route} (expired): {reply}',
    ja: 'メッセージ {id} を {route} 経由で期限内に配信できませんでした: {reply}',
  },
  failedCleared: {
    en: 'no failed message is left on {route}',
    ja: '{route} に配信失敗のメッセージは残っていません',
  },
  queueDepth: {
    en: '{waiting} messages are waiting (more than {threshold})',
    ja: '配信待ちのメッセージが {waiting} 件あります (しきい値 {threshold} 件を超えています)',
  },
  queueDepthCleared: {
    en: '{waiting} messages are waiting',
    ja: '配信待ちのメッセージは {waiting} 件です',
  },
  queueAge: {
    en: 'a message has been waiting for {age} (more than {threshold})',
    ja: '{age} 前から配信待ちのメッセージがあります (しきい値 {threshold} を超えています)',
  },
  queueAgeCleared: {
    en: 'no message has been waiting too long',
    ja: '長時間配信待ちのメッセージはありません',
  },
  upstreamDown: {
    en: 'upstream {route} has been unavailable for {duration}',
    ja: 'アップストリーム {route} が {duration} 前から利用できません',
  },
  upstreamUp: {
    en: 'upstream {route} is reachable again',
    ja: 'アップストリーム {route} に再び接続できるようになりました',
  },
  fallback: {
    en: 'running on fallback: {route} cannot take mail ({reason}); messages go to the next upstream of their route',
    ja: 'フォールバック中: {route} がメールを受け付けられません ({reason})。メッセージはルートの次のアップストリームに送られます',
  },
  fallbackCleared: {
    en: 'back on primary: {route} takes mail again',
    ja: 'プライマリに復帰: {route} が再びメールを受け付けています',
  },
  budgetUsed: {
    en: '{mailbox} has used its daily budget ({used} of {limit} recipients in the last 24 hours): its messages wait, or go to the next upstream of their route',
    ja: '{mailbox} が 1 日の送信上限に達しました (過去 24 時間の宛先数 {used}/{limit})。このメールボックスのメッセージは待機するか、ルートの次のアップストリームに送られます',
  },
  budgetNear: {
    en: '{mailbox} has used {pct} % of its daily budget ({used} of {limit} recipients in the last 24 hours)',
    ja: '{mailbox} が 1 日の送信上限の {pct}% に達しました (過去 24 時間の宛先数 {used}/{limit})',
  },
  budgetCleared: {
    en: '{mailbox} is below its daily budget warning again',
    ja: '{mailbox} の送信数が 1 日の送信上限の警告値を下回りました',
  },
  expired: {
    en: '{name} expired on {date}',
    ja: '{name} の有効期限が {date} に切れました',
  },
  expires: {
    en: '{name} expires in {left}',
    ja: '{name} の有効期限まであと {left} です',
  },
  valid: {
    en: '{name} is valid until {date}',
    ja: '{name} は {date} まで有効です',
  },
  renewCertificate: {
    en: 'Renew the certificate, replace the file and restart the relay',
    ja: '証明書を更新してファイルを置き換え、リレーを再起動してください',
  },
  renewSecret: {
    en: 'Make a new client secret in Entra ID, put it in the config with its new expiry date, restart the relay',
    ja: 'Microsoft Entra 管理センターの [アプリの登録] → 対象のアプリ → [証明書とシークレット] → [新しいクライアント シークレット] でシークレットを作成し、その値と新しい有効期限を設定ファイルに記入して、リレーを再起動してください',
  },
} as const satisfies Record<string, Text>;

/** The words of an alert e-mail around the condition's own text. */
export const ALERT_MAIL_TEXT = {
  subjectFiring: { en: '[authrelay] ALERT: {summary}', ja: '[authrelay] 警告: {summary}' },
  subjectResolved: { en: '[authrelay] RESOLVED: {summary}', ja: '[authrelay] 解決: {summary}' },
  headFiring: { en: 'The mail relay {host} needs attention:', ja: 'メール中継サーバー {host} で対応が必要です:' },
  headResolved: { en: 'Resolved on the mail relay {host}:', ja: 'メール中継サーバー {host} で次の問題が解決しました:' },
  meaning: { en: 'What it means: {hint}', ja: '意味: {hint}' },
  whatToDo: { en: 'What to do: {fix}', ja: '対処方法: {fix}' },
  raised: { en: 'Raised as: {summary} (at {at})', ja: '発生時の内容: {summary} ({at})' },
  condition: { en: 'Condition: {key}', ja: '条件: {key}' },
  time: { en: 'Time: {time}', ja: '日時: {time}' },
  once: {
    en: 'You get one message for this condition until it clears.',
    ja: 'この条件についての通知は、解消するまで 1 回だけ送られます。',
  },
} as const satisfies Record<string, Text>;
