/**
 * The console's record of legacy readers (report/reader-activity.ts): a
 * session counted from login to end with its bytes, the last error with its
 * fix, refusals found by the user names of a device; and bounded memory
 * whatever outsiders send (a few sessions per device, a bounded number of
 * devices and of refused user names). The tee tells every sink even when
 * one throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReaderActivity, teeTelemetry } from '../../src/report/reader-activity.js';

test('a session from login to end, its bytes, the last error and refusals by user name', () => {
  let now = 1_000;
  const a = new ReaderActivity(() => now);
  a.loggedIn('imaps', 'imap', 'erp', { session: 's1', clientIp: '192.0.2.5', mailbox: 'invoices@contoso.com', tlsVersion: 'TLSv1.3' });
  let d = a.of('erp')!;
  assert.equal(d.lastLogin, 1_000);
  assert.equal(d.lastMailbox, 'invoices@contoso.com');
  assert.equal(d.sessions[0]!.endedAt, null, 'open');
  now = 5_000;
  a.sessionEnded('imaps', 'imap', { toClient: 30_000_000, toUpstream: 400 }, { session: 's1', clientIp: '192.0.2.5', endedBy: 'client', durationMs: 4_000 });
  d = a.of('erp')!;
  assert.deepEqual([d.bytesToClient, d.bytesToServer, d.sessions[0]!.endedAt, d.sessions[0]!.endedBy], [30_000_000, 400, 5_000, 'client']);
  a.upstreamFailed('pop3s', 'pop3', 'role-missing', {
    session: 's2', clientIp: '192.0.2.5', device: 'erp', mailbox: 'invoices@contoso.com', summary: 'no POP.AccessAsApp role', fix: ['New-ServicePrincipal -AppId a -ObjectId b'], temporary: false,
  });
  assert.deepEqual([a.of('erp')!.errors, a.of('erp')!.lastError?.kind, a.of('erp')!.lastError?.fix], [1, 'role-missing', ['New-ServicePrincipal -AppId a -ObjectId b']]);
  a.loginRefused('imaps', 'imap', 'bad-credentials', { session: 's3', clientIp: '192.0.2.9', user: 'Invoices@Contoso.com', detail: 'wrong password' });
  assert.equal(a.lastRefusal(['erp', 'invoices@contoso.com'])?.kind, 'bad-credentials');
  assert.equal(a.lastRefusal(['other']), undefined);
  assert.equal(a.of('nobody'), undefined);
});

test('bounded: sessions per device, devices, refused user names', () => {
  const a = new ReaderActivity();
  for (let i = 0; i < 50; i++) {
    a.loggedIn('imaps', 'imap', 'erp', { session: `s${i}`, clientIp: '192.0.2.5', mailbox: 'm@contoso.com' });
    if (i % 10 !== 0) a.sessionEnded('imaps', 'imap', { toClient: 1, toUpstream: 1 }, { session: `s${i}`, clientIp: '192.0.2.5', endedBy: 'client', durationMs: 1 });
  }
  const s = a.of('erp')!.sessions;
  assert.equal(s.length, 10);
  assert.equal(s.filter((x) => x.endedAt === null).length, 5, 'the open ones are kept first');
  for (let i = 0; i < 5_000; i++) a.loggedIn('imaps', 'imap', `device-${i}`, { session: `d${i}`, clientIp: '192.0.2.5', mailbox: 'm@contoso.com' });
  assert.equal(a.of('device-0'), undefined, 'the least recent devices are dropped');
  assert.ok(a.of('device-4999'));
  for (let i = 0; i < 5_000; i++) a.loginRefused('imaps', 'imap', 'bad-credentials', { session: `r${i}`, clientIp: '203.0.113.1', user: `guess-${i}`, detail: 'x' });
  assert.equal(a.lastRefusal(['guess-0']), undefined);
  assert.ok(a.lastRefusal(['guess-4999']));
});

test('the tee tells every sink, even when one throws', () => {
  const seen: string[] = [];
  const t = teeTelemetry({ loggedIn: () => { throw new Error('broken sink'); } }, { loggedIn: (_l, _p, device) => seen.push(device) });
  t.loggedIn!('imaps', 'imap', 'erp');
  assert.deepEqual(seen, ['erp']);
});
