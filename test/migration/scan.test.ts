/**
 * The tenant scan against the Microsoft 365 emulator over HTTPS with real
 * tokens, through the MigrationService the CLI and the console use, stored
 * in a real SQLite spool: five basic-auth senders found with their
 * addresses, times and refusals (sign-in logs read in pages); the same
 * tenant without Entra ID P1/P2 (the licence refusal explained, the report
 * alone); concealed names (counted, the setting explained); missing
 * permissions; a 429 waited out; throttling that outlasts the wait (what
 * was read kept); the report's 304 on a second scan; a clear refusal when
 * no app can read the tenant.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/core/log.js';
import { MigrationService } from '../../src/migration/service.js';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import type { ScanRecord } from '../../src/spool/migration-records.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { basicAuthTenant, scanUpstream, type BasicAuthTenant } from '../helpers/m365-migration.js';

let emu: Emulator;
const dirs: string[] = [];
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serviceFor(t: BasicAuthTenant, extra: Partial<ConfigInput> = {}, reader = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-scan-'));
  dirs.push(dir);
  const config = validateConfig({ dataDir: dir, upstreams: { m365: scanUpstream(emu, t, t.senders[0]!.mailbox) }, migration: { upstream: 'm365' }, ...extra }, { env: {} }, dir);
  const store = new SqliteStore({ dir: join(dir, 'queue') });
  await store.init();
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>); cb(); } }));
  const service = new MigrationService({ store, config: () => config, log, pageSize: 4, reader });
  return { service, store, logs, close: () => store.close() };
}

const source = (s: ScanRecord, name: string) => s.sources.find((x) => x.source === name)!;

test('five basic-auth senders: each with its address, times, sign-in count and refusals, read in pages; stored; the board counts them', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu);
  const { service, store, logs, close } = await serviceFor(t);
  try {
    const scan = await service.scan({ trigger: 'cli', by: 'test' });
    assert.deepEqual(scan.sources.map((s) => [s.source, s.status]), [['usage-report', 'ok'], ['report-settings', 'ok'], ['sign-ins', 'ok']]);
    assert.equal(source(scan, 'sign-ins').pages, 4, '14 sign-ins in pages of 4');
    assert.equal(source(scan, 'usage-report').rows, 5);
    assert.equal(scan.concealed, false);
    assert.equal(scan.displayConcealedNames, false);
    assert.deepEqual(scan.senders.map((s) => s.mailbox).sort(), t.senders.map((s) => s.mailbox).sort(), 'the people using Outlook are not senders');
    for (const want of t.senders) {
      const got = scan.senders.find((s) => s.mailbox === want.mailbox)!;
      assert.deepEqual(got.addresses.map((a) => a.ip), [want.ip]);
      assert.equal(got.signIns, want.signIns);
      assert.equal(got.failures, want.refused);
      assert.equal(got.lastBasicAuth, want.lastAt, `${want.mailbox}: the exact time of the last sign-in`);
      assert.equal(got.lastBasicAuthPrecision, 'time');
      assert.equal(got.inReport && got.inSignIns, true);
    }
    const nas = scan.senders.find((s) => s.mailbox?.startsWith('nas-backup'))!;
    assert.deepEqual(nas.failureReasons.map((f) => [f.errorCode, f.count]), [[50126, 2]]);
    assert.ok((await store.scan(scan.id))!.senders.length === 5, 'stored with its senders');
    const board = await service.board();
    assert.equal(board.summary.total, 5);
    assert.equal(board.summary.moved, 0);
    assert.ok(board.rows.every((r) => r.state === 'basic-auth'));
    assert.ok(logs.some((l) => l.event === 'migration-scan-finished' && /found 5 sender\(s\)/.test(String(l.msg))));
    const tokenUse = emu.requests().filter((r) => r.service === 'report-download');
    assert.ok(tokenUse.length >= 1 && tokenUse.every((r) => !r.authorization), 'the CSV was fetched without Authorization');

    // The report has not changed: the second scan gets 304 and uses the rows again.
    emu.reset();
    const again = await service.scan({ trigger: 'schedule', by: 'schedule' });
    assert.equal(source(again, 'usage-report').status, 'not-modified');
    assert.equal(again.senders.length, 5);
  } finally {
    await close();
  }
});

test('without Entra ID P1/P2: Microsoft\'s licence refusal explained, the scan goes on with the report alone, to the day', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu, { premium: false });
  const { service, logs, close } = await serviceFor(t);
  try {
    const scan = await service.scan({ trigger: 'cli', by: 'test' });
    const logsSource = source(scan, 'sign-ins');
    assert.deepEqual([logsSource.status, logsSource.httpStatus, logsSource.code, logsSource.ref],
      ['licence', 403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', 'scan.Authentication_RequestFromNonPremiumTenantOrB2CTenant']);
    assert.equal(logsSource.message, "Neither tenant is B2C or tenant doesn't have premium license", 'the exact answer Microsoft gives');
    assert.match(logsSource.detail, /Entra ID P1 or P2 licence.*usage report alone/);
    assert.match(logsSource.fix ?? '', /Sign-in logs, filter Client app = Authenticated SMTP/);
    assert.equal(source(scan, 'usage-report').status, 'ok');
    assert.equal(scan.senders.length, 5, 'the report still finds them');
    assert.ok(scan.senders.every((s) => s.lastBasicAuthPrecision === 'day' && s.addresses.length === 0 && !s.inSignIns));
    assert.ok(logs.some((l) => l.event === 'migration-scan-source' && l.level === 'warn' && /sign-ins ended licence/.test(String(l.msg))));
    const board = await service.board();
    assert.ok(board.rows.every((r) => r.countInPeriod === null), 'no count without the sign-in logs');
  } finally {
    await close();
  }
});

test('concealed names: counted, named by code, the setting explained; with the sign-in logs the real names are used and nobody is counted twice', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu, { premium: false, concealed: true });
  const a = await serviceFor(t);
  try {
    const scan = await a.service.scan({ trigger: 'cli', by: 'test' });
    assert.equal(scan.concealed, true);
    assert.equal(scan.displayConcealedNames, true);
    assert.equal(scan.senders.length, 5, 'still counted');
    assert.ok(scan.senders.every((s) => s.concealed && s.mailbox === null && /^concealed:[0-9A-F]{32}$/.test(s.key)));
    const usage = source(scan, 'usage-report');
    assert.equal(usage.ref, 'scan.concealed-names');
    assert.equal(usage.concealed, 5);
    assert.match(usage.fix ?? '', /Settings → Org settings → Services → Reports, clear "Display concealed user, group, and site names in all reports"/);
    const board = await a.service.board();
    assert.equal(board.summary.concealed, 5);
    assert.ok(board.rows.every((r) => r.addAsDevice === null), 'a concealed name cannot become a device');
  } finally {
    await a.close();
  }
  const withLogs = basicAuthTenant(emu, { concealed: true });
  const b = await serviceFor(withLogs);
  try {
    const scan = await b.service.scan({ trigger: 'cli', by: 'test' });
    assert.equal(scan.concealed, true);
    assert.deepEqual(scan.senders.map((s) => s.mailbox).sort(), withLogs.senders.map((s) => s.mailbox).sort());
    assert.match(source(scan, 'usage-report').detail, /the sign-in logs name the senders instead/);
  } finally {
    await b.close();
  }
});

test('missing permissions: each source ends with the permission to grant, the app and tenant filled in', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu, { roles: ['Mail.Send'] });
  const { service, close } = await serviceFor(t);
  try {
    const scan = await service.scan({ trigger: 'cli', by: 'test' });
    assert.deepEqual(scan.sources.map((s) => [s.source, s.status, s.ref]), [
      ['usage-report', 'permission', 'scan.usage-report.Reports.Read.All'],
      ['report-settings', 'permission', 'scan.report-settings.ReportSettings.Read.All'],
      ['sign-ins', 'permission', 'scan.sign-ins.AuditLog.Read.All'],
    ]);
    assert.match(source(scan, 'sign-ins').fix ?? '', new RegExp(`App registrations → ${t.app.clientId} → .*AuditLog\\.Read\\.All.*Grant admin consent for ${t.tenant.domains[0]!.replace(/\./g, '\\.')}`));
    assert.equal(scan.senders.length, 0);
  } finally {
    await close();
  }
});

test('throttling: a 429 with Retry-After is waited out; one longer than the scan waits ends the sign-in logs with what was read kept', { timeout: 60_000 }, async () => {
  const t = basicAuthTenant(emu);
  const a = await serviceFor(t);
  try {
    emu.fault({ target: 'graph', path: /\/auditLogs\/signIns$/, fault: { throttle: true, retryAfterSeconds: 1 }, count: 1 });
    const started = Date.now();
    const scan = await a.service.scan({ trigger: 'cli', by: 'test' });
    assert.ok(Date.now() - started >= 900, 'it waited as told');
    assert.equal(source(scan, 'sign-ins').status, 'ok');
    assert.ok(a.logs.some((l) => l.event === 'migration-scan-throttled' && /waiting 1 s as its Retry-After asks/.test(String(l.msg))));
  } finally {
    await a.close();
  }
  // Microsoft's own limit (here 2 requests per 10 s) asks for a wait longer than this scan allows (1 s): the pages read are kept.
  const b = await serviceFor(t, {}, { maxWaitMs: 1_000 });
  emu.signInsPerTenSecondsPerApp = 2;
  try {
    emu.reset();
    const scan = await b.service.scan({ trigger: 'cli', by: 'test' });
    const logsSource = source(scan, 'sign-ins');
    assert.deepEqual([logsSource.status, logsSource.httpStatus, logsSource.ref, logsSource.pages, logsSource.rows], ['partial', 429, 'scan.sign-ins.throttled', 2, 8]);
    assert.match(logsSource.detail, /^8 Authenticated SMTP sign-in\(s\) in 2 page\(s\) were read before a later page failed, and are kept\. Microsoft Graph answered 429 UnknownError/);
    assert.equal(scan.senders.length, 5, 'the report still names all five');
  } finally {
    emu.signInsPerTenSecondsPerApp = 5;
    await b.close();
  }
});

test('no app to read the tenant with: a clear sentence, no stack trace', { timeout: 30_000 }, async () => {
  const t = basicAuthTenant(emu);
  const { service, close } = await serviceFor(t, { upstreams: {}, migration: undefined });
  try {
    await assert.rejects(service.scan({ trigger: 'cli', by: 'test' }), { name: 'UserError', message: /no app registration to read the tenant with: configure a graph upstream, or migration\.app/ });
    await assert.rejects(service.scan({ upstream: 'nope', trigger: 'cli', by: 'test' }), { name: 'UserError', message: /no upstream named "nope"/ });
  } finally {
    await close();
  }
});
