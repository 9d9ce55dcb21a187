/**
 * `authrelay device add|list|remove|passwd`: devices live in the config
 * file; these commands edit it in place (comments kept, config/editor.ts)
 * and store only password hashes. The relay running on the same data
 * directory applies the change at once (a reload through its control
 * socket). On the embedded default the first change writes ./authrelay.yaml
 * (the embedded default plus the change), and says so.
 */
import type { Document } from '../../vendor/yaml.js';
import { generatePassword, hashPassword } from '../../identity/password.js';
import { addDevice, editConfigFile, EMBEDDED_DEFAULT_FILE, firstFileText, requireDevice } from '../../config/editor.js';
import { resolve } from 'node:path';
import { applyToRunning } from './reload.js';
import { streamRelay } from '../control-client.js';
import { openStore } from '../../spool/open.js';
import { cliLang, complain, configPath, formatTime, loadConfig, printJson, say, table, tr, UsageError } from '../common.js';
import { CLI_TEXT as T, usage } from '../texts.js';
import type { Placeholders, Text } from '../../core/i18n.js';

export interface DeviceFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  username?: string | undefined;
  network?: string[] | undefined;
  'send-as'?: string | undefined;
  'allowed-from'?: string[] | undefined;
  /** Reader devices: the mailboxes it may open through the IMAP/POP3 listeners (repeatable; `edit --mailbox none` empties the list). */
  mailbox?: string[] | undefined;
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
    case 'edit':
      return editDevice(need(args[0], 'edit NAME --mailbox ADDR... | --network CIDR... | --send-as ADDR | --allowed-from PATTERN...'), flags);
    case 'remove':
      return edit(flags, (doc) => {
        const i = requireDevice(doc, need(args[0], 'remove NAME'));
        doc.deleteIn(['devices', i]);
        return [T.deviceRemoved, { name: args[0] }];
      });
    case 'passwd': {
      const name = need(args[0], 'passwd NAME');
      const { password, generated } = await readPassword(flags);
      const hash = await hashPassword(password);
      return edit(flags, (doc) => {
        const i = requireDevice(doc, name);
        if (!doc.getIn(['devices', i, 'username'])) doc.setIn(['devices', i, 'username'], name);
        doc.setIn(['devices', i, 'passwordHash'], hash);
        return generated ? [T.devicePasswordGenerated, { name, password }] : [T.devicePasswordChanged, { name }];
      });
    }
    default:
      throw new UsageError(usage('authrelay device add NAME [--username U] [--password-stdin|--generate-password] [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]... [--mailbox ADDR]...\n' +
        '       authrelay device edit NAME [--mailbox ADDR|none]... [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]...\n' +
        '       authrelay device list [--json] | remove NAME | passwd NAME [--password-stdin|--generate-password]\n' +
        '       authrelay device watch NAME|--unknown [--json]   (the device\'s SMTP sessions, live, with the reason and fix of every refusal)'));
  }
}

/**
 * `authrelay device watch NAME`: the device's last SMTP sessions, then each
 * step as it happens, with the reason and the fix of every refusal (through
 * the running relay's control socket). Ctrl-C ends it.
 */
