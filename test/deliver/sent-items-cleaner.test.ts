/**
 * The Sent Items clean-up queue on its own, against the Microsoft 365
 * emulator over real HTTPS with real tokens: national clouds (no
 * permanentDelete: DELETE, then DELETE again in Deleted Items), a 429 on the
 * search (waited out, then deleted), a copy that never appears (not-found
 * after the last look), a copy created before the send (left alone), a full
 * queue (dropped), and the configuration rules (keep by default; delete
 * refused with a delegated smtp-oauth sign-in). Plus `doctor`'s Sent Items
 * size: the line it prints, the warning over its thresholds, and how the
 * size is read from Graph's answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { graphUpstreamSchema, smtpOauthUpstreamSchema } from '../../src/config/schema.js';
import { HttpClient } from '../../src/core/http.js';
import { createLogger } from '../../src/core/log.js';
import { SentItemsCleaner, type SentItemsCleanerDeps, type SentItemsCleanupResult } from '../../src/deliver/microsoft/sent-items.js';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import { checkSentItems, sizeOf } from '../../src/doctor/sent-items.js';
import { Report } from '../../src/doctor/report.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, graphUpstream, type Contoso } from '../helpers/m365.js';

let emu: Emulator;
let dataDir: string;
before(async () => {
  emu = await startEmulator();
  dataDir = mkdtempSync(join(tmpdir(), 'authrelay-sent-items-'));
});
after(async () => {
  await emu.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Fixture {
  c: Contoso;
  cleaner: SentItemsCleaner;
  results: SentItemsCleanupResult[];
  logs: Record<string, unknown>[];
  /** Sends a message by Graph; its copy goes to Sent Items. */
  send(id?: string): Promise<string>;
  close(): Promise<void>;
}

async function fixture(opts: Partial<SentItemsCleanerDeps> = {}): Promise<Fixture> {
  const c = contoso(emu);
  const cfg = graphUpstreamSchema.parse(graphUpstream(emu, c));
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } }));
  const providers = new TokenProviders({ dataDir, secretKey: undefined, log, recordStatus: false });
  const tokens = providers.get('m365', cfg, 'graph');
  const http = new HttpClient({ ca: emu.caPem });
  const cleaner = new SentItemsCleaner({
    log, http, graphUrl: emu.graphUrl, tokens, pacer: new MailboxPacer({ concurrency: 4 }), permanentDelete: true, waitsMs: [200, 300, 500], ...opts,
  });
  const results: SentItemsCleanupResult[] = [];
  cleaner.observe((r) => results.push(r));
  return {
    c, cleaner, results, logs,
    send: async (id = `<${randomBytes(6).toString('hex')}@mfp.test>`) => {
      const mime = Buffer.from(`From: ${c.scanner}\r\nTo: ${c.alice}\r\nSubject: s\r\nMessage-ID: ${id}\r\n\r\nhi\r\n`);
      const res = await http.request({
        method: 'POST', url: `${emu.graphUrl}/users/${c.scanner}/sendMail`, body: mime.toString('base64'),
        headers: { authorization: `Bearer ${(await tokens.getToken()).token}`, 'content-type': 'text/plain' },
      });
      assert.equal(res.status, 202);
      return id;
    },
    close: async () => {
      await cleaner.close(1_000);
      http.close();
      providers.close();
      emu.clearFaults();
    },
  };
}

