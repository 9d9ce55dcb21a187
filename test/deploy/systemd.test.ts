/**
 * deploy/systemd: the unit passes `systemd-analyze verify` and scores as
 * hardened under `systemd-analyze security`; its directives are the ones the
 * relay needs (user, state directory, capability for ports below 1024, a stop
 * timeout longer than the relay's graceful shutdown); every system call and
 * socket family the relay really uses (traced with strace while it receives,
 * delivers and stops) is allowed by its SystemCallFilter= and
 * RestrictAddressFamilies=; sysusers.d creates the account; install.sh installs
 * and upgrades a working tree into a root directory.
 *
 * systemd-analyze, systemd-sysusers and strace are required: a missing one is a
 * failure that says what to install, never a skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, validateConfig } from '../../src/config/load.js';
import { BIN, startRelayProcess, tempDir, writeConfig, type RelayProcess } from '../helpers/relay-process.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { freePort, requireTool, startSmtpSink } from '../helpers/tools.js';

/** The source tree: the tests run from dist/test/deploy. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SYSTEMD = join(ROOT, 'deploy', 'systemd');
const UNIT = join(SYSTEMD, 'authrelay.service');
const unitText = readFileSync(UNIT, 'utf8');

function need(tool: string, pkg: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} is not installed: install ${pkg} (apt-get install ${pkg}); the deploy tests check the systemd unit with it`);
  return r.stdout.trim();
}

/** [Section] → key → values (a key may be given several times), comments and blank lines left out. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const unit = parseUnit(unitText);
const service = unit.get('Service')!;
/** The last value of a [Service] key (as systemd reads most keys). */
const one = (key: string): string | undefined => service.get(key)?.at(-1);

/** Seconds of a systemd time span: 45s, 1min 30s, 2min, 500ms. */
function timespan(v: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600 };
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) total += Number(m[1]) * (units[m[2] || 's'] ?? NaN);
  return total;
}

/** A copy of the unit whose ExecStart runs this Node.js and this tree's build, for verify (which checks the binary exists). */
function unitForThisMachine(dir: string, name = 'authrelay.service', text = unitText): string {
  const exec = `ExecStart=${process.execPath} ${BIN} serve -c /etc/authrelay/authrelay.yaml`;
  const copy = text.replace(/^ExecStart=\/usr\/bin\/node \/opt\/authrelay\/dist\/src\/cli\/main\.js (.*)$/m, (_all, args: string) => {
    assert.equal(args, 'serve -c /etc/authrelay/authrelay.yaml');
    return exec;
  });
  assert.notEqual(copy, text, 'ExecStart=/usr/bin/node /opt/authrelay/dist/src/cli/main.js serve -c ... not found in the unit');
  // Only that line differs from the unit in deploy/systemd.
  const a = text.split('\n');
  const b = copy.split('\n');
  assert.deepEqual(b.filter((l, i) => l !== a[i]), [exec]);
  const file = join(dir, name);
  writeFileSync(file, copy);
  return file;
}

