/**
 * The graph transport's drafts under faults, driven against the Microsoft
 * 365 emulator over real HTTPS: a send whose answer is lost (a reset after
 * the body, 504 after accepting, accepted and then reset, a stop after the
 * request went out), a clean-up deletion (permanentDelete) that fails or never answers, a stop
 * in the middle of an upload, and a lost answer to POST /messages. After
 * each, the test checks the outcome, the possible-duplicate flag, the drafts
 * left in the emulated mailbox, what was sent, the log and the clean-up
 * counter. The retry that follows shows that drafts left behind are found
 * by their marker field and deleted.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { graphUpstreamSchema } from '../../src/config/schema.js';
import { HttpClient } from '../../src/core/http.js';
import { newMessageId } from '../../src/core/ids.js';
import { createLogger } from '../../src/core/log.js';
import type { DeliveryOutcome } from '../../src/core/outcome.js';
import { GraphTransport } from '../../src/deliver/graph/graph.js';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import type { OutboundMessage, Transport } from '../../src/deliver/transport.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import { measureTransports } from '../../src/report/instrument.js';
import { RelayMetrics } from '../../src/report/metrics.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, FaultRule, RequestRecord } from '../emulator/api.js';
import { contoso, graphUpstream, type Contoso } from '../helpers/m365.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu?.close();
});

const T = { timeout: 60_000 };
const MARKER = 'x-authrelay-queue-id';

interface Fixture {
  c: Contoso;
  /** The transport as the composition root wraps it (metrics connected). */
  transport: Transport;
  logs: Record<string, unknown>[];
  metrics: RelayMetrics;
  close(): Promise<void>;
}