async function settled(f: Fixture, n: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (f.results.length < n) {
    if (Date.now() > end) throw new Error(`only ${f.results.length} of ${n} clean-ups finished: ${f.results.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const T = { timeout: 30_000 };

test('national clouds (no permanentDelete): DELETE moves the copy to Deleted Items, a second DELETE there takes it out of sight', T, async () => {
  const f = await fixture({ permanentDelete: false });
  try {
    const id = await f.send();
    f.cleaner.enqueue({ queueId: 'Q1', mailbox: f.c.scanner, internetMessageId: id, sentAt: Date.now() });
    await settled(f, 1);
    assert.deepEqual(f.results, ['deleted']);
    assert.equal(emu.sentItems(f.c.scanner).length, 0);
    assert.equal(emu.deletedItems(f.c.scanner).length, 0);
    const paths = emu.requests().filter((r) => r.mailbox === f.c.scanner.toLowerCase() && r.method === 'DELETE').length;
    assert.equal(paths, 2);
    assert.match(String(f.logs.find((l) => l.event === 'sent-items-deleted')?.msg), /and from Deleted Items/);
  } finally {
    await f.close();
  }
});

test('a 429 on the search pauses the mailbox and the next look deletes the copy', T, async () => {
  const f = await fixture();
  try {
    const id = await f.send();
    emu.fault({ target: 'graph', mailbox: f.c.scanner, method: 'GET', path: /\/sentitems\/messages$/, fault: { throttle: true, retryAfterSeconds: 1 }, count: 1 });
    f.cleaner.enqueue({ queueId: 'Q2', mailbox: f.c.scanner, internetMessageId: id, sentAt: Date.now() });
    await settled(f, 1);
    assert.deepEqual(f.results, ['deleted']);
    assert.match(String(f.logs.find((l) => l.event === 'sent-items-retry')?.reason), /429 ApplicationThrottled/);
  } finally {
    await f.close();
  }
});

test('a copy that never appears is not-found after the last look; a copy older than the send is left alone', T, async () => {
  const f = await fixture({ createdMarginMs: -60_000 });
  try {
    const id = await f.send();
    f.cleaner.enqueue({ queueId: 'Q3', mailbox: f.c.scanner, internetMessageId: id, sentAt: Date.now() });
    f.cleaner.enqueue({ queueId: 'Q4', mailbox: f.c.scanner, internetMessageId: '<never@sent.test>', sentAt: Date.now() });
    await settled(f, 2);
    assert.deepEqual(f.results, ['not-found', 'not-found']);
    assert.equal(emu.sentItems(f.c.scanner).length, 1, 'the older copy stays');
    const warn = f.logs.find((l) => l.event === 'sent-items-not-found');
    assert.equal(warn?.level, 'warn');
    assert.match(String(warn?.msg), /No copy of this message appeared in the Sent Items folder/);
  } finally {
    await f.close();
  }
});

test('a full queue drops the newest clean-up, logged and counted', T, async () => {
  const f = await fixture({ maxPending: 2, waitsMs: [60_000] });
  try {
    for (const q of ['A', 'B', 'C']) f.cleaner.enqueue({ queueId: q, mailbox: f.c.scanner, internetMessageId: `<${q}@x>`, sentAt: Date.now() });
    assert.deepEqual(f.results, ['dropped']);
    assert.equal(f.cleaner.size, 2);
    assert.equal(f.logs.find((l) => l.event === 'sent-items-dropped')?.messageId, 'C');
  } finally {
    await f.close();
  }
  assert.deepEqual(f.results.slice(1), ['abandoned', 'abandoned'], 'close gives up on what is left');
});

test('a clean-up still looking when the stop deadline passes is counted and logged as abandoned, whatever the deadline', T, async () => {
  // At a stop the clean-up looks again every second; a deadline that ends on one of those looks must not lose the job.
  for (const deadline of [1_000, 1_003, 2_000]) {
    const f = await fixture({ waitsMs: [60_000] });
    f.cleaner.enqueue({ queueId: 'S', mailbox: f.c.scanner, internetMessageId: `<never-${deadline}@sent.test>`, sentAt: Date.now() });
    await f.cleaner.close(deadline);
    assert.deepEqual(f.results, ['abandoned'], `deadline ${deadline} ms`);
    const left = f.logs.filter((l) => l.event === 'sent-items-abandoned');
    assert.equal(left.length, 1, `deadline ${deadline} ms`);
    assert.equal(left[0]!.count, 1);
    assert.equal(f.cleaner.size, 0);
    await f.close();
  }
});

test('configuration: keep by default; delete refused with a delegated smtp-oauth sign-in', () => {
  const base = { tenant: 't.onmicrosoft.com', clientId: 'c' };
  assert.equal(graphUpstreamSchema.parse({ type: 'graph', ...base, clientSecret: 's' }).sentItems, 'keep');
  assert.equal(smtpOauthUpstreamSchema.parse({ type: 'smtp-oauth', ...base, clientSecret: 's', sentItems: 'delete' }).sentItems, 'delete');
  const r = smtpOauthUpstreamSchema.safeParse({ type: 'smtp-oauth', ...base, delegated: { user: 'a@t.com' }, sentItems: 'delete' });
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0]!.message, /sentItems: delete needs a Graph token of the app/);
  assert.deepEqual(r.error!.issues[0]!.path, ['sentItems']);
  assert.equal(graphUpstreamSchema.safeParse({ type: 'graph', ...base, clientSecret: 's', sentItems: 'purge' }).success, false);
});

test('doctor: the size of Sent Items of each sending mailbox, and a warning over the thresholds', T, async () => {
  const f = await fixture();
  try {
    for (let i = 0; i < 3; i++) await f.send();
    await new Promise((r) => setTimeout(r, 300)); // the copies appear 200 ms after the send
    const cfg = graphUpstreamSchema.parse(graphUpstream(emu, f.c));
    const providers = new TokenProviders({ dataDir, secretKey: undefined, log: createLogger('silent'), recordStatus: false });
    const token = await providers.get('m365', cfg, 'graph').getToken();
    providers.close();
    const run = async (warn?: { items: number; bytes: number }) => {
      const report = new Report();
      await checkSentItems(report.section({ en: 'Upstream m365 (graph)', ja: 'アップストリーム m365 (graph)' }), { id: 'upstream.m365', name: 'm365', cfg, graphUrl: emu.graphUrl, token, mailboxes: [f.c.scanner], timeoutMs: 10_000, ...(warn ? { warn } : {}) });
      return report.checks.find((c) => c.id === 'upstream.m365.sent-items-size')!;
    };
    const size = emu.sentItems(f.c.scanner).reduce((n, i) => n + i.size, 0);
    const ok = await run();
    assert.equal(ok.status, 'info');
    assert.equal(ok.title.en, `Sent Items of ${f.c.scanner}: 3 items, ${size} bytes`);
    assert.equal(ok.title.ja, `${f.c.scanner} の送信済みアイテム: 3 件、${size} バイト`);
    const large = await run({ items: 2, bytes: 10 ** 9 });
    assert.equal(large.status, 'warn');
    assert.match(large.title.en, /is large: 3 items/);
    assert.match(large.fix.en, /sentItems: delete/);
    assert.match(large.fix.ja, /sentItems: delete/);
  } finally {
    await f.close();
  }
});

test('doctor reads the size from sizeInBytes, else from PR_MESSAGE_SIZE_EXTENDED however its id is written', () => {
  assert.equal(sizeOf({ sizeInBytes: 12 }), 12);
  assert.equal(sizeOf({ singleValueExtendedProperties: [{ id: 'Long 0xe08', value: '3456' }] }), 3456);
  assert.equal(sizeOf({ singleValueExtendedProperties: [{ id: 'Long 0x0E08', value: '7' }] }), 7);
  assert.equal(sizeOf({ singleValueExtendedProperties: [{ id: 'String 0xe08', value: '7' }] }), undefined);
  assert.equal(sizeOf({}), undefined);
});
