/**
 * `authrelay init` with the real binary, answers piped to standard input,
 * against the Microsoft 365 emulator (sign-in host, Graph URL and CA given
 * by flags, as for a private cloud) and the DNS fixture: an interactive
 * Graph setup writes a commented config that validates, and its live test
 * shows Mail.Send; --yes writes the same from flags; a wrong secret is
 * explained (AADSTS7000215) and the user can write anyway or go back;
 * existing files are kept without --force; Direct Send looks up the MX; the
 * written config runs a relay that delivers a device's message to Graph.
 * Another SMTP relay is probed before anything is written: STARTTLS with a
 * trusted certificate is proposed and written, an untrusted certificate is
 * said so with what to do (and the file is written only with --force), a
 * port that speaks TLS from the first byte gets tls: implicit, and a relay
 * without TLS (Postfix's smtp-sink) is a downgrade that is asked about, or
 * refused under --yes unless --allow-no-tls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { parse as parseYaml } from 'yaml';
import type { Emulator } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { cli, startRelayProcess, tempDir, until } from '../helpers/relay-process.js';
import { run, startSmtpSink } from '../helpers/tools.js';
import { startUpstream } from '../helpers/upstream.js';

let emu: Emulator;
let dns: TestDnsServer;
let c: Contoso;

before(async () => {
  emu = await startEmulator();
  dns = await startDnsServer({
    'contoso-init.test': { MX: [{ preference: 0, exchange: 'contoso-init-test.mail.protection.outlook.com' }] },
    'contoso-init-test.mail.protection.outlook.com': { A: ['127.0.0.1'] },
  });
  c = contoso(emu, { graphRoles: ['Mail.Send'] });
});

after(async () => {
  await emu.close();
  await dns.close();
});

const emulatorFlags = () => ['--authority-host', emu.authorityHost, '--graph-url', emu.graphUrl, '--ca', emu.caFile];
const tenant = () => c.tenant.domains[0]!;

/** Answers, one per line, in the order the wizard asks them for a Graph route with a client secret. */
function graphAnswers(secretLines: string[]): string[] {
  return [
    'graph', '', tenant(), c.app.clientId, // route, cloud (default global), tenant, client id
    '', ...secretLines, // credential: secret (default), then the secret and where it is kept
    c.scanner, // sending mailbox
    '127.0.0.1', '0', '0', 'y', '0', // listen address, STARTTLS port, TLS port, legacy listener yes, its port
    'mfp-3f', '192.168.10.0/24', 'mfp', // device, trusted network, user name
    'it@contoso.example', // notices
  ];
}
const keepInEnv = (secret: string) => [secret, '', ''];

const readYaml = (file: string) => parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
const withoutHashes = (y: Record<string, unknown>) => JSON.parse(JSON.stringify(y, (k, v: unknown) => (k === 'passwordHash' ? '(hash)' : v))) as unknown;

