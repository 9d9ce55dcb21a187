/**
 * The scheduler's stop with a store that answers slowly (as a database over
 * the network does): a stop that arrives while a claim is under way starts
 * none of the claimed messages and releases their leases, so another node
 * takes them at once instead of after the lease time. The store is the real
 * SQLite store; only its claim() answer is held back until the stop has begun.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import type { ClaimRequest, QueuedMessage, Store } from '../../src/spool/store.js';
import { Scheduler } from '../../src/deliver/scheduler.js';
import { createTransport } from '../../src/deliver/factory.js';
import { RouteTable } from '../../src/route/rules.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/core/log.js';
import { newMessageId } from '../../src/core/ids.js';
import { startUpstream } from '../helpers/upstream.js';
import { smtpUpstream, sleep } from '../helpers/delivery.js';

test('a stop during a claim: the claimed messages are not started and their leases are released at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-stop-claim-'));
  const up = await startUpstream();
  const store = new SqliteStore({ dir: join(dir, 'queue') });
  await store.init();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = newMessageId();
      const w = store.createBody(id);
      w.stream.end(`From: app@contoso.com\r\nTo: u${i}@contoso.com\r\nSubject: ${i}\r\n\r\nbody\r\n`);
      const size = await w.finish();
      const now = Date.now();
      await store.accept({
        id, receivedAt: now, expiresAt: now + 86_400_000, sender: 'app@contoso.com', recipients: [`u${i}@contoso.com`], size,
        origin: { device: null, clientIp: '127.0.0.1', listener: 'main' }, routes: [{ route: 'relay', recipients: [`u${i}@contoso.com`] }],
      });
      ids.push(id);
    }

    let claimed!: (n: number) => void;
    const claimDone = new Promise<number>((r) => (claimed = r));
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    // The real store; the answer to the first claim for the upstream waits until the test lets it go.
    const slow = new Proxy(store, {
      get(target, prop) {
        if (prop === 'claim') {
          return async (req: ClaimRequest): Promise<QueuedMessage[]> => {
            const got = await target.claim(req);
            if (req.route === 'relay' && got.length) {
              claimed(got.length);
              await held;
            }
            return got;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;

    const config = validateConfig({ upstreams: { relay: smtpUpstream(up.port) } }, { env: {} }, dir);
    const log = createLogger('silent');
    const transport = await createTransport('relay', config.upstreams.relay!, { log, tokens: () => Promise.reject(new Error('no tokens here')) });
    const snapshot = {
      version: '1', transports: new Map([['relay', transport]]), routes: new RouteTable([{ use: ['relay'], when: {} }]),
      deviceRoute: () => undefined, options: { ...config.queue, pollInterval: 50 },
    };
    const scheduler = new Scheduler({ store: slow, current: () => snapshot, reporter: { failed: async () => undefined }, log, owner: 'node-a' });
    await scheduler.start();
    assert.equal(await claimDone, 3);
    const leased = await store.get(ids[0]!);
    assert.deepEqual([leased?.state, leased?.leaseOwner], ['active', 'node-a']);

    const stopping = scheduler.stop(5_000);
    await sleep(50);
    answer();
    const result = await stopping;
    assert.deepEqual(result, { inFlight: 0, interrupted: 0, unfinished: 0 });
    await sleep(500);
    assert.equal(up.received.length, 0, 'nothing was delivered after the stop');
    assert.equal(up.connections, 0);

    const taken = await store.claim({ owner: 'node-b', route: 'relay', limit: 10, leaseMs: 60_000, now: Date.now() });
    assert.deepEqual(taken.map((m) => m.id).sort(), [...ids].sort(), 'another node takes all three at once');
    assert.ok(taken.every((m) => m.attempts === 0), 'no attempt was counted');
    await transport.close();
  } finally {
    await store.close();
    await up.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
