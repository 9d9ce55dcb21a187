/**
 * `authrelay store migrate|check`: the spool's schema and health.
 *
 * migrate applies the PostgreSQL store's pending migrations (the relay also
 * does at start, under the same advisory lock) and says which ran. check
 * connects, reports the server, the schema version, pending migrations and
 * the queue, and exits 1 when something needs fixing, saying what.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { redactUrl } from '../../core/log.js';
import { openStore } from '../../spool/open.js';
import { PostgresStore } from '../../spool/postgres/postgres-store.js';
import type { PostgresReport } from '../../spool/postgres/inspect.js';
import { complain, loadConfig, printJson, tr, UsageError } from '../common.js';
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
  const out = [`PostgreSQL store at ${where}`];
  for (const m of ran) out.push(`applied migration ${m.version}: ${m.name}`);
  out.push(ran.length ? `schema version ${status.version}, up to date` : `nothing to apply: schema version ${status.version} is up to date`);
  if (status.unknown.length) out.push(`note: the database also has migration(s) ${status.unknown.join(', ')}, made by a newer authrelay`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

async function check(store: PostgresStore, where: string, json: boolean): Promise<number> {
  const r = await store.inspect(Date.now());
  const problems = problemsOf(r);
  if (json) {
    printJson({ store: 'postgres', url: where, ok: problems.length === 0, problems, ...r, schema: { ...r.schema, pending: r.schema.pending.map((m) => ({ version: m.version, name: m.name })) } });
    return problems.length ? 1 : 0;
  }
  const s = r.schema;
  const out = [
    `PostgreSQL store at ${where}: database ${r.database} as ${r.user}, ${r.server.split(' on ')[0]}`,
    `schema version ${s.version} (${s.applied.length} migration(s) applied, ${s.pending.length ? `${s.pending.length} pending` : 'none pending'})`,
  ];
  if (r.counts) out.push(`messages: ${Object.entries(r.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.bodies) {
    out.push(`bodies: ${r.bodies.stored} stored (${sizeText(r.bodies.bytes)}), ${r.bodies.writing} being received` +
      (r.bodies.abandoned ? ` (${r.bodies.abandoned} left by a node that stopped, removed by the next clean-up)` : ''));
  }
  if (r.expiredLeases) out.push(`leases: ${r.expiredLeases} message(s) in delivery with an expired lease (their node stopped; another node takes them over)`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (problems.length === 0) {
    process.stdout.write('ok\n');
    return 0;
  }
  for (const p of problems) complain(T.storeProblem, { problem: p });
  return 1;
}

function problemsOf(r: PostgresReport): string[] {
  const out: string[] = [];
  const s = r.schema;
  if (s.pending.length) {
    out.push(`${s.pending.length} migration(s) pending (${s.pending.map((m) => `${m.version}: ${m.name}`).join('; ')}); ` +
      'apply them with: authrelay store migrate (the relay also applies them when it starts)');
  }
  if (s.unknown.length) {
    out.push(`the database has migration(s) ${s.unknown.join(', ')} that this authrelay does not know: a newer version migrated it; upgrade authrelay on this node`);
  }
  if (r.encoding.toUpperCase() !== 'UTF8') {
    out.push(`the database encoding is ${r.encoding}; authrelay needs UTF8: create the database with ENCODING 'UTF8' (e.g. createdb -E UTF8 -T template0 authrelay)`);
  }
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
  const file = (config.store.type === 'sqlite' ? config.store.path : undefined) ?? join(config.dataDir, 'queue', 'queue.db');
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
      process.stdout.write(`SQLite store at ${file}: up to date (its migrations run whenever it is opened)\n` +
        `messages: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}\n${sub === 'check' ? 'ok\n' : ''}`);
    }
    return 0;
  } finally {
    await store.close();
  }
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
