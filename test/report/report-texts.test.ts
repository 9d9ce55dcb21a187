/**
 * Notices and alerts in two languages: every text has English and Japanese
 * with the same {placeholders}, the Japanese reads as Japanese; the language
 * setting's default (both when the console's language or the relay's locale
 * is Japanese) is resolved once per configuration; alert e-mails and the
 * webhook carry the Japanese.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.js';
import { placeholdersOf, renderBoth, type Text } from '../../src/core/i18n.js';
import { NOTICE_TEXT } from '../../src/report/notice-texts.js';
import { ALERT_MAIL_TEXT, ALERT_TEXT } from '../../src/report/alert-texts.js';
import { noticeSubject, noticeText } from '../../src/report/notices.js';
import { alertEmail, webhookPayload, type Alert } from '../../src/report/alert-channels.js';
import { defaultReportLanguage, reportLanguageResolver } from '../../src/report/report-language.js';
import { notJapanese } from '../helpers/japanese.js';

const TABLES: Record<string, Record<string, Text>> = { NOTICE_TEXT, ALERT_TEXT, ALERT_MAIL_TEXT };

test('every notice and alert text has English and Japanese with the same placeholders; the Japanese is Japanese', () => {
  let count = 0;
  const problems: string[] = [];
  for (const [table, texts] of Object.entries(TABLES)) {
    for (const [name, t] of Object.entries(texts)) {
      count++;
      if (!t.en?.trim() || !t.ja?.trim()) problems.push(`${table}.${name}: a language is missing`);
      if (placeholdersOf(t.en).join() !== placeholdersOf(t.ja).join()) problems.push(`${table}.${name}: placeholders differ (${placeholdersOf(t.en).join()} / ${placeholdersOf(t.ja).join()})`);
      const wrong = notJapanese(t.ja);
      if (wrong) problems.push(`${table}.${name}: ${wrong}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.equal(count, Object.keys(NOTICE_TEXT).length + Object.keys(ALERT_TEXT).length + Object.keys(ALERT_MAIL_TEXT).length);
  assert.ok(count >= 40, `${count} texts`);
});

const config = (raw: Record<string, unknown> = {}) => validateConfig(raw, { env: {} }, '/tmp');

test('notices.language and alerts.language: the setting wins; absent, both when the locale is Japanese, else en; alerts follow notices', () => {
  assert.equal(defaultReportLanguage(undefined, 'ja'), 'both');
  assert.equal(defaultReportLanguage('ja', 'en'), 'both', "the console's default language counts as much as the locale");
  assert.equal(defaultReportLanguage('en', undefined), 'en');
  assert.equal(defaultReportLanguage(undefined, undefined), 'en');

  const japanese = reportLanguageResolver({ LANG: 'ja_JP.UTF-8' });
  assert.deepEqual(japanese(config()), { notices: 'both', alerts: 'both' });
  assert.deepEqual(japanese(config({ notices: { language: 'ja' } })), { notices: 'ja', alerts: 'ja' }, 'alerts.language absent: as notices.language');
  assert.deepEqual(japanese(config({ notices: { language: 'en' }, alerts: { language: 'both' } })), { notices: 'en', alerts: 'both' });
  assert.deepEqual(reportLanguageResolver({ LANG: 'ja_JP.UTF-8', LC_ALL: 'C' })(config()), { notices: 'en', alerts: 'en' }, 'LC_ALL overrides LANG');
  assert.deepEqual(reportLanguageResolver({ LC_MESSAGES: 'ja_JP.UTF-8', LANG: 'en_US.UTF-8' })(config()), { notices: 'both', alerts: 'both' });
  assert.deepEqual(reportLanguageResolver({ LANG: 'C.UTF-8' })(config()), { notices: 'en', alerts: 'en' });
  assert.deepEqual(reportLanguageResolver({})(config()), { notices: 'en', alerts: 'en' });

  // Resolved once per configuration version: the same frozen Config gives the same object.
  const c = config();
  assert.equal(japanese(c), japanese(c));
  assert.throws(() => config({ notices: { language: 'fr' } }), /language/);
});

const failedOutcome = {
  recipient: 'nobody@contoso.com',
  outcome: {
    action: 'fail' as const, category: 'bad-recipient', code: 550, enhancedCode: '5.1.1', response: '550 5.1.1 User unknown', ref: 'generic.bad-recipient',
    hint: 'The upstream says the recipient address does not exist.', fix: 'Check the recipient address for typos.',
    ja: { hint: '宛先アドレスが存在しません。', fix: '宛先アドレスに入力ミスがないか確認してください。' },
  },
};

test('a notice in each language: the Subject and the text', () => {
  const facts = { host: 'relay.test', id: 'Q1', reason: 'rejected', failed: [failedOutcome], subject: 'スキャン 42' };
  assert.equal(noticeSubject('en', 'スキャン 42'), 'Undelivered mail: スキャン 42');
  assert.equal(noticeSubject('ja', undefined), '配信できなかったメール');
  assert.equal(noticeSubject('both', 'Scan 42'), '配信できなかったメール / Undelivered mail: Scan 42');
  const en = noticeText('en', facts);
  assert.match(en, /What it means: The upstream says the recipient address does not exist\./);
  assert.doesNotMatch(en, /意味|対処方法|配信/, 'only the original subject is in Japanese');
  const ja = noticeText('ja', facts);
  assert.match(ja, /^relay\.test のメール中継サーバー \(authrelay\) からのお知らせです。\r\n/);
  assert.match(ja, /^ {4}意味: 宛先アドレスが存在しません。\r$/m);
  assert.match(ja, /^ {4}対処方法: 宛先アドレスに入力ミスがないか確認してください。\r$/m);
  assert.match(ja, /^ {4}サーバーの応答: 550 5\.1\.1 User unknown\r$/m);
  assert.match(ja, /キュー ID: Q1。件名: スキャン 42。/);
  assert.doesNotMatch(ja, /What it means|What to do/);
  const both = noticeText('both', facts);
  assert.ok(both.indexOf('意味:') < both.indexOf('What it means:'), 'Japanese first');
  assert.ok(both.startsWith(ja.trimEnd()) && both.trimEnd().endsWith(en.trimEnd()), 'each language complete on its own');
  // Without the catalogue's Japanese the English explanation stands in (better than nothing).
  const noJa = noticeText('ja', { ...facts, failed: [{ ...failedOutcome, outcome: { ...failedOutcome.outcome, ja: undefined } }] });
  assert.match(noJa, /意味: The upstream says/);
});

test('alerts: the webhook keeps its English fields and adds ja; the e-mail is in the chosen language(s)', () => {
  const summary = renderBoth(ALERT_TEXT.queueDepth, { waiting: 12, threshold: 10 });
  const fix = renderBoth(ALERT_TEXT.renewSecret);
  const alert: Alert = {
    key: 'queue-depth', condition: 'queue-depth', status: 'firing', summary: summary.en, texts: { summary, fix },
    details: { waiting: 12, threshold: 10, fix: fix.en }, at: Date.parse('2026-12-06T10:00:00Z'),
  };
  const payload = webhookPayload(alert, 'relay.test');
  assert.equal(payload.summary, '12 messages are waiting (more than 10)');
  assert.deepEqual(payload.details, alert.details);
  assert.deepEqual(payload.ja, { summary: '配信待ちのメッセージが 12 件あります (しきい値 10 件を超えています)', fix: fix.ja });

  const en = alertEmail(alert, 'relay.test', 'en');
  assert.equal(en.subject, '[authrelay] ALERT: 12 messages are waiting (more than 10)');
  assert.doesNotMatch(en.text, /[\u3040-\u30ff\u4e00-\u9fff]/);
  const ja = alertEmail(alert, 'relay.test', 'ja');
  assert.equal(ja.subject, '[authrelay] 警告: 配信待ちのメッセージが 12 件あります (しきい値 10 件を超えています)');
  assert.match(ja.text, /^メール中継サーバー relay\.test で対応が必要です:\r\n/);
  assert.match(ja.text, /^対処方法: Microsoft Entra 管理センター/m);
  assert.match(ja.text, /^waiting: 12\r$/m, 'the details follow as data');
  const both = alertEmail(alert, 'relay.test', 'both');
  assert.equal(both.subject, '[authrelay] 警告: 配信待ちのメッセージが 12 件あります (しきい値 10 件を超えています) / ALERT: 12 messages are waiting (more than 10)');
  assert.ok(both.text.indexOf('対処方法:') < both.text.indexOf('What to do:'));
  assert.equal(both.text.match(/^waiting: 12\r$/gm)?.length, 1, 'the details once');
});
