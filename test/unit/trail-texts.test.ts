/**
 * The trail's texts and the queue states' names in both languages: every text
 * has English and Japanese with the same {placeholders}, the Japanese reads as
 * Japanese (no English sentence left), the English has no Japanese in it; the
 * console's own names for states and trail kinds (i18n/*.json) are the same
 * words; entries render from their key and values, nested parts in the same
 * language, and an entry without a key (written before the trail had keys)
 * reads as it was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fill, placeholdersOf, type Text } from '../../src/core/i18n.js';
import {
  asSay, labelOf, MESSAGE_STATE_TEXTS, notesIn, RECIPIENT_STATE_TEXTS, renderSay, say, TRAIL_KIND_TEXTS, TRAIL_TEXTS, trailHasKey, trailLine, valueBoth,
} from '../../src/core/trail-texts.js';
import { MESSAGE_STATES } from '../../src/spool/store.js';
import { receivedEvent, routedEvent } from '../../src/spool/trail-events.js';
import { notJapanese } from '../helpers/japanese.js';
import { effectiveRoutes } from '../../src/root/snapshot.js';
import type { Config } from '../../src/config/schema.js';

const TABLES: Record<string, Readonly<Record<string, Text>>> = {
  trail: TRAIL_TEXTS, 'trail kind': TRAIL_KIND_TEXTS, 'message state': MESSAGE_STATE_TEXTS, 'recipient state': RECIPIENT_STATE_TEXTS,
};

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

test('every trail text and state name has English and Japanese with the same placeholders; the Japanese is Japanese', () => {
  let n = 0;
  for (const [table, texts] of Object.entries(TABLES)) {
    for (const [key, text] of Object.entries(texts)) {
      n++;
      const where = `${table} ${key}`;
      assert.ok(text.en.trim() && text.ja.trim(), `${where}: both languages`);
      assert.deepEqual(placeholdersOf(text.ja), placeholdersOf(text.en), `${where}: the same placeholders`);
      assert.equal(notJapanese(text.ja), undefined, `${where}: ${JSON.stringify(text.ja)}`);
      assert.ok(!JAPANESE.test(text.en), `${where}: no Japanese in the English`);
    }
  }
  assert.ok(n >= 50, `${n} texts`);
});

test('every message state has a name; the console shows the same words for states and trail kinds', () => {
  for (const s of MESSAGE_STATES) assert.ok(Object.hasOwn(MESSAGE_STATE_TEXTS, s), s);
  for (const lang of ['en', 'ja'] as const) {
    const dict = JSON.parse(readFileSync(join(process.cwd(), 'src/admin/console/i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
    for (const [s, t] of Object.entries(MESSAGE_STATE_TEXTS)) assert.equal(dict[`state.${s}`], t[lang], `${lang} state.${s}`);
    for (const [s, t] of Object.entries(RECIPIENT_STATE_TEXTS)) assert.equal(dict[`rstate.${s}`], t[lang], `${lang} rstate.${s}`);
    for (const [k, t] of Object.entries(TRAIL_KIND_TEXTS)) assert.equal(dict[`trail.${k}`], t[lang], `${lang} trail.${k}`);
  }
  assert.deepEqual(labelOf(MESSAGE_STATE_TEXTS, 'failed'), { en: 'failed', ja: '失敗' });
  assert.deepEqual(labelOf(MESSAGE_STATE_TEXTS, 'someday'), { en: 'someday', ja: 'someday' }, 'an unknown name as it is');
});

test('an entry renders from its key and values in either language, nested parts included', () => {
  const received = receivedEvent({
    id: 'm1', receivedAt: 0, expiresAt: 1, sender: 's@contoso.com', recipients: ['a@contoso.com'], size: 467, configVersion: '3',
    origin: { device: 'mfp-3f', clientIp: '10.0.0.7', listener: 'submission', tlsVersion: 'TLSv1.3', authUser: 'scan', authMechanism: 'LOGIN' },
  }, 'm0');
  assert.equal(received.text, 'received 467 bytes from mfp-3f at 10.0.0.7 on listener submission over TLSv1.3 as scan (LOGIN) under configuration 3; split from m0');
  assert.deepEqual(trailLine(received), {
    en: received.text,
    ja: 'mfp-3f (10.0.0.7) からリスナー submission で 467 バイトを受信しました (TLSv1.3 で暗号化、scan として認証 (LOGIN)、構成 3)。m0 から分割しました',
  });
  assert.equal(received.data.size, 467, 'the facts stay in the data');
  const plain = receivedEvent({
    id: 'm2', receivedAt: 0, expiresAt: 1, sender: '', recipients: ['a@contoso.com'], size: 9, origin: { device: null, clientIp: '127.0.0.1', listener: 'alerts' },
  });
  assert.deepEqual(trailLine(plain), {
    en: 'received 9 bytes from the relay itself at 127.0.0.1 on listener alerts without TLS without AUTH',
    ja: 'リレー自身 (127.0.0.1) からリスナー alerts で 9 バイトを受信しました (TLS なし、AUTH なし)',
  });
  assert.equal(trailLine(routedEvent('m365', ['a@contoso.com', 'b@contoso.com'], 'scanners')).ja, 'm365 にルーティングしました (ルール scanners): a@contoso.com, b@contoso.com');
  // The rules the relay makes up when none are configured read in Japanese too.
  for (const upstreams of [{ m365: {} }, { m365: {}, relay: {} }]) {
    const [rule] = effectiveRoutes({ upstreams, routes: [] } as unknown as Config);
    assert.equal(notJapanese(trailLine(routedEvent(rule!.use[0]!, ['a@contoso.com'], rule!.name)).ja.replace(/^\S+ /, '')), undefined, rule!.name);
  }
  // A catalogue explanation (a text in both languages) as a value, inside another trail text.
  const out = say('reroute', { reason: say('reroute.upstreamOut', { upstream: 'm365', reason: { en: 'The app lacks Mail.Send.', ja: 'アプリに Mail.Send がありません。' } }) });
  assert.equal(renderSay(out, 'en'), 'routed again: m365 cannot take mail now (The app lacks Mail.Send.); routed to the next upstream of the route');
  assert.equal(renderSay(out, 'ja'), 'ルーティングし直しました: m365 は現在メールを受け付けられません (アプリに Mail.Send がありません。)。ルートの次のアップストリームに回しました');
  assert.deepEqual(valueBoth('421 4.3.2 Service not available'), { en: '421 4.3.2 Service not available', ja: '421 4.3.2 Service not available' });
  assert.deepEqual(valueBoth(say('reroute.noAnswer')), { en: 'no answer', ja: '応答なし' });
});

test('a message\'s notes in either language from the received entry; notes from before read as written', () => {
  const notesSaid = [say('note.fromRewritten', { from: 'scan@printer.local', to: 'scanner@contoso.com' }), say('note.bccRemoved')];
  const notes = notesSaid.map((s) => renderSay(s, 'en'));
  assert.deepEqual(notes, ['From header scan@printer.local rewritten to scanner@contoso.com (original kept in Reply-To)', 'Bcc header removed (its recipients stay in the envelope)']);
  const received = receivedEvent({
    id: 'm1', receivedAt: 0, expiresAt: 1, sender: 's@contoso.com', recipients: ['a@contoso.com'], size: 1, notes, notesSaid,
    origin: { device: 'mfp-3f', clientIp: '10.0.0.7', listener: 'main' },
  });
  assert.deepEqual(notesIn(notes, received.data, 'ja'), {
    lang: 'ja', notes: ['From ヘッダーの scan@printer.local を scanner@contoso.com に書き換えました (元のアドレスは Reply-To に残しています)', 'Bcc ヘッダーを削除しました (その宛先はエンベロープに残っています)'],
  });
  assert.deepEqual(notesIn(notes, received.data, 'en'), { lang: 'en', notes });
  assert.deepEqual(notesIn(notes, { notes }, 'ja'), { lang: 'en', notes }, 'a message accepted before notes had keys');
});

test('an entry without a key, or with a key this version does not know, reads as it was written', () => {
  const old = { text: 'received 467 bytes from mfp-3f at 10.0.0.7 on listener submission over TLSv1.3 as scan (LOGIN)', data: { size: 467 } };
  assert.deepEqual(trailLine(old), { en: old.text, ja: old.text });
  assert.equal(trailHasKey(old), false);
  assert.deepEqual(trailLine({ text: 'queued again by cli (root)' }), { en: 'queued again by cli (root)', ja: 'queued again by cli (root)' });
  assert.equal(asSay({ key: 'attempt.teleported', values: {} }), undefined);
  assert.deepEqual(trailLine({ text: 'teleported', data: { say: { key: 'attempt.teleported' } } }).ja, 'teleported');
  assert.equal(trailHasKey({ data: { say: say('attempt.accepted') } }), true);
});

test('fill: each {name} takes its value, one without a value stays as it is, anything else is left alone', () => {
  assert.equal(fill('{n} of {total} sent, {n} left', { n: 3, total: 10 }), '3 of 10 sent, 3 left');
  assert.equal(fill('to {user} via {route}', { user: 'alice' }), 'to alice via {route}');
  assert.equal(fill('{} {1x} {x-y} { x } {', { x: 'no' }), '{} {1x} {x-y} { x } {');
  assert.equal(fill('no placeholders'), 'no placeholders');
  assert.equal(fill('{a}{b}', { a: '{b}', b: '' }), '{b}', 'a value is not filled again');
  assert.equal(fill('{a}', { a: 0 }), '0');
});
