/**
 * /api/v1/devices over real HTTP against a relay started on a config FILE:
 * add, edit, reset password and remove change the file with its comments
 * kept and are applied at once (a reload): the added device logs in over SMTP
 * (AUTH PLAIN after STARTTLS) with the returned password without a restart,
 * a removed one no longer can; invalid input is refused with 400 and leaves
 * the file unchanged; sign-in and CSRF are required; the audit log never
 * holds a password; a relay on the embedded default writes its first file
 * and applies it; the wizard writes its YAML to the file (FILE.bak kept) and
 * applies it; an edit keeps the comments and style of the value it replaces
 * and null removes a key; GET /devices lists the devices as the file has
 * them, changes made by hand and not applied marked until POST /reload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/core/log.js';
import { startRelay, type RunningRelay } from '../../src/main.js';
import type { TestRelay } from '../helpers/relay.js';
import { startTestRelay } from '../helpers/relay.js';
import { SmtpWire } from '../helpers/smtp-wire.js';
import { call, auditActions, setUpAndSignIn, signIn, type Auth } from './api-client.js';

const dir = mkdtempSync(join(tmpdir(), 'authrelay-devices-'));
const file = join(dir, 'authrelay.yaml');
const YAML = `# site relay configuration (kept by edits)
hostname: relay.test
dataDir: ${dir}/data
listeners:
  - name: main
    host: 127.0.0.1
    port: 0
    tls: starttls
security:
  authFailureDelay: 50ms
admin:
  listen: 127.0.0.1:0
devices:
  # the copier on the second floor
  - name: copier
    networks: [127.0.0.9/32]
`;

interface Started { relay: RunningRelay; handle: TestRelay }

/** Starts the real relay on the file, as `authrelay serve --config FILE` does. */
async function startOnFile(): Promise<Started> {
  const { config } = loadConfigFile(file, { env: process.env });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const relay = await startRelay(config, createLogger('info', sink), { configFile: file });
  const handle = { ...relay, logs, adminUrl: (p: string) => `http://127.0.0.1:${relay.admin!.port}${p}`, port: () => relay.listeners[0]!.port } as unknown as TestRelay;
  return { relay, handle };
}

let s: Started;
let auth: Required<Pick<Auth, 'cookie' | 'csrf'>>;

before(async () => {
  writeFileSync(file, YAML, { mode: 0o600 });
  s = await startOnFile();
  auth = await setUpAndSignIn(s.handle);
});

