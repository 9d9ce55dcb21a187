/**
 * The message search by subject finds what a person reads, not only what
 * crossed the wire: a message whose Japanese Subject is sent over real SMTP
 * as MIME encoded-words (=?UTF-8?B?...?=) is found by the Japanese words typed
 * into the search, on the SQLite store and on the PostgreSQL store; an
 * ASCII subject is still found as before, and a word in neither is not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigInput } from '../../src/config/schema.js';
import { startUpstream } from '../helpers/upstream.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { usePostgres } from '../helpers/postgres.js';
import { call, setUpAndSignIn } from './api-client.js';

const JAPANESE_SUBJECT = '請求書 3月分 スキャン (経理部)';

async function searchJapaneseSubject(store: ConfigInput['store'] | undefined): Promise<void> {
  const up = await startUpstream();
  const relay = await startRelay({ upstreams: { up: smtpUpstream(up.port) }, notices: { toSender: false }, ...(store ? { store } : {}) });
  try {
    const auth = await setUpAndSignIn(relay);
    const ja = await sendMail(relay, { subject: JAPANESE_SUBJECT, to: ['alice@contoso.com'] });
    const en = await sendMail(relay, { subject: 'Invoice March', to: ['bob@contoso.com'] });
    await relay.waitFor(ja, ['delivered']);
    await relay.waitFor(en, ['delivered']);
    // The Subject crossed the wire encoded: the words typed are not in it as received.
    const stored = (await relay.store.get(ja))!.subject ?? '';
    assert.match(stored, /=\?UTF-8\?[BQ]\?/i, stored);
    assert.ok(!stored.includes('請求書'), stored);

    const ids = async (words: string) => {
      const r = await call(relay, 'GET', `/messages?subject=${encodeURIComponent(words)}`, { auth });
      assert.equal(r.status, 200, `${words}: ${JSON.stringify(r.json)}`);
      return (r.json.messages as { id: string }[]).map((m) => m.id).sort();
    };
    assert.deepEqual(await ids('請求書'), [ja], 'the Japanese word of the decoded subject');
    assert.deepEqual(await ids('3月分 スキャン'), [ja], 'words across the encoded-words');
    assert.deepEqual(await ids('経理部'), [ja]);
    assert.deepEqual(await ids('invoice'), [en], 'an ASCII subject as before');
    assert.deepEqual(await ids('納品書'), [], 'words in no subject');
    // The page shows the decoded subject it was found by.
    const one = await call(relay, 'GET', `/messages/${ja}`, { auth });
    assert.equal(one.status, 200);
    assert.equal(one.json.subject, JAPANESE_SUBJECT);
  } finally {
    await relay.close();
    await up.close();
  }
}

test('SQLite store: a Japanese subject sent as encoded-words is found by its Japanese words', { timeout: 60_000 }, async () => {
  await searchJapaneseSubject(undefined);
});

describe('PostgreSQL store', () => {
  const pg = usePostgres();
  test('a Japanese subject sent as encoded-words is found by its Japanese words', { timeout: 90_000 }, async () => {
    const server = pg.get();
    const db = await server.createDatabase('subject_search');
    await searchJapaneseSubject({ type: 'postgres', url: server.url(db) });
  });
});