test('interactive Graph setup: steps, live test with Mail.Send, a commented valid config; secrets kept out', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const r = await cli(['init', '--out', file, ...emulatorFlags()], { input: `${graphAnswers(keepInEnv(c.secret)).join('\n')}\n` });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  // the steps for this route, with the app filled in
  assert.match(r.stdout, /Microsoft Graph → Application permissions → Mail\.Send/);
  assert.match(r.stdout, new RegExp(`New-ManagementRoleAssignment -App ${c.app.clientId} -Role "Application Mail\\.Send" -CustomResourceScope`));
  // the live test: a real token from the emulator and its roles
  assert.match(r.stdout, /Permissions in the token \(roles\): Mail\.Send/);
  assert.match(r.stdout, /✓ Mail\.Send: granted/);
  assert.match(r.stdout, /- Mail\.ReadWrite: not granted; needed for messages over about 3 MB/);
  assert.match(r.stdout, /Set M365_CLIENT_SECRET to the client secret value/);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(c.secret) && !r.stdout.includes(c.secret) && !r.stderr.includes(c.secret), 'the client secret was written or shown');
  assert.match(text, /^# authrelay configuration, written by `authrelay init`/);
  assert.match(text, /clientSecret: \$\{M365_CLIENT_SECRET\} # the secret's Value, read from the environment variable M365_CLIENT_SECRET/);
  assert.match(text, /minTlsVersion: TLSv1 # accepts TLS 1\.0 and 1\.1/);
  assert.match(text, /# Devices that may send\./);
  assert.equal((statSync(file).mode & 0o777), 0o600);
  const y = readYaml(file) as { upstreams: Record<string, Record<string, unknown>>; devices: Record<string, unknown>[]; routes: unknown[]; notices: unknown };
  assert.deepEqual(y.upstreams.m365, {
    type: 'graph', tenant: tenant(), clientId: c.app.clientId, clientSecret: '${M365_CLIENT_SECRET}',
    endpoints: { authority: emu.authorityHost, graph: emu.graphUrl }, ca: emu.caFile, mailbox: c.scanner,
  });
  assert.deepEqual(y.routes, [{ use: 'm365' }]);
  assert.deepEqual(y.notices, { admin: 'it@contoso.example' });
  assert.equal(y.devices[0]!.username, 'mfp');
  assert.match(String(y.devices[0]!.passwordHash), /^scrypt\$16384\$8\$1\$/);
  const password = /Its password is: (\S+)/.exec(r.stdout)?.[1];
  assert.ok(password && !text.includes(password), 'a generated password is shown once and only its hash is stored');

  // the same answers from flags, unattended, give the same file
  const file2 = join(dir, 'unattended.yaml');
  const u = await cli(['init', '--yes', '--out', file2, '--route', 'graph', '--tenant', tenant(), '--client-id', c.app.clientId,
    '--client-secret-env', 'M365_CLIENT_SECRET', '--mailbox', c.scanner, '--listen-host', '127.0.0.1', '--starttls-port', '0',
    '--tls-port', '0', '--legacy-tls-port', '0', '--device', 'mfp-3f', '--network', '192.168.10.0/24', '--username', 'mfp',
    '--admin', 'it@contoso.example', ...emulatorFlags()], { env: { ...process.env, M365_CLIENT_SECRET: c.secret } });
  assert.equal(u.code, 0, u.stderr + u.stdout);
  assert.match(u.stdout, /✓ Mail\.Send: granted/);
  assert.deepEqual(withoutHashes(readYaml(file2)), withoutHashes(readYaml(file)));
  assert.ok(!u.stdout.includes(c.secret));
});

test('the written config starts a relay that delivers a device\'s message through Graph', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const r = await cli(['init', '--out', file, ...emulatorFlags()], { input: `${graphAnswers(keepInEnv(c.secret)).join('\n')}\n` });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const password = /Its password is: (\S+)/.exec(r.stdout)![1]!;
  const env = { ...process.env, M365_CLIENT_SECRET: c.secret };
  const check = await cli(['config', 'check', '--config', file], { env });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /valid\. 3 listener\(s\), 1 device\(s\), 1 upstream\(s\), 1 route\(s\)/);
  const relay = await startRelayProcess(file, { env, listeners: 3 });
  try {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.ports.starttls!, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'mfp', pass: password } });
    await t.sendMail({ from: c.scanner, to: c.alice, subject: 'scan from init', text: 'hello' });
    t.close();
    const sent = await until(() => emu.sent().find((m) => m.mime.toString().includes('scan from init')), 30_000, () => relay.stdout());
    assert.equal(sent.mailbox, c.scanner);
    assert.deepEqual(sent.recipients, [c.alice]);
  } finally {
    await relay.stop();
  }
});