async function watchDevice(name: string, flags: DeviceFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const label = name === '*unknown' ? tr(T.watchUnknown) : tr(T.watchDevice, { name });
  let announced = false;
  let failed: string | undefined;
  const stream = streamRelay(config.dataDir, { cmd: 'watch', device: name }, (a) => {
    if (a.ok === false) {
      failed = String(a.error);
      stream.stop();
      return;
    }
    if (a.live) {
      if (!announced) say(T.watchLive, { label });
      announced = true;
      return;
    }
    const e = a.event as {
      at: number; session: string; kind: string; text: string; reason?: string; fix?: string; device?: string | null; clientIp?: string;
      ja?: { text?: string; reason?: string; fix?: string };
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    const time = new Date(e.at).toISOString().slice(11, 19);
    // The relay's own words and the explanation in this run's language (each event carries both).
    const ja = cliLang() === 'ja' ? e.ja ?? {} : {};
    const reason = ja.reason ?? e.reason;
    const fix = ja.reason ? ja.fix : e.fix;
    process.stdout.write(`${time}  ${e.session.slice(-6)}  ${e.clientIp ?? ''}  ${ja.text ?? e.text}\n`);
    if (reason) process.stdout.write(`          ${tr(T.watchWhy)}: ${reason}\n`);
    if (fix) process.stdout.write(`          ${tr(T.watchFix)}: ${fix}\n`);
  });
  say(T.watchHeader, { label });
  const stop = () => stream.stop();
  process.once('SIGINT', stop);
  const running = await stream.done;
  process.removeListener('SIGINT', stop);
  if (!running) {
    complain(T.watchNotRunning, { dataDir: config.dataDir });
    return 1;
  }
  if (failed) {
    process.stderr.write(`authrelay: ${failed}\n`);
    return 2;
  }
  return 0;
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(usage(`authrelay device ${what}`));
  return v;
}

async function list(flags: DeviceFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const store = openStore(config);
  await store.init();
  const seen = await store.devicesSeen();
  await store.close();
  const devices = config.devices.map((d) => ({
    name: d.name, username: d.username ?? null, networks: d.networks, sendAs: d.sendAs ?? null, allowedFrom: d.allowedFrom, mailboxes: d.mailboxes,
    seen: seen.filter((s) => s.device === d.name),
  }));
  const unknown = seen.filter((s) => !config.devices.some((d) => d.name === s.device));
  if (flags.json) {
    printJson({ devices, otherActivity: unknown });
    return 0;
  }
  // The MAILBOXES column when a device reads mail (IMAP/POP3 readers, docs/imap-pop.md).
  const readers = devices.some((d) => d.mailboxes.length > 0);
  const col = (...v: string[]) => (readers ? v : []);
  const rows = [['DEVICE', 'USER', 'NETWORKS', 'SEND AS', ...col('MAILBOXES'), 'ADDRESS SEEN', 'AUTH', 'TLS', 'LAST SEEN', 'ACCEPTED', 'REFUSED', 'FAILED']];
  for (const d of devices) {
    const base = [d.name, d.username ?? '-', d.networks.join(',') || '-', d.sendAs ?? '-', ...col(d.mailboxes.join(',') || '-')];
    if (d.seen.length === 0) rows.push([...base, '(never seen)', '', '', '', '', '', '']);
    for (const s of d.seen) rows.push([...base, s.clientIp, s.authMechanism ?? '-', s.tlsVersion ?? '-', formatTime(s.lastSeen), String(s.accepted), String(s.rejected), String(s.failed)]);
  }
  for (const s of unknown) rows.push([s.device, '-', '-', '-', ...col('-'), s.clientIp, s.authMechanism ?? '-', s.tlsVersion ?? '-', formatTime(s.lastSeen), String(s.accepted), String(s.rejected), String(s.failed)]);
  process.stdout.write(table(rows));
  return 0;
}

async function add(name: string, flags: DeviceFlags): Promise<number> {
  const networks = flags.network ?? [];
  const wantsPassword = flags['password-stdin'] || flags['generate-password'] || flags.username !== undefined;
  if (!wantsPassword && networks.length === 0) {
    throw new UsageError(T.deviceNeedsAuth);
  }
  let shown: string | undefined;
  const entry: Record<string, unknown> = { name };
  if (wantsPassword) {
    const { password, generated } = await readPassword(flags);
    entry.username = flags.username ?? name;
    entry.passwordHash = await hashPassword(password);
    if (generated) shown = password;
  }
  if (networks.length) entry.networks = networks;
  if (flags['send-as']) entry.sendAs = flags['send-as'];
  if (flags['allowed-from']?.length) entry.allowedFrom = flags['allowed-from'];
  const mailboxes = mailboxFlags(flags.mailbox, false);
  if (mailboxes?.length) entry.mailboxes = mailboxes;
  return edit(flags, (doc) => {
    addDevice(doc, entry as Record<string, unknown> & { name: string });
    return shown ? [T.deviceAddedPassword, { name, password: shown }] : [T.deviceAdded, { name }];
  });
}

const MAILBOX = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The --mailbox flags as a list (comma-separated values too), each checked; `none` (edit only) empties the list. */
function mailboxFlags(given: string[] | undefined, noneAllowed: boolean): string[] | undefined {
  if (given === undefined) return undefined;
  const list = given.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
  if (noneAllowed && list.length === 1 && list[0]!.toLowerCase() === 'none') return [];
  for (const m of list) if (!MAILBOX.test(m)) throw new UsageError(T.deviceBadMailbox, { value: m });
  const seen = new Set<string>();
  return list.filter((m) => !seen.has(m.toLowerCase()) && seen.add(m.toLowerCase()));
}

/**
 * `authrelay device edit NAME`: sets what is given (--mailbox, --network,
 * --allowed-from replace their lists; --send-as its address) and keeps the
 * rest; `--mailbox none` makes the device read no mailbox.
 */
async function editDevice(name: string, flags: DeviceFlags): Promise<number> {
  const mailboxes = mailboxFlags(flags.mailbox, true);
  const changes: Record<string, unknown> = {};
  if (mailboxes !== undefined) changes.mailboxes = mailboxes;
  if (flags.network !== undefined) changes.networks = flags.network;
  if (flags['send-as'] !== undefined) changes.sendAs = flags['send-as'];
  if (flags['allowed-from'] !== undefined) changes.allowedFrom = flags['allowed-from'];
  if (Object.keys(changes).length === 0) throw new UsageError(T.deviceEditNothing);
  const shown = Object.entries(changes).map(([k, v]) => `${k}: ${Array.isArray(v) ? (v.length ? v.join(', ') : '[]') : String(v)}`).join('; ');
  return edit(flags, (doc) => {
    const i = requireDevice(doc, name);
    for (const [k, v] of Object.entries(changes)) {
      if (Array.isArray(v) && v.length === 0) doc.deleteIn(['devices', i, k]);
      else doc.setIn(['devices', i, k], doc.createNode(v));
    }
    return [T.deviceEdited, { name, changes: shown }];
  });
}

/** Applies an edit to the config file (validated, written atomically), then to the running relay. */
async function edit(flags: DeviceFlags, change: (doc: Document) => [Text, Placeholders]): Promise<number> {
  const existing = configPath(flags.config);
  const file = existing ?? resolve(EMBEDDED_DEFAULT_FILE);
  let message: [Text, Placeholders] = [{ en: '', ja: '' }, {}];
  const config = editConfigFile(file, (doc) => { message = change(doc); }, { env: process.env, ...(existing ? {} : { initialText: firstFileText('`authrelay device`') }) });
  process.stdout.write(`${tr(...message)} (${file})\n`);
  if (!existing) say(T.deviceFileCreated, { file });
  // The audit line names the change in English, without a password.
  const what = message[0].en.split(';')[0]!.replace('{name}', String(message[1].name ?? ''));
  const applied = await applyToRunning(config.dataDir, file, `authrelay device (${what})`);
  process.stdout.write(`${applied.message}\n`);
  return applied.applied || !applied.running ? 0 : 1;
}

async function readPassword(flags: DeviceFlags): Promise<{ password: string; generated: boolean }> {
  if (flags['generate-password']) {
    return { password: generatePassword(), generated: true };
  }
  if (flags['password-stdin'] || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!password) throw new UsageError(T.noPasswordOnStdin);
    return { password, generated: false };
  }
  return { password: await promptHidden(tr(T.devicePasswordPrompt)), generated: false };
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
