/**
 * Legacy readers with a delegated sign-in (docs/imap-pop.md): an
 * exchange-mailbox upstream whose user signs in once by device code
 * (`authrelay oauth login`, the real command, the test approving the code
 * as the user) instead of an app credential. The running relay then opens
 * the signed-in user's mailbox for a device with the delegated token
 * (IMAP.AccessAsUser.All / POP.AccessAsUser.All), renewed from the
 * encrypted refresh token when it runs out; the tests' Dovecot validates
 * it (signature, issuer, audience, the delegated permission, and the
 * token's user equal to the mailbox). Python's imaplib and poplib are the
 * devices. Before the sign-in, with the consent withdrawn and with the
 * refresh token revoked the device gets a clean NO / -ERR and the log names
 * the catalogue entry with the command to run; doctor checks the sign-in
 * and logs in to each mailbox for real.
 *
 * The tests that make Dovecot refuse a login come last: Dovecot then delays
 * further logins from the address (its auth penalty), which would outlast
 * the short-lived tokens of the timing tests.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorApp, EmulatorTenant } from '../emulator/api.js';
import { tokenIssuer, tokenSigningKey } from '../emulator/imap-tokens.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { sharedCertificate } from '../helpers/cert.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { cli, englishEnv, oauthLoginApproving } from '../helpers/relay-process.js';
import { hashPassword } from '../../src/identity/password.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import type { Check } from '../../src/doctor/report.js';

const PASSWORD = 'the reader device password 1';
const OTHER_PASSWORD = 'the other device password 2';
/** Access token lifetime (seconds): short, so the tests see renewals from the refresh token. */
const LIFETIME = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PY = `
import imaplib, poplib, ssl, sys, json, hashlib
proto, port, ca, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
out = {'ok': False}
ctx = ssl.create_default_context(cafile=ca)
try:
    if proto == 'imap':
        M = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ctx, timeout=60)
        typ, data = M.login(user, pw)
        out['login'] = data[0].decode()
        typ, data = M.select('INBOX', readonly=True)
        out['exists'] = int(data[0])
        typ, data = M.fetch('1', '(BODY.PEEK[])')
        out['sha256'] = hashlib.sha256(data[0][1]).hexdigest()
        M.logout()
    else:
        M = poplib.POP3_SSL('127.0.0.1', port, context=ctx, timeout=60)
        M.user(user)
        out['login'] = M.pass_(pw).decode()
        out['exists'] = M.stat()[0]
        resp, lines, octets = M.retr(1)
        out['sha256'] = hashlib.sha256(b'\\r\\n'.join(lines) + b'\\r\\n').hexdigest()
        M.quit()
    out['ok'] = True
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out), flush=True)
`;

interface ReadResult {
  ok: boolean;
  error?: string;
  login?: string;
  exists?: number;
  sha256?: string;
}

/** One device session with Python's imaplib or poplib: log in, open INBOX, read message 1. */
function read(proto: 'imap' | 'pop3', port: number, ca: string, user: string, password: string): Promise<ReadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PY, proto, String(port), ca, user, password], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as ReadResult);
      } catch {
        reject(new Error(`python exited ${code}: ${out}\n${err}`));
      }
    });
  });
}