test('a wrong secret shows the AADSTS7000215 explanation; the user can write anyway or go back and fix it', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const anyway = join(dir, 'anyway.yaml');
  const wrong = 'not-the-secret~value';
  const r1 = await cli(['init', '--out', anyway, ...emulatorFlags()], { input: `${[...graphAnswers(keepInEnv(wrong)), 'write'].join('\n')}\n` });
  assert.equal(r1.code, 0, r1.stderr + r1.stdout);
  assert.match(r1.stdout, /AADSTS7000215/);
  assert.match(r1.stdout, /What it means: Entra ID rejected the client secret: it is wrong, or it is the secret's ID instead of its value\./);
  assert.match(r1.stdout, new RegExp(`What to do: In Entra admin center → App registrations → ${c.app.clientId} → Certificates & secrets`));
  assert.match(r1.stdout, /Reference: entra\.AADSTS7000215/);
  assert.ok(existsSync(anyway) && !r1.stdout.includes(wrong));

  const back = join(dir, 'back.yaml');
  const r2 = await cli(['init', '--out', back, ...emulatorFlags()], {
    input: `${[...graphAnswers(keepInEnv(wrong)), 'back', '', '', '', c.secret, '2', ''].join('\n')}\n`,
  });
  assert.equal(r2.code, 0, r2.stderr + r2.stdout);
  assert.match(r2.stdout, /AADSTS7000215[\s\S]*✓ Mail\.Send: granted/);
  // the second time the secret went into its own file (mode 0600), referenced with file:
  const secretFile = join(dir, 'm365-client-secret');
  assert.equal(readFileSync(secretFile, 'utf8').trim(), c.secret);
  assert.equal(statSync(secretFile).mode & 0o777, 0o600);
  assert.match(readFileSync(back, 'utf8'), /clientSecret: file:m365-client-secret # the secret's Value, read from this file/);
  assert.equal((await cli(['config', 'check', '--config', back])).code, 0);

  // unattended: a failed test writes nothing
  const none = join(dir, 'none.yaml');
  const r3 = await cli(['init', '--yes', '--out', none, '--route', 'graph', '--tenant', tenant(), '--client-id', c.app.clientId,
    '--client-secret-env', 'WRONG_SECRET', '--mailbox', c.scanner, ...emulatorFlags()], { env: { ...process.env, WRONG_SECRET: wrong } });
  assert.equal(r3.code, 1);
  assert.match(r3.stdout, /AADSTS7000215/);
  assert.match(r3.stderr, /the live test failed \(see above\); nothing was written/);
  assert.ok(!existsSync(none));
});

test('an existing file is kept without --force; --yes names every missing flag', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  writeFileSync(file, '# mine\nlisteners: [{ port: 2525 }]\n');
  const flags = ['init', '--yes', '--out', file, '--route', 'hold', '--listen-host', '127.0.0.1'];
  const r = await cli(flags);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exists already; nothing was written\. Use --force to replace it/);
  assert.equal(readFileSync(file, 'utf8'), '# mine\nlisteners: [{ port: 2525 }]\n');
  const forced = await cli([...flags, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(readFileSync(file, 'utf8'), /No upstream: every message is held in the queue/);
  assert.equal((await cli(['config', 'check', '--config', file])).code, 0);

  const missing = await cli(['init', '--yes', '--out', join(dir, 'new.yaml'), '--route', 'graph']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--yes needs --tenant, --client-id, --client-secret-env \(or --client-secret-file, or --cert-file and --key-file\), --mailbox/);
  const noRoute = await cli(['init', '--yes', '--out', join(dir, 'new.yaml')]);
  assert.equal(noRoute.code, 2);
  assert.match(noRoute.stderr, /--yes needs --route/);
  assert.ok(!existsSync(join(dir, 'new.yaml')));
});

test('Direct Send setup: the MX host is looked up and the route covers the domain only', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const input = ['direct-send', 'contoso-init.test', '127.0.0.1', '0', 'no', 'n', '', ''].join('\n');
  const r = await cli(['init', '--out', file, '--dns-server', dns.address], { input: `${input}\n` });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /v=spf1 ip4:<your public IP> include:spf\.protection\.outlook\.com -all/);
  assert.match(r.stdout, /Get-OrganizationConfig \| Format-List RejectDirectSend/);
  assert.match(r.stdout, /MX host: contoso-init-test\.mail\.protection\.outlook\.com \(127\.0\.0\.1\)/);
  assert.match(r.stdout, /✓ a Microsoft 365 host/);
  assert.ok(dns.queries.some((q) => q.name === 'contoso-init.test' && q.type === 'MX'));
  const y = readYaml(file) as { upstreams: Record<string, unknown>; routes: unknown; listeners: unknown[] };
  assert.deepEqual(y.upstreams['m365-direct'], { type: 'direct-send', domain: 'contoso-init.test', dnsServers: [dns.address] });
  assert.deepEqual(y.routes, [{ when: { recipientDomain: ['contoso-init.test'] }, use: 'm365-direct' }]);
  assert.equal(y.listeners.length, 1);
  assert.equal((await cli(['config', 'check', '--config', file])).code, 0);

  // a domain without MX: unattended, nothing is written
  const r2 = await cli(['init', '--yes', '--out', join(dir, 'x.yaml'), '--route', 'direct-send', '--domain', 'nowhere.test', '--dns-server', dns.address]);
  assert.equal(r2.code, 1);
  assert.match(r2.stdout, /The MX lookup failed/);
  assert.ok(!existsSync(join(dir, 'x.yaml')));
});