test('systemd-analyze verify accepts the unit, without a single warning', () => {
  const analyze = need('systemd-analyze', 'systemd');
  const dir = tempDir('authrelay-unit-');
  try {
    const file = unitForThisMachine(dir);
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', 'systemd-analyze verify printed warnings');

    // The same check notices a misspelt key and a missing program, so a clean run above means something.
    const bad = unitForThisMachine(dir, 'bad.service', unitText.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    const rb = spawnSync(analyze, ['verify', bad], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.match(rb.stdout + rb.stderr, /Unknown key 'NoNewPrivilege'/);
    const missing = join(dir, 'missing.service');
    writeFileSync(missing, readFileSync(unitForThisMachine(dir), 'utf8').replace(`ExecStart=${process.execPath} `, 'ExecStart=/nonexistent/bin/node '));
    const rm = spawnSync(analyze, ['verify', missing], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.notEqual(rm.status, 0);
    assert.match(rm.stdout + rm.stderr, /\/nonexistent\/bin\/node is not executable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze security --offline: overall exposure under 2.5 ("OK"), and the protections set', () => {
  const analyze = need('systemd-analyze', 'systemd');
  const dir = tempDir('authrelay-unit-');
  try {
    const file = unitForThisMachine(dir);
    const text = spawnSync(analyze, ['security', '--offline=yes', '--threshold=25', file], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    const out = text.stdout + text.stderr;
    const score = /Overall exposure level for authrelay\.service: (\d+(?:\.\d+)?) (\S+)/.exec(out);
    assert.ok(score, `no overall exposure level in:\n${out}`);
    assert.ok(Number(score[1]) < 2.5, `exposure ${score[1]} ${score[2]} (must be under 2.5):\n${out}`);
    assert.equal(score[2], 'OK');
    assert.equal(text.status, 0, `--threshold=25 (2.5) exceeded:\n${out}`);

    const json = spawnSync(analyze, ['security', '--offline=yes', '--json=short', file], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.equal(json.status, 0, json.stderr);
    const items = JSON.parse(json.stdout) as { name: string; set: boolean }[];
    const isSet = (name: string) => {
      const item = items.find((i) => i.name === name);
      assert.ok(item, `systemd-analyze security has no item ${name}`);
      return item.set;
    };
    for (const name of [
      'User=/DynamicUser=', 'NoNewPrivileges=', 'ProtectSystem=', 'ProtectHome=', 'PrivateTmp=', 'PrivateDevices=', 'ProtectKernelTunables=',
      'ProtectKernelModules=', 'ProtectKernelLogs=', 'ProtectControlGroups=', 'LockPersonality=', 'RestrictNamespaces=~user', 'RestrictNamespaces=~net',
      'RestrictAddressFamilies=~AF_PACKET', 'RestrictAddressFamilies=~AF_NETLINK', 'SystemCallFilter=~@privileged', 'SystemCallFilter=~@mount',
      'SystemCallArchitectures=', 'CapabilityBoundingSet=~CAP_SYS_ADMIN', 'CapabilityBoundingSet=~CAP_NET_ADMIN', 'RestrictSUIDSGID=', 'ProtectClock=',
    ]) {
      assert.equal(isSet(name), true, `${name} is not in force`);
    }
    // V8 needs writable and executable memory: this one must stay off.
    assert.equal(isSet('MemoryDenyWriteExecute='), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit runs the relay as a static system user with its state kept, the capability for ports below 1024, and a long enough stop', () => {
  assert.equal(one('Type'), 'simple');
  assert.equal(one('User'), 'authrelay');
  assert.equal(one('Group'), 'authrelay');
  assert.equal(service.has('DynamicUser'), false, 'DynamicUser= would not keep the owner of the queue');
  assert.equal(one('ExecStart'), '/usr/bin/node /opt/authrelay/dist/src/cli/main.js serve -c /etc/authrelay/authrelay.yaml');
  assert.equal(one('StateDirectory'), 'authrelay');
  assert.equal(one('ConfigurationDirectory'), 'authrelay');
  assert.deepEqual(one('ReadWritePaths')?.split(/\s+/), ['/var/lib/authrelay']);
  assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.ok(Number(one('LimitNOFILE')) >= 65536, `LimitNOFILE=${one('LimitNOFILE')}`);
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.deepEqual(one('RestrictAddressFamilies')?.split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  assert.equal(service.has('MemoryDenyWriteExecute'), false);
  assert.match(unitText, /^#.*MemoryDenyWriteExecute= is deliberately NOT set/m, 'the unit should say why MemoryDenyWriteExecute= is absent');
  assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');

  // The stop timeout outlasts the relay's graceful shutdown (its default and the example configuration's).
  const stopSec = timespan(one('TimeoutStopSec') ?? '');
  const shutdownDefault = validateConfig({}, { env: {} }, '/').shutdownTimeout / 1000;
  assert.ok(Number.isFinite(shutdownDefault) && shutdownDefault > 0, `the relay has no shutdownTimeout default (${shutdownDefault})`);
  assert.ok(stopSec >= shutdownDefault + 10, `TimeoutStopSec=${one('TimeoutStopSec')} leaves less than 10 s beyond shutdownTimeout (${shutdownDefault} s)`);
  const { config: example } = loadConfigFile(join(SYSTEMD, 'authrelay.yaml'), { env: {} });
  assert.ok(stopSec >= example.shutdownTimeout / 1000 + 10, 'TimeoutStopSec= is not beyond the example configuration\'s shutdownTimeout');
  // The example configuration keeps its data where StateDirectory= is, and listens where the capability is needed.
  assert.equal(example.dataDir, '/var/lib/authrelay');
  assert.deepEqual(example.listeners.map((l) => l.port).sort((a, b) => a - b), [25, 465, 587]);
  assert.equal(example.admin.listen, '127.0.0.1:8025');
});

test('sysusers.d creates the system user and group the unit runs as', () => {
  const sysusers = need('systemd-sysusers', 'systemd');
  const root = tempDir('authrelay-sysusers-');
  try {
    mkdirSync(join(root, 'etc'));
    const r = spawnSync(sysusers, [`--root=${root}`, join(SYSTEMD, 'authrelay.sysusers')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8').split('\n').find((l) => l.startsWith('authrelay:'));
    const group = readFileSync(join(root, 'etc', 'group'), 'utf8').split('\n').find((l) => l.startsWith('authrelay:'));
    assert.ok(passwd && group, `no authrelay user or group:\n${r.stdout}${r.stderr}`);
    const [name, , uid, gid, , home, shell] = passwd.split(':');
    assert.equal(name, one('User'));
    assert.equal(group.split(':')[0], one('Group'));
    assert.equal(gid, group.split(':')[2]);
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `uid ${uid} is not a system uid`);
    assert.equal(home, '/var/lib/authrelay');
    assert.equal(shell, '/usr/sbin/nologin');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('install.sh --root installs a working relay, keeps the configuration on an upgrade, and its authrelay command reads the secrets file', { timeout: 300_000 }, () => {
  need('systemd-sysusers', 'systemd');
  const root = tempDir('authrelay-install-');
  const install = (): string => {
    const r = spawnSync('sh', [join(SYSTEMD, 'install.sh'), '--root', root, '--node', process.execPath], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `install.sh failed:\n${r.stdout}${r.stderr}`);
    return r.stdout + r.stderr;
  };
  try {
    const first = install();
    assert.match(first, /wrote the example configuration/);
    assert.match(first, /valid\. 3 listener\(s\)/);
    const opt = join(root, 'opt', 'authrelay');
    assert.ok(existsSync(join(opt, 'dist', 'src', 'cli', 'main.js')));
    assert.ok(existsSync(join(opt, 'src', 'admin', 'console', 'static', 'index.html')), 'console pages not installed');
    assert.ok(existsSync(join(opt, 'node_modules', 'better-sqlite3')), 'production dependency missing');
    assert.ok(!existsSync(join(opt, 'node_modules', 'typescript')), 'devDependencies left in /opt/authrelay (npm prune --omit=dev)');
    assert.equal(readFileSync(join(root, 'etc', 'systemd', 'system', 'authrelay.service'), 'utf8'), unitText);
    assert.equal(readFileSync(join(root, 'etc', 'sysusers.d', 'authrelay.conf'), 'utf8'), readFileSync(join(SYSTEMD, 'authrelay.sysusers'), 'utf8'));
    assert.match(readFileSync(join(root, 'etc', 'passwd'), 'utf8'), /^authrelay:x:\d+:\d+:authrelay mail relay:\/var\/lib\/authrelay:\/usr\/sbin\/nologin$/m);
    assert.ok(existsSync(join(root, 'var', 'lib', 'authrelay')));
    // Node.js is not /usr/bin/node here: a drop-in runs the one given.
    const dropin = join(root, 'etc', 'systemd', 'system', 'authrelay.service.d', 'node.conf');
    if (process.execPath !== '/usr/bin/node') assert.match(readFileSync(dropin, 'utf8'), new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} /opt/authrelay/`, 'm'));
    else assert.ok(!existsSync(dropin));

    // The command reads authrelay.env as written: quotes removed, no $ expansion.
    const config = join(root, 'etc', 'authrelay', 'authrelay.yaml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}\nhostname: \${RELAY_NAME}\n`);
    writeFileSync(join(root, 'etc', 'authrelay', 'authrelay.env'), '# comment\nRELAY_NAME="relay-$HOME.example"\n\nOTHER=1\n');
    const env = {
      ...process.env, AUTHRELAY_HOME: opt, AUTHRELAY_NODE: process.execPath, AUTHRELAY_CONFIG: config,
      AUTHRELAY_ENV_FILE: join(root, 'etc', 'authrelay', 'authrelay.env'),
    };
    const printed = spawnSync(join(root, 'usr', 'local', 'bin', 'authrelay'), ['config', 'print'], { encoding: 'utf8', env, timeout: 60_000 });
    assert.equal(printed.status, 0, printed.stderr);
    assert.equal((JSON.parse(printed.stdout) as { hostname: string }).hostname, 'relay-$HOME.example');

    // An upgrade: the running version is kept as .previous, the edited configuration stays.
    writeFileSync(join(opt, 'marker'), 'old');
    const second = install();
    assert.match(second, /keeping .*authrelay\.yaml/);
    assert.match(readFileSync(config, 'utf8'), /hostname: \$\{RELAY_NAME\}/);
    assert.ok(existsSync(join(root, 'opt', 'authrelay.previous', 'marker')));
    assert.ok(!existsSync(join(opt, 'marker')));
    assert.equal(readFileSync(join(root, 'etc', 'passwd'), 'utf8').split('\n').filter((l) => l.startsWith('authrelay:')).length, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** systemd-analyze syscall-filter: every group, expanded to system call names. */
function syscallGroups(analyze: string): (name: string) => Set<string> {
  const out = spawnSync(analyze, ['syscall-filter'], { encoding: 'utf8' }).stdout;
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.split('\n')) {
    if (/^@[\w-]+$/.test(line)) groups.set(line, (current = []));
    else if (/^\s+[@\w-]+$/.test(line) && current) current.push(line.trim());
    else if (/^\S/.test(line)) current = undefined;
  }
  assert.ok(groups.has('@system-service'), 'systemd-analyze syscall-filter lists no @system-service');
  const expand = (name: string, seen = new Set<string>()): string[] => {
    if (!name.startsWith('@')) return [name];
    if (seen.has(name)) return [];
    seen.add(name);
    const g = groups.get(name);
    assert.ok(g, `unknown system call group ${name}`);
    return g.flatMap((n) => expand(n, seen));
  };
  return (name) => new Set(expand(name));
}

/**
 * RestrictAddressFamilies= as systemd applies it: a seccomp filter on socket()
 * that answers EAFNOSUPPORT for any other family. Python (ctypes) installs it,
 * takes the user and group ids given (when not "-") and becomes the command
 * given (x86-64 and arm64). Arguments: families (numbers, comma-separated),
 * uid, gid, command...
 */
const FAMILY_FILTER = `
import ctypes, os, platform, sys
allowed = [int(x) for x in sys.argv[1].split(',')]
arch, nr = {'x86_64': (0xC000003E, 41), 'aarch64': (0xC00000B7, 198)}[platform.machine()]
class F(ctypes.Structure):
    _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte), ('k', ctypes.c_uint)]
class P(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(F))]
LD, JEQ, RET, ALLOW, EAFNOSUPPORT = 0x20, 0x15, 0x06, 0x7fff0000, 0x00050000 | 97
n = len(allowed)
prog = [F(LD, 0, 0, 4), F(JEQ, 0, 4 + n, arch), F(LD, 0, 0, 0), F(JEQ, 0, 2 + n, nr), F(LD, 0, 0, 16)]
prog += [F(JEQ, n - i, 0, fam) for i, fam in enumerate(allowed)]
prog += [F(RET, 0, 0, EAFNOSUPPORT), F(RET, 0, 0, ALLOW)]
filt = (F * len(prog))(*prog)
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(P(len(prog), filt)), 0, 0) != 0:
    sys.exit('seccomp: ' + os.strerror(ctypes.get_errno()))
if sys.argv[2] != '-':
    os.setgroups([])
    os.setgid(int(sys.argv[3]))
    os.setuid(int(sys.argv[2]))
os.execv(sys.argv[4], sys.argv[4:])
`;
const FAMILY_NUMBERS: Record<string, number> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, AF_NETLINK: 16, AF_PACKET: 17 };

interface TracedCalls {
  /** System call names made by the relay's process and its threads, after it started. */
  calls: Set<string>;
  /** socket() calls: the family and the result (a descriptor, or -1 and the error). */
  sockets: { family: string; result: string }[];
}

/** Reads an `strace -f` output: only the process that executed `program` with `arg` (and the threads it made) counts. */
function readTrace(text: string, program: string, arg: string): TracedCalls {
  const tracked = new Set<number>();
  const pending = new Map<number, string>(); // pid → socket family of an unfinished socket()
  const calls = new Set<string>();
  const sockets: { family: string; result: string }[] = [];
  const result = (rest: string) => /\)\s+=\s+(-?\d+(?: [A-Z]+)?|\?)/.exec(rest)?.[1] ?? '?';
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const rest = m[2]!;
    const resumed = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/.exec(rest);
    const name = resumed ? resumed[1]! : /^([a-z0-9_]+)\(/.exec(rest)?.[1];
    if (!name) continue;
    if (!tracked.has(pid) && name === 'execve' && !resumed && rest.startsWith(`execve(${JSON.stringify(program)}, `) && rest.includes(arg)) tracked.add(pid);
    if (!tracked.has(pid)) continue;
    if (!resumed) calls.add(name);
    const done = !rest.endsWith('<unfinished ...>');
    if ((name === 'clone' || name === 'clone3') && done) {
      const child = Number(result(rest));
      if (child > 0) tracked.add(child);
    }
    if (name === 'socket') {
      const family = resumed ? pending.get(pid) : /^socket\((AF_[A-Z0-9]+|\d+)/.exec(rest)?.[1];
      if (!done) pending.set(pid, family ?? '?');
      else {
        pending.delete(pid);
        sockets.push({ family: family ?? '?', result: result(rest) });
      }
    }
  }
  return { calls, sockets };
}

test('every system call and socket family the relay uses (strace) is allowed by the unit', { timeout: 180_000 }, async () => {
  const analyze = need('systemd-analyze', 'systemd');
  requireTool('strace');
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  assert.equal(python.status, 0, 'python3 is not installed (apt-get install python3)');
  const group = syscallGroups(analyze);
  // What the unit allows: the allow lists, minus the ~deny lists, in order.
  const allowed = new Set<string>();
  for (const v of service.get('SystemCallFilter') ?? []) {
    const deny = v.startsWith('~');
    for (const name of v.replace(/^~/, '').split(/\s+/)) {
      for (const s of group(name)) {
        if (deny) allowed.delete(s);
        else allowed.add(s);
      }
    }
  }
  const families = one('RestrictAddressFamilies')!.split(/\s+/);
  const familyNumbers = families.map((f) => {
    assert.ok(FAMILY_NUMBERS[f], `no number known for ${f}`);
    return FAMILY_NUMBERS[f];
  });

  const dir = tempDir('authrelay-strace-');
  const sink = await startSmtpSink();
  let relay: RelayProcess | undefined;
  try {
    // The service runs as a user without privileges; so does the traced relay, as nobody (SQLite, for one, acts differently as root).
    const asRoot = process.getuid?.() === 0;
    chmodSync(dir, 0o777);
    const adminPort = await freePort();
    // The upstream by name: delivery looks it up (getaddrinfo), as it does for real upstreams.
    const config = writeConfig(dir, `dataDir: ./data
listeners:
  - { name: smtp, host: 127.0.0.1, port: 0, tls: starttls }
  - { name: smtps, host: 127.0.0.1, port: 0, tls: implicit }
upstreams: { sink: { type: smtp, host: localhost, port: ${sink.port}, tls: none } }
routes: [{ use: sink }]
admin: { listen: 127.0.0.1:${adminPort} }
`);
    const trace = join(dir, 'trace.txt');
    const ids = asRoot ? ['65534', '65534'] : ['-', '-'];
    // -s 4096: execve's arguments in full (strace cuts strings at 32 bytes, and the relay is found by its path).
    const wrap = ['strace', '-f', '-qq', '-s', '4096', '-o', trace, python.stdout.trim(), '-c', FAMILY_FILTER, familyNumbers.join(','), ...ids];
    relay = await startRelayProcess(config, { wrap, listeners: 2, timeoutMs: 60_000 });
    // Receive over STARTTLS and over implicit TLS, deliver upstream, answer the admin endpoints, then stop.
    const plain = await SmtpWire.open(relay.ports.smtp!);
    await plain.cmd('EHLO ups.test');
    await plain.starttls();
    await plain.cmd('EHLO ups.test');
    const r1 = await sendRaw(plain, 'ups@device.test', ['admin@example.com'], 'Subject: one\r\n\r\nx\r\n.\r\n');
    plain.close();
    const tls = await SmtpWire.open(relay.ports.smtps!, { tls: { rejectUnauthorized: false } });
    await tls.cmd('EHLO ups.test');
    const r2 = await sendRaw(tls, 'ups@device.test', ['admin@example.com'], 'Subject: two\r\n\r\ny\r\n.\r\n');
    tls.close();
    assert.equal(r1.end?.code, 250, JSON.stringify(r1));
    assert.equal(r2.end?.code, 250, JSON.stringify(r2));
    const r = relay;
    await r.waitForLog(() => r.logs.filter((l) => l.event === 'state' && l.state === 'delivered').length >= 2, 60_000);
    for (const path of ['/healthz', '/readyz', '/metrics', '/']) {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`);
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      await res.arrayBuffer();
    }
    const st = await relay.stop(30_000);
    assert.deepEqual(st, { code: 0, signal: null }, relay.stderr());

    const { calls, sockets } = readTrace(readFileSync(trace, 'utf8'), process.execPath, BIN);
    assert.ok(calls.size > 30 && calls.has('accept4') && calls.has('connect') && calls.has('fsync'), `the trace looks incomplete: ${[...calls].join(' ')}`);
    assert.deepEqual([...calls].filter((s) => !allowed.has(s)).sort(), [], 'system calls the relay makes that SystemCallFilter= refuses');
    assert.ok(sockets.some((s) => s.family === 'AF_INET' && /^\d+$/.test(s.result)), `no AF_INET socket in the trace: ${JSON.stringify(sockets)}`);
    // Families outside RestrictAddressFamilies= were refused (getaddrinfo's AF_NETLINK probe, for one) and the relay worked on.
    const outside = sockets.filter((s) => !families.includes(s.family));
    assert.deepEqual(outside.filter((s) => s.result !== '-1 EAFNOSUPPORT'), [], 'a socket family outside RestrictAddressFamilies= was not refused: the filter did not apply');
  } finally {
    await relay?.stop(5_000).catch(() => undefined);
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
