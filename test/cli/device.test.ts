/**
 * `authrelay device add|list|passwd|remove` with the real binary: the YAML
 * file is edited in place (comments kept, only scrypt hashes stored, the
 * result validated before it is written), and `serve` with the edited file
 * accepts AUTH with the password (swaks as the device).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { swaks } from '../helpers/tools.js';
import { cli, cliJson, startRelayProcess, tempDir, writeConfig } from '../helpers/relay-process.js';

const ORIGINAL = `# authrelay for the test office -- keep this comment
hostname: relay.test
dataDir: ./data
admin: { listen: "127.0.0.1:0" }
listeners:
  # printers cannot do TLS
  - { name: main, host: 127.0.0.1, port: 0, tls: none, allowInsecureAuth: true, requireAuth: true }
security: { authFailureDelay: 50ms } # answer failed logins quickly in tests
devices:
  # the UPS has no password
  - { name: ups, networks: [192.168.10.50/32] }
`;

interface DeviceYaml { name: string; username?: string; passwordHash?: string; networks?: string[]; sendAs?: string }
const devicesIn = (file: string) => (parseYaml(readFileSync(file, 'utf8')) as { devices: DeviceYaml[] }).devices;

interface ListJson { devices: { name: string; username: string | null; networks: string[]; sendAs: string | null; seen: { clientIp: string; authMechanism: string | null; accepted: number }[] }[] }

/** AUTH LOGIN as user, one message; returns swaks' output. */
async function sendAs(port: number, user: string, password: string) {
  return swaks(port, ['--auth', 'LOGIN', '--auth-user', user, '--auth-password', password,
    '--from', 'scanner@printer.test', '--to', 'someone@example.com', '--header', 'Subject: scan']);
}

