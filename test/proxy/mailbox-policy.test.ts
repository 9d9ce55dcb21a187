/**
 * The login policy of the IMAP/POP3 proxy without sockets: which mailbox
 * each login form opens (planLogin, a pure function), that a device never
 * gets a mailbox outside its list whatever names it sends (other devices'
 * mailboxes, authorization identities, casing, "*" forms, XOAUTH2-looking
 * strings with \x01, Unicode look-alikes), and DeviceLoginPolicy's password
 * check and lockout shared with SMTP's keys.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCidr, type Cidr } from '../../src/core/net.js';
import { Lockout } from '../../src/identity/lockout.js';
import { hashPassword } from '../../src/identity/password.js';
import { allowedMailbox, planLogin, ReaderDirectory, usableName, type ReaderDevice } from '../../src/proxy/common/mailbox-policy.js';
import { DeviceLoginPolicy } from '../../src/proxy/common/device-login-policy.js';
import { PasswordCheckCache } from '../../src/proxy/common/password-cache.js';
import type { LoginAttempt } from '../../src/proxy/common/types.js';

const cidr = (s: string): Cidr => parseCidr(s)!;
const HASH = 'scrypt$1$1$1$AAAA$x';

const erp: ReaderDevice = { name: 'erp', username: 'erp', passwordHash: HASH, networks: [], mailboxes: ['Invoices@contoso.com'] };
const multi: ReaderDevice = { name: 'multi', username: 'multi', passwordHash: HASH, networks: [], mailboxes: ['scans@contoso.com', 'fax@contoso.com'] };
const lan: ReaderDevice = { name: 'lan', networks: [cidr('192.168.10.0/24')], mailboxes: ['lan@contoso.com'] };
const other: ReaderDevice = { name: 'other', username: 'other', passwordHash: HASH, networks: [], mailboxes: ['ceo@contoso.com'] };
const dir = new ReaderDirectory([erp, multi, lan, other]);
const plan = (user: string, authzid?: string, clientIp = '10.0.0.1', trustNetworks = true) =>
  planLogin({ user, ...(authzid !== undefined ? { authzid } : {}), clientIp }, dir, { trustNetworks });

describe('planLogin: the three login forms', () => {
  test('the device username opens its only mailbox, spelt as configured', () => {
    assert.deepEqual(plan('erp'), { kind: 'device-password', device: erp, mailbox: 'Invoices@contoso.com' });
    assert.deepEqual(plan('ERP'), { kind: 'device-password', device: erp, mailbox: 'Invoices@contoso.com' });
  });

  test('a device with several mailboxes names one as the authorization identity, or is told to', () => {
    assert.deepEqual(plan('multi', 'FAX@contoso.com'), { kind: 'device-password', device: multi, mailbox: 'fax@contoso.com' });
    const r = plan('multi');
    assert.equal(r.kind, 'refuse');
    assert.equal(r.kind === 'refuse' && r.reason, 'choose-mailbox');
  });

  test('a mailbox address as the user takes the password of a device allowed it', () => {
    const r = plan('invoices@CONTOSO.com');
    assert.equal(r.kind, 'mailbox-password');
    assert.ok(r.kind === 'mailbox-password' && r.candidates.includes(erp) && r.mailbox === 'Invoices@contoso.com');
  });

  test('a trusted network opens its device mailbox by address, no password; not from elsewhere, not when networks are not trusted', () => {
    assert.deepEqual(plan('lan@contoso.com', undefined, '192.168.10.7'), { kind: 'network', device: lan, mailbox: 'lan@contoso.com' });
    assert.equal(plan('lan@contoso.com', undefined, '192.168.11.7').kind, 'refuse');
    assert.equal(plan('lan@contoso.com', undefined, '192.168.10.7', false).kind, 'refuse');
    assert.equal(plan('ceo@contoso.com', undefined, '192.168.10.7').kind, 'mailbox-password', 'another device\'s mailbox still needs that device\'s password');
  });
});

describe('planLogin: never a mailbox outside the device\'s list', () => {
  const refused = (r: ReturnType<typeof plan>, reason?: string) => {
    assert.equal(r.kind, 'refuse', JSON.stringify(r));
    if (reason) assert.equal(r.kind === 'refuse' && r.reason, reason);
  };

  test('another device\'s mailbox as the authorization identity', () => {
    refused(plan('erp', 'ceo@contoso.com'), 'mailbox-not-allowed');
    refused(plan('invoices@contoso.com', 'ceo@contoso.com'), 'mailbox-not-allowed');
    refused(plan('lan@contoso.com', 'ceo@contoso.com', '192.168.10.7'), 'mailbox-not-allowed');
  });

  test('"*" forms, XOAUTH2-looking names, spaces, control characters and look-alikes', () => {
    for (const user of ['erp*ceo@contoso.com', 'ceo@contoso.com*erp', 'invoices@contoso.com*', '*', 'erp@contoso.com']) {
      const r = plan(user);
      assert.notEqual(r.kind === 'device-password' || r.kind === 'mailbox-password' ? r.mailbox : undefined, 'ceo@contoso.com', user);
      assert.equal(r.kind, 'refuse', user);
    }
    refused(plan('user=ceo@contoso.com\x01auth=Bearer eyJ0eXAi\x01\x01'), 'invalid-user');
    refused(plan('erp', 'user=ceo@contoso.com\x01auth=Bearer x\x01\x01'), 'invalid-user');
    refused(plan('erp\x00ceo@contoso.com'), 'invalid-user');
    refused(plan('invoices@contoso.com ceo@contoso.com'), 'invalid-user');
    refused(plan('x'.repeat(400)), 'invalid-user');
    // KELVIN SIGN lower-cases to "k" in Unicode: it must not match "k" (ASCII case only).
    const k: ReaderDevice = { name: 'k', username: 'kiosk', passwordHash: HASH, networks: [], mailboxes: ['kiosk@contoso.com'] };
    const d = new ReaderDirectory([k]);
    assert.equal(planLogin({ user: '\u212Aiosk', clientIp: '10.0.0.1' }, d, { trustNetworks: true }).kind, 'refuse');
    assert.equal(planLogin({ user: '\u212Aiosk@contoso.com', clientIp: '10.0.0.1' }, d, { trustNetworks: true }).kind, 'refuse');
  });

  test('property: whatever the names, an opened mailbox is in the list of the device that opens it', () => {
    const names = fc.oneof(
      fc.constantFrom('erp', 'multi', 'other', 'lan@contoso.com', 'ceo@contoso.com', 'invoices@contoso.com', 'FAX@CONTOSO.COM', 'scans@contoso.com', ''),
      fc.string({ maxLength: 40 }),
      fc.tuple(fc.constantFrom('erp', 'ceo@contoso.com', 'multi'), fc.constantFrom('*', '#', '/', '\x01', '+', '%', ' '), fc.constantFrom('ceo@contoso.com', 'erp', 'x'))
        .map(([a, s, b]) => `${a}${s}${b}`),
    );
    fc.assert(fc.property(names, fc.option(names, { nil: undefined }), fc.constantFrom('10.0.0.1', '192.168.10.7'), (user, authzid, ip) => {
      const r = plan(user, authzid, ip);
      if (r.kind === 'refuse') return true;
      const devices = r.kind === 'mailbox-password' ? r.candidates : [r.device];
      return devices.every((d) => allowedMailbox(d, r.mailbox) === r.mailbox);
    }), { numRuns: 2000 });
  });

  test('usable names', () => {
    assert.ok(usableName('scanner@contoso.com'));
    assert.ok(usableName('ユーザー@例え.jp'));
    for (const bad of ['', 'a b', 'a\tb', 'a\x01b', 'a\u0085b', 'a\u2028b', 'a\ufeffb']) assert.equal(usableName(bad), false, JSON.stringify(bad));
  });
});

describe('DeviceLoginPolicy', () => {
  const attempt = (user: string, password: string, extra: Partial<LoginAttempt> = {}): LoginAttempt =>
    ({ protocol: 'imap', mechanism: 'LOGIN', user, password, clientIp: '10.0.0.9', secure: true, ...extra });

  test('checks the device password for both forms; refusals cost a check; failures lock out on SMTP\'s keys', { timeout: 30_000 }, async () => {
    const hash = await hashPassword('right horse battery');
    const devices: ReaderDevice[] = [
      { name: 'erp', username: 'erp', passwordHash: hash, networks: [], mailboxes: ['invoices@contoso.com'] },
      { name: 'other', username: 'other', passwordHash: hash, networks: [], mailboxes: ['ceo@contoso.com'] },
    ];
    const lockout = new Lockout({ limit: 3, windowMs: 60_000, lockMs: 60_000 });
    let checks = 0;
    const policy = new DeviceLoginPolicy(devices, {
      lockout, failureDelayMs: 0, trustNetworks: true,
      verify: async (pw, h) => { checks += 1; return h === hash && pw === 'right horse battery'; },
    });
    assert.deepEqual(await policy.authenticate(attempt('erp', 'right horse battery')), { ok: true, device: 'erp', mailbox: 'invoices@contoso.com', via: 'password' });
    assert.deepEqual(await policy.authenticate(attempt('invoices@contoso.com', 'right horse battery', { protocol: 'pop3', mechanism: 'USER' })),
      { ok: true, device: 'erp', mailbox: 'invoices@contoso.com', via: 'password' });
    checks = 0;
    const r = await policy.authenticate(attempt('erp', 'right horse battery', { authzid: 'ceo@contoso.com', mechanism: 'PLAIN' }));
    assert.deepEqual([r.ok, !r.ok && r.reason], [false, 'mailbox-not-allowed']);
    assert.equal(checks, 1, 'a refusal costs one password check, like a wrong password');

    assert.equal((await policy.authenticate(attempt('erp', 'wrong'))).ok, false);
    const third = await policy.authenticate(attempt('erp', 'wrong again'));
    assert.deepEqual([third.ok, !third.ok && third.reason, !third.ok && third.locked], [false, 'locked-out', true]);
    const after = await policy.authenticate(attempt('erp', 'right horse battery'));
    assert.deepEqual([after.ok, !after.ok && after.reason], [false, 'locked-out']);
    assert.ok(lockout.isLocked(['ip:10.0.0.9'], Date.now()) && lockout.isLocked(['user:erp'], Date.now()), 'the same keys as SMTP logins');
    assert.match(policy.connectRefusal('10.0.0.9', Date.now()) ?? '', /failed logins/);
    assert.equal(policy.connectRefusal('10.0.0.10', Date.now()), undefined);
  });
});

describe('PasswordCheckCache', () => {
  test('checks at the same time share one; a correct password is remembered; a wrong one or a new hash is checked again', async () => {
    let checks = 0;
    const cache = new PasswordCheckCache(60_000, async (pw, hash) => {
      checks += 1;
      await new Promise((r) => setTimeout(r, 20));
      return pw === 'right' && hash === 'h1';
    });
    assert.deepEqual(await Promise.all(Array.from({ length: 20 }, () => cache.check('erp', 'right', 'h1'))), Array(20).fill(true));
    assert.equal(checks, 1, '20 concurrent logins, one scrypt');
    assert.equal(await cache.check('erp', 'right', 'h1'), true);
    assert.equal(checks, 1, 'remembered');
    assert.equal(await cache.check('erp', 'wrong', 'h1'), false);
    assert.equal(await cache.check('erp', 'wrong', 'h1'), false);
    assert.equal(checks, 3, 'failures are never remembered');
    assert.equal(await cache.check('erp', 'right', 'h2'), false, 'a changed password hash is checked again');
    assert.equal(await cache.check('other', 'right', 'h1'), true);
    assert.equal(checks, 5);
    const none = new PasswordCheckCache(0, async () => ((checks += 1), true));
    await none.check('erp', 'x', 'h');
    await none.check('erp', 'x', 'h');
    assert.equal(checks, 7, 'ttl 0: every login is checked');
  });
});
