/**
 * The migration board's pure parts: reading Microsoft's CSV (BOM, CRLF,
 * quotes), turning report rows and sign-ins into senders (addresses, times,
 * refusals; concealed names counted once), the states (basic-auth, moved,
 * quiet, ignored) with the day precision of the report, the summary line and
 * days to the deadline, the device suggestion, and the CSV export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvLine, parseCsv } from '../../src/migration/csv.js';
import { buildSenders, isConcealedName } from '../../src/migration/senders.js';
import { buildBoard, daysUntil, stateOf, type BoardInput } from '../../src/migration/board.js';
import { suggestDevice } from '../../src/migration/device-prefill.js';
import { boardCsv } from '../../src/migration/board-csv.js';
import type { UsageRow } from '../../src/migration/sources.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

test('CSV: a byte order mark, CRLF and LF, quoted commas, doubled quotes and line breaks; and back', { timeout: 5_000 }, () => {
  const text = '\uFEFFReport Refresh Date,User Principal Name,Display Name,SMTP App\r\n2026-12-05,a@contoso.com,"Doe, Jane",Undetermined\r\n'
    + '2026-12-05,b@contoso.com,"The ""big"" one\r\nsecond line",\n\r\n';
  assert.deepEqual(parseCsv(text), [
    { 'Report Refresh Date': '2026-12-05', 'User Principal Name': 'a@contoso.com', 'Display Name': 'Doe, Jane', 'SMTP App': 'Undetermined' },
    { 'Report Refresh Date': '2026-12-05', 'User Principal Name': 'b@contoso.com', 'Display Name': 'The "big" one\r\nsecond line', 'SMTP App': '' },
  ]);
  assert.throws(() => parseCsv('a,b\r\n"open'), /ends inside a quoted cell/);
  assert.equal(csvLine(['a', 'b,c', 'say "hi"', null, 3]), 'a,"b,c","say ""hi""",,3\r\n');
});

const row = (upn: string, smtp: string, last = '2026-12-04', name = ''): UsageRow => ({ upn, displayName: name, isDeleted: false, lastActivityDate: last, smtpApp: smtp, refreshDate: '2026-12-05' });

test('senders: sign-ins grouped per mailbox with addresses, counts and refusal reasons; the report adds the others to the day', { timeout: 5_000 }, () => {
  const t = (h: number) => NOW - h * 3_600_000;
  const built = buildSenders({
    report: [row('Scanner@contoso.com', 'Undetermined', '2026-12-05', 'Scanner'), row('nas@contoso.com', 'Undetermined', '2026-12-01'), row('alice@contoso.com', '')],
    signIns: [
      { upn: 'scanner@contoso.com', displayName: 'Scanner', at: t(5), ip: '203.0.113.7', errorCode: 0, failureReason: null },
      { upn: 'SCANNER@contoso.com', displayName: null, at: t(1), ip: '203.0.113.7', errorCode: 50126, failureReason: 'Invalid username or password.' },
      { upn: 'scanner@contoso.com', displayName: null, at: t(3), ip: '198.51.100.4', errorCode: 0, failureReason: null },
      { upn: 'ups@contoso.com', displayName: 'UPS', at: t(30), ip: '203.0.113.9', errorCode: 530035, failureReason: 'Access has been blocked by security defaults.' },
    ],
  });
  assert.equal(built.smtpRows, 2, 'alice used no SMTP app');
  assert.deepEqual(built.senders.map((s) => s.key), ['nas@contoso.com', 'scanner@contoso.com', 'ups@contoso.com']);
  const [nas, scanner, ups] = built.senders;
  assert.deepEqual([scanner!.signIns, scanner!.successes, scanner!.failures, scanner!.lastSuccess, scanner!.lastFailure, scanner!.lastBasicAuth, scanner!.lastBasicAuthPrecision],
    [3, 2, 1, t(3), t(1), t(1), 'time']);
  assert.deepEqual(scanner!.addresses, [{ ip: '203.0.113.7', count: 2, lastAt: t(1) }, { ip: '198.51.100.4', count: 1, lastAt: t(3) }]);
  assert.deepEqual(scanner!.failureReasons, [{ errorCode: 50126, reason: 'Invalid username or password.', count: 1, lastAt: t(1) }]);
  assert.equal(scanner!.inReport && scanner!.inSignIns, true);
  assert.deepEqual([nas!.inSignIns, nas!.lastBasicAuth, nas!.lastBasicAuthPrecision], [false, Date.UTC(2026, 11, 1), 'day']);
  assert.deepEqual([ups!.inReport, ups!.failures, ups!.failureReasons[0]!.errorCode], [false, 1, 530035]);
});

test('senders: concealed report names become senders only without the sign-in logs (never counted twice)', { timeout: 5_000 }, () => {
  const hex = 'FE7CC8C15246EDCCA289C9A4022762F7';
  assert.equal(isConcealedName(hex), true);
  assert.equal(isConcealedName('scanner@contoso.com'), false);
  const reportOnly = buildSenders({ report: [row(hex, 'Undetermined', '2026-12-04', 'A1B2C3D4E5F60718293A4B5C6D7E8F90')], signIns: null });
  assert.deepEqual(reportOnly.senders.map((s) => [s.key, s.mailbox, s.concealed, s.displayName]), [[`concealed:${hex}`, null, true, null]]);
  assert.equal(reportOnly.concealedRows, 1);
  const both = buildSenders({ report: [row(hex, 'Undetermined')], signIns: [{ upn: 'scanner@contoso.com', displayName: null, at: NOW, ip: '203.0.113.7', errorCode: 0, failureReason: null }] });
  assert.deepEqual(both.senders.map((s) => s.key), ['scanner@contoso.com']);
  assert.equal(both.concealedRows, 1);
});

test('states: moved after a message through authrelay that follows the last basic-auth use; quiet after quietAfter; a report day counts until its end', { timeout: 5_000 }, () => {
  const seen = (first: number, last: number) => ({ mailbox: 'x@contoso.com', firstSeen: first, lastSeen: last, messages: 2, devices: ['mfp'] });
  const q = 14 * DAY;
  assert.equal(stateOf(NOW - DAY, undefined, false, NOW, q), 'basic-auth');
  assert.equal(stateOf(NOW - DAY, seen(NOW - 2 * DAY, NOW - 2 * DAY), false, NOW, q), 'basic-auth', 'the relay saw it before the last basic-auth use');
  assert.equal(stateOf(NOW - DAY, seen(NOW - 2 * DAY, NOW - 3_600_000), false, NOW, q), 'moved');
  assert.equal(stateOf(null, seen(NOW - 20 * DAY, NOW - 20 * DAY), false, NOW, q), 'moved', 'moved stays moved when quiet');
  assert.equal(stateOf(NOW - 15 * DAY, undefined, false, NOW, q), 'quiet');
  assert.equal(stateOf(NOW - 15 * DAY, undefined, true, NOW, q), 'ignored');
  assert.equal(daysUntil('2026-12-31', NOW), 25);
  assert.equal(daysUntil('2026-12-06', NOW), 0);
  assert.equal(daysUntil('2026-12-01', NOW), -5);
});

test('the board: rows matched to devices by sendAs and by messages seen, the summary line, add-as-device prefill, CSV', { timeout: 5_000 }, () => {
  const sender = (key: string, last: number | null, precision: 'time' | 'day' | null = 'time') => ({
    key, mailbox: key.startsWith('concealed:') ? null : key, concealed: key.startsWith('concealed:'), firstFoundAt: NOW - DAY, lastFoundAt: NOW - 3_600_000,
    lastBasicAuth: last, lastBasicAuthPrecision: last === null ? null : precision, scans: 1,
  });
  const input: BoardInput = {
    now: NOW, deadline: '2026-12-31', quietAfterMs: 14 * DAY, latest: undefined, scans: [],
    history: [
      sender('scanner@contoso.com', NOW - 2 * DAY), sender('copier@contoso.com', NOW - DAY), sender('ups@contoso.com', NOW - 30 * DAY),
      sender('nas@contoso.com', Date.UTC(2026, 11, 6), 'day'), sender('concealed:FE7CC8C15246EDCCA289C9A4022762F7', NOW - DAY), sender('old@contoso.com', NOW - 3 * DAY),
    ],
    marks: [{ key: 'old@contoso.com', reason: 'retired', by: 'admin', at: NOW - 60_000 }],
    seen: [
      { mailbox: 'scanner@contoso.com', firstSeen: NOW - 3_600_000, lastSeen: NOW - 60_000, messages: 4, devices: ['scanner'] },
      // Seen at the relay today, but the report's day (today) is not over: not moved yet.
      { mailbox: 'nas@contoso.com', firstSeen: NOW - 60_000, lastSeen: NOW - 60_000, messages: 1, devices: ['nas'] },
    ],
    devices: [{ name: 'scanner', sendAs: 'Scanner@contoso.com' }, { name: 'copier' }],
  };
  const b = buildBoard(input);
  const by = Object.fromEntries(b.rows.map((r) => [r.key, r]));
  assert.equal(by['scanner@contoso.com']!.state, 'moved');
  assert.deepEqual(by['scanner@contoso.com']!.devices, ['scanner']);
  assert.equal(by['scanner@contoso.com']!.addAsDevice, null, 'a device sends as it already');
  assert.equal(by['copier@contoso.com']!.state, 'basic-auth');
  assert.deepEqual(by['copier@contoso.com']!.addAsDevice, { name: 'copier-2', sendAs: 'copier@contoso.com' }, 'the name is made unique');
  assert.equal(by['ups@contoso.com']!.state, 'quiet');
  assert.equal(by['nas@contoso.com']!.state, 'basic-auth');
  assert.equal(by['nas@contoso.com']!.basicAfterRelay, true);
  assert.equal(by['concealed:FE7CC8C15246EDCCA289C9A4022762F7']!.addAsDevice, null, 'a concealed name cannot be added');
  assert.equal(by['old@contoso.com']!.state, 'ignored');
  assert.deepEqual(by['old@contoso.com']!.ignored, { reason: 'retired', by: 'admin', at: new Date(NOW - 60_000).toISOString() });
  assert.deepEqual(b.rows.map((r) => r.state), ['basic-auth', 'basic-auth', 'basic-auth', 'quiet', 'moved', 'ignored'], 'what needs work first');
  assert.deepEqual({ ...b.summary, text: undefined }, { total: 5, moved: 1, left: 4, basicAuth: 3, quiet: 1, ignored: 1, concealed: 1, deadline: '2026-12-31', daysLeft: 25, text: undefined });
  assert.equal(b.summary.text, '1 of 5 senders moved; 4 left; 25 days to the deadline (2026-12-31); 1 ignored');
  const csv = boardCsv(b).split('\r\n');
  assert.equal(csv[0], 'mailbox,display name,state,last basic auth,precision,sign-ins in period,failures,source addresses,seen at authrelay,messages through authrelay,devices,ignored reason,ignored by,concealed');
  assert.equal(csv.length, b.rows.length + 2);
  assert.deepEqual(suggestDevice('Scan.Office+3F@contoso.com', []), { name: 'scan.office-3f', sendAs: 'Scan.Office+3F@contoso.com' });
  assert.deepEqual(suggestDevice('__@contoso.com', ['device']), { name: 'device-2', sendAs: '__@contoso.com' });
});
