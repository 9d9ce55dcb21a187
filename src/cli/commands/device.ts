/**
 * `authrelay device add|list|remove|passwd`: devices live in the config
 * file; these commands edit it in place (comments kept) and store only
 * password hashes. A running relay picks the change up on restart.
 */
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../../core/files.js';
import { randomBytes } from 'node:crypto';
import { parseDocument, isSeq, isMap, type Document } from 'yaml';
import { hashPassword } from '../../identity/password.js';
import { validateConfig } from '../../config/load.js';
import { createStore } from '../../main.js';
import { dirname } from 'node:path';
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
}

export async function deviceCommand(sub: string | undefined, args: string[], flags: DeviceFlags): Promise<number> {
  switch (sub) {
    case 'list':
      return list(flags);
    case 'add':
      return add(need(args[0], 'add NAME'), flags);
    case 'remove':
      return edit(flags, (doc) => {
        const i = indexOf(doc, need(args[0], 'remove NAME'));
        doc.deleteIn(['devices', i]);
        return `removed device ${args[0]}`;
      });
    case 'passwd': {
      const name = need(args[0], 'passwd NAME');
      const { password, generated } = await readPassword(flags);
      const hash = await hashPassword(password);
      return edit(flags, (doc) => {
        const i = indexOf(doc, name);
        if (!doc.getIn(['devices', i, 'username'])) doc.setIn(['devices', i, 'username'], name);
        doc.setIn(['devices', i, 'passwordHash'], hash);
        return `password of ${name} changed${generated ? `; the new password is: ${password}` : ''}`;
      });
    }
    default:
      throw new UsageError('usage: authrelay device add NAME [--username U] [--password-stdin|--generate-password] [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]...\n' +
        '       authrelay device list [--json] | remove NAME | passwd NAME [--password-stdin|--generate-password]');
  }
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`usage: authrelay device ${what}`);
  return v;
}

async function list(flags: DeviceFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const store = createStore(config);
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
    if (indexOfOrUndefined(doc, name) !== undefined) throw new UsageError(`a device named ${name} exists already; use device passwd or edit the file`);
    if (!isSeq(doc.get('devices'))) doc.set('devices', doc.createNode([]));
    doc.addIn(['devices'], doc.createNode(entry));
    return `added device ${name}${note}`;
  });
}

export function indexOfOrUndefined(doc: Document, name: string): number | undefined {
  const seq = doc.get('devices');
  if (!isSeq(seq)) return undefined;
  const i = seq.items.findIndex((it) => isMap(it) && it.get('name') === name);
  return i < 0 ? undefined : i;
}

function indexOf(doc: Document, name: string): number {
  const i = indexOfOrUndefined(doc, name);
  if (i === undefined) throw new UsageError(`no device named ${name} in the config file`);
  return i;
}

/** Applies an edit to the config file, validates the result, and writes it atomically. */
function edit(flags: DeviceFlags, change: (doc: Document) => string): number {
  const file = configPath(flags.config) ?? 'authrelay.yaml';
  let message = '';
  editConfigFile(file, (doc) => { message = change(doc); });
  process.stdout.write(`${message} (${file}); restart the relay to apply.\n`);
  return 0;
}

/**
 * Edits a config file in place (comments kept): parses it, applies the
 * change, validates the result with validateConfig (throws ConfigError and
 * leaves the file untouched when invalid), then writes it atomically
 * (temporary file, fsync, rename). Shared by the CLI and the admin API.
 */
export function editConfigFile(file: string, change: (doc: Document) => void): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# authrelay configuration (see `authrelay config schema`)\n';
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UsageError(`${file}: ${doc.errors[0]!.message}`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  change(doc);
  const out = doc.toString();
  validateConfig(parseDocument(out).toJS(), { env: process.env }, dirname(file));
  writeFileAtomic(file, out);
}

/** A new device password: printable ASCII without look-alikes, 16 characters (fits devices limited to 20). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(16);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
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
