/**
 * The scheduled scan (src/migration/schedule.ts): a scan when none is
 * stored, none again before a day has passed since the newest (a restart
 * does not scan again), none while the configuration turns it off, and
 * after a failure one hour's pause with the reason logged in a sentence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/log.js';
import { UserError } from '../../src/core/user-error.js';
import { MigrationSchedule } from '../../src/migration/schedule.js';

const H = 3_600_000;

test('the schedule scans when due, not again within a day, not while off, and waits an hour after a failure', { timeout: 5_000 }, async () => {
  let now = Date.UTC(2026, 11, 6, 8);
  let last: number | undefined;
  let enabled = true;
  let fail: Error | undefined;
  const scans: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('info', new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>); cb(); } }));
  const schedule = new MigrationSchedule({
    scan: async () => {
      if (fail) throw fail;
      scans.push(now);
      last = now;
    },
    lastScanAt: async () => last, enabled: () => enabled, log, now: () => now,
  });
  await schedule.tick();
  assert.deepEqual(scans, [now], 'no scan stored yet: scan at once');
  now += 23 * H;
  await schedule.tick();
  assert.equal(scans.length, 1, 'not again within a day');
  now += 2 * H;
  enabled = false;
  await schedule.tick();
  assert.equal(scans.length, 1, 'off in the configuration');
  enabled = true;
  fail = new UserError('no app registration to read the tenant with: configure a graph upstream');
  await schedule.tick();
  assert.equal(scans.length, 1);
  const line = logs.find((l) => l.event === 'migration-schedule-failed');
  assert.equal(line?.level, 'error');
  assert.equal(line?.msg, 'the scheduled migration scan could not run: no app registration to read the tenant with: configure a graph upstream; it is tried again in an hour');
  fail = undefined;
  now += 30 * 60_000;
  await schedule.tick();
  assert.equal(scans.length, 1, 'an hour after a failure');
  now += 31 * 60_000;
  await schedule.tick();
  assert.equal(scans.length, 2);
  schedule.start();
  await schedule.stop();
});