test('connector relay setup: the relay is probed; STARTTLS with a trusted certificate is proposed and written; an untrusted one is explained', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'authrelay.yaml');
  const base = ['init', '--yes', '--route', 'smtp', '--listen-host', '127.0.0.1'];
  const relay = ['--relay-host', `127.0.0.1:${emu.directSendPort}`];
  const r = await cli([...base, '--out', file, ...relay, '--ca', emu.caFile]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Mail flow → Connectors → Add a connector/);
  assert.match(r.stdout, /Greeting \(in the clear\): 220 /);
  assert.match(r.stdout, /STARTTLS: ✓ TLSv1\.[23]/);
  assert.match(r.stdout, /✓ trusted; ✓ names 127\.0\.0\.1/);
  assert.match(r.stdout, /Proposed: tls: starttls/);
  assert.match(r.stdout, new RegExp(`✓ the relay can deliver to 127\\.0\\.0\\.1:${emu.directSendPort} with tls: starttls`));
  assert.deepEqual((readYaml(file) as { upstreams: unknown }).upstreams, { relay: { type: 'smtp', host: '127.0.0.1', port: emu.directSendPort, tls: 'starttls', ca: emu.caFile } });
  assert.equal((await cli(['config', 'check', '--config', file])).code, 0);

  // Without the CA the certificate is not trusted: said so with what to do, and nothing is written unless --force.
  const untrusted = join(dir, 'untrusted.yaml');
  const u = await cli([...base, '--out', untrusted, ...relay]);
  assert.equal(u.code, 1, u.stdout);
  assert.match(u.stdout, /✗ not trusted \(/);
  assert.match(u.stdout, /What to do: Give the certificate of the CA that issued it as a PEM file \(authrelay init --ca FILE/);
  assert.match(u.stdout, /✗ tls: starttls will not work yet: the upstream's certificate is not trusted/);
  assert.match(u.stderr, /the live test failed \(see above\); nothing was written\. Fix what it found, or add --force/);
  assert.ok(!existsSync(untrusted));
  const forced = await cli([...base, '--out', untrusted, ...relay, '--force']);
  assert.equal(forced.code, 0, forced.stderr + forced.stdout);
  assert.match(forced.stdout, /The live test failed; writing the file anyway \(--force\)/);
  assert.equal((readYaml(untrusted) as { upstreams: { relay: { tls: string } } }).upstreams.relay.tls, 'starttls');

  const closed = await cli([...base, '--out', join(dir, 'closed.yaml'), '--relay-host', '127.0.0.1:1']);
  assert.equal(closed.code, 1);
  assert.match(closed.stdout, /✗ nothing answered at 127\.0\.0\.1:1 \(connect ECONNREFUSED/);
  assert.match(closed.stdout, /What to do: Check the host name and port/);
  assert.ok(!existsSync(join(dir, 'closed.yaml')));
});

test('a relay without STARTTLS (smtp-sink): tls: none is a downgrade, asked about; --yes refuses it unless --allow-no-tls', { timeout: 60_000 }, async () => {
  const sink = await startSmtpSink();
  const dir = tempDir();
  try {
    const base = ['init', '--yes', '--route', 'smtp', '--listen-host', '127.0.0.1', '--relay-host', `127.0.0.1:${sink.port}`];
    const refused = await cli([...base, '--out', join(dir, 'refused.yaml')]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /STARTTLS: not offered/);
    assert.match(refused.stdout, /Proposed: tls: none/);
    assert.match(refused.stdout, /! The upstream offers neither STARTTLS nor TLS on connect/);
    assert.match(refused.stderr, new RegExp(`127\\.0\\.0\\.1:${sink.port} offers no TLS, so mail \\(and any password\\) would cross the network unencrypted; nothing was written\\. Add --allow-no-tls`));
    assert.ok(!existsSync(join(dir, 'refused.yaml')));

    const allowed = join(dir, 'allowed.yaml');
    const a = await cli([...base, '--out', allowed, '--allow-no-tls']);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.match(a.stdout, /✓ the relay can deliver to .* with tls: none/);
    assert.match(readFileSync(allowed, 'utf8'), /tls: none # no TLS: the relay offers none, so mail crosses the network unencrypted/);
    assert.equal((await cli(['config', 'check', '--config', allowed])).code, 0);

    // Interactive: the wizard asks; "none" writes it, "quit" writes nothing.
    const answers = (last: string) => `${['smtp', `127.0.0.1:${sink.port}`, '', '127.0.0.1', '0', 'no', 'n', '', '', last].join('\n')}\n`;
    const asked = join(dir, 'asked.yaml');
    const yes = await cli(['init', '--out', asked], { input: answers('none') });
    assert.equal(yes.code, 0, yes.stdout + yes.stderr);
    assert.match(yes.stdout, /offers no TLS: mail \(and a password, if one is set\) would cross the network unencrypted\. What now\?/);
    assert.equal((readYaml(asked) as { upstreams: { relay: { tls: string } } }).upstreams.relay.tls, 'none');
    const quit = await cli(['init', '--out', join(dir, 'quit.yaml')], { input: answers('quit') });
    assert.equal(quit.code, 1);
    assert.match(quit.stdout, /Nothing was written\./);
    assert.ok(!existsSync(join(dir, 'quit.yaml')));
  } finally {
    await sink.stop();
  }
});

test('a relay that speaks TLS from the first byte on its port: tls: implicit is proposed and written', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=relay.test',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  assert.equal(r.code, 0, r.stderr);
  const up = await startUpstream({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), secure: true });
  try {
    const file = join(dir, 'authrelay.yaml');
    const i = await cli(['init', '--yes', '--route', 'smtp', '--listen-host', '127.0.0.1', '--out', file, '--relay-host', `127.0.0.1:${up.port}`, '--ca', join(dir, 'cert.pem')]);
    assert.equal(i.code, 0, i.stdout + i.stderr);
    assert.match(i.stdout, /Greeting \(TLS from the first byte\): 220 /);
    assert.match(i.stdout, /Proposed: tls: implicit/);
    assert.equal((readYaml(file) as { upstreams: { relay: { tls: string } } }).upstreams.relay.tls, 'implicit');
    assert.equal(up.received.length, 0, 'nothing was sent');
  } finally {
    await up.kill();
  }
});
