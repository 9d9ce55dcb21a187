/**
 * Store contract, the migration board's records (see store-contract.ts and
 * src/spool/migration-records.ts): scans stored with their time, period,
 * source outcomes and senders, read back whole and after a restart; the
 * history of each sender across scans (latest basic-auth use, exact or to
 * the day); ignore marks set, replaced and cleared; "seen at authrelay"
 * from the messages' sendAs and From, each message counted once, parts and
 * notices left out; old scans pruned with their senders.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { NewScan, ScanSender } from '../../src/spool/migration-records.js';
import { DAY, T0, put, type StoreFixture } from './store-contract.js';

type Run = (title: string, fn: (f: StoreFixture) => Promise<void>) => ReturnType<typeof test>;

function sender(key: string, o: Partial<ScanSender> = {}): ScanSender {
  return {
    key, mailbox: key.startsWith('concealed:') ? null : key, displayName: null, concealed: key.startsWith('concealed:'), inReport: true, inSignIns: false,
    reportLastActivity: null, smtpApp: 'Undetermined', signIns: 0, successes: 0, failures: 0, lastSuccess: null, lastFailure: null,
    lastBasicAuth: null, lastBasicAuthPrecision: null, addresses: [], failureReasons: [], ...o,
  };
}

function scanAt(finishedAt: number, senders: ScanSender[], o: Partial<NewScan> = {}): NewScan {
  return {
    startedAt: finishedAt - 5_000, finishedAt, period: 'D30', trigger: 'cli', by: 'test', app: 'upstream m365', tenant: 'contoso.onmicrosoft.com',
    appId: '11111111-2222-3333-4444-555555555555',
    sources: [
      { source: 'usage-report', status: 'ok', rows: senders.length, detail: 'The report lists 9 user(s).' },
      { source: 'report-settings', status: 'permission', ref: 'scan.report-settings.ReportSettings.Read.All', httpStatus: 403, code: 'Authorization_RequestDenied', detail: 'no', fix: 'grant' },
      { source: 'sign-ins', status: 'licence', ref: 'scan.Authentication_RequestFromNonPremiumTenantOrB2CTenant', httpStatus: 403, detail: 'no licence' },
    ],
    concealed: false, displayConcealedNames: null, reportRefreshDate: '2026-01-04', reportEtag: '"abc"', senders, ...o,
  };
}

export function storeMigrationContract(name: string, run: Run): void {
  describe(`store contract: ${name}: migration board`, () => {
    run('a scan is stored with its time, period, sources and senders, and read back whole after a restart', async (f) => {
      const a = sender('scanner@contoso.com', {
        displayName: 'Scanner 3F', inSignIns: true, signIns: 12, successes: 10, failures: 2, lastSuccess: T0 - 3_600_000, lastFailure: T0 - 60_000,
        lastBasicAuth: T0 - 60_000, lastBasicAuthPrecision: 'time', addresses: [{ ip: '203.0.113.7', count: 12, lastAt: T0 - 60_000 }],
        failureReasons: [{ errorCode: 50126, reason: 'Invalid username or password.', count: 2, lastAt: T0 - 60_000 }],
      });
      const b = sender('concealed:FE7CC8C15246EDCCA289C9A4022762F7', { reportLastActivity: '2026-01-03', lastBasicAuth: T0 - DAY, lastBasicAuthPrecision: 'day' });
      const id = await f.store.saveScan(scanAt(T0, [a, b], { concealed: true, displayConcealedNames: true }));
      assert.ok(Number.isInteger(id) && id > 0);
      const second = await f.store.saveScan(scanAt(T0 + DAY, [], { period: 'D7', trigger: 'schedule' }));
      assert.ok(second > id, 'ids grow');
      for (const restart of [false, true]) {
        const store = restart ? await f.reopen() : f.store;
        const got = await store.scan(id);
        assert.ok(got);
        assert.deepEqual(got, { ...scanAt(T0, [b, a].sort((x, y) => (x.key < y.key ? -1 : 1)), { concealed: true, displayConcealedNames: true }), id });
        const list = await store.scans(10);
        assert.deepEqual(list.map((s) => [s.id, s.period, s.trigger, s.senderCount]), [[second, 'D7', 'schedule', 0], [id, 'D30', 'cli', 2]], 'newest first');
        assert.equal(list[1]!.sources[2]!.status, 'licence');
        assert.equal('senders' in list[1]!, false, 'the list leaves the senders out');
        assert.equal((await store.scans(1)).length, 1);
        assert.equal(await store.scan(999_999), undefined);
      }
    });

    run('the sender history spans all scans: first and last found, count, and the latest basic-auth use with its precision', async (f) => {
      await f.store.saveScan(scanAt(T0, [
        sender('scanner@contoso.com', { lastBasicAuth: T0 - 10 * DAY, lastBasicAuthPrecision: 'day' }),
        sender('ups@contoso.com', { lastBasicAuth: T0 - 2 * DAY, lastBasicAuthPrecision: 'time' }),
      ]));
      await f.store.saveScan(scanAt(T0 + DAY, [
        sender('scanner@contoso.com', { lastBasicAuth: T0 - 5 * DAY, lastBasicAuthPrecision: 'time' }),
        sender('ups@contoso.com', { lastBasicAuth: T0 - DAY, lastBasicAuthPrecision: 'day' }),
        sender('nas@contoso.com'),
      ]));
      const h = await f.store.senderHistory();
      assert.deepEqual(h.map((x) => [x.key, x.scans, x.firstFoundAt, x.lastFoundAt, x.lastBasicAuth, x.lastBasicAuthPrecision, x.mailbox, x.concealed]), [
        ['nas@contoso.com', 1, T0 + DAY, T0 + DAY, null, null, 'nas@contoso.com', false],
        ['scanner@contoso.com', 2, T0, T0 + DAY, T0 - 5 * DAY, 'time', 'scanner@contoso.com', false],
        ['ups@contoso.com', 2, T0, T0 + DAY, T0 - DAY, 'day', 'ups@contoso.com', false],
      ]);
    });

    run('ignore marks are set with reason, who and when, replaced, listed and cleared', async (f) => {
      await f.store.setIgnore({ key: 'scanner@contoso.com', reason: 'retired printer', by: 'admin', at: T0 });
      await f.store.setIgnore({ key: 'concealed:FE7CC8C15246EDCCA289C9A4022762F7', reason: 'test', by: 'admin', at: T0 });
      await f.store.setIgnore({ key: 'scanner@contoso.com', reason: 'moved to the cloud print service', by: 'token:ci', at: T0 + 1 });
      assert.deepEqual(await f.store.ignoreMarks(), [
        { key: 'concealed:FE7CC8C15246EDCCA289C9A4022762F7', reason: 'test', by: 'admin', at: T0 },
        { key: 'scanner@contoso.com', reason: 'moved to the cloud print service', by: 'token:ci', at: T0 + 1 },
      ]);
      assert.equal(await f.store.clearIgnore('scanner@contoso.com'), true);
      assert.equal(await f.store.clearIgnore('scanner@contoso.com'), false, 'gone already');
      assert.deepEqual((await f.store.ignoreMarks()).map((m) => m.key), ['concealed:FE7CC8C15246EDCCA289C9A4022762F7']);
    });

    run('seen at authrelay: messages whose sendAs or From is the mailbox, any case, each counted once, with the devices; parts and notices left out', async (f) => {
      const origin = (device: string) => ({ device, clientIp: '192.0.2.10', listener: 'main' });
      await put(f.store, { receivedAt: T0 + 10, sendAs: 'Scanner@Contoso.com', headerFrom: 'scanner@contoso.com', origin: origin('mfp-3f') });
      await put(f.store, { receivedAt: T0 + 20, headerFrom: 'SCANNER@contoso.com', origin: origin('mfp-2f') });
      // Split at acceptance into two parts: the second part shares the message's fields and must not count again.
      await put(f.store, { receivedAt: T0 + 30, sendAs: 'scanner@contoso.com', recipients: ['a@contoso.com', 'b@fabrikam.com'], origin: origin('mfp-3f'),
        routes: [{ route: 'r1', recipients: ['a@contoso.com'] }, { route: 'r2', recipients: ['b@fabrikam.com'] }] });
      await put(f.store, { receivedAt: T0 + 40, sendAs: 'ups@contoso.com', headerFrom: 'alerts@contoso.com', origin: origin('ups') });
      await put(f.store, { receivedAt: T0 + 50, kind: 'notice', headerFrom: 'scanner@contoso.com', sender: '', origin: { device: null, clientIp: '127.0.0.1', listener: 'relay' } });
      const seen = await f.store.mailboxesSeen(['scanner@CONTOSO.com', 'alerts@contoso.com', 'nobody@contoso.com']);
      assert.deepEqual(seen, [
        { mailbox: 'alerts@contoso.com', firstSeen: T0 + 40, lastSeen: T0 + 40, messages: 1, devices: ['ups'] },
        { mailbox: 'scanner@contoso.com', firstSeen: T0 + 10, lastSeen: T0 + 30, messages: 3, devices: ['mfp-3f', 'mfp-2f'] },
      ]);
      assert.deepEqual(await f.store.mailboxesSeen([]), []);
    });

    run('old scans are pruned with their senders', async (f) => {
      await f.store.saveScan(scanAt(T0, [sender('old@contoso.com')]));
      const keep = await f.store.saveScan(scanAt(T0 + 10 * DAY, [sender('new@contoso.com')]));
      assert.equal(await f.store.pruneScans(T0 + DAY), 1);
      assert.deepEqual((await f.store.scans(10)).map((s) => s.id), [keep]);
      assert.deepEqual((await f.store.senderHistory()).map((h) => h.key), ['new@contoso.com'], 'the pruned scan\'s senders went with it');
    });
  });
}
