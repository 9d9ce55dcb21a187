/**
 * `doctor` for legacy readers (docs/imap-pop.md) against the tests' Dovecot
 * and the emulator's Entra: an exchange-mailbox upstream gets a token, the
 * IMAP.AccessAsApp / POP.AccessAsApp roles are found in it, a real XOAUTH2
 * login to every device's mailbox passes with the server's capability
 * list; the IMAP and POP3 listeners are told apart when free and when a
 * running relay answers on them (with their TLS); a role withdrawn fails
 * with the Entra step to take, in English and Japanese.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import type { Check } from '../../src/doctor/report.js';
import { grantMailboxRole, withdrawMailboxRole } from '../emulator/imap-tokens.js';
import { freePort } from '../helpers/tools.js';
import { startTestRelay } from '../helpers/relay.js';
import { startWorld, type World } from '../proxy/fixture.js';

let w: World;
let input: ConfigInput;

before(async () => {
  w = await startWorld();
  const ca = join(w.dovecot.dir, 'doctor-ca.pem');
  writeFileSync(ca, `${w.emu.caPem.trim()}\n${w.certPem.trim()}\n`);
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  input = {
    hostname: 'relay.test', tls: { cert: w.certFile, key: w.keyFile },
    listeners: [
      { name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' },
      { name: 'imaps-legacy', protocol: 'imap', host: '127.0.0.1', port: imapPort, tls: 'implicit', minTlsVersion: 'TLSv1', upstream: 'exchange' },
      { name: 'pop3', protocol: 'pop3', host: '127.0.0.1', port: pop3Port, tls: 'starttls', upstream: 'exchange' },
    ],
    devices: [
      { name: 'reader', username: 'reader', passwordHash: w.devices[0]!.passwordHash!, mailboxes: [w.alice] },
      { name: 'other', username: 'other', passwordHash: w.devices[1]!.passwordHash!, mailboxes: [w.bob, w.alice] },
    ],
    upstreams: {
      exchange: {
        type: 'exchange-mailbox', tenant: w.tenant.id, clientId: w.app.clientId, clientSecret: w.secret,
        endpoints: { authority: w.emu.authorityHost, imap: `127.0.0.1:${w.dovecot.imapPort}`, pop3: `127.0.0.1:${w.dovecot.pop3Port}` }, ca,
      },
    },
    log: { level: 'warn' },
  };
});
after(async () => {
  await w.close();
});

async function doctor(dataDir: string): Promise<Check[]> {
  const config = validateConfig({ ...input, dataDir }, { env: process.env }, dataDir);
  return (await runDoctor(config, { timeoutMs: 10_000 })).checks;
}

function find(checks: Check[], id: string): Check {
  const c = checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${checks.map((x) => x.id).join(', ')}`);
  return c;
}

test('a working setup passes: token with both roles, XOAUTH2 logins to each mailbox with the capability list, listeners free', { timeout: 120_000 }, async () => {
  const checks = await doctor(join(w.dovecot.dir, 'doctor-data-1'));
  const id = 'upstream.exchange';
  assert.equal(find(checks, `${id}.token`).status, 'pass');
  assert.match(find(checks, `${id}.token`).detail.en, /IMAP\.AccessAsApp/);
  assert.equal(find(checks, `${id}.imap.role`).status, 'pass');
  assert.equal(find(checks, `${id}.pop3.role`).status, 'pass');
  for (const mailbox of [w.alice, w.bob]) {
    const imap = find(checks, `${id}.imap.login.${mailbox}`);
    assert.equal(imap.status, 'pass', imap.title.en);
    assert.match(imap.detail.en, /IDLE/, 'the IMAP capability list after login');
    assert.match(imap.detail.ja, /サーバーの機能/);
    const pop = find(checks, `${id}.pop3.login.${mailbox}`);
    assert.equal(pop.status, 'pass', pop.title.en);
    assert.match(pop.detail.en, /UIDL/);
  }
  assert.equal(w.dovecot.logins(w.alice).filter((l) => /method=XOAUTH2/.test(l)).length, 2, 'one IMAP and one POP3 login for alice (listed twice, tried once)');
  assert.equal(find(checks, 'listener.imaps-legacy.bind').status, 'pass');
  assert.equal(find(checks, 'listener.imaps-legacy.legacy-tls').status, 'info');
  assert.match(find(checks, 'listener.pop3.reader').title.en, /POP3 on 127\.0\.0\.1:\d+, STARTTLS from TLSv1\.2, opening mailboxes through upstream exchange/);
  assert.ok(!checks.some((c) => c.status === 'fail'), checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.title.en}`).join('\n'));
});

test('listeners bound by a running relay are recognised, with their TLS', { timeout: 60_000 }, async () => {
  const dataDir = join(w.dovecot.dir, 'doctor-data-2');
  const relay = await startTestRelay({ ...input, dataDir, admin: { enabled: false } });
  try {
    const checks = await doctor(dataDir);
    const imap = find(checks, 'listener.imaps-legacy.bind');
    assert.equal(imap.status, 'pass', imap.title.en);
    assert.match(imap.title.en, /authrelay answers IMAP/);
    assert.match(imap.detail.en, /authrelay IMAP proxy ready.*TLS TLSv1\.3/);
    const pop = find(checks, 'listener.pop3.bind');
    assert.equal(pop.status, 'pass', pop.title.en);
    assert.match(pop.detail.en, /\+OK authrelay POP3 proxy ready.*TLS TLSv1\.3/, 'STLS, then the handshake');
  } finally {
    await relay.close();
  }
});

test('the IMAP role withdrawn: the role check fails with the Entra step, POP3 still logs in', { timeout: 120_000 }, async () => {
  withdrawMailboxRole(w.app, 'IMAP.AccessAsApp');
  try {
    const checks = await doctor(join(w.dovecot.dir, 'doctor-data-3'));
    const role = find(checks, 'upstream.exchange.imap.role');
    assert.equal(role.status, 'fail');
    assert.match(role.fix.en, new RegExp(`App registrations → ${w.app.clientId} → API permissions .* IMAP\\.AccessAsApp`));
    assert.match(role.fix.ja, /\[API のアクセス許可\]/);
    assert.equal(find(checks, 'upstream.exchange.imap.login').status, 'info');
    assert.equal(find(checks, `upstream.exchange.pop3.login.${w.alice}`).status, 'pass');
  } finally {
    grantMailboxRole(w.app, 'IMAP.AccessAsApp');
  }
});
