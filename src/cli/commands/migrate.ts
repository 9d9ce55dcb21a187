/**
 * `authrelay migrate scan|status|ignore|unignore|add-device`: the migration
 * board from the command line, with the same service as the console
 * (src/migration/service.ts): scan the tenant now, show the board (table,
 * --json as GET /api/v1/migration answers, or --csv), mark a sender as
 * ignored with a reason, and add a sender as a device (the config editor
 * and a reload of the running relay, as `authrelay device add` does), with
 * the settings to type into the device.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import { addDevice, editConfigFile, EMBEDDED_DEFAULT_FILE, firstFileText } from '../../config/editor.js';
import { deviceAddresses } from '../../core/device-addresses.js';
import { createLogger } from '../../core/log.js';
import { generatePassword, hashPassword } from '../../identity/password.js';
import { boardCsv } from '../../migration/board-csv.js';
import type { Board, BoardSummary } from '../../migration/board.js';
import { suggestDevice, DEVICE_NAME } from '../../migration/device-prefill.js';
import { MigrationService } from '../../migration/service.js';
import { SCAN_PERIODS, type ScanPeriod, type ScanRecord } from '../../spool/migration-records.js';
import { openStore } from '../../spool/open.js';
import { relayHostname } from '../../spool/names.js';
import { cliLang, complain, configPath, displayWidth, formatTime, loadConfig, printJson, say, table, tr, UsageError } from '../common.js';
import { MIGRATE_TEXT as M } from '../report-texts.js';
import { CLI_TEXT as T, usage } from '../texts.js';
import { applyToRunning } from './reload.js';

export interface MigrateFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  csv?: boolean | undefined;
  upstream?: string | undefined;
  period?: string | undefined;
  reason?: string | undefined;
  name?: string | undefined;
}

const USAGE = usage(`authrelay migrate scan [--upstream NAME] [--period D7|D30|D90|D180] [--json]
       authrelay migrate status [--json|--csv]
       authrelay migrate ignore MAILBOX --reason TEXT | unignore MAILBOX
       authrelay migrate add-device MAILBOX [--name NAME]`);

const who = () => `authrelay migrate (${userInfo().username})`;

export async function migrateCommand(sub: string | undefined, args: string[], flags: MigrateFlags): Promise<number> {
  if (sub === 'add-device') return addAsDevice(need(args[0], 'add-device MAILBOX'), flags);
  if (!['scan', 'status', 'ignore', 'unignore'].includes(sub ?? '')) throw new UsageError(USAGE);
  const { config } = loadConfig(flags.config);
  const store = openStore(config);
  await store.init();
  // Log lines go to stderr (warnings only), so stdout stays the answer (--json, --csv).
  const log = createLogger('warn', process.stderr);
  const service = new MigrationService({ store, config: () => config, log });
  try {
    switch (sub) {
      case 'scan':
        return await scan(service, flags);
      case 'status': {
        const view = await service.view();
        if (flags.json) printJson(view);
        else if (flags.csv) process.stdout.write(boardCsv(view));
        else process.stdout.write(boardText(view));
        return 0;
      }
      case 'ignore': {
        const key = need(args[0], 'ignore MAILBOX --reason TEXT');
        if (!flags.reason) throw new UsageError(T.migrateReason);
        const mark = await service.ignore(key, flags.reason, who());
        say(T.migrateIgnored, { key: mark.key, reason: mark.reason });
        return 0;
      }
      default: {
        const key = need(args[0], 'unignore MAILBOX');
        const removed = await service.unignore(key, who());
        say(removed ? T.migrateUnignored : T.migrateNotIgnored, { key });
        return removed ? 0 : 1;
      }
    }
  } finally {
    await store.close();
  }
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(usage(`authrelay migrate ${what}`));
  return v;
}

/** A scan source's, an outcome's or a sender state's name in this run's language (the name itself when the table has none). */
const named = (kind: 'source' | 'status' | 'state', value: string): string => {
  const key = `${kind}.${value}`;
  return Object.hasOwn(M, key) ? tr(M[key as keyof typeof M]) : value;
};

