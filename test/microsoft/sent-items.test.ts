/**
 * Sent Items clean-up through a real relay and the Microsoft 365 emulator
 * (real HTTPS, real tokens): with `sentItems: delete`, 30 messages (small by
 * sendMail, large by draft and upload session) leave Sent Items and Deleted
 * Items of the mailbox empty; a copy that appears late is still found; a
 * message without Message-ID gets one and its copy is found; without
 * Mail.ReadWrite every message is delivered, each clean-up is refused,
 * logged and counted, and `doctor` fails the check with the Entra steps;
 * smtp-oauth removes the copy SMTP AUTH left, with a Graph token of the same
 * app, by the id Exchange's reply names; `sentItems: keep` (the default)
 * leaves the copies and makes no request for them; a stop with a clean-up
 * still waiting ends within its deadline and says what was left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runDoctor } from '../../src/doctor/doctor.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, deviceSend, graphUpstream, smtpOauthUpstream, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
});

/** A message as a device sends it; `large` makes a 3.5 MB scan (draft + upload session); `id: null` sends no Message-ID. */
function message(c: Contoso, o: { large?: boolean; id?: string | null } = {}): Buffer {
  const id = o.id === undefined ? `<${randomBytes(8).toString('hex')}@mfp.test>` : o.id;
  const head = `From: ${c.scanner}\r\nTo: ${c.alice}\r\nSubject: scan\r\n${id ? `Message-ID: ${id}\r\n` : ''}MIME-Version: 1.0\r\n`;
  if (!o.large) return Buffer.from(`${head}Content-Type: text/plain\r\n\r\nScanned.\r\n`);
  const pdf = (randomBytes(3_500_000).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from(`${head}Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nScanned.\r\n` +
    `--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${pdf}\r\n--b--\r\n`);
}

async function cleanups(relay: TestRelay): Promise<Record<string, number>> {
  const metric = relay.metrics.registry.getSingleMetric('authrelay_sent_items_cleanups_total');
  const out: Record<string, number> = {};
  for (const v of (await metric!.get()).values) if (v.labels.route === 'm365') out[String(v.labels.result)] = v.value;
  return out;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const events = (relay: TestRelay, event: string) => relay.logs.filter((l) => l.event === event);
const requests = (c: Contoso, test: (path: string, method: string) => boolean) =>
  emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase() && test(r.path, r.method));
const searches = (c: Contoso) => requests(c, (p, m) => m === 'GET' && /\/mailFolders\/sentitems\/messages$/.test(p));

async function withRelay(c: Contoso, upstream: Record<string, unknown>, fn: (relay: TestRelay) => Promise<void>): Promise<void> {
  const relay = await startRelay({ upstreams: { m365: upstream as never }, routes: [{ use: 'm365' }] });
  try {
    await fn(relay);
  } finally {
    await relay.close();
  }
}

describe('sentItems: delete', () => {
  test('30 messages, small by sendMail and large by draft and upload session: Sent Items and Deleted Items end empty', { timeout: 240_000 }, async () => {
    const c = contoso(emu);
    emu.sentItemsDelayMs = 300;
    await withRelay(c, graphUpstream(emu, c, { sentItems: 'delete' }), async (relay) => {
      const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => deviceSend(relay, c.scanner, [c.alice], message(c, { large: i % 5 === 0 }))));
      for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 120_000)).state, 'delivered');
      const sent = emu.sent().filter((s) => s.mailbox?.toLowerCase() === c.scanner.toLowerCase());
      assert.deepEqual([sent.filter((s) => s.via === 'graph-mime').length, sent.filter((s) => s.via === 'graph-draft').length], [24, 6]);
      await until('every copy is deleted', async () => (await cleanups(relay)).deleted === 30, 90_000);
      assert.equal(emu.sentItems(c.scanner).length, 0, 'Sent Items is empty');
      assert.equal(emu.deletedItems(c.scanner).length, 0, 'Deleted Items is empty too: deleted for good');
      assert.equal(emu.drafts(c.scanner).length, 0);
      assert.equal(requests(c, (p, m) => m === 'DELETE').length, 0, 'no DELETE, which would fill Deleted Items');
      assert.equal(requests(c, (p, m) => m === 'POST' && /\/permanentDelete$/.test(p)).length, 30);
      assert.equal(events(relay, 'sent-items-deleted').length, 30);
      assert.ok(emu.peakConcurrency(c.scanner) <= 4, 'deliveries and clean-ups together stay within 4 requests per mailbox');
      assert.deepEqual(await cleanups(relay), { deleted: 30 });
    });
    emu.sentItemsDelayMs = 200;
  });

  test('a copy that appears after the first look is found by a later one and deleted', { timeout: 60_000 }, async () => {
    const c = contoso(emu);
    emu.sentItemsDelayMs = 5_000;
    try {
      await withRelay(c, graphUpstream(emu, c, { sentItems: 'delete' }), async (relay) => {
        const id = await deviceSend(relay, c.scanner, [c.alice], message(c));
        assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 20_000)).state, 'delivered');
        await until('the copy is deleted', async () => (await cleanups(relay)).deleted === 1, 40_000);
        assert.ok(searches(c).length >= 2, `looked ${searches(c).length} times`);
        assert.equal(emu.sentItems(c.scanner).length, 0);
        assert.equal(events(relay, 'sent-items-retry').length, searches(c).length - 1);
      });
    } finally {
      emu.sentItemsDelayMs = 200;
    }
  });

  test('a message without Message-ID gets one from its queue id, and its copy is found by it', { timeout: 60_000 }, async () => {
    const c = contoso(emu);
    await withRelay(c, graphUpstream(emu, c, { sentItems: 'delete' }), async (relay) => {
      const id = await deviceSend(relay, c.scanner, [c.alice], message(c, { id: null }));
      assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 20_000)).state, 'delivered');
      const sent = emu.sent().find((s) => s.mailbox?.toLowerCase() === c.scanner.toLowerCase())!;
      const domain = c.scanner.split('@')[1]!;
      assert.match(sent.mime.toString('latin1'), new RegExp(`\\r\\nMessage-ID: <authrelay\\.${id}@${domain.replace(/\./g, '\\.')}>\\r\\n`));
      await until('the copy is deleted', async () => (await cleanups(relay)).deleted === 1, 30_000);
      assert.equal(emu.sentItems(c.scanner).length, 0);
    });
  });

  test('without Mail.ReadWrite: every message is delivered; each clean-up is refused, logged and counted; doctor says what to grant', { timeout: 90_000 }, async () => {
    const c = contoso(emu, { graphRoles: ['Mail.Send'] });
    await withRelay(c, graphUpstream(emu, c, { sentItems: 'delete' }), async (relay) => {
      const ids = await Promise.all(Array.from({ length: 5 }, () => deviceSend(relay, c.scanner, [c.alice], message(c))));
      for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 20_000)).state, 'delivered');
      await until('every clean-up is refused', async () => (await cleanups(relay)).denied === 5, 30_000);
      assert.equal(emu.sentItems(c.scanner).length, 5, 'the copies stay');
      const denied = events(relay, 'sent-items-denied');
      assert.equal(denied.length, 5);
      assert.equal(denied[0]!.level, 'warn');
      assert.match(String(denied[0]!.reason), /403 ErrorAccessDenied/);
      assert.match(String(denied[0]!.msg), /was delivered.*Mail\.ReadWrite/s);
      for (const id of ids) assert.equal((await relay.store.get(id))?.state, 'delivered', 'a clean-up never changes an outcome');

      const checks = (await runDoctor(relay.config, { timeoutMs: 10_000 })).checks;
      const check = checks.find((x) => x.id === 'upstream.m365.sent-items');
      assert.equal(check?.status, 'fail', JSON.stringify(check));
      assert.match(check!.title.en, /Mail\.ReadWrite is not in the token/);
      assert.match(check!.fix.en, /API permissions → Add a permission → Microsoft Graph → Application permissions → Mail\.ReadWrite → Add permissions, then Grant admin consent/);
      assert.ok(check!.fix.en.includes(c.app.clientId));
      assert.match(check!.fix.ja, /\[API のアクセス許可\] → \[アクセス許可の追加\]/);
    });
  });

  test('smtp-oauth: the copy SMTP AUTH left is removed with a Graph token of the same app (with and without Message-ID)', { timeout: 60_000 }, async () => {
    const c = contoso(emu);
    await withRelay(c, smtpOauthUpstream(emu, c, { sentItems: 'delete' }), async (relay) => {
      const ids = [await deviceSend(relay, c.scanner, [c.alice], message(c)), await deviceSend(relay, c.scanner, [c.alice], message(c, { id: null }))];
      for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 20_000)).state, 'delivered');
      assert.deepEqual(emu.sent().filter((s) => s.mailbox?.toLowerCase() === c.scanner.toLowerCase()).map((s) => s.via), ['smtp', 'smtp']);
      await until('both copies are deleted', async () => (await cleanups(relay)).deleted === 2, 30_000);
      assert.equal(emu.sentItems(c.scanner).length, 0);
      assert.equal(emu.deletedItems(c.scanner).length, 0);
      const tokens = emu.requests().filter((r) => r.service === 'token' && r.clientId === c.app.clientId);
      assert.ok(tokens.length >= 2, 'an SMTP token and a Graph token of the same app');
    });
  });
});

