/**
 * The explanations of a device's refusals and failed handshakes (what the live
 * view of a device's sessions shows: `authrelay device watch`, the console)
 * in both languages: every reply of the relay and every TLS failure, with
 * each listener layout that changes the fix, has a reason and a fix in
 * English and in Japanese; the Japanese reads as Japanese; the listeners the
 * English fix points at are named in the Japanese fix too. The relay's own
 * lines in the live view (connected, TLS established, refused…) exist in both
 * languages with the same placeholders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Replies, SmtpReply } from '../../src/core/smtp-reply.js';
import { explainAuthBeforeTls, explainReply, explainTlsFailure, type ExplainContext, type Explanation, type ListenerHint } from '../../src/receive/explain.js';
import { notJapanese } from '../helpers/japanese.js';
import { placeholdersOf } from '../../src/core/i18n.js';
import { NO_PART, WATCH_TEXTS, watchText } from '../../src/core/watch-texts.js';

const submission: ListenerHint = { name: 'submission', port: 2525, tls: 'starttls', minTlsVersion: 'TLSv1.2', allowInsecureAuth: false };
const smtps: ListenerHint = { name: 'smtps', port: 2465, tls: 'implicit', minTlsVersion: 'TLSv1.2', allowInsecureAuth: false };
const legacy: ListenerHint = { name: 'legacy', port: 2526, tls: 'starttls', minTlsVersion: 'TLSv1', allowInsecureAuth: true };

const contexts: ExplainContext[] = [
  { listener: submission, listeners: [submission] },
  { listener: submission, listeners: [submission, smtps, legacy], device: 'mfp-3f' },
  { listener: smtps, listeners: [submission, smtps] },
];

const replies: SmtpReply[] = [
  Replies.relayDenied('a@contoso.com'), Replies.senderDenied(), Replies.authRequired(), Replies.tlsRequired(),
  Replies.badRecipientSyntax('a%b@contoso.com', 'source routes and %-hacks are refused'), Replies.tooManyRecipients(100),
  Replies.fromNotAllowed('x@contoso.com'), Replies.messageTooBig(1000), Replies.rateLimited(30), Replies.bareLineEnding('a bare LF'),
  Replies.headerTooBig(), Replies.authFailed(), Replies.lockedOut(), Replies.storeFailed(), Replies.shuttingDown(),
  new SmtpReply(421, '4.4.2', 'Timeout'), new SmtpReply(550, '5.0.0', 'Something else'),
];

const tlsErrors = [
  'routines:ssl3_get_record:unsupported protocol', 'routines:ssl3_get_record:wrong version number', 'routines::no shared cipher',
  'routines::tlsv1 alert unknown ca', 'socket hang up',
];

function check(e: Explanation, where: string): void {
  assert.ok(e.reason && e.fix, `${where}: English`);
  assert.ok(e.ja.reason && e.ja.fix, `${where}: Japanese`);
  // The relay's own reply, quoted 「…」 as it was sent, stays as it is.
  assert.equal(notJapanese(e.ja.reason.replace(/「[^」]*」/g, '「」')), undefined, `${where} reason: ${e.ja.reason}`);
  assert.equal(notJapanese(e.ja.fix), undefined, `${where} fix: ${e.ja.fix}`);
  // A listener the English fix points at ("port 2465 (listener smtps)") is in the Japanese fix too.
  for (const m of e.fix.matchAll(/port (\d+) \(listener ([^\s)]+)\)/g)) assert.ok(e.ja.fix.includes(`ポート ${m[1]} (リスナー ${m[2]})`), `${where}: ${e.ja.fix}`);
  if (e.fix.includes('mfp-3f')) assert.ok(e.ja.fix.includes('mfp-3f'), where);
}

test('every refusal, login before TLS and TLS failure is explained in English and Japanese', () => {
  let n = 0;
  const refs = new Set<string>();
  for (const c of contexts) {
    for (const r of replies) {
      const e = explainReply(r, c);
      check(e, `${e.ref} on ${c.listener.name}`);
      refs.add(e.ref);
      n++;
    }
    check(explainAuthBeforeTls(c), `authBeforeTls on ${c.listener.name}`);
    for (const m of tlsErrors) {
      const e = explainTlsFailure(m, c);
      check(e, `${e.ref} on ${c.listener.name}`);
      refs.add(e.ref);
    }
  }
  assert.ok(refs.size >= 20, `${refs.size} explanations: ${[...refs].join(', ')}`);
  assert.ok(n > 0);
  const e = explainReply(Replies.authFailed(), contexts[1]!);
  assert.equal(e.ja.fix, 'デバイス mfp-3f のユーザー名とパスワードを、追加したときに表示されたとおりに入力し直してください (大文字と小文字は区別されます)。または新しいパスワードを発行し ([デバイス] → [パスワードを再設定])、それを入力してください。');
});

test('the relay\'s own lines in the live view of sessions: both languages, the same placeholders, Japanese that reads as Japanese', () => {
  for (const [key, text] of Object.entries(WATCH_TEXTS)) {
    assert.deepEqual(placeholdersOf(text.ja), placeholdersOf(text.en), key);
    assert.equal(notJapanese(text.ja), undefined, `${key}: ${text.ja}`);
  }
  const line = watchText('connect', {
    ip: '10.0.0.7', proxy: watchText('connect.proxy', { lb: 'haproxy' }), listener: 'submission', mode: watchText('connect.starttls'),
    trusted: watchText('connect.trusted', { device: 'mfp-3f' }),
  });
  assert.equal(line.en, 'connected from 10.0.0.7 (through load balancer haproxy) to listener submission (STARTTLS offered): device mfp-3f by its trusted network');
  assert.equal(line.ja, '10.0.0.7 (ロード バランサー haproxy 経由) からリスナー submission に接続しました (STARTTLS を提示): 信頼済みネットワークによりデバイス mfp-3f');
  assert.deepEqual(watchText('tls', { version: 'TLSv1.3', cipher: NO_PART }), { en: 'TLS established: TLSv1.3', ja: 'TLS を確立しました: TLSv1.3' });
});
