/**
 * The relay delivering to a real SMTP upstream that defers and refuses:
 * retries, permanent failures per recipient, RFC 3464 notices (and when none
 * is sent), `queue retry`, and the maximum queue lifetime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { TestRelay } from '../helpers/relay.js';
import { allNotices, attemptsOf, mimeParts, noticeAbout, noticesAbout, sendMail, sleep, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { trailLine } from '../../src/core/trail-texts.js';

async function setup(queue: Record<string, string> = {}): Promise<{ up: TestUpstream; relay: TestRelay; done: () => Promise<void> }> {
  const up = await startUpstream();
  const relay = await startRelay({ upstreams: { relay: smtpUpstream(up.port) }, notices: { admin: 'postmaster@contoso.com', language: 'en' }, queue });
  return { up, relay, done: async () => { await relay.close(); await up.kill(); } };
}

const refuse = (pattern: RegExp, code: number, message: string) =>
  (_n: number, stage: 'rcpt' | 'data', arg: string) => (stage === 'rcpt' && pattern.test(arg) ? { code, message } : undefined);

test('a temporary failure (4xx) then success: delivered on the second attempt, both in the trail', async () => {
  const { up, relay, done } = await setup();
  try {
    let calls = 0;
    up.fault = (_n, stage) => (stage === 'data' && calls++ === 0 ? { code: 451, message: '4.3.0 Temporary local problem' } : undefined);
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    const m = await relay.waitFor(id, ['delivered']);
    assert.equal(m.attempts, 2);
    assert.deepEqual(m.recipientRecords.map((r) => [r.state, r.attempts]), [['delivered', 2]]);
    const trail = await attemptsOf(relay, id);
    assert.equal(trail.length, 2);
    assert.match(trail[0]!.text, /^deferred via relay.*451 4\.3\.0 Temporary local problem/);
    assert.match(trail[1]!.text, /^delivered to 1 recipient\(s\) via relay: 250/);
    assert.ok(trail[1]!.at - trail[0]!.at >= 300, 'the retry waited for the message backoff');
    assert.equal(up.received.length, 1);
    assert.equal((await allNotices(relay)).length, 0, 'no notice for a message that got through');
  } finally {
    await done();
  }
});

test('a permanent failure (5xx): failed at once, an RFC 3464 notice to the sender and the admin', async () => {
  const { up, relay, done } = await setup();
  try {
    up.fault = refuse(/^nobody@/, 550, '5.1.1 <nobody@contoso.com>: Recipient address rejected: User unknown');
    const id = await sendMail(relay, { to: ['nobody@contoso.com'], subject: 'Scan 42' });
    const m = await relay.waitFor(id, ['failed']);
    assert.equal(m.attempts, 1, 'a permanent refusal is not retried');
    assert.equal(m.lastError?.category, 'bad-recipient');
    const notice = await noticeAbout(relay, id);
    assert.equal(notice.kind, 'notice');
    assert.equal(notice.sender, '', 'notices have the null sender');
    assert.deepEqual(notice.recipients, ['scanner@contoso.com', 'postmaster@contoso.com']);
    await relay.waitFor(notice.id, ['delivered']);
    const got = up.received.find((r) => r.from === '');
    assert.ok(got, 'the upstream got the notice with MAIL FROM:<>');
    assert.deepEqual(got.to, ['scanner@contoso.com', 'postmaster@contoso.com']);
    const text = got.data.toString('latin1');
    assert.match(text, /^To: <?scanner@contoso\.com>?\r$/m, 'the header names the sender only');
    assert.ok(!text.slice(0, text.indexOf('\r\n\r\n')).includes('postmaster@contoso.com'), "the admin's address is not shown to the sender");
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    assert.match(text, /^Auto-Submitted: auto-replied/m);
    const parts = mimeParts(text);
    assert.deepEqual(parts.map((p) => /Content-Type: ([^;\r\n]+)/.exec(p.headers)?.[1]), ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    const status = parts[1]!.body;
    assert.match(status, /^Reporting-MTA: dns; relay\.test$/m);
    assert.match(status, /^Final-Recipient: rfc822; nobody@contoso\.com$/m);
    assert.match(status, /^Action: failed$/m);
    assert.match(status, /^Status: 5\.1\.1$/m);
    assert.match(status, /^Diagnostic-Code: smtp; 550 5\.1\.1 <nobody@contoso\.com>: Recipient address rejected/m);
    const original = parts[2]!.body;
    assert.match(original, /^Subject: Scan 42$/m);
    assert.match(original, /^Message-ID: <[^>]+@mfp\.contoso\.com>$/m);
    assert.match(original, /^Received: from .*\r\n\tby relay\.test \(authrelay\)/m);
    assert.ok(!original.includes('Please find the scan'), 'only the headers of the original are returned');
    // English (notices.language: en in setup()), all US-ASCII: the text part goes as it is.
    assert.equal(parts[0]!.headers, 'Content-Type: text/plain; charset=us-ascii');
    const human = parts[0]!.body;
    assert.match(human, new RegExp(`Queue ID: ${id}\\. Subject: Scan 42\\.`));
    assert.match(human, /^ {4}Reply: 550 5\.1\.1 <nobody@contoso\.com>: Recipient address rejected: User unknown\r$/m);
    assert.match(text, /^Subject: Undelivered mail: Scan 42\r$/m);
  } finally {
    await done();
  }
});

test('one recipient refused, one accepted: failed for that recipient only, and the notice names only it', async () => {
  const { up, relay, done } = await setup();
  try {
    up.fault = refuse(/^nobody@/, 550, '5.1.1 User unknown');
    const id = await sendMail(relay, { to: ['alice@contoso.com', 'nobody@contoso.com'] });
    const m = await relay.waitFor(id, ['failed']);
    assert.deepEqual(m.recipientRecords.map((r) => [r.address, r.state]), [['alice@contoso.com', 'delivered'], ['nobody@contoso.com', 'failed']]);
    assert.deepEqual(up.received[0]?.to, ['alice@contoso.com']);
    const notice = await noticeAbout(relay, id);
    await relay.waitFor(notice.id, ['delivered']);
    const report = up.received.find((r) => r.from === '')!.data.toString('latin1');
    assert.equal(report.match(/^Final-Recipient:/gm)?.length, 1);
    assert.match(report, /^Final-Recipient: rfc822; nobody@contoso\.com$/m);
    assert.doesNotMatch(report, /Final-Recipient: rfc822; alice@/);
    assert.equal(up.received.filter((r) => r.to.includes('alice@contoso.com')).length, 1, 'the delivered recipient is not sent the message again');
  } finally {
    await done();
  }
});

test('no notice for a message with the null sender, nor for a notice that fails', async () => {
  const { up, relay, done } = await setup();
  try {
    up.fault = (_n, stage) => (stage === 'rcpt' ? { code: 550, message: '5.7.1 Relaying denied' } : undefined);
    const bounce = await sendMail(relay, { envelope: { from: '', to: ['nobody@fabrikam.com'] } });
    const b = await relay.waitFor(bounce, ['failed']);
    assert.equal(b.sender, '');
    const original = await sendMail(relay, { to: ['nobody@fabrikam.com'] });
    await relay.waitFor(original, ['failed']);
    const notice = await noticeAbout(relay, original);
    await relay.waitFor(notice.id, ['failed']);
    await sleep(500);
    assert.deepEqual((await noticesAbout(relay, bounce)), [], 'no notice about a null-sender message, not even to the admin');
    assert.deepEqual((await allNotices(relay)).map((n) => n.id), [notice.id], 'no notice about the failed notice');
    const skipped = relay.logs.filter((l) => l.event === 'notice-skipped').map((l) => l.id);
    assert.ok(skipped.includes(bounce) && skipped.includes(notice.id));
  } finally {
    await done();
  }
});

test('queue retry: a failed message is delivered once the upstream is fixed', async () => {
  const { up, relay, done } = await setup();
  try {
    up.fault = refuse(/^alice@/, 550, '5.7.1 Client does not have permissions to send as this sender');
    const id = await sendMail(relay, { to: ['alice@contoso.com'] });
    assert.equal((await relay.waitFor(id, ['failed'])).lastError?.category, 'policy');
    up.fault = undefined;
    assert.equal(await relay.store.retry(id, Date.now(), Date.now() + relay.config.queue.maxLifetime, 'test'), true);
    relay.scheduler.wake();
    const m = await relay.waitFor(id, ['delivered']);
    assert.equal(m.attempts, 2);
    assert.ok(up.received.some((r) => r.to.includes('alice@contoso.com')));
    const kinds = (await relay.store.trail(id)).map((e) => e.kind);
    assert.deepEqual(kinds.filter((k) => ['attempt', 'retry', 'routed'].includes(k)), ['routed', 'attempt', 'retry', 'routed', 'attempt']);
  } finally {
    await done();
  }
});

test('the maximum queue lifetime: a message deferred for too long fails as expired, with a notice', async () => {
  const { up, relay, done } = await setup({ maxLifetime: '3s', minBackoff: '400ms', maxBackoff: '800ms' });
  try {
    up.fault = refuse(/^busy@/, 452, '4.2.2 Mailbox full');
    const id = await sendMail(relay, { to: ['busy@contoso.com'] });
    const m = await relay.waitFor(id, ['failed'], 10_000);
    assert.ok(m.attempts >= 3, `${m.attempts} attempts`);
    assert.ok(Date.now() - m.receivedAt >= 3000, 'not given up before the lifetime');
    const last = m.recipientRecords[0]!.last;
    assert.equal(last?.action, 'fail');
    assert.equal(last?.category, 'expired');
    assert.match(last?.hint ?? '', /maximum queue lifetime/);
    assert.match(last?.ja?.hint ?? '', /^キューの最大保持期間を過ぎても配送できなかったため/, 'the meaning in Japanese too');
    assert.equal(last?.response, '452 4.2.2 Mailbox full', 'the last upstream answer is kept');
    const attempts = await attemptsOf(relay, id);
    assert.match(attempts.at(-1)!.text, /expired/);
    assert.match(trailLine(attempts.at(-1)!).ja, /キューの最大保持期間を過ぎました。最後の応答: 452 4\.2\.2 Mailbox full$/);
    assert.ok(attempts.slice(0, -1).every((a) => a.text.startsWith('deferred')));
    const notice = await noticeAbout(relay, id);
    await relay.waitFor(notice.id, ['delivered']);
    const report = up.received.find((r) => r.from === '')!.data.toString('latin1');
    assert.match(report, /could not be delivered within the time the relay keeps trying/);
    assert.match(report, /^Status: 4\.4\.7$/m);
    assert.match(report, /^Final-Recipient: rfc822; busy@contoso\.com$/m);
  } finally {
    await done();
  }
});
