/**
 * `authrelay store migrate|check`: the spool's schema and health.
 *
 * migrate applies the PostgreSQL store's pending migrations (the relay also
 * does at start, under the same advisory lock) and says which ran. check
 * connects, reports the server, the schema version, pending migrations and
 * the queue, and exits 1 when something needs fixing, saying what.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import { redactUrl } from '../../core/log.js';
import { openStore } from '../../spool/open.js';
import { sqliteQueueFile } from '../../spool/names.js';
import { PostgresStore } from '../../spool/postgres/postgres-store.js';
import type { PostgresReport } from '../../spool/postgres/inspect.js';
import { render, type Lang, type Placeholders, type Text } from '../../core/i18n.js';
import { MESSAGE_STATE_TEXTS } from '../../core/trail-texts.js';
import { cliLang, complain, loadConfig, printJson, tr, UsageError } from '../common.js';
import { STORE_TEXT as S } from '../report-texts.js';
import { CLI_TEXT as T, usage } from '../texts.js';

const USAGE = usage('authrelay store migrate|check [--config FILE] [--json]');

export async function storeCommand(sub: string | undefined, flags: { config?: string | undefined; json?: boolean | undefined }): Promise<number> {
  if (sub !== 'migrate' && sub !== 'check') throw new UsageError(USAGE);
  const { config } = loadConfig(flags.config);
  if (config.store.type === 'sqlite') return sqlite(sub, config, flags.json === true);
  const where = redactUrl(config.store.url);
  const store = openStore(config);
  if (!(store instanceof PostgresStore)) throw new Error('store.type is postgres but the store made is not');
  try {
    return sub === 'migrate' ? await migrate(store, where, flags.json === true) : await check(store, where, flags.json === true);
  } catch (err) {
    process.stderr.write(`authrelay: ${unreachable(where, err as Error)}\n`);
    return 1;
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function migrate(store: PostgresStore, where: string, json: boolean): Promise<number> {
  const { ran, status } = await store.migrate();
  if (json) {
    printJson({ store: 'postgres', url: where, applied: ran.map((m) => ({ version: m.version, name: m.name })), version: status.version, unknown: status.unknown });
    return 0;
  }
  const out = [tr(S.pgAtShort, { where })];
  for (const m of ran) out.push(tr(S.appliedMigration, { version: m.version, name: m.name }));
  out.push(tr(ran.length ? S.upToDate : S.nothingToApply, { version: status.version }));
  if (status.unknown.length) out.push(tr(S.newerNote, { versions: status.unknown.join(', ') }));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

async function check(store: PostgresStore, where: string, json: boolean): Promise<number> {
  const r = await store.inspect(Date.now());
  // --json keeps the problems in English (as scripts read them); the terminal in this run's language.
  const problems = problemsOf(r, json ? 'en' : cliLang());
  if (json) {
    printJson({ store: 'postgres', url: where, ok: problems.length === 0, problems, ...r, schema: { ...r.schema, pending: r.schema.pending.map((m) => ({ version: m.version, name: m.name })) } });
    return problems.length ? 1 : 0;
  }
  const s = r.schema;
  const out = [
    tr(S.pgAt, { where, database: r.database, user: r.user, server: r.server.split(' on ')[0] }),
    tr(S.schema, { version: s.version, applied: s.applied.length, pending: s.pending.length ? tr(S.pending, { n: s.pending.length }) : tr(S.nonePending) }),
  ];
  if (r.counts) out.push(tr(S.messages, { counts: countsText(r.counts) }));
  if (r.bodies) {
    out.push(tr(S.bodies, { stored: r.bodies.stored, size: sizeText(r.bodies.bytes), writing: r.bodies.writing }) +
      (r.bodies.abandoned ? tr(S.bodiesAbandoned, { abandoned: r.bodies.abandoned }) : ''));
  }
  if (r.expiredLeases) out.push(tr(S.leases, { n: r.expiredLeases }));
  process.stdout.write(`${out.join('\n')}\n`);
  if (problems.length === 0) {
    process.stdout.write('ok\n');
    return 0;
  }
  for (const p of problems) complain(T.storeProblem, { problem: p });
  return 1;
}

function problemsOf(r: PostgresReport, lang: Lang): string[] {
  const tr = (text: Text, values?: Placeholders) => render(text, lang, values);
  const out: string[] = [];
  const s = r.schema;
  if (s.pending.length) {
    out.push(tr(S.problemPending, { n: s.pending.length, list: s.pending.map((m) => `${m.version}: ${m.name}`).join('; ') }));
  }
  if (s.unknown.length) out.push(tr(S.problemUnknown, { versions: s.unknown.join(', ') }));
  if (r.encoding.toUpperCase() !== 'UTF8') out.push(tr(S.problemEncoding, { encoding: r.encoding }));
  return out;
}

/** A connection failure, with what to check. */
function unreachable(where: string, err: Error): string {
  const code = (err as Error & { code?: string }).code;
  const hint = code === '28P01' || code === '28000' ? T.storeHintLogin
    : code === '3D000' ? T.storeHintDatabase
      : code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || /timeout/i.test(err.message) ? T.storeHintConnect
        : T.storeHintOther;
  return tr(T.storeUnreachable, { where, error: err.message || code, hint: tr(hint) });
}

async function sqlite(sub: 'migrate' | 'check', config: Config, json: boolean): Promise<number> {
  const file = sqliteQueueFile(config);
  if (sub === 'check' && !existsSync(file)) {
    if (json) printJson({ store: 'sqlite', file, ok: true, exists: false });
    else process.stdout.write(`${tr(T.storeNoQueue, { file })}\nok\n`);
    return 0;
  }
  // Opening the SQLite store applies its migrations.
  const store = openStore(config);
  await store.init();
  try {
    const counts = await store.counts();
    if (json) printJson({ store: 'sqlite', file, ok: true, exists: true, counts });
    else {
      process.stdout.write(`${tr(S.sqliteAt, { file })}\n${tr(S.messages, { counts: countsText(counts) })}\n${sub === 'check' ? 'ok\n' : ''}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** Messages per state: the states' names as the queue names them in English, the console's words in Japanese. */
function countsText(counts: Record<string, number>): string {
  const name = (k: string) => (cliLang() === 'en' || !Object.hasOwn(MESSAGE_STATE_TEXTS, k) ? k : tr(MESSAGE_STATE_TEXTS[k as keyof typeof MESSAGE_STATE_TEXTS]));
  return Object.entries(counts).map(([k, n]) => `${name(k)} ${n}`).join(cliLang() === 'en' ? ', ' : '、');
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
