/**
 * `authrelay queue list|show|retry|release|delete` with the real binary,
 * against the spool of a relay without upstreams (every message held by the
 * capture route): human and --json output, the state checks of each action,
 * and the exit codes for unknown ids and impossible actions; and, with an
 * upstream that answers like Exchange Online, the explanation and fix from
 * the error catalogue in `queue show`, the log and the non-delivery notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { cli, cliJson, startRelayProcess, tempDir, until, writeConfig } from '../helpers/relay-process.js';
import { startUpstream } from '../helpers/upstream.js';

interface Summary { id: string; state: string; route: string | null; sender: string; attempts: number; subject: string | null; recipients: { address: string; state: string }[]; lastError: { category?: string; hint?: string } | null }
interface ListJson { counts: Record<string, number>; messages: Summary[] }
interface ShowJson extends Summary { trail: { kind: string; text: string }[]; origin: { device: string; clientIp: string; listener: string } }
type ActJson = { id: string; ok: boolean; reason?: string }[];

async function send(port: number, n: number, to = `admin${n}@example.com`): Promise<string> {
  const w = await SmtpWire.open(port);
  try {
    await w.cmd('EHLO ups.test');
    const r = await sendRaw(w, `ups${n}@device.test`, [to], `From: ups${n}@device.test\r\nSubject: queue ${n}\r\n\r\nbattery low\r\n.\r\n`);
    assert.equal(r.end?.code, 250, JSON.stringify(r));
    return /queued as (\S+)/.exec(r.end.raw)![1]!;
  } finally {
    w.close();
  }
}

test('queue commands on held messages, with the relay running and stopped', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const config = writeConfig(dir, `hostname: relay.test
dataDir: ./data
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
queue: { pollInterval: 100ms }
`);
  const q = (...args: string[]) => cli(['queue', ...args, '--config', config]);
  const qj = <T>(...args: string[]) => cliJson<T>(['queue', ...args, '--config', config]);
  const relay = await startRelayProcess(config);
  let stopped = false;
  try {
    const ids = [await send(relay.port, 1), await send(relay.port, 2), await send(relay.port, 3)];
    const [a, b, c] = ids as [string, string, string];
    await until(async () => ((await qj<ListJson>('list', '--state', 'held')).messages.length === 3 ? true : undefined), 20_000, () => 'messages not held');

    // list --json
    const all = await qj<ListJson>('list');
    assert.deepEqual(all.counts, { incoming: 0, active: 0, deferred: 0, held: 3, delivered: 0, failed: 0 });
    assert.deepEqual(all.messages.map((m) => m.id).sort(), [...ids].sort());
    for (const m of all.messages) {
      assert.equal(m.state, 'held');
      assert.equal(m.route, 'capture');
      assert.equal(m.lastError?.category, 'captured');
      assert.deepEqual(m.recipients.map((r) => r.state), ['held']);
    }
    assert.deepEqual((await qj<ListJson>('list', '--state', 'delivered,failed')).messages, []);
    assert.deepEqual((await qj<ListJson>('list', '--recipient', 'admin2@')).messages.map((m) => m.id), [b]);

    // list, for people
    const human = await q('list');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^Queue: incoming 0, active 0, deferred 0, held 3, delivered 0, failed 0\n\nID\s+STATE\s+RECEIVED\s+DEVICE\s+SENDER/);
    for (const id of ids) assert.match(human.stdout, new RegExp(`\\n${id}\\s+held\\s+\\S+ \\S+\\s+localhost\\s+ups\\d@device\\.test\\s+1\\s+capture\\s+\\d+\\s+held by capture route`));
    const empty = await q('list', '--state', 'failed');
    assert.match(empty.stdout, /No messages match\./);
    assert.equal((await qj<ListJson>('list', '--limit', '1')).messages.length, 1);
    const badLimit = await q('list', '--limit', 'ten');
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /--limit must be a whole number of messages, 1 or more \(not "ten"\)/);
    const badState = await q('list', '--state', 'stuck');
    assert.equal(badState.code, 2);
    assert.match(badState.stderr, /unknown state "stuck"; use incoming, active, deferred, held, delivered, failed/);

    // show
    const shown = await qj<ShowJson>('show', a);
    assert.equal(shown.id, a);
    assert.equal(shown.state, 'held');
    assert.equal(shown.subject, 'queue 1');
    assert.deepEqual([shown.origin.device, shown.origin.clientIp, shown.origin.listener], ['localhost', '127.0.0.1', 'main']);
    assert.deepEqual(shown.trail.map((e) => e.kind), ['received', 'routed', 'attempt']);
    const text = await q('show', a);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Message ${a}\\n  State:      held\\n`));
    assert.ok(text.stdout.includes('\n  Route:      capture\n'), text.stdout);
    assert.ok(text.stdout.includes('\n    admin1@example.com  held  held by capture route "capture"\n      what to do: No upstream delivers this route yet'), text.stdout);
    assert.match(text.stdout, /Trail:\n.*received received \d+ bytes from localhost at 127\.0\.0\.1 on listener main/);
    for (const args of [['show', 'NOSUCHID'], ['show', 'NOSUCHID', '--json']]) {
      const r = await q(...args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no message NOSUCHID in the queue/);
      assert.equal(r.stdout, '');
    }
    assert.equal((await q('show')).code, 2);

    // release while the relay runs: routed again, held again (still no upstream)
    const rel = await q('release', a);
    assert.equal(rel.code, 0, rel.stderr);
    assert.equal(rel.stdout, `${a}: released\n`);
    const again = await until(async () => {
      const m = await qj<ShowJson>('show', a);
      return m.state === 'held' && m.attempts === 2 ? m : undefined;
    }, 20_000, () => `${a} not held again`);
    assert.deepEqual(again.trail.map((e) => e.kind), ['received', 'routed', 'attempt', 'release', 'routed', 'attempt']);
    assert.match(again.trail[3]!.text, /^released by cli \(/);

    // retry of a held message, with --json
    assert.deepEqual(await qj<ActJson>('retry', b), [{ id: b, ok: true }]);
    await until(async () => ((await qj<ShowJson>('show', b)).attempts === 2 ? true : undefined), 20_000, () => `${b} not tried again`);

    // delete: the row and the body file go
    const del = await q('delete', c);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `${c}: deleted\n`);
    assert.equal((await q('show', c)).code, 1);
    assert.ok(!existsSync(join(dir, 'data', 'queue', 'bodies', `${c}.eml`)), 'the body file of a deleted message is left');

    // unknown ids: exit 1 for every action, with the reason
    for (const action of ['retry', 'release', 'delete']) {
      const r = await q(action, 'NOSUCHID');
      assert.equal(r.code, 1, `${action}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, 'NOSUCHID: no such message\n');
      const j = await q(action, 'NOSUCHID', '--json');
      assert.equal(j.code, 1);
      assert.deepEqual(JSON.parse(j.stdout), [{ id: 'NOSUCHID', ok: false, reason: 'no such message' }]);
    }
    assert.equal((await q('release')).code, 2, 'release without an id is a usage error');
    assert.equal((await q('purge')).code, 2, 'unknown subcommand');

    // with the relay stopped, states stay where the CLI puts them
    const st = await relay.stop();
    stopped = true;
    assert.equal(st.code, 0);
    assert.deepEqual(await qj<ActJson>('release', a), [{ id: a, ok: true }]);
    assert.equal((await qj<ShowJson>('show', a)).state, 'incoming');
    const twice = await q('release', a);
    assert.equal(twice.code, 1);
    assert.equal(twice.stdout, `${a}: not possible in state incoming (only held messages are released)\n`);
    const twiceJson = await q('release', a, '--json');
    assert.equal(twiceJson.code, 1);
    assert.deepEqual(JSON.parse(twiceJson.stdout), [{ id: a, ok: false, reason: 'not possible in state incoming (only held messages are released)' }]);
    const retryIncoming = await q('retry', a, '--json');
    assert.equal(retryIncoming.code, 1);
    assert.match((JSON.parse(retryIncoming.stdout) as ActJson)[0]!.reason ?? '', /not possible in state incoming \(only failed, deferred or held messages/);
    assert.equal((await q('delete', a)).code, 0);
    const mixed = await q('delete', b, 'NOSUCHID', '--json');
    assert.equal(mixed.code, 1, 'one failure fails the command');
    assert.deepEqual(JSON.parse(mixed.stdout), [{ id: b, ok: true }, { id: 'NOSUCHID', ok: false, reason: 'no such message' }]);
    assert.deepEqual((await qj<ListJson>('list')).counts, { incoming: 0, active: 0, deferred: 0, held: 0, delivered: 0, failed: 0 });
  } finally {
    if (!stopped) await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Outcome { response?: string; hint?: string; fix?: string; ref?: string; category?: string }
interface ExplainedJson extends Summary {
  recipients: { address: string; state: string; last?: Outcome }[];
  trail: { kind: string; text: string; data?: { recipients?: { address: string; outcome: Outcome }[] } }[];
}

test('queue show, the log and the notice explain Exchange Online refusals with the fix', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  const config = writeConfig(dir, `hostname: relay.test
dataDir: ./data
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
queue: { pollInterval: 100ms, minBackoff: 30s, maxBackoff: 60s }
notices: { toSender: false, admin: postmaster@contoso.com }
upstreams: { m365: { type: smtp, host: 127.0.0.1, port: ${up.port}, tls: none } }
`);
  const q = (...args: string[]) => cli(['queue', ...args, '--config', config]);
  const qj = <T>(...args: string[]) => cliJson<T>(['queue', ...args, '--config', config]);
  const relay = await startRelayProcess(config);
  try {
    // A recipient Exchange Online does not know: failed at once, with the catalogue's explanation.
    up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@')
      ? { code: 550, message: '5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@contoso.com not found by SMTP address lookup' } : undefined);
    const failed = await send(relay.port, 1, 'nobody@contoso.com');
    const f = await until(async () => {
      const m = await qj<ExplainedJson>('show', failed);
      return m.state === 'failed' ? m : undefined;
    }, 20_000, () => `${failed} did not fail`);
    assert.equal(f.recipients[0]!.last?.ref, 'smtp.5.1.10');
    assert.match(f.recipients[0]!.last?.fix ?? '', /Check the recipient address for typos/);
    const attempt = f.trail.find((e) => e.kind === 'attempt');
    assert.equal(attempt?.data?.recipients?.[0]?.outcome.ref, 'smtp.5.1.10', 'the trail keeps the explanation');
    const text = await q('show', failed);
    assert.equal(text.code, 0, text.stderr);
    const recipientPart = text.stdout.slice(text.stdout.indexOf('  Recipients:'), text.stdout.indexOf('  Trail:'));
    assert.match(recipientPart, /\n {4}nobody@contoso\.com {2}failed {2}550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound; Recipient nobody@contoso\.com not found by SMTP address lookup\n/);
    assert.match(recipientPart, /\n {6}what it means: The recipient address does not exist in the receiving organisation\.\n {6}what to do: Check the recipient address for typos[^\n]*\n {6}see: smtp\.5\.1\.10 in docs\/errors\.md\n/);
    const trailPart = text.stdout.slice(text.stdout.indexOf('  Trail:'));
    assert.match(trailPart, /attempt {2}failed via m365: 550 5\.1\.10[^\n]*\n {6}nobody@contoso\.com: 550 5\.1\.10 [^\n]*\n {8}what it means: The recipient address does not exist[^\n]*\n {8}what to do: Check the recipient address/);

    // The admin's notice: what happened, what it means, what to do; the reply in Diagnostic-Code.
    await up.waitForCount(1, 20_000);
    const notice = up.received.find((r) => r.from === '')!.data.toString('latin1');
    assert.match(notice, /\r\n {4}Reply: 550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound[^\r]*\r\n {4}What it means: The recipient address does not exist in the receiving organisation\.\r\n {4}What to do: Check the recipient address for typos[^\r]*\r\n {4}Reference: smtp\.5\.1\.10 /);
    assert.match(notice, /forward this notice to your IT contact/);
    assert.match(notice, /^Diagnostic-Code: smtp; 550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound; Recipient nobody@contoso\.com not found by SMTP address lookup\r$/m);
    assert.match(notice, /^Status: 5\.1\.10\r$/m);

    // SendAs refused after DATA: a right only the admin can grant, so the message fails at once with the fix
    // (in queue show, the log and the notice) and goes out again with `queue retry --failed` once fixed.
    // The fault refuses one DATA only: the device's message (the notice about it comes after the failure).
    let refusals = 0;
    up.fault = (_n, stage) => (stage === 'data' && refusals++ === 0
      ? { code: 554, message: '5.2.252 SendAsDenied; ups2@device.test not allowed to send as boss@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied' } : undefined);
    const denied = await send(relay.port, 2, 'alice@contoso.com');
    const d = await until(async () => {
      const m = await qj<ExplainedJson>('show', denied);
      return m.state === 'failed' ? m : m.state === 'deferred' ? assert.fail(`${denied} was deferred instead of failed`) : undefined;
    }, 20_000, () => `${denied} did not fail`);
    assert.equal(d.attempts, 1, 'failed at the first refusal, without waiting');
    assert.deepEqual([d.recipients[0]!.state, d.recipients[0]!.last?.ref, d.recipients[0]!.last?.category], ['failed', 'smtp.5.2.252.SendAsDenied', 'sender']);
    const shown = await q('show', denied);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /\n {4}alice@contoso\.com {2}failed {2}554 5\.2\.252 SendAsDenied; [^\n]*\n/);
    assert.match(shown.stdout, /\n {6}what it means: [^\n]*has no right to send as that address\.\n {6}what to do: Either let the device send as <mailbox> [^\n]*Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs/);
    const logged = await relay.waitForLog((l) => l['event'] === 'state' && l['id'] === denied && l['state'] === 'failed');
    assert.equal(logged['level'], 'warn');
    assert.equal(logged['ref'], 'smtp.5.2.252.SendAsDenied');
    assert.match(String(logged['fix']), /Add-RecipientPermission/);
    assert.match(String(logged['hint']), /has no right to send as that address/);

    // The admin's second notice carries the same explanation and fix.
    await up.waitForCount(2, 20_000);
    const notices = up.received.filter((r) => r.from === '');
    assert.equal(notices.length, 2, 'one notice per failed message');
    const sendAsNotice = notices[1]!.data.toString('latin1');
    assert.match(sendAsNotice, /\r\n {4}Reply: 554 5\.2\.252 SendAsDenied;[^\r]*\r\n {4}What it means: [^\r]*has no right to send as that address\.\r\n {4}What to do: Either let the device send as <mailbox> [^\r]*Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs[^\r]*\r\n {4}Reference: smtp\.5\.2\.252\.SendAsDenied /);
    assert.match(sendAsNotice, /^Diagnostic-Code: smtp; 554 5\.2\.252 SendAsDenied; [^\r]*\r$/m);
    assert.match(sendAsNotice, /^Status: 5\.2\.252\r$/m);

    // After the fix (Exchange takes the message now): every failed message is sent again.
    const retried = await qj<ActJson>('retry', '--failed');
    assert.deepEqual(retried.map((r) => r.id).sort(), [failed, denied].sort());
    assert.ok(retried.every((r) => r.ok), JSON.stringify(retried));
    const again = await until(async () => {
      const m = await qj<ExplainedJson>('show', denied);
      return m.state === 'delivered' ? m : undefined;
    }, 20_000, () => `${denied} was not delivered after queue retry --failed`);
    assert.equal(again.attempts, 2);
    assert.ok(up.received.some((r) => r.from === 'ups2@device.test' && r.to.includes('alice@contoso.com')), 'the upstream got the message');
  } finally {
    await relay.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