test('device add, list, passwd, remove; serve accepts AUTH with the password', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = writeConfig(dir, ORIGINAL);
  const PASSWORD = 'Scan-to-mail 9!';
  try {
    // add: a hash, never the password; comments and the other device kept
    const add = await cli(['device', 'add', 'scanner', '--password-stdin', '--network', '10.0.0.0/24', '--send-as', 'a@b.example', '--config', file], { input: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added device scanner \(.*authrelay\.yaml\)\nno relay is running on this data directory: the change applies when it starts\n/);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(PASSWORD) && !add.stdout.includes(PASSWORD), 'the plaintext password is stored or shown');
    for (const line of ORIGINAL.split('\n').filter((l) => l.includes('#'))) assert.ok(text.includes(line.trim().slice(line.trim().indexOf('#'))), `comment lost: ${line}`);
    const scanner = devicesIn(file).find((d) => d.name === 'scanner');
    assert.deepEqual({ ...scanner, passwordHash: undefined }, { name: 'scanner', username: 'scanner', passwordHash: undefined, networks: ['10.0.0.0/24'], sendAs: 'a@b.example' });
    assert.match(scanner!.passwordHash ?? '', /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.deepEqual(devicesIn(file).map((d) => d.name), ['ups', 'scanner']);
    assert.equal((await cli(['config', 'check', '--config', file])).code, 0);

    // refused edits leave the file alone
    const before = readFileSync(file, 'utf8');
    const dup = await cli(['device', 'add', 'scanner', '--network', '10.0.1.0/24', '--config', file]);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /a device named scanner exists already/);
    const bad = await cli(['device', 'add', 'copier', '--network', '10.0.0.0/33', '--config', file]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /devices\[2\]\.networks\[0\]: "10\.0\.0\.0\/33" is not an address or CIDR network/);
    const none = await cli(['device', 'add', 'copier', '--config', file]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /a device needs a password .* or --network CIDR/);
    const dupUser = await cli(['device', 'add', 'copier', '--username', 'SCANNER', '--password-stdin', '--config', file], { input: 'x\n' });
    assert.notEqual(dupUser.code, 0);
    assert.match(dupUser.stderr, /devices\[2\]\.username: "SCANNER" is used by two devices/);
    assert.equal(readFileSync(file, 'utf8'), before, 'a refused edit changed the file');

    // a generated password is shown once and stored only as a hash
    const gen = await cli(['device', 'add', 'copier', '--generate-password', '--config', file]);
    assert.equal(gen.code, 0, gen.stderr);
    const generated = /its password is: (\S+) \(shown once/.exec(gen.stdout)?.[1];
    assert.ok(generated && generated.length === 16 && /^[\x21-\x7e]+$/.test(generated), gen.stdout);
    assert.ok(!readFileSync(file, 'utf8').includes(generated));

    // list
    const list = await cliJson<ListJson>(['device', 'list', '--config', file]);
    assert.deepEqual(list.devices.map((d) => [d.name, d.username, d.networks, d.sendAs]), [
      ['ups', null, ['192.168.10.50/32'], null], ['scanner', 'scanner', ['10.0.0.0/24'], 'a@b.example'], ['copier', 'copier', [], null]]);
    assert.ok(list.devices.every((d) => d.seen.length === 0));
    const human = await cli(['device', 'list', '--config', file]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^DEVICE\s+USER\s+NETWORKS\s+SEND AS/);
    assert.match(human.stdout, /\nscanner\s+scanner\s+10\.0\.0\.0\/24\s+a@b\.example\s+\(never seen\)/);
    assert.ok(!human.stdout.includes('scrypt$'));

    // serve with the edited file: AUTH with the password works, a wrong one and none do not
    const relay = await startRelayProcess(file);
    try {
      const ok = await sendAs(relay.port, 'scanner', PASSWORD);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /<-\s+235 /);
      const id = /250 2\.0\.0 OK: queued as (\S+)/.exec(ok.stdout)?.[1];
      assert.ok(id, ok.stdout);
      const wrong = await sendAs(relay.port, 'scanner', 'not it');
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stdout, /<\*\*\s+535 /);
      const genOk = await sendAs(relay.port, 'copier', generated);
      assert.equal(genOk.code, 0, genOk.stdout);
      const anonymous = await swaks(relay.port, ['--from', 'scanner@printer.test', '--to', 'someone@example.com']);
      assert.notEqual(anonymous.code, 0, 'requireAuth: a client without AUTH must be refused');
      const shown = await cliJson<{ origin: { device: string; authUser: string; authMechanism: string }; headerFrom: string }>(['queue', 'show', id, '--config', file]);
      assert.deepEqual([shown.origin.device, shown.origin.authUser, shown.origin.authMechanism], ['scanner', 'scanner', 'LOGIN']);
      assert.equal(shown.headerFrom, 'a@b.example', 'the From of a device with sendAs is rewritten');
      const seen = (await cliJson<ListJson>(['device', 'list', '--config', file])).devices.find((d) => d.name === 'scanner')!.seen;
      assert.equal(seen.length, 1);
      assert.deepEqual([seen[0]!.clientIp, seen[0]!.authMechanism, seen[0]!.accepted], ['127.0.0.1', 'LOGIN', 1]);

      // passwd while the relay runs: applied at once; the old password no longer works, without a restart
      const oldHash = devicesIn(file).find((d) => d.name === 'scanner')!.passwordHash;
      const NEW = 'second-Password-2';
      const pw = await cli(['device', 'passwd', 'scanner', '--password-stdin', '--config', file], { input: NEW });
      assert.equal(pw.code, 0, pw.stderr);
      assert.match(pw.stdout, /password of scanner changed/);
      assert.match(pw.stdout, /applied to the running relay: configuration 2 \(sha256 [0-9a-f]{12}\) is in effect \(authrelay device \(password of scanner changed\)\): devices changed: scanner/);
      const newHash = devicesIn(file).find((d) => d.name === 'scanner')!.passwordHash;
      assert.ok(newHash && newHash !== oldHash && newHash.startsWith('scrypt$'));
      assert.ok(!readFileSync(file, 'utf8').includes(NEW));
      assert.equal((await cli(['device', 'passwd', 'ghost', '--password-stdin', '--config', file], { input: 'x' })).code, 2);
      assert.notEqual((await sendAs(relay.port, 'scanner', PASSWORD)).code, 0, 'the old password still works');
      const again = await sendAs(relay.port, 'scanner', NEW);
      assert.equal(again.code, 0, again.stdout);
      await relay.waitForLog((l) => l.event === 'reloaded' && String(l.configVersion).startsWith('2 (sha256 '));

      // remove while the relay runs: the device is refused at once
      const rm = await cli(['device', 'remove', 'scanner', '--config', file]);
      assert.equal(rm.code, 0, rm.stderr);
      assert.match(rm.stdout, /applied to the running relay: configuration 3 .*devices removed: scanner/);
      assert.deepEqual(devicesIn(file).map((d) => d.name), ['ups', 'copier']);
      assert.notEqual((await sendAs(relay.port, 'scanner', NEW)).code, 0, 'a removed device still logs in');
      const twice = await cli(['device', 'remove', 'scanner', '--config', file]);
      assert.equal(twice.code, 2);
      assert.match(twice.stderr, /no device named scanner in the config file/);

      // reload: a valid file is applied, a bad one refused with the reason and the running configuration kept
      const reloaded = await cli(['reload', '--config', file]);
      assert.equal(reloaded.code, 0, reloaded.stderr);
      assert.match(reloaded.stdout, /configuration 4 \(sha256 [0-9a-f]{12}\) is in effect \(authrelay reload\): nothing changed/);
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, `${good}hostnam: typo\n`);
      const refused = await cli(['reload', '--config', file]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /unknown key "hostnam"/);
      writeFileSync(file, good);
      assert.equal((await sendAs(relay.port, 'copier', generated)).code, 0, 'the relay still runs on its configuration');
    } finally {
      assert.equal((await relay.stop()).code, 0);
    }
    const final = readFileSync(file, 'utf8');
    assert.ok(final.startsWith('# authrelay for the test office -- keep this comment\n'));
    assert.ok(final.includes('# the UPS has no password') && final.includes('# printers cannot do TLS'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('device add|edit --mailbox: a reader device\'s mailboxes, shown by list and applied to the running relay at once', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const file = writeConfig(dir, ORIGINAL);
  try {
    const add = await cli(['device', 'add', 'erp', '--generate-password', '--mailbox', 'invoices@contoso.example', '--mailbox', 'orders@contoso.example,Invoices@contoso.example', '--config', file]);
    assert.equal(add.code, 0, add.stderr);
    const mailboxesOf = (name: string) => (devicesIn(file).find((d) => d.name === name) as DeviceYaml & { mailboxes?: string[] }).mailboxes;
    assert.deepEqual(mailboxesOf('erp'), ['invoices@contoso.example', 'orders@contoso.example'], 'repeated and comma-separated, each once');
    const bad = await cli(['device', 'add', 'fax', '--network', '10.0.0.9/32', '--mailbox', 'not-an-address', '--config', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mailbox: "not-an-address" is not a mailbox address/);

    const human = await cli(['device', 'list', '--config', file]);
    assert.match(human.stdout, /^DEVICE\s+USER\s+NETWORKS\s+SEND AS\s+MAILBOXES/);
    assert.match(human.stdout, /\nerp\s+erp\s+-\s+-\s+invoices@contoso\.example,orders@contoso\.example\s+\(never seen\)/);
    assert.match(human.stdout, /\nups\s+-\s+192\.168\.10\.50\/32\s+-\s+-\s+\(never seen\)/);

    const relay = await startRelayProcess(file);
    try {
      const edit = await cli(['device', 'edit', 'erp', '--mailbox', 'fax@contoso.example', '--config', file]);
      assert.equal(edit.code, 0, edit.stderr);
      assert.match(edit.stdout, /changed device erp; mailboxes: fax@contoso\.example/);
      assert.match(edit.stdout, /applied to the running relay: configuration 2 .*devices changed: erp/);
      assert.deepEqual(mailboxesOf('erp'), ['fax@contoso.example']);
      const json = await cliJson<{ devices: { name: string; mailboxes: string[] }[] }>(['device', 'list', '--config', file]);
      assert.deepEqual(json.devices.find((d) => d.name === 'erp')!.mailboxes, ['fax@contoso.example']);
      const cleared = await cli(['device', 'edit', 'erp', '--mailbox', 'none', '--config', file]);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.match(cleared.stdout, /applied to the running relay: configuration 3 /);
      assert.equal(mailboxesOf('erp'), undefined);
      const nothing = await cli(['device', 'edit', 'erp', '--config', file]);
      assert.equal(nothing.code, 2);
      assert.match(nothing.stderr, /nothing to change: give --mailbox ADDR/);
      const ghost = await cli(['device', 'edit', 'ghost', '--mailbox', 'a@contoso.example', '--config', file]);
      assert.equal(ghost.code, 2);
      assert.match(ghost.stderr, /no device named ghost/);
      const ja = await cli(['device', 'edit', 'erp', '--mailbox', 'a@contoso.example', '--config', file], { locale: 'ja_JP.UTF-8' });
      assert.equal(ja.code, 0, ja.stderr);
      assert.match(ja.stdout, /デバイス erp を変更しました。mailboxes: a@contoso\.example/);
    } finally {
      assert.equal((await relay.stop()).code, 0);
    }
    assert.ok(readFileSync(file, 'utf8').includes('# the UPS has no password'), 'comments kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
