/**
 * /api/v1/messages in the language asked for: a message refused by Postfix's
 * smtp-sink (550 5.1.1 at RCPT TO, Postfix's own wording) read with Accept-Language ja, en and none. The
 * English fields stay as they were; `localized` carries the explanation, the
 * state names and the trail in the language asked for, the catalogue's `ref`
 * is always there, Content-Language says the language; a trail entry written
 * before the trail had keys reads as it was written (lang en); a Subject in
 * MIME encoded words reads decoded; the notes on a queued notice and alert
 * e-mail read in the language asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allNotices, noticeAbout, sendMail, smtpUpstream, startRelay, waitUntil } from '../helpers/delivery.js';
import { startUpstream } from '../helpers/upstream.js';
import type { QueuedMessage } from '../../src/spool/store.js';
import { startSmtpSink } from '../helpers/tools.js';
import { notJapanese } from '../helpers/japanese.js';
import { call, setUpAndSignIn } from './api-client.js';

interface Localized { lang: string; hint: string | null; fix: string | null; ref: string | null }
interface Outcome { hint?: string; fix?: string; ref?: string; ja?: { hint?: string; fix?: string }; response?: string; localized: Localized }
const list0 = (r: { json: { messages: { subject: string }[] } }) => r.json.messages[0]!;
interface TrailView { kind: string; text: string; data?: { say?: unknown }; localized: { lang: string; kind: string; text: string } }

test('Accept-Language ja / en: explanation, state names and trail in the language asked for, the ref always, the English fields unchanged', async () => {
  const sink = await startSmtpSink(['-f', 'RCPT', '-B', '550 5.1.1 <bob@fabrikam.com>: Recipient address rejected: User unknown in virtual mailbox table']);
  const relay = await startRelay({ upstreams: { sink: smtpUpstream(sink.port) }, devices: [{ name: 'mfp-3f', networks: ['127.0.0.1/32'], sendAs: 'scanner@contoso.com' }], notices: { toSender: false } });
  try {
    const auth = await setUpAndSignIn(relay);
    // The device writes a From of its own: the relay rewrites it to the device's sendAs and notes that.
    const id = await sendMail(relay, { from: 'MFP 3F <mfp-3f@printer.local>', subject: 'スキャン', to: ['bob@fabrikam.com'] });
    await relay.waitFor(id, ['failed']);
    await relay.store.addEvent(id, { at: Date.now(), kind: 'notice', text: 'a line written before the trail had keys' });

    const ja = await call(relay, 'GET', `/messages/${id}`, { auth, headers: { 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.8' } });
    const en = await call(relay, 'GET', `/messages/${id}`, { auth, headers: { 'accept-language': 'en-GB,en;q=0.9' } });
    const none = await call(relay, 'GET', `/messages/${id}`, { auth });
    assert.equal(ja.status, 200);
    assert.equal(ja.headers.get('content-language'), 'ja');
    assert.equal(en.headers.get('content-language'), 'en');
    assert.equal(none.headers.get('content-language'), 'en', 'English when nothing is asked for');
    assert.match(ja.headers.get('vary') ?? '', /Accept-Language/i);

    // The explanation: smtp-sink's 550 is explained by a generic catalogue entry that has Japanese.
    const oj = ja.json.recipients[0].outcome as Outcome;
    const oe = en.json.recipients[0].outcome as Outcome;
    assert.match(oj.response ?? '', /^550 /);
    assert.match(oj.ref ?? '', /^generic\./);
    assert.ok(oj.ja?.hint && oj.ja.fix, `the catalogue entry ${oj.ref} has Japanese`);
    assert.deepEqual(oj.localized, { lang: 'ja', hint: oj.ja.hint, fix: oj.ja.fix, ref: oj.ref });
    assert.equal(notJapanese(oj.localized.hint!), undefined);
    assert.deepEqual(oe.localized, { lang: 'en', hint: oe.hint, fix: oe.fix, ref: oe.ref });
    assert.equal(oj.hint, oe.hint, 'the English hint stays in hint whatever is asked');
    assert.equal(oj.fix, oe.fix);
    assert.equal(ja.json.lastError.localized.hint, oj.ja.hint, 'the message\'s last error too');
    assert.equal(ja.json.lastError.localized.ref, oj.ref);

    // The Subject as a person reads it (nodemailer sent it as MIME encoded words).
    assert.equal(ja.json.subject, 'スキャン');
    assert.equal(list0(await call(relay, 'GET', '/messages', { auth })).subject, 'スキャン');

    // The notes made at acceptance: English as before, Japanese beside.
    assert.ok(ja.json.notes.includes('From header mfp-3f@printer.local rewritten to scanner@contoso.com (original kept in Reply-To)'), JSON.stringify(ja.json.notes));
    assert.deepEqual(en.json.localized.notes, en.json.notes);
    assert.equal(ja.json.localized.notesLang, 'ja');
    assert.equal(ja.json.localized.notes.length, ja.json.notes.length);
    assert.ok(ja.json.localized.notes.includes('From ヘッダーの mfp-3f@printer.local を scanner@contoso.com に書き換えました (元のアドレスは Reply-To に残しています)'));
    for (const n of ja.json.localized.notes as string[]) assert.equal(notJapanese(n), undefined, n);

    // State names.
    assert.equal(ja.json.state, 'failed');
    assert.deepEqual([ja.json.localized.lang, ja.json.localized.state], ['ja', '失敗']);
    assert.deepEqual([en.json.localized.lang, en.json.localized.state], ['en', 'failed']);
    assert.deepEqual(ja.json.recipients[0].localized, { lang: 'ja', state: '失敗' });

    // The trail: the same English text as before, the line in the language asked for beside it.
    const tj = ja.json.trail as TrailView[];
    const te = en.json.trail as TrailView[];
    assert.deepEqual(tj.map((e) => e.kind), ['received', 'routed', 'attempt', 'notice']);
    assert.deepEqual(tj.map((e) => e.text), te.map((e) => e.text));
    assert.match(tj[0]!.text, /^received \d+ bytes from mfp-3f at 127\.0\.0\.1 on listener /);
    assert.match(tj[0]!.localized.text, /^mfp-3f \(127\.0\.0\.1\) からリスナー \S+ で \d+ バイトを受信しました/);
    assert.match(tj[1]!.localized.text, /^sink にルーティングしました( \(.+\))?: bob@fabrikam\.com$/);
    assert.match(tj[2]!.localized.text, /^sink 経由の配送に失敗しました: 550 /);
    assert.deepEqual(tj.slice(0, 3).map((e) => [e.localized.lang, e.localized.kind]), [['ja', '受信'], ['ja', 'ルーティング'], ['ja', '配送試行']]);
    for (const e of tj.slice(0, 3)) assert.equal(notJapanese(e.localized.text.replace(/: 550 .*$/, '')), undefined, e.localized.text);
    assert.deepEqual(te.slice(0, 3).map((e) => e.localized.text), te.slice(0, 3).map((e) => e.text), 'in English the line is the stored text');
    assert.deepEqual(tj[3]!.localized, { lang: 'en', kind: '通知', text: 'a line written before the trail had keys' }, 'an old line reads as written');
    assert.ok(tj[2]!.data?.say, 'the entry keeps its text key and values');

    // The list answers in the language asked for too.
    const list = await call(relay, 'GET', '/messages?state=failed', { auth, headers: { 'accept-language': 'ja' } });
    assert.deepEqual(list.json.messages[0].localized, { lang: 'ja', state: '失敗' }, 'the list has no notes');
    assert.equal(list.json.messages[0].lastError.localized.lang, 'ja');
    assert.equal(list.json.messages[0].lastError.localized.ref, oj.ref);
  } finally {
    await relay.close();
    await sink.stop();
  }
});

test('the notes on a queued non-delivery notice and alert e-mail: English as stored, Japanese when asked for', async () => {
  const up = await startUpstream();
  up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('bob@') ? { code: 550, message: '5.1.1 User unknown' } : undefined);
  const relay = await startRelay({
    upstreams: { up: smtpUpstream(up.port) }, notices: { toSender: false, admin: 'it@contoso.com' },
    alerts: { email: { to: 'alerts@contoso.com' }, checkInterval: '100ms' },
  });
  try {
    const auth = await setUpAndSignIn(relay);
    const id = await sendMail(relay, { subject: 'Scan', to: ['bob@contoso.com'] });
    await relay.waitFor(id, ['failed']);
    const notice = await noticeAbout(relay, id);
    let alert: QueuedMessage | undefined;
    await waitUntil('the alert e-mail', async () => Boolean((alert = (await allNotices(relay)).find((m) => m.origin.listener === 'alert'))));
    const read = async (m: QueuedMessage, lang: string) => {
      const r = await call(relay, 'GET', `/messages/${m.id}`, { auth, headers: { 'accept-language': lang } });
      assert.equal(r.status, 200);
      return r.json as { notes: string[]; localized: { notes: string[]; notesLang: string } };
    };
    const nJa = await read(notice, 'ja');
    assert.deepEqual(nJa.notes, [`non-delivery notice for ${id}`], 'the English note as it always was');
    assert.deepEqual([nJa.localized.notesLang, nJa.localized.notes], ['ja', [`${id} の配信不能通知`]]);
    const nEn = await read(notice, 'en');
    assert.deepEqual(nEn.localized.notes, [`non-delivery notice for ${id}`]);
    const aJa = await read(alert!, 'ja');
    assert.deepEqual(aJa.notes, ['alert failed-messages:up (firing)']);
    assert.deepEqual(aJa.localized.notes, ['アラート failed-messages:up (発生中)']);
    for (const n of [...nJa.localized.notes, ...aJa.localized.notes]) assert.equal(notJapanese(n), undefined, n);
  } finally {
    await relay.close();
    await up.close();
  }
});
