/**
 * The words of a non-delivery notice (notices.ts) in English and Japanese,
 * with the same {placeholders} in both. The explanation of each failure comes
 * from the error catalogue (a DeliveryOutcome's hint and fix, and their `ja`);
 * the upstream's reply is quoted as received in both languages.
 */
import type { Text } from '../core/i18n.js';

export const NOTICE_TEXT = {
  /** The Subject; the original subject follows after ": " when there is one, both languages joined by " / ". */
  subject: { en: 'Undelivered mail', ja: '配信できなかったメール' },
  intro: {
    en: 'This is the authrelay mail relay at {host}.',
    ja: '{host} のメール中継サーバー (authrelay) からのお知らせです。',
  },
  expired: {
    en: 'Your message could not be delivered within the time the relay keeps trying, and it has been given up for these recipients:',
    ja: 'お送りいただいたメッセージは、リレーが再試行を続ける期間内に次の宛先へ配信できなかったため、配信を中止しました:',
  },
  rejected: {
    en: 'Your message was refused for these recipients and will not be retried:',
    ja: 'お送りいただいたメッセージは次の宛先で受け取りを拒否されました。再試行は行いません:',
  },
  reply: { en: 'Reply: {reply}', ja: 'サーバーの応答: {reply}' },
  meaning: { en: 'What it means: {hint}', ja: '意味: {hint}' },
  whatToDo: { en: 'What to do: {fix}', ja: '対処方法: {fix}' },
  reference: { en: 'Reference: {ref} (authrelay docs/errors.md)', ja: '参照: {ref} (authrelay の docs/ja/errors.md)' },
  forward: {
    en: 'If you are not the one who manages this relay or your Microsoft 365 organisation, forward this notice to your IT contact: the fix above is for them.',
    ja: 'このリレーや Microsoft 365 の組織を管理していない方は、この通知を社内の IT 担当者に転送してください。上記の対処方法は管理者向けです。',
  },
  queued: { en: 'Queue ID: {id}. Subject: {subject}.', ja: 'キュー ID: {id}。件名: {subject}。' },
  noSubject: { en: '(none)', ja: '(なし)' },
  retry: {
    en: 'The administrator can retry it with: authrelay queue retry {id}',
    ja: '管理者は次のコマンドで再送できます: authrelay queue retry {id}',
  },
} as const satisfies Record<string, Text>;