describe('legacy readers with a delegated sign-in (device code)', () => {
  let emu: Emulator;
  let tenant: EmulatorTenant;
  let app: EmulatorApp;
  let dovecot: Dovecot;
  let relay: TestRelay;
  let certFile: string;
  let alice: string;
  let bob: string;
  let message: { sha256: string };

  before(async () => {
    emu = await startEmulator();
    const domain = `fabrikam-${randomBytes(3).toString('hex')}.com`;
    tenant = emu.addTenant({ domains: [`${domain.split('.')[0]}.onmicrosoft.com`, domain] });
    // A public client with no secret and no application permission: every mailbox login below is the signed-in user's.
    app = emu.addApp(tenant.id, { publicClient: true, secrets: [], exchangeRoles: [] });
    alice = `alice@${domain}`;
    bob = `bob@${domain}`;
    emu.addMailbox(tenant.id, { address: alice, password: 'pw' });
    emu.addMailbox(tenant.id, { address: bob, password: 'pw' });
    const key = await tokenSigningKey(emu, tenant.id);
    const cert = await sharedCertificate();
    certFile = cert.cert;
    dovecot = await startDovecot({
      issuers: [tokenIssuer(tenant.id)], keys: [{ azp: app.clientId, kid: key.kid, pem: key.pem }], tls: cert,
      // The resource of https://outlook.office.com/IMAP.AccessAsUser.All, the default delegated scope.
      delegated: { audience: 'https://outlook.office.com' },
    });
    const raw = Buffer.from(`From: scanner@${domain}\r\nTo: ${alice}\r\nSubject: scan 1\r\nMessage-ID: <${randomBytes(6).toString('hex')}@test>\r\n\r\nThe first scan.\r\n`);
    dovecot.deliver(alice, raw);
    dovecot.deliver(bob, raw);
    message = { sha256: createHash('sha256').update(raw).digest('hex') };
    const bundle = join(dovecot.dir, 'ca-bundle.pem');
    writeFileSync(bundle, `${emu.caPem.trim()}\n${readFileSync(cert.cert, 'utf8').trim()}\n`);
    emu.tokenLifetimeSeconds = LIFETIME;
    const reader = { host: '127.0.0.1', port: 0, upstream: 'exchange', tls: 'implicit' as const };
    relay = await startTestRelay({
      tls: { cert: cert.cert, key: cert.key },
      listeners: [
        { name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' },
        { name: 'imaps', protocol: 'imap', ...reader },
        { name: 'pop3s', protocol: 'pop3', ...reader },
      ],
      devices: [
        { name: 'reader', username: 'reader', passwordHash: await hashPassword(PASSWORD), mailboxes: [alice] },
        { name: 'other', username: 'other', passwordHash: await hashPassword(OTHER_PASSWORD), mailboxes: [bob] },
      ],
      upstreams: {
        exchange: {
          type: 'exchange-mailbox', tenant: tenant.id, clientId: app.clientId, delegated: { user: alice },
          endpoints: { authority: emu.authorityHost, imap: `127.0.0.1:${dovecot.imapPort}`, pop3: `127.0.0.1:${dovecot.pop3Port}` },
          ca: bundle,
        },
      },
      security: { authFailureDelay: '50ms', authFailureLimit: 50 },
    }, { file: true });
  });
  after(async () => {
    await relay?.close();
    await dovecot?.stop();
    await emu?.close();
  });

  const configFile = () => join(relay.dataDir, 'authrelay.yaml');
  const failures = () => relay.logs.filter((l) => l.event === 'proxy-upstream-failed');
  const tokenRequests = () => emu.requests().filter((r) => r.service === 'token').length;

  /** `authrelay oauth login exchange`, approving the code it prints as `user`. */
  const login = (user: string) => oauthLoginApproving(configFile(), 'exchange', (code) => emu.approveDeviceCode(code, user), englishEnv());


  test('before the sign-in: the device gets NO / -ERR, the log names entra.reader.not-signed-in and the command', { timeout: 60_000 }, async () => {
    const imap = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.equal(imap.ok, false);
    assert.match(imap.error ?? '', /AUTHORIZATIONFAILED\].*sign-in to the mail service is not valid/);
    const pop = await read('pop3', relay.port('pop3s'), certFile, 'reader', PASSWORD);
    assert.equal(pop.ok, false);
    assert.match(pop.error ?? '', /-ERR \[SYS\/PERM\]/);
    const f = failures().at(-1)!;
    assert.equal(f.ref, 'entra.reader.not-signed-in');
    assert.equal(f.kind, 'token-failed');
    assert.match(String((f.fix as string[])[0]), new RegExp(`authrelay oauth login exchange and sign in as ${alice.replace(/\./g, '\\.')}`));
    assert.equal(dovecot.logins().length, 0, 'nothing reached the mail server');
  });

  test('oauth login signs the user in by device code; oauth status shows it', { timeout: 60_000 }, async () => {
    const wrong = await login(bob);
    assert.equal(wrong.code, 1, `${wrong.stdout}\n${wrong.stderr}`);
    assert.match(wrong.stderr, new RegExp(`${bob.replace(/\./g, '\\.')} signed in, but upstream exchange reads mailboxes as ${alice.replace(/\./g, '\\.')}`));
    const r = await login(alice);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Signed in as ${alice.replace(/\./g, '\\.')}\\.`));
    assert.match(r.stdout, /Token scopes: .*IMAP\.AccessAsUser\.All.*POP\.AccessAsUser\.All/);
    assert.match(r.stdout, /Stored encrypted in .*tokens\/exchange\.json/);
    const stored = readFileSync(join(relay.dataDir, 'tokens', 'exchange.json'), 'utf8');
    assert.equal(JSON.parse(stored).cipher, 'aes-256-gcm');
    assert.ok(!stored.includes('1.AQ') && !stored.includes('RefreshToken'), 'no refresh token in clear');

    const s = await cli(['oauth', 'status', 'exchange', '--json', '--config', configFile()]);
    assert.equal(s.code, 0, s.stderr);
    const [row] = JSON.parse(s.stdout) as { upstream: string; type: string; credential: string; signIn?: { user?: string; refreshToken: boolean } }[];
    assert.deepEqual([row?.upstream, row?.type, row?.credential], ['exchange', 'exchange-mailbox', `delegated (device code) as ${alice}`]);
    assert.deepEqual([row?.signIn?.user, row?.signIn?.refreshToken], [alice, true]);
  });

  test('imaplib and poplib read the signed-in user\'s mailbox through the proxy; Dovecot accepted the delegated token', { timeout: 60_000 }, async () => {
    const before = dovecot.logins(alice).length;
    const imap = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.ok(imap.ok, imap.error);
    assert.deepEqual([imap.exists, imap.sha256], [1, message.sha256]);
    const pop = await read('pop3', relay.port('pop3s'), certFile, 'reader', PASSWORD);
    assert.ok(pop.ok, pop.error);
    assert.deepEqual([pop.exists, pop.sha256], [1, message.sha256]);
    const logins = dovecot.logins(alice).slice(before);
    assert.equal(logins.length, 2, logins.join('\n'));
    assert.ok(logins.every((l) => /method=XOAUTH2/.test(l)));
    const opened = relay.logs.filter((l) => l.event === 'proxy-login' && l.device === 'reader');
    assert.deepEqual(opened.map((l) => l.mailbox), [alice, alice]);
  });

  test('the access token is reused while valid and renewed from the stored refresh token when it runs out', { timeout: 90_000 }, async () => {
    const file = join(relay.dataDir, 'tokens', 'exchange.json');
    // Long enough for two Python sessions on a busy machine; the token of the last test runs out first.
    emu.tokenLifetimeSeconds = 15;
    await sleep(LIFETIME * 1000 + 500);
    const n0 = tokenRequests();
    const stored0 = readFileSync(file, 'utf8');
    const first = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.ok(first.ok, `${first.error} ${JSON.stringify(failures().at(-1))}`);
    assert.equal(tokenRequests(), n0 + 1, 'the expired token was renewed with the refresh token');
    assert.notEqual(readFileSync(file, 'utf8'), stored0, 'the rotated refresh token was stored');
    const second = await read('pop3', relay.port('pop3s'), certFile, 'reader', PASSWORD);
    assert.ok(second.ok, second.error);
    assert.equal(tokenRequests(), n0 + 1, 'the second login used the cached token');
    emu.tokenLifetimeSeconds = LIFETIME;
    await sleep(15_500);
    const third = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.ok(third.ok, third.error);
    assert.equal(third.sha256, message.sha256);
    assert.equal(tokenRequests(), n0 + 2, 'one more refresh token redemption after expiry');
  });
  test('consent withdrawn: the refresh is refused (AADSTS65001), the device gets NO, the log names entra.reader.consent', { timeout: 60_000 }, async () => {
    app.delegatedConsent = ['POP.AccessAsUser.All'];
    try {
      await sleep(LIFETIME * 1000 + 500);
      const r = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', /AUTHORIZATIONFAILED/);
      const f = failures().at(-1)!;
      assert.equal(f.ref, 'entra.reader.consent');
      assert.match(String(f.upstreamText), /AADSTS65001/);
      assert.match((f.fix as string[])[0]!, new RegExp(`App registrations → ${app.clientId} → API permissions .*Delegated permissions.*IMAP\\.AccessAsUser\\.All`));
    } finally {
      delete app.delegatedConsent;
    }
    // Consent given again, a new sign-in puts things right.
    const again = await login(alice);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    const after = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.ok(after.ok, `${after.error} ${JSON.stringify(failures().at(-1))}`);
  });

  test('refresh token revoked: IMAP NO and POP3 -ERR, the log names entra.reader.sign-in-lost with "authrelay oauth login exchange"', { timeout: 60_000 }, async () => {
    emu.revokeRefreshTokens(alice);
    await sleep(LIFETIME * 1000 + 500);
    const before = dovecot.logins(alice).length;
    const imap = await read('imap', relay.port('imaps'), certFile, 'reader', PASSWORD);
    assert.equal(imap.ok, false);
    assert.match(imap.error ?? '', /\[AUTHORIZATIONFAILED\].*sign-in to the mail service is not valid/);
    const pop = await read('pop3', relay.port('pop3s'), certFile, 'reader', PASSWORD);
    assert.equal(pop.ok, false);
    assert.match(pop.error ?? '', /-ERR \[SYS\/PERM\].*sign-in to the mail service is not valid/);
    assert.equal(dovecot.logins(alice).length, before, 'no login reached the mail server');
    const [fi, fp] = failures().slice(-2);
    for (const f of [fi!, fp!]) {
      assert.equal(f.ref, 'entra.reader.sign-in-lost');
      assert.equal(f.level, 'error', 'logged as an error: it needs an administrator');
      assert.match(String(f.upstreamText), /AADSTS50173/);
      assert.match((f.fix as string[])[0]!, new RegExp(`Run: authrelay oauth login exchange and sign in as ${alice.replace(/\./g, '\\.')} again`));
      assert.match(String(f.msg), /docs\/errors\.md: entra\.reader\.sign-in-lost/);
    }
    assert.ok(!JSON.stringify(relay.logs).includes('1.AQ'), 'no refresh token in the log');
  });
  test('doctor: the sign-in renews, the token has the delegated permissions, real logins pass for the user\'s mailbox', { timeout: 120_000 }, async () => {
    // Doctor's logins to bob are refused and Dovecot then slows the next ones down: an hour's token, as Entra's.
    emu.tokenLifetimeSeconds = 3599;
    // A new sign-in after the revocation puts things right.
    const again = await login(alice);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    const checks: Check[] = (await runDoctor(relay.config, { timeoutMs: 10_000 })).checks;
    const find = (id: string) => {
      const c = checks.find((x) => x.id === id);
      assert.ok(c, `no check ${id} in ${checks.map((x) => x.id).join(', ')}`);
      return c;
    };
    const id = 'upstream.exchange';
    assert.match(find(`${id}.credential`).title.en, new RegExp(`delegated sign-in of ${alice.replace(/\./g, '\\.')}`));
    const token = find(`${id}.token`);
    assert.equal(token.status, 'pass', `${token.title.en} ${token.detail.en}`);
    assert.match(token.title.en, /stored sign-in .*IMAP\.AccessAsUser\.All/);
    assert.match(token.title.ja, /保存されたサインイン/);
    assert.equal(find(`${id}.imap.role`).status, 'pass', find(`${id}.imap.role`).title.en);
    assert.match(find(`${id}.pop3.role`).title.en, /delegated permission POP\.AccessAsUser\.All/);
    for (const p of ['imap', 'pop3']) {
      const c = find(`${id}.${p}.login.${alice}`);
      assert.equal(c.status, 'pass', `${c.title.en} ${c.detail.en}`);
    }
    const other = find(`${id}.imap.login.${bob}`);
    assert.equal(other.status, 'fail');
    assert.match(other.fix.en, /FullAccess/);
    assert.match(other.fix.ja, /フル アクセス/);
  });

  test('a device whose mailbox the signed-in user may not open is refused by the server, with the FullAccess fix', { timeout: 60_000 }, async () => {
    const r = await read('imap', relay.port('imaps'), certFile, 'other', OTHER_PASSWORD);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /AUTHORIZATIONFAILED/);
    assert.equal(dovecot.logins(bob).length, 0);
    const f = failures().at(-1)!;
    assert.equal(f.mailbox, bob);
    assert.match(String(f.msg), new RegExp(`signed-in user ${alice.replace(/\./g, '\\.')} was refused IMAP access to ${bob.replace(/\./g, '\\.')}`));
    assert.match((f.fix as string[]).join(' '), new RegExp(`Add-MailboxPermission -Identity ${bob.replace(/\./g, '\\.')} -User ${alice.replace(/\./g, '\\.')} -AccessRights FullAccess`));
  });
});
