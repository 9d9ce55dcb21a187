/**
 * Exchange Online's recipients-per-day limit on every Microsoft route, with
 * the Microsoft 365 emulator counting the same limit over Graph and SMTP
 * AUTH together:
 *  - a budget of 50 recipients in the emulator and the relay, 80 recipients'
 *    worth of messages through Graph: 50 delivered, the rest waiting, no
 *    refusal received from the emulator, the warning and the alert raised;
 *  - the same with two routes (graph and smtp-oauth) sending as one mailbox:
 *    one budget for both;
 *  - with a fallback upstream (Postfix smtp-sink): the rest go there;
 *  - Microsoft's own refusal (the mailbox had less left than the relay
 *    thought): explained by the catalogue, and the mailbox paused, so that
 *    the waiting messages are not sent into the refusal again and again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, deviceSend, graphUpstream, smtpOauthUpstream, type Contoso } from '../helpers/m365.js';
import { FAST_QUEUE, relayCertificate, smtpUpstream, startRelay, waitUntil } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';
import { sinkDumps, startSmtpSink } from '../helpers/tools.js';

let emu: Emulator;
let c: Contoso;
before(async () => {
  emu = await startEmulator();
  c = contoso(emu);
});
after(async () => {
  await emu?.close();
});

function twoRecipientMessage(i: number, from: string, to: string[]): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: ${to.join(', ')}\r\nSubject: scan ${i}\r\nMessage-ID: <budget-${i}-${Date.now()}@device.test>\r\n\r\npage ${i}\r\n`);
}

async function sendBatch(relays: TestRelay[], n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await deviceSend(relays[i % relays.length]!, c.scanner, [c.alice, c.bob], twoRecipientMessage(i, c.scanner, [c.alice, c.bob])));
  return ids;
}

const refusals = () => emu.requests().filter((r) => r.status >= 400 && r.status !== 429 && r.service === 'graph').length;

async function settle(relay: TestRelay, ids: string[], delivered: number): Promise<{ delivered: string[]; waiting: string[] }> {
  let split = { delivered: [] as string[], waiting: [] as string[] };
  await waitUntil(`${delivered} messages delivered, the others waiting`, async () => {
    split = { delivered: [], waiting: [] };
    for (const id of ids) {
      const m = await relay.store.get(id);
      if (m?.state === 'delivered') split.delivered.push(id);
      else if (m?.state === 'deferred' && m.attempts > 0) split.waiting.push(id);
    }
    return split.delivered.length === delivered && split.waiting.length === ids.length - delivered;
  }, 30_000);
  return split;
}

test('Graph: 80 recipients against a budget of 50: 50 delivered, the rest wait, Microsoft never refuses; warning and alert raised', { timeout: 90_000 }, async () => {
  emu.reset();
  emu.recipientsPerDay = 50;
  const relay = await startRelay({
    tls: relayCertificate(), queue: FAST_QUEUE, alerts: { checkInterval: '1s' },
    upstreams: { m365: graphUpstream(emu, c, { recipientsPerDay: 50, dailyWarning: 0.8 }) }, routes: [{ use: 'm365' }],
  });
  try {
    const before = refusals();
    const ids = await sendBatch([relay], 40);
    const { waiting } = await settle(relay, ids, 25);
    assert.equal(emu.dailyUse(c.scanner).recipients, 50, 'the emulator counted exactly the budget');
    assert.equal(emu.dailyUse(c.scanner).blocked, false, 'the mailbox was never pushed over its limit');
    assert.equal(refusals(), before, 'no refusal from Microsoft');
    const held = await relay.store.get(waiting[0]!);
    const last = held!.recipientRecords[0]!.last;
    assert.equal(last?.category, 'quota');
    assert.match(last?.hint ?? '', /has used its daily budget \(50 of 50 recipients/);
    assert.ok(relay.logs.some((l) => l.event === 'mailbox-budget-warning' && l.mailbox === c.scanner && Number(l.used) >= 40));
    assert.ok(relay.logs.some((l) => l.event === 'mailbox-budget-reached' && l.mailbox === c.scanner));
    await waitUntil('the mailbox-budget alert', () => relay.logs.some((l) => l.event === 'alert' && l.key === `mailbox-budget:${c.scanner}` && l.status === 'firing'));
    const metrics = await (await fetch(relay.adminUrl('/metrics'))).text();
    assert.match(metrics, /authrelay_mailbox_budget_used_ratio\{upstream="m365"\} 1\b/);
  } finally {
    await relay.close();
  }
});

test('two routes sending as one mailbox (graph and smtp-oauth) spend one budget', { timeout: 90_000 }, async () => {
  emu.reset();
  emu.recipientsPerDay = 50;
  const relay = await startRelay({
    tls: relayCertificate(), queue: FAST_QUEUE,
    devices: [{ name: 'mfp-a', networks: ['127.0.0.1/32'], route: 'm365' }],
    upstreams: {
      m365: graphUpstream(emu, c, { recipientsPerDay: 50 }),
      m365smtp: smtpOauthUpstream(emu, c, { recipientsPerDay: 50, messagesPerMinute: 1000 }),
    },
    routes: [{ when: { recipientDomain: ['never.test'] }, use: 'm365smtp' }, { use: 'm365' }],
  });
  try {
    // Half of the messages through each route: the device's route for the first half, a reload-free switch by recipient for the rest.
    const ids = await sendBatch([relay], 20);
    const viaSmtp: string[] = [];
    for (let i = 0; i < 20; i++) {
      viaSmtp.push(await deviceSend(relay, c.scanner, [c.alice, 'x@never.test'], twoRecipientMessage(100 + i, c.scanner, [c.alice, 'x@never.test'])));
    }
    await waitUntil('every message tried', async () => {
      for (const id of [...ids, ...viaSmtp]) {
        const m = await relay.store.get(id);
        if (!m || (m.state !== 'delivered' && m.attempts === 0)) return false;
      }
      return true;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(emu.dailyUse(c.scanner).recipients, 50, 'both routes together stayed at the budget');
    assert.equal(emu.dailyUse(c.scanner).blocked, false);
    const smtpRefused = emu.requests().filter((r) => r.service === 'smtp' && /5\.2\.0/.test(String(r.status))).length;
    assert.equal(smtpRefused, 0);
  } finally {
    await relay.close();
  }
});

test('with a fallback upstream (smtp-sink), the messages over the budget go there', { timeout: 90_000 }, async () => {
  emu.reset();
  emu.recipientsPerDay = 50;
  const dumps = mkdtempSync(join(tmpdir(), 'authrelay-sink-'));
  const sink = await startSmtpSink(['-d', `${dumps}/m.`]);
  const relay = await startRelay({
    tls: relayCertificate(), queue: FAST_QUEUE,
    upstreams: { m365: graphUpstream(emu, c, { recipientsPerDay: 50 }), relay: smtpUpstream(sink.port) },
    routes: [{ use: ['m365', 'relay'] }],
  });
  try {
    const ids = await sendBatch([relay], 40);
    for (const id of ids) await relay.waitFor(id, ['delivered'], 30_000);
    const routes = await Promise.all(ids.map(async (id) => (await relay.store.get(id))!.route));
    assert.equal(routes.filter((r) => r === 'm365').length, 25);
    assert.equal(routes.filter((r) => r === 'relay').length, 15);
    assert.equal(sinkDumps(dumps).length, 15, 'each of the others once through the fallback');
    assert.equal(emu.dailyUse(c.scanner).recipients, 50);
    assert.equal(emu.dailyUse(c.scanner).blocked, false);
  } finally {
    await relay.close();
    await sink.stop();
    rmSync(dumps, { recursive: true, force: true });
  }
});

test('Microsoft refuses for the daily limit (people used the mailbox too): explained, and the mailbox paused after the first refusal', { timeout: 90_000 }, async () => {
  for (const via of ['graph', 'smtp-oauth'] as const) {
    emu.reset();
    emu.recipientsPerDay = 10;
    const up = via === 'graph' ? graphUpstream(emu, c, { recipientsPerDay: 50 }) : smtpOauthUpstream(emu, c, { recipientsPerDay: 50 });
    const relay = await startRelay({ tls: relayCertificate(), queue: FAST_QUEUE, upstreams: { m365: up }, routes: [{ use: 'm365' }] });
    try {
      const sentBefore = emu.sent().length;
      const ids = await sendBatch([relay], 12);
      await settle(relay, ids, 5);
      assert.equal(emu.sent().length - sentBefore, 5);
      const refused = () => emu.requests().filter((r) => (via === 'graph' ? r.service === 'graph' && r.status === 403 : r.service === 'smtp' && r.status === 554)).length;
      const first = refused();
      // Requests already in flight when the first refusal came may be refused too (at most the mailbox's concurrency); then none.
      assert.ok(first >= 1 && first <= 4, `${via}: ${first} refusals`);
      const trails = (await Promise.all(ids.map((id) => relay.store.trail(id)))).flat().map((e) => e.text).join('\n');
      assert.match(trails, via === 'graph' ? /ErrorSubmissionQuotaExceeded/ : /SubmissionQuotaExceededException/);
      const explained = (await Promise.all(ids.map(async (id) => (await relay.store.get(id))!.recipientRecords[0]!.last))).filter((o) => o?.ref);
      assert.deepEqual([...new Set(explained.map((o) => o!.ref))], [via === 'graph' ? 'graph.ErrorSubmissionQuotaExceeded' : 'smtp.5.2.0.SubmissionQuotaExceeded']);
      assert.match(explained[0]!.hint ?? '', /10,000 recipients in any 24 hours/, 'the catalogue explains it');
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal(refused(), first, `${via}: the retries of the waiting messages are not sent into the refusal`);
      const outcomes = await Promise.all(ids.map(async (id) => (await relay.store.get(id))!.recipientRecords[0]!.last));
      assert.ok(outcomes.some((o) => /daily sending limit/.test(o?.response ?? '')), JSON.stringify(outcomes.map((o) => [o?.category, o?.response])));
    } finally {
      await relay.close();
    }
  }
});