after(async () => {
  await s?.relay.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('sign-in and the CSRF token are required', async () => {
  assert.equal((await call(s.handle, 'POST', '/devices', { body: { name: 'x', password: true } })).status, 401);
  assert.equal((await call(s.handle, 'POST', '/devices', { auth: { cookie: auth.cookie }, body: { name: 'x', password: true } })).status, 403);
  assert.equal(readFileSync(file, 'utf8'), YAML);
});

test('invalid input is refused with 400 and the file is unchanged', async () => {
  const bad = await call(s.handle, 'POST', '/devices', { auth, body: { name: 'scanner', networks: ['not-a-network'] } });
  assert.equal(bad.status, 400, JSON.stringify(bad.json));
  assert.equal((await call(s.handle, 'POST', '/devices', { auth, body: { name: 'bad name!', password: true } })).status, 400);
  assert.equal((await call(s.handle, 'POST', '/devices', { auth, body: { name: 'nothing' } })).status, 400);
  assert.equal((await call(s.handle, 'POST', '/devices', { auth, body: { name: 'copier', password: true } })).status, 409);
  assert.equal((await call(s.handle, 'PATCH', '/devices/ghost', { auth, body: { sendAs: 'a@b.test' } })).status, 404);
  assert.equal(readFileSync(file, 'utf8'), YAML);
});

/** AUTH PLAIN after STARTTLS on the relay's first listener: the reply code. */
async function login(relay: RunningRelay, user: string, password: string): Promise<number> {
  const w = await SmtpWire.open(relay.listeners[0]!.port);
  try {
    await w.cmd('EHLO scanner');
    await w.starttls();
    await w.cmd('EHLO scanner');
    return (await w.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`)).code;
  } finally {
    w.socket.destroy();
  }
}

test('add, edit, reset and remove edit the file and apply at once: the device logs in without a restart', async () => {
  const add = await call(s.handle, 'POST', '/devices', { auth, body: { name: 'scanner', password: true, sendAs: 'scanner@contoso.test' } });
  assert.equal(add.status, 201, JSON.stringify(add.json));
  assert.equal(add.json.username, 'scanner');
  assert.match(add.json.password, /^[A-Za-z0-9]{16}$/);
  assert.equal(add.json.applied, true, JSON.stringify(add.json));
  assert.match(add.json.configVersion, /^2 \(sha256 [0-9a-f]{12}\)$/);
  assert.match(add.json.message, /devices added: scanner/);
  let text = readFileSync(file, 'utf8');
  assert.match(text, /# site relay configuration \(kept by edits\)/);
  assert.match(text, /# the copier on the second floor/);
  assert.match(text, /name: scanner/);
  assert.ok(!text.includes(add.json.password), 'only the hash is stored');
  assert.equal(await login(s.relay, 'scanner', add.json.password), 235, 'the new device logs in at once');

  const edit = await call(s.handle, 'PATCH', '/devices/copier', { auth, body: { allowedFrom: ['copier@contoso.test'] } });
  assert.equal(edit.status, 200, JSON.stringify(edit.json));
  assert.equal(edit.json.applied, true);
  text = readFileSync(file, 'utf8');
  assert.match(text, /copier@contoso\.test/);
  assert.match(text, /# the copier on the second floor/);

  const reset = await call(s.handle, 'POST', '/devices/scanner/password', { auth });
  assert.equal(reset.status, 200, JSON.stringify(reset.json));
  assert.notEqual(reset.json.password, add.json.password);
  const password = reset.json.password as string;
  assert.equal(await login(s.relay, 'scanner', add.json.password), 535, 'the old password no longer works');
  assert.equal(await login(s.relay, 'scanner', password), 235);

  const actions = await auditActions(s.handle, auth);
  assert.deepEqual(actions.filter((a) => a.action.startsWith('device-') && a.outcome === 'ok').map((a) => a.action), ['device-add', 'device-edit', 'device-password']);
  const raw = await call(s.handle, 'GET', '/audit?limit=1000', { auth });
  assert.ok(!raw.bytes.toString('utf8').includes(password) && !raw.bytes.toString('utf8').includes(add.json.password));

  const del = await call(s.handle, 'DELETE', '/devices/scanner', { auth });
  assert.equal(del.status, 200, JSON.stringify(del.json));
  assert.equal(del.json.applied, true);
  assert.ok(!readFileSync(file, 'utf8').includes('name: scanner'));
  assert.match(readFileSync(file, 'utf8'), /# the copier on the second floor/);
  assert.equal(await login(s.relay, 'scanner', password), 535, 'a removed device no longer logs in');
  // The same configuration after a restart.
  await s.relay.stop();
  s = await startOnFile();
  auth = await signIn(s.handle);
  assert.equal(await login(s.relay, 'scanner', password), 535);
});

test('edit keeps the comments and style of what it replaces, null removes a key; GET /devices marks changes made by hand until they are applied', async () => {
  const start = await call(s.handle, 'GET', '/devices', { auth });
  assert.equal(start.status, 200);
  const byName = (r: typeof start) => new Map((r.json.devices as { name: string }[]).map((d) => [d.name, d as Record<string, unknown>]));
  assert.equal(byName(start).get('copier')?.pending, null, 'the running relay runs on this file');
  assert.equal(start.json.reloadNeeded, false);

  const edit = await call(s.handle, 'PATCH', '/devices/copier', { auth, body: { networks: ['127.0.0.9/32', '192.0.2.0/24'], sendAs: 'copier@contoso.test', route: 'capture' } });
  assert.equal(edit.status, 200, JSON.stringify(edit.json));
  let text = readFileSync(file, 'utf8');
  assert.match(text, /# the copier on the second floor\n {2}- name: copier\n {4}networks: \[ 127\.0\.0\.9\/32, 192\.0\.2\.0\/24 \]\n/);
  assert.match(text, /sendAs: copier@contoso\.test\n/);
  assert.match(text, /route: capture\n/);
  const edited = byName(await call(s.handle, 'GET', '/devices', { auth })).get('copier');
  assert.deepEqual(edited && [edited.networks, edited.sendAs, edited.route, edited.allowedFrom, edited.pending],
    [['127.0.0.9/32', '192.0.2.0/24'], 'copier@contoso.test', 'capture', ['copier@contoso.test'], null], 'applied at once');

  const cleared = await call(s.handle, 'PATCH', '/devices/copier', { auth, body: { sendAs: null, route: null } });
  assert.equal(cleared.status, 200, JSON.stringify(cleared.json));
  text = readFileSync(file, 'utf8');
  assert.ok(!/sendAs|route:/.test(text), text);
  assert.match(text, /# the copier on the second floor/);

  for (const body of [{ route: '' }, { username: 'two words' }, { sendAs: 'not-an-address' }, {}]) {
    const bad = await call(s.handle, 'PATCH', '/devices/copier', { auth, body });
    assert.equal(bad.status, 400, JSON.stringify(body));
  }
  const refused = await call(s.handle, 'PATCH', '/devices/copier', { auth, body: { networks: ['192.0.2.300/24'] } });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error, 'invalid-config');
  assert.deepEqual(refused.json.problems, ['devices[0].networks[0]: "192.0.2.300/24" is not an address or CIDR network, e.g. 192.168.10.0/24 or fd00::/64']);
  assert.equal(readFileSync(file, 'utf8'), text);

  assert.equal((await call(s.handle, 'POST', '/devices', { auth, body: { name: 'printer', networks: ['127.0.0.11/32'] } })).status, 201);
  assert.equal(byName(await call(s.handle, 'GET', '/devices', { auth })).get('printer')?.pending, null);

  // Changed by hand: marked until applied with POST /reload.
  const byHand = readFileSync(file, 'utf8').replace('  - name: printer\n', '  - name: printer\n    sendAs: printer@contoso.test\n');
  writeFileSync(file, `${byHand}  - name: plotter\n    networks: [127.0.0.12/32]\n`);
  const marked = await call(s.handle, 'GET', '/devices', { auth });
  assert.equal(marked.json.reloadNeeded, true);
  assert.deepEqual([byName(marked).get('printer')?.pending, byName(marked).get('plotter')?.pending], ['edited', 'added']);
  const applied = await call(s.handle, 'POST', '/reload', { auth });
  assert.equal(applied.status, 200, JSON.stringify(applied.json));
  assert.match(applied.json.message, /devices added: plotter; devices changed: printer/);
  const after = await call(s.handle, 'GET', '/devices', { auth });
  assert.deepEqual([after.json.reloadNeeded, byName(after).get('plotter')?.pending], [false, null]);

  // A file that no longer loads: the running devices are listed, with the reason.
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, `${good}unknownKey: 1\n`);
  try {
    const broken = await call(s.handle, 'GET', '/devices', { auth });
    assert.equal(broken.status, 200);
    assert.match(broken.json.fileError, /unknownKey/);
    assert.equal(byName(broken).get('printer')?.pending, null, 'the running devices, as applied');
    const refusedReload = await call(s.handle, 'POST', '/reload', { auth });
    assert.equal(refusedReload.status, 400);
    assert.equal(refusedReload.json.applied, false);
    assert.match(refusedReload.json.problems.join(' '), /unknownKey/);
    assert.match(refusedReload.json.message, /the running configuration \d+ \(sha256 [0-9a-f]{12}\) stays/);
  } finally {
    writeFileSync(file, good);
  }
});

test('a relay on the embedded default writes its first configuration file on the first change and applies it', async () => {
  const r = await startTestRelay();
  try {
    const first = join(r.dataDir, 'authrelay.yaml');
    assert.equal(existsSync(first), false);
    const a = await setUpAndSignIn(r);
    const res = await call(r, 'POST', '/devices', { auth: a, body: { name: 'scanner', password: true } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.applied, true, JSON.stringify(res.json));
    assert.equal(res.json.configFile, first);
    const text = readFileSync(first, 'utf8');
    assert.match(text, /^# authrelay configuration, written by the console when the first change was made on the\n# embedded default\./);
    assert.match(text, /name: scanner/);
    assert.equal(await login(r, 'scanner', res.json.password), 235);
    const second = await call(r, 'POST', '/devices', { auth: a, body: { name: 'copier', networks: ['127.0.0.9/32'] } });
    assert.equal(second.json.configFile, first, 'the relay reads that file from then on');
    assert.match(readFileSync(first, 'utf8'), /name: scanner[\s\S]*name: copier/);
  } finally {
    await r.close();
  }
});

test('the wizard writes its route into the relay\'s file (devices, listeners and comments kept), keeping FILE.bak, and it is applied', async () => {
  const before = readFileSync(file, 'utf8');
  // smtp.contoso.test does not exist: the live test fails, so writing needs the person's confirmation (force).
  const r = await call(s.handle, 'POST', '/wizard/config', { auth, body: { route: 'smtp', relayHost: 'smtp.contoso.test:587', write: true, force: true } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.written, true);
  assert.equal(r.json.canWrite, true);
  assert.equal(r.json.file, file);
  assert.equal(r.json.applied, true, JSON.stringify(r.json));
  assert.equal(readFileSync(`${file}.bak`, 'utf8'), before);
  const after = readFileSync(file, 'utf8');
  assert.match(after, /# site relay configuration \(kept by edits\)/, 'the file\'s comments are kept');
  assert.match(after, /# the copier on the second floor\n {2}- name: copier/, 'its devices are kept');
  const config = loadConfigFile(file, { env: process.env }).config;
  assert.equal(config.upstreams.relay?.type, 'smtp');
  assert.deepEqual(config.routes.map((x) => x.use), [['relay']], 'a route lists its upstreams in order (the first, then its fallbacks)');
  assert.deepEqual(config.listeners.map((l) => l.port), [0], 'its listeners are kept');
  assert.deepEqual(Object.keys(s.relay.current().config.upstreams), ['relay'], 'the running relay uses it at once');
  const refused = await call(s.handle, 'POST', '/wizard/config', { auth, body: { route: 'smtp', write: true } });
  assert.equal(refused.status, 400);
  assert.equal(readFileSync(file, 'utf8'), after);
});