async function fixture(deps: { cleanupDeadlineMs?: number } = {}): Promise<Fixture> {
  const c = contoso(emu);
  const cfg = graphUpstreamSchema.parse({ ...graphUpstream(emu, c), timeout: '20s' });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } }));
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-graph-drafts-'));
  const providers = new TokenProviders({ dataDir, secretKey: undefined, log, recordStatus: false });
  const graph = new GraphTransport('m365', cfg, {
    log, http: new HttpClient({ ca: emu.caPem }), graphUrl: emu.graphUrl,
    tokens: providers.get('m365', cfg, 'graph'), pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency }), ...deps,
  });
  const metrics = new RelayMetrics();
  const transport = measureTransports(new Map([['m365', graph]]), metrics).get('m365')!;
  return {
    c, transport, logs, metrics,
    close: async () => {
      emu.clearFaults();
      await transport.close();
      providers.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function withFixture(fn: (f: Fixture) => Promise<void>, deps?: { cleanupDeadlineMs?: number }): Promise<void> {
  const f = await fixture(deps);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/** A 4 MB scan: too large for sendMail, so it goes as a draft plus an upload session. */
function scan(c: Contoso, id = newMessageId()): OutboundMessage {
  const b64 = (randomBytes(4_000_000).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  const body = Buffer.from(`From: ${c.scanner}\r\nTo: ${c.alice}\r\nSubject: scan\r\nMessage-ID: <${id}@mfp.test>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nscanned\r\n' +
    `--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`);
  return {
    id, sender: c.scanner, recipients: [c.alice], size: body.length, device: 'mfp',
    openBody: () => Readable.from((function* () {
      for (let i = 0; i < body.length; i += 65_536) yield body.subarray(i, i + 65_536);
    })()),
  };
}

async function deliver(f: Fixture, m: OutboundMessage, signal = new AbortController().signal): Promise<DeliveryOutcome> {
  const out = await f.transport.deliver(m, { signal });
  return out[0]!.outcome;
}

function fault(f: Fixture, rule: Omit<FaultRule, 'mailbox'>): void {
  emu.fault({ ...rule, mailbox: f.c.scanner });
}

const drafts = (f: Fixture) => emu.drafts(f.c.scanner);
const sent = (f: Fixture) => emu.sent().filter((s) => s.tenantId === f.c.tenant.id);
const graphRequests = (f: Fixture): RequestRecord[] => emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === f.c.scanner.toLowerCase());
/** The clean-up's deletions: POST .../messages/{id}/permanentDelete (never DELETE, which would move the draft to Deleted Items). */
const deletes = (f: Fixture) => graphRequests(f).filter((r) => r.method === 'DELETE' || /\/permanentDelete$/.test(r.path));
/** The id of the message a deletion named. */
const deletedId = (r: RequestRecord) => decodeURIComponent(r.path.replace(/\/permanentDelete$/, '').split('/').pop()!);
const events = (f: Fixture, event: string) => f.logs.filter((l) => l.event === event);

/** The clean-up counter's values for this fixture's route, by result. */
async function cleanups(f: Fixture): Promise<Record<string, number>> {
  const metric = f.metrics.registry.getSingleMetric('authrelay_graph_draft_cleanups_total');
  const out: Record<string, number> = {};
  for (const v of (await metric!.get()).values) if (v.labels.route === 'm365') out[String(v.labels.result)] = v.value;
  return out;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('graph drafts: an uncertain send keeps the draft and is a possible duplicate', () => {
  test('reset after the body of POST /send: kept, then found by its marker and deleted by the retry, which sends it once', T, () => withFixture(async (f) => {
    const m = scan(f.c);
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { reset: true }, count: 1 });
    const o = await deliver(f, m);
    assert.equal(o.action, 'retry');
    assert.equal(o.possibleDuplicate, true, JSON.stringify(o));
    assert.equal(o.category, 'uncertain', 'classified as the send step that failed, not as the draft step');
    assert.doesNotMatch(o.hint ?? '', /nothing was sent/);
    assert.equal(deletes(f).length, 0, 'a draft whose send may have happened is not deleted');
    const [left] = drafts(f);
    assert.ok(left && drafts(f).length === 1, 'the draft is still in Drafts');
    assert.ok(left.mime.subarray(0, 64).toString('latin1').startsWith(`${MARKER}: ${m.id}\r\n`), 'the draft starts with the marker field');
    assert.deepEqual(left.internetHeaders.find((h) => h.name === MARKER)?.value, m.id);
    assert.equal(sent(f).length, 0);
    assert.equal(events(f, 'graph-draft-kept').length, 1);
    assert.equal(events(f, 'possible-duplicate').length, 1);
    assert.deepEqual(await cleanups(f), { kept: 1 });

    const again = await deliver(f, m);
    assert.equal(again.action, 'delivered', JSON.stringify(again));
    const search = graphRequests(f).filter((r) => r.method === 'GET' && r.path.endsWith('/mailFolders/drafts/messages'));
    assert.equal(search.length, 2, 'each attempt searched Drafts before making a draft');
    assert.match(decodeURIComponent(search[1]!.query ?? ''), new RegExp(`ep/value eq '${m.id}'`));
    assert.deepEqual(deletes(f).map((r) => [deletedId(r), r.status]), [[left.id, 204]], 'the old draft was deleted');
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 1, 'sent exactly once');
    assert.ok(sent(f)[0]!.mime.includes(`${MARKER}: ${m.id}\r\n`));
    assert.equal(events(f, 'graph-orphan-draft-deleted').length, 1);
    assert.deepEqual(await cleanups(f), { kept: 1, 'orphan-deleted': 1 });
  }));

  test('504 after POST /send was accepted: a possible duplicate, nothing deleted, no draft left (it was sent)', T, () => withFixture(async (f) => {
    const m = scan(f.c);
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { acceptThenStatus: 504 }, count: 1 });
    const o = await deliver(f, m);
    assert.equal(o.action, 'retry');
    assert.equal(o.code, 504);
    assert.equal(o.possibleDuplicate, true, JSON.stringify(o));
    assert.equal(deletes(f).length, 0);
    assert.equal(drafts(f).length, 0, 'a sent draft leaves Drafts');
    assert.equal(sent(f).length, 1, 'Microsoft did send it');
    assert.deepEqual(await cleanups(f), { kept: 1 });
    // The retry finds nothing to delete and sends again: the duplicate the outcome warned about.
    assert.equal((await deliver(f, m)).action, 'delivered');
    assert.equal(deletes(f).length, 0);
    assert.equal(sent(f).length, 2);
    assert.equal(drafts(f).length, 0);
  }));

  test('POST /send accepted, then the connection reset: a possible duplicate, the route waits, nothing deleted', T, () => withFixture(async (f) => {
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { acceptThenReset: true }, count: 1 });
    const o = await deliver(f, scan(f.c));
    assert.equal(o.action, 'retry');
    assert.equal(o.scope, 'destination');
    assert.equal(o.category, 'uncertain');
    assert.equal(o.possibleDuplicate, true);
    assert.equal(deletes(f).length, 0);
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 1);
  }));

  test('a stop after the send request went out: a possible duplicate, not "interrupted"; the draft is not deleted', T, () => withFixture(async (f) => {
    // The send acts at once and answers 15 s later; the attempt is stopped in between.
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { delayMs: 15_000 }, count: 1 });
    const stop = new AbortController();
    const started = Date.now();
    const result = deliver(f, scan(f.c), stop.signal);
    await until('Microsoft sent the message', () => sent(f).length === 1);
    stop.abort();
    const o = await result;
    assert.ok(Date.now() - started < 15_000, 'the stop did not wait for the answer (it comes 15 s after the send)');
    assert.equal(o.action, 'retry');
    assert.equal(o.category, 'uncertain', JSON.stringify(o));
    assert.equal(o.possibleDuplicate, true);
    assert.equal(deletes(f).length, 0);
    assert.equal(drafts(f).length, 0);
    assert.equal(events(f, 'graph-draft-kept').length, 1);
  }));

  test('a send refused before it was acted on (503): certain, so the draft is deleted at once; no duplicate flag', T, () => withFixture(async (f) => {
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { status: 503 }, count: 1 });
    const o = await deliver(f, scan(f.c));
    assert.equal(o.action, 'retry');
    assert.equal(o.code, 503);
    assert.equal(o.possibleDuplicate, undefined);
    assert.deepEqual(deletes(f).map((r) => r.status), [204]);
    assert.equal(emu.deletedItems(f.c.scanner).length, 0, 'deleted for good, not moved to Deleted Items');
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 0);
    assert.deepEqual(await cleanups(f), { deleted: 1 });
  }));
});

describe('graph drafts: clean-up', () => {
  test('the clean-up permanentDelete answered 500: logged and counted; the next attempt finds the draft and deletes it', T, () => withFixture(async (f) => {
    const m = scan(f.c);
    fault(f, { target: 'upload', fault: { status: 500 }, count: 1 });
    fault(f, { target: 'graph', method: 'POST', path: /\/permanentDelete$/, fault: { status: 500 }, count: 1 });
    const o = await deliver(f, m);
    assert.equal(o.action, 'retry');
    assert.match(o.response ?? '', /^500/, 'the outcome is the upload step\'s, not the clean-up\'s');
    assert.equal(o.possibleDuplicate, undefined);
    assert.deepEqual(deletes(f).map((r) => r.status), [500]);
    assert.equal(drafts(f).length, 1, 'the draft is still there');
    const [warn] = events(f, 'graph-draft-cleanup-failed');
    assert.equal(warn?.level, 'warn');
    assert.match(String(warn?.reason), /500 InternalServerError/);
    assert.match(String(warn?.msg), /could not be deleted/);
    assert.deepEqual(await cleanups(f), { failed: 1 });

    assert.equal((await deliver(f, m)).action, 'delivered');
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 1);
    assert.deepEqual(await cleanups(f), { failed: 1, 'orphan-deleted': 1 });
  }));

  test('the clean-up permanentDelete gets no answer (connection reset): logged and counted, the draft stays for the next attempt', T, () => withFixture(async (f) => {
    fault(f, { target: 'upload', fault: { status: 500 }, count: 1 });
    fault(f, { target: 'graph', method: 'POST', path: /\/permanentDelete$/, fault: { reset: true }, count: 1 });
    const o = await deliver(f, scan(f.c));
    assert.match(o.response ?? '', /^500/);
    assert.equal(drafts(f).length, 1);
    assert.equal(events(f, 'graph-draft-cleanup-failed').length, 1);
    assert.match(String(events(f, 'graph-draft-cleanup-failed')[0]?.reason), /ECONNRESET|socket hang up/);
    assert.deepEqual(await cleanups(f), { failed: 1 });
  }));

  test('a clean-up permanentDelete that does not answer within its own deadline does not hold the attempt', T, () => withFixture(async (f) => {
    fault(f, { target: 'upload', fault: { status: 500 }, count: 1 });
    fault(f, { target: 'graph', method: 'POST', path: /\/permanentDelete$/, fault: { delayMs: 20_000 }, count: 1 });
    const started = Date.now();
    const o = await deliver(f, scan(f.c));
    assert.ok(Date.now() - started < 20_000, `the attempt took ${Date.now() - started} ms`);
    assert.match(o.response ?? '', /^500/);
    assert.match(String(events(f, 'graph-draft-cleanup-failed')[0]?.reason), /no answer within 1 s/);
    assert.deepEqual(await cleanups(f), { failed: 1 });
  }, { cleanupDeadlineMs: 1_000 }));

  test('a stop in the middle of an upload: interrupted, and the draft is deleted anyway with the clean-up\'s own deadline', T, () => withFixture(async (f) => {
    fault(f, { target: 'upload', fault: { delayMs: 15_000 }, count: 1 });
    const stop = new AbortController();
    const started = Date.now();
    const result = deliver(f, scan(f.c), stop.signal);
    await until('the upload session exists', () => graphRequests(f).some((r) => r.path.endsWith('/createUploadSession') && r.status === 201));
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const o = await result;
    assert.ok(Date.now() - started < 15_000, 'the stop did not wait for the upload (it answers 15 s after it began)');
    assert.equal(o.action, 'retry');
    assert.equal(o.category, 'interrupted');
    assert.equal(o.possibleDuplicate, undefined);
    assert.deepEqual(deletes(f).map((r) => r.status), [204], 'the draft was deleted after the stop');
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 0);
    assert.deepEqual(await cleanups(f), { deleted: 1 });
  }));

  test('a lost answer to POST /messages: the draft it made is found by its marker and deleted in the same attempt', T, () => withFixture(async (f) => {
    fault(f, { target: 'graph', method: 'POST', path: /\/messages$/, fault: { acceptThenReset: true }, count: 1 });
    const o = await deliver(f, scan(f.c));
    assert.equal(o.action, 'retry');
    assert.equal(o.category, 'connection');
    assert.equal(o.possibleDuplicate, undefined, 'a draft is not a sent message');
    assert.deepEqual(deletes(f).map((r) => r.status), [204]);
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 0);
    assert.deepEqual(await cleanups(f), { 'orphan-deleted': 1 });
  }));

  test('a lost answer to POST /messages and no search possible: the next attempt finds the orphan and deletes it', T, () => withFixture(async (f) => {
    const m = scan(f.c);
    fault(f, { target: 'graph', method: 'POST', path: /\/messages$/, fault: { acceptThenReset: true }, count: 1 });
    fault(f, { target: 'graph', method: 'GET', path: /\/mailFolders\/drafts\/messages$/, fault: { status: 503 }, count: 2 });
    const o = await deliver(f, m);
    assert.equal(o.action, 'retry');
    assert.equal(o.possibleDuplicate, undefined);
    const [orphan] = drafts(f);
    assert.ok(orphan && drafts(f).length === 1, 'the draft whose id was never learnt is in Drafts');
    assert.equal(deletes(f).length, 0);
    const searches = events(f, 'graph-draft-search-failed');
    assert.deepEqual(searches.map((e) => e.why), ['earlier-attempts', 'lost-answer']);
    assert.match(String(searches[1]?.reason), /503 ResourceUnhealthy/);
    assert.deepEqual(await cleanups(f), { 'search-failed': 2 });

    assert.equal((await deliver(f, m)).action, 'delivered');
    assert.deepEqual(deletes(f).map((r) => [deletedId(r), r.status]), [[orphan.id, 204]]);
    assert.equal(drafts(f).length, 0);
    assert.equal(sent(f).length, 1);
    assert.deepEqual(await cleanups(f), { 'search-failed': 2, 'orphan-deleted': 1 });
  }));

  test('drafts of other messages are left alone', T, () => withFixture(async (f) => {
    const other = scan(f.c);
    fault(f, { target: 'graph', method: 'POST', path: /\/send$/, fault: { reset: true }, count: 1 });
    assert.equal((await deliver(f, other)).possibleDuplicate, true);
    assert.equal((await deliver(f, scan(f.c))).action, 'delivered');
    assert.deepEqual(drafts(f).map((d) => d.internetHeaders.find((h) => h.name === MARKER)?.value), [other.id], 'only the other message\'s draft remains');
    assert.equal(deletes(f).length, 0);
  }));
});