test('sentItems: keep (the default): the copies stay and no request is made for them', { timeout: 60_000 }, async () => {
  const c = contoso(emu);
  await withRelay(c, graphUpstream(emu, c), async (relay) => {
    const ids = await Promise.all([deviceSend(relay, c.scanner, [c.alice], message(c)), deviceSend(relay, c.scanner, [c.alice], message(c, { large: true }))]);
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 30_000)).state, 'delivered');
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal(emu.sentItems(c.scanner).length, 2);
    assert.equal(searches(c).length, 0);
    assert.deepEqual(await cleanups(relay), {});
    const msg = emu.sent().find((s) => s.via === 'graph-mime' && s.mailbox?.toLowerCase() === c.scanner.toLowerCase())!;
    assert.equal((msg.mime.toString('latin1').match(/^Message-ID:/gim) ?? []).length, 1, 'nothing added');
  });
});

test('a stop with a clean-up still waiting ends within its deadline and logs what was left', { timeout: 60_000 }, async () => {
  const c = contoso(emu);
  emu.sentItemsDelayMs = 120_000;
  try {
    const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c, { sentItems: 'delete' }) as never }, routes: [{ use: 'm365' }] });
    const id = await deviceSend(relay, c.scanner, [c.alice], message(c));
    assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 20_000)).state, 'delivered');
    const t0 = Date.now();
    await relay.close();
    assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
    const left = events(relay, 'sent-items-abandoned');
    assert.equal(left.length, 1);
    assert.equal(left[0]!.count, 1);
    assert.match(String(left[0]!.msg), /1 Sent Items clean-up not done/);
    assert.deepEqual(await cleanups(relay), { abandoned: 1 });
    assert.ok(searches(c).length >= 1, 'it had one more look before giving up');
  } finally {
    emu.sentItemsDelayMs = 200;
  }
});