/** "2 of 5 senders moved; 3 left; 25 days to the deadline (2026-12-31)" in this run's language. */
export function summaryText(s: BoardSummary): string {
  const values = { moved: s.moved, total: s.total, left: s.left, days: Math.abs(s.daysLeft), deadline: s.deadline };
  return tr(s.daysLeft >= 0 ? M.summary : M.summaryPast, values) + (s.ignored ? tr(M.summaryIgnored, { n: s.ignored }) : '');
}

/** Pads to a width counted in terminal columns (a Japanese character takes two). */
const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - displayWidth(text)));

async function scan(service: MigrationService, flags: MigrateFlags): Promise<number> {
  if (flags.period !== undefined && !SCAN_PERIODS.includes(flags.period as ScanPeriod)) {
    throw new UsageError(T.badPeriod, { periods: SCAN_PERIODS.join(', ') });
  }
  const s = await service.scan({ period: flags.period as ScanPeriod | undefined, upstream: flags.upstream, trigger: 'cli', by: who() });
  const board = await service.board();
  const read = s.sources.filter((x) => ['ok', 'not-modified', 'partial'].includes(x.status) && x.source !== 'report-settings').length;
  if (flags.json) {
    printJson({ scan: { ...s, startedAt: new Date(s.startedAt).toISOString(), finishedAt: new Date(s.finishedAt).toISOString() }, summary: board.summary });
    return read > 0 ? 0 : 1;
  }
  process.stdout.write(scanText(s));
  process.stdout.write(`\n${summaryText(board.summary)}\n`);
  if (read === 0) complain(T.scanReadNothing);
  return read > 0 ? 0 : 1;
}

function scanText(s: ScanRecord): string {
  let out = `${tr(M.scanHeader, { id: s.id, tenant: s.tenant, app: s.app, period: s.period, time: formatTime(s.finishedAt) })}\n`;
  const width = Math.max(15, ...s.sources.map((x) => displayWidth(named('source', x.source))));
  const statusWidth = Math.max(12, ...s.sources.map((x) => displayWidth(named('status', x.status))));
  for (const x of s.sources) {
    out += `  ${pad(named('source', x.source), width)} ${pad(named('status', x.status), statusWidth)} ${x.detail}\n`;
    if (x.fix && x.status !== 'ok') out += `  ${pad('', width)} ${pad('', statusWidth)} ${tr(T.migrateWhatToDo, { fix: x.fix })}${x.ref ? ` (docs/errors.md: ${x.ref})` : ''}\n`;
  }
  if (s.concealed) out += `  ${tr(M.concealed)}\n`;
  if (s.senders.length === 0) return `${out}\n${tr(M.noSenders)}\n`;
  out += `\n${tr(M.senders, { n: s.senders.length })}\n`;
  const rows = [[M.colMailbox, M.colLastBasic, M.colSignIns, M.colRefused, M.colAddresses, M.colReasons].map((c) => tr(c))];
  for (const x of s.senders) {
    rows.push([x.mailbox ?? tr(M.concealedKey, { key: x.key }), lastUse(x.lastBasicAuth, x.lastBasicAuthPrecision), x.inSignIns ? String(x.signIns) : '-',
      x.inSignIns ? String(x.failures) : '-', x.addresses.map((a) => a.ip).join(' ') || '-',
      x.failureReasons.map((f) => `${f.errorCode} ${f.reason}`).join('; ') || '-']);
  }
  return `${out}${table(rows)}`;
}

function lastUse(at: number | string | null, precision: 'time' | 'day' | null): string {
  if (at === null) return '-';
  const ms = typeof at === 'string' ? Date.parse(at) : at;
  return precision === 'day' ? tr(M.onDay, { day: new Date(ms).toISOString().slice(0, 10) }) : formatTime(ms);
}

