/**
 * `authrelay device add|list|remove|passwd`: devices live in the config
 * file; these commands edit it in place (comments kept, config/editor.ts)
 * and store only password hashes. The relay running on the same data
 * directory applies the change at once (a reload through its control
 * socket). On the embedded default the first change writes ./authrelay.yaml
 * (the embedded default plus the change), and says so.
 */
import type { Document } from 'yaml';
import { generatePassword, hashPassword } from '../../identity/password.js';
import { addDevice, editConfigFile, EMBEDDED_DEFAULT_FILE, firstFileText, requireDevice } from '../../config/editor.js';
import { resolve } from 'node:path';
import { applyToRunning } from './reload.js';
import { streamRelay } from '../control-client.js';
import { openStore } from '../../spool/open.js';
import { configPath, formatTime, loadConfig, printJson, table, UsageError } from '../common.js';

export interface DeviceFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  username?: string | undefined;
  network?: string[] | undefined;
  'send-as'?: string | undefined;
  'allowed-from'?: string[] | undefined;
  'password-stdin'?: boolean | undefined;
  'generate-password'?: boolean | undefined;
  unknown?: boolean | undefined;
}

export async function deviceCommand(sub: string | undefined, args: string[], flags: DeviceFlags): Promise<number> {
  switch (sub) {
    case 'list':
      return list(flags);
    case 'watch':
      return watchDevice(args[0] ?? (flags.unknown ? '*unknown' : need(undefined, 'watch NAME (or --unknown for addresses that are no device)')), flags);
    case 'add':
      return add(need(args[0], 'add NAME'), flags);
    case 'remove':
      return edit(flags, (doc) => {
        const i = requireDevice(doc, need(args[0], 'remove NAME'));
        doc.deleteIn(['devices', i]);
        return `removed device ${args[0]}`;
      });
    case 'passwd': {
      const name = need(args[0], 'passwd NAME');
      const { password, generated } = await readPassword(flags);
      const hash = await hashPassword(password);
      return edit(flags, (doc) => {
        const i = requireDevice(doc, name);
        if (!doc.getIn(['devices', i, 'username'])) doc.setIn(['devices', i, 'username'], name);
        doc.setIn(['devices', i, 'passwordHash'], hash);
        return `password of ${name} changed${generated ? `; the new password is: ${password}` : ''}`;
      });
    }
    default:
      throw new UsageError('usage: authrelay device add NAME [--username U] [--password-stdin|--generate-password] [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]...\n' +
        '       authrelay device list [--json] | remove NAME | passwd NAME [--password-stdin|--generate-password]\n' +
        '       authrelay device watch NAME|--unknown [--json]   (the device\'s SMTP sessions, live, with the reason and fix of every refusal)');
  }
}

/**
 * `authrelay device watch NAME`: the device's last SMTP sessions, then each
 * step as it happens, with the reason and the fix of every refusal (through
 * the running relay's control socket). Ctrl-C ends it.
 */
async function watchDevice(name: string, flags: DeviceFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const label = name === '*unknown' ? 'addresses that are no known device' : `device ${name}`;
  let announced = false;
  let failed: string | undefined;
  const stream = streamRelay(config.dataDir, { cmd: 'watch', device: name }, (a) => {
    if (a.ok === false) {
      failed = String(a.error);
      stream.stop();
      return;
    }
    if (a.live) {
      if (!announced) process.stdout.write(`-- live: waiting for ${label} (Ctrl-C to stop)\n`);
      announced = true;
      return;
    }
    const e = a.event as { at: number; session: string; kind: string; text: string; reason?: string; fix?: string; device?: string | null; clientIp?: string };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    const time = new Date(e.at).toISOString().slice(11, 19);
    process.stdout.write(`${time}  ${e.session.slice(-6)}  ${e.clientIp ?? ''}  ${e.text}\n`);
    if (e.reason) process.stdout.write(`          why: ${e.reason}\n`);
    if (e.fix) process.stdout.write(`          fix: ${e.fix}\n`);
  });
  process.stdout.write(`Sessions of ${label}: the last ones first, then live.\n`);
  const stop = () => stream.stop();
  process.once('SIGINT', stop);
  const running = await stream.done;
  process.removeListener('SIGINT', stop);
  if (!running) {
    process.stderr.write(`authrelay: no relay is running on ${config.dataDir} (no control socket there); start it, then watch again\n`);
    return 1;
  }
  if (failed) {
    process.stderr.write(`authrelay: ${failed}\n`);
    return 2;
  }
  return 0;
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`usage: authrelay device ${what}`);
  return v;
}

