/**
 * Queue health for `doctor`, read from the spool like `authrelay queue`:
 * failed messages waiting for a retry, deferred messages waiting long,
 * messages left active with an expired lease, messages never routed, and
 * messages held for inspection.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { formatDuration } from '../core/units.js';
import { openStore } from '../spool/open.js';
import { PostgresStore } from '../spool/postgres/postgres-store.js';
import type { QueuedMessage } from '../spool/store.js';
import type { AddCheck } from './report.js';

const HOUR = 3_600_000;
const SCAN = 100_000;

export async function checkQueue(config: Config, add: AddCheck, now: number): Promise<void> {
  if (config.store.type === 'sqlite') {
    const file = config.store.path ?? join(config.dataDir, 'queue', 'queue.db');
    if (!existsSync(file)) {
      add({ id: 'queue.exists', status: 'info', title: `no queue yet at ${file} (made when the relay first starts)` });
      return;
    }
  }
  const store = openStore(config);
  try {
    if (store instanceof PostgresStore) {
      // Read-only: a schema that is not up to date is reported, not migrated.
      const schema = await store.schemaStatus();
      if (schema.pending.length) {
        add({
          id: 'queue.schema', status: 'fail', title: `the PostgreSQL store has ${schema.pending.length} migration(s) pending`,
          fix: 'Apply them: authrelay store migrate (the relay also applies them when it starts).',
        });
        await store.close();
        return;
      }
    } else await store.init();
  } catch (err) {
    add({
      id: 'queue.store', status: 'fail', title: `the ${config.store.type} store cannot be opened: ${(err as Error).message}`,
      fix: config.store.type === 'postgres' ? 'See the details with: authrelay store check' : 'Check dataDir and store.path and their permissions.',
    });
    await store.close().catch(() => undefined);
    return;
  }
  try {
    const counts = await store.counts();
    add({ id: 'queue.counts', status: 'info', title: `queue: ${Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ')}` });
    const failed = counts.failed ? await store.list({ states: ['failed'], limit: SCAN }) : [];
    if (failed.length) {
      add({
        id: 'queue.failed', status: 'fail', title: `${failed.length} failed message${failed.length === 1 ? '' : 's'} waiting (oldest received ${age(failed, now)} ago)`,
        detail: reasons(failed),
        fix: 'Fix what made them fail (see: authrelay queue show ID), then send them again: authrelay queue retry --failed (or delete them: authrelay queue delete ID).',
      });
    } else add({ id: 'queue.failed', status: 'pass', title: 'no failed messages waiting' });

    const deferred = counts.deferred ? await store.list({ states: ['deferred'], limit: SCAN }) : [];
    const old = deferred.filter((m) => now - m.receivedAt > HOUR);
    if (old.length) {
      add({
        id: 'queue.deferred', status: 'warn', title: `${old.length} message${old.length === 1 ? '' : 's'} waiting for a retry for over an hour (oldest ${age(old, now)})`,
        detail: reasons(old),
        fix: 'See why with: authrelay queue show ID; the route\'s checks above show whether its upstream can be reached. They give up after queue.maxLifetime.',
      });
    } else add({ id: 'queue.deferred', status: 'pass', title: deferred.length ? `${deferred.length} deferred, none older than an hour` : 'no messages waiting for a retry' });

    const active = counts.active ? await store.list({ states: ['active'], limit: SCAN }) : [];
    const stale = active.filter((m) => m.leaseUntil !== null && m.leaseUntil < now);
    if (stale.length) {
      add({
        id: 'queue.leases', status: 'warn', title: `${stale.length} message${stale.length === 1 ? '' : 's'} left in delivery with an expired lease`,
        detail: `${stale.slice(0, 5).map((m) => `${m.id} (held by ${m.leaseOwner ?? '?'})`).join(', ')}`,
        fix: 'The relay that was delivering them stopped; they go back to the queue when the relay starts. Start it: authrelay serve',
      });
    }
    const incoming = counts.incoming ? await store.list({ states: ['incoming'], limit: SCAN }) : [];
    const stuck = incoming.filter((m) => now - m.nextAttemptAt > HOUR);
    if (stuck.length) {
      add({ id: 'queue.incoming', status: 'warn', title: `${stuck.length} message${stuck.length === 1 ? '' : 's'} due for over an hour without an attempt`, fix: 'Is the relay running? Start it (authrelay serve) and watch its log.' });
    }
    if (counts.held) {
      add({ id: 'queue.held', status: 'info', title: `${counts.held} message${counts.held === 1 ? '' : 's'} held for inspection`, detail: 'authrelay queue list --state held; release one with: authrelay queue release ID' });
    }
  } finally {
    await store.close();
  }
}

function age(messages: QueuedMessage[], now: number): string {
  return formatDuration(now - Math.min(...messages.map((m) => m.receivedAt)));
}

/** The most common last problems, with their fix when the catalogue gave one. */
function reasons(messages: QueuedMessage[]): string {
  const by = new Map<string, number>();
  for (const m of messages) {
    const e = m.lastError;
    const key = e ? `${e.response ?? e.category}${e.fix ? ` → ${e.fix}` : ''}` : 'no reply recorded';
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${n} × ${k}`).join('\n');
}