export function boardText(b: Board): string {
  let out = `${summaryText(b.summary)}\n`;
  if (!b.latestScan) return `${out}${tr(M.noScan)}\n`;
  const sources = b.latestScan.sources.map((s) => `${named('source', s.source)} ${named('status', s.status)}`).join(cliLang() === 'en' ? ', ' : '、');
  out += `${tr(M.latestScan, { time: b.latestScan.finishedAt, period: b.latestScan.period, tenant: b.latestScan.tenant, sources })}\n\n`;
  const rows = [[M.colMailbox, M.colState, M.colLastBasic, M.colSignIns, M.colAddresses, M.colAtRelay, M.colDevices, M.colNote].map((c) => tr(c))];
  for (const r of b.rows) {
    const note = r.ignored ? tr(M.ignoredBy, { by: r.ignored.by, reason: r.ignored.reason })
      : r.basicAfterRelay && r.state !== 'moved' ? tr(M.basicAfterRelay)
        : r.addAsDevice ? `authrelay migrate add-device ${r.mailbox}` : '';
    rows.push([r.mailbox ?? tr(M.concealedKey, { key: r.key }), named('state', r.state), lastUse(r.lastBasicAuth, r.lastBasicAuthPrecision),
      r.countInPeriod === null ? '-' : String(r.countInPeriod), r.addresses.map((a) => a.ip).join(' ') || '-',
      r.seenAtRelay ? `${formatTime(Date.parse(r.seenAtRelay.lastSeen))} (${r.seenAtRelay.messages})` : '-', r.devices.join(' ') || '-', note]);
  }
  return `${out}${table(rows)}`;
}

/** "Add as device": a device named after the mailbox, sending as it, with a generated password; then the settings to type in. */
async function addAsDevice(mailbox: string, flags: MigrateFlags): Promise<number> {
  if (!/^[^@\s]+@[^@\s]+$/.test(mailbox)) throw new UsageError(T.notAMailbox, { value: mailbox });
  const existing = configPath(flags.config);
  const file = existing ?? resolve(EMBEDDED_DEFAULT_FILE);
  const current = existing ? loadConfig(flags.config).config : undefined;
  const name = flags.name ?? suggestDevice(mailbox, current?.devices.map((d) => d.name) ?? []).name;
  if (!DEVICE_NAME.test(name)) throw new UsageError(T.badDeviceName, { value: name });
  const password = generatePassword();
  const entry = { name, username: name, passwordHash: await hashPassword(password), sendAs: mailbox };
  const config = editConfigFile(file, (doc) => addDevice(doc, entry), { env: process.env, ...(existing ? {} : { initialText: firstFileText('`authrelay migrate add-device`') }) });
  say(T.migrateDeviceAdded, { name, mailbox, file });
  if (!existing) say(T.migrateFileCreated, { file });
  const applied = await applyToRunning(config.dataDir, file, `authrelay migrate add-device (${name})`);
  process.stdout.write(`${applied.message}\n\n${tr(T.migrateTypeThese)}\n${deviceSettings(config, name, password)}`);
  return applied.applied || !applied.running ? 0 : 1;
}

function deviceSettings(config: Config, user: string, password: string): string {
  const mode: Record<string, string> = { starttls: 'STARTTLS', implicit: 'SSL/TLS (implicit)', none: 'none' };
  return config.listeners.filter((l) => l.protocol === 'smtp').map((l) => {
    // The address a device can reach the relay at: publicAddress, or this machine's own addresses (as the console shows).
    const server = deviceAddresses(config.publicAddress, l.host)[0]?.address ?? relayHostname(config);
    return `  ${l.name ?? `port ${l.port}`}: SMTP server ${server}, port ${l.port}, security ${mode[l.tls]}, user ${user}, password ${password}\n`;
  }).join('');
}