async function list(flags: DeviceFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const store = openStore(config);
  await store.init();
  const seen = await store.devicesSeen();
  await store.close();
  const devices = config.devices.map((d) => ({
    name: d.name, username: d.username ?? null, networks: d.networks, sendAs: d.sendAs ?? null, allowedFrom: d.allowedFrom,
    seen: seen.filter((s) => s.device === d.name),
  }));
  const unknown = seen.filter((s) => !config.devices.some((d) => d.name === s.device));
  if (flags.json) {
    printJson({ devices, otherActivity: unknown });
    return 0;
  }
  const rows = [['DEVICE', 'USER', 'NETWORKS', 'SEND AS', 'ADDRESS SEEN', 'AUTH', 'TLS', 'LAST SEEN', 'ACCEPTED', 'REFUSED', 'FAILED']];
  for (const d of devices) {
    const base = [d.name, d.username ?? '-', d.networks.join(',') || '-', d.sendAs ?? '-'];
    if (d.seen.length === 0) rows.push([...base, '(never seen)', '', '', '', '', '', '']);
    for (const s of d.seen) rows.push([...base, s.clientIp, s.authMechanism ?? '-', s.tlsVersion ?? '-', formatTime(s.lastSeen), String(s.accepted), String(s.rejected), String(s.failed)]);
  }
  for (const s of unknown) rows.push([s.device, '-', '-', '-', s.clientIp, s.authMechanism ?? '-', s.tlsVersion ?? '-', formatTime(s.lastSeen), String(s.accepted), String(s.rejected), String(s.failed)]);
  process.stdout.write(table(rows));
  return 0;
}

async function add(name: string, flags: DeviceFlags): Promise<number> {
  const networks = flags.network ?? [];
  const wantsPassword = flags['password-stdin'] || flags['generate-password'] || flags.username !== undefined;
  if (!wantsPassword && networks.length === 0) {
    throw new UsageError('a device needs a password (--password-stdin or --generate-password) or --network CIDR, or both');
  }
  let note = '';
  const entry: Record<string, unknown> = { name };
  if (wantsPassword) {
    const { password, generated } = await readPassword(flags);
    entry.username = flags.username ?? name;
    entry.passwordHash = await hashPassword(password);
    if (generated) note = `; its password is: ${password} (shown once; type it into the device)`;
  }
  if (networks.length) entry.networks = networks;
  if (flags['send-as']) entry.sendAs = flags['send-as'];
  if (flags['allowed-from']?.length) entry.allowedFrom = flags['allowed-from'];
  return edit(flags, (doc) => {
    addDevice(doc, entry as Record<string, unknown> & { name: string });
    return `added device ${name}${note}`;
  });
}

/** Applies an edit to the config file (validated, written atomically), then to the running relay. */
async function edit(flags: DeviceFlags, change: (doc: Document) => string): Promise<number> {
  const existing = configPath(flags.config);
  const file = existing ?? resolve(EMBEDDED_DEFAULT_FILE);
  let message = '';
  const config = editConfigFile(file, (doc) => { message = change(doc); }, { env: process.env, ...(existing ? {} : { initialText: firstFileText('`authrelay device`') }) });
  process.stdout.write(`${message} (${file})\n`);
  if (!existing) process.stdout.write(`There was no configuration file: ${file} was created with the embedded default's settings and this change; the relay reads it from now on.\n`);
  const applied = await applyToRunning(config.dataDir, file, `authrelay device (${message.split(';')[0]})`);
  process.stdout.write(`${applied.message}\n`);
  return applied.applied || applied.message.startsWith('no relay') ? 0 : 1;
}

async function readPassword(flags: DeviceFlags): Promise<{ password: string; generated: boolean }> {
  if (flags['generate-password']) {
    return { password: generatePassword(), generated: true };
  }
  if (flags['password-stdin'] || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!password) throw new UsageError('no password on standard input');
    return { password, generated: false };
  }
  return { password: await promptHidden('Password for the device: '), generated: false };
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    process.stdout.write(question);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.removeListener('data', onData);
          process.stdout.write('\n');
          return resolve(value);
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
