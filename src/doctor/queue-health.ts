/**
 * Queue health for `doctor`, read from the spool like `authrelay queue`:
 * failed messages waiting for a retry, deferred messages waiting long,
 * messages left active with an expired lease, messages never routed, and
 * messages held for inspection.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { formatDuration } from '../core/units.js';
import { openStore } from '../spool/open.js';
import { sqliteQueueFile } from '../spool/names.js';
import { PostgresStore } from '../spool/postgres/postgres-store.js';
import type { QueuedMessage } from '../spool/store.js';
import { asIs, type Lang, type Text } from '../core/i18n.js';
import type { AddCheck } from './report.js';
import { both, plural, DOCTOR_TEXT as T } from './texts.js';

const HOUR = 3_600_000;
const SCAN = 100_000;

const STATE_NAMES: Record<string, Text> = {
  incoming: T.stateIncoming, active: T.stateActive, deferred: T.stateDeferred, held: T.stateHeld, delivered: T.stateDelivered, failed: T.stateFailed,
};

export async function checkQueue(config: Config, add: AddCheck, now: number): Promise<void> {
  if (config.store.type === 'sqlite') {
    const file = sqliteQueueFile(config);
    if (!existsSync(file)) {
      add({ id: 'queue.exists', status: 'info', title: both(T.queueNone, { file }) });
      return;
    }
  }
  const store = openStore(config);
  try {
    if (store instanceof PostgresStore) {
      // Read-only: a schema that is not up to date is reported, not migrated.
      const schema = await store.schemaStatus();
      if (schema.pending.length) {
        add({ id: 'queue.schema', status: 'fail', title: both(T.queueSchema, { n: schema.pending.length }), fix: T.queueSchemaFix });
        await store.close();
        return;
      }
    } else await store.init();
  } catch (err) {
    add({
      id: 'queue.store', status: 'fail', title: both(T.storeUnopened, { type: config.store.type, message: (err as Error).message }),
      fix: config.store.type === 'postgres' ? T.storeUnopenedFixPostgres : T.storeUnopenedFixSqlite,
    });
    await store.close().catch(() => undefined);
    return;
  }
  try {
    const counts = await store.counts();
    const listed = (lang: Lang) => Object.entries(counts).map(([s, n]) => both(T.stateCount, { state: STATE_NAMES[s] ?? asIs(s), n })[lang]).join(lang === 'ja' ? '、' : ', ');
    add({ id: 'queue.counts', status: 'info', title: both(T.queueCounts, { counts: { en: listed('en'), ja: listed('ja') } }) });
    const failed = counts.failed ? await store.list({ states: ['failed'], limit: SCAN }) : [];
    if (failed.length) {
      add({
        id: 'queue.failed', status: 'fail', title: plural(failed.length, T.queueFailedOne, T.queueFailedMany, { age: age(failed, now) }),
        detail: reasons(failed), fix: T.queueFailedFix,
      });
    } else add({ id: 'queue.failed', status: 'pass', title: T.queueFailedNone });

    const deferred = counts.deferred ? await store.list({ states: ['deferred'], limit: SCAN }) : [];
    const old = deferred.filter((m) => now - m.receivedAt > HOUR);
    if (old.length) {
      add({
        id: 'queue.deferred', status: 'warn', title: plural(old.length, T.queueDeferredOne, T.queueDeferredMany, { age: age(old, now) }),
        detail: reasons(old), fix: T.queueDeferredFix,
      });
    } else add({ id: 'queue.deferred', status: 'pass', title: deferred.length ? both(T.queueDeferredRecent, { n: deferred.length }) : T.queueDeferredNone });

    const active = counts.active ? await store.list({ states: ['active'], limit: SCAN }) : [];
    const stale = active.filter((m) => m.leaseUntil !== null && m.leaseUntil < now);
    if (stale.length) {
      const holders = (lang: Lang) => stale.slice(0, 5).map((m) => both(T.leaseHolder, { id: m.id, owner: m.leaseOwner ?? '?' })[lang]).join(', ');
      add({
        id: 'queue.leases', status: 'warn', title: plural(stale.length, T.queueLeasesOne, T.queueLeasesMany),
        detail: { en: holders('en'), ja: holders('ja') }, fix: T.queueLeasesFix,
      });
    }
    const incoming = counts.incoming ? await store.list({ states: ['incoming'], limit: SCAN }) : [];
    const stuck = incoming.filter((m) => now - m.nextAttemptAt > HOUR);
    if (stuck.length) {
      add({ id: 'queue.incoming', status: 'warn', title: plural(stuck.length, T.queueIncomingOne, T.queueIncomingMany), fix: T.queueIncomingFix });
    }
    if (counts.held) {
      add({ id: 'queue.held', status: 'info', title: plural(counts.held, T.queueHeldOne, T.queueHeldMany), detail: T.queueHeldDetail });
    }
  } finally {
    await store.close();
  }
}

function age(messages: QueuedMessage[], now: number): string {
  return formatDuration(now - Math.min(...messages.map((m) => m.receivedAt)));
}

/** The most common last problems, with their fix when the catalogue gave one (in Japanese when it has one). */
function reasons(messages: QueuedMessage[]): Text {
  const by = new Map<string, { n: number; en: string; ja: string }>();
  for (const m of messages) {
    const e = m.lastError;
    const said = e ? e.response ?? e.category : undefined;
    const en = said !== undefined ? `${said}${e?.fix ? ` → ${e.fix}` : ''}` : T.noReplyRecorded.en;
    const ja = said !== undefined ? `${said}${e?.ja?.fix ?? e?.fix ? ` → ${e?.ja?.fix ?? e?.fix}` : ''}` : T.noReplyRecorded.ja;
    const seen = by.get(en) ?? { n: 0, en, ja };
    seen.n++;
    by.set(en, seen);
  }
  const top = [...by.values()].sort((a, b) => b.n - a.n).slice(0, 3);
  return { en: top.map((r) => `${r.n} × ${r.en}`).join('\n'), ja: top.map((r) => `${r.n} × ${r.ja}`).join('\n') };
}
