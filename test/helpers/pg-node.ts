/**
 * A relay node that dies: run as a child process by the PostgreSQL spool
 * tests, it opens the store on the URL given, claims the due messages of
 * route "relay" with the given time and lease, starts receiving a large
 * body that it never finishes, prints one JSON line and waits to be killed.
 *
 *   node pg-node.js URL NOW LEASE_MS BODY_LEASE_MS
 */
import { PostgresStore } from '../../src/spool/postgres/postgres-store.js';

const [url, now, leaseMs, bodyLeaseMs] = process.argv.slice(2);
const store = new PostgresStore({ url: url!, poolSize: 2, writerName: 'doomed-node', bodyLeaseMs: Number(bodyLeaseMs) });
await store.init();
const claimed = await store.claim({ owner: 'doomed-node', route: 'relay', limit: 100, leaseMs: Number(leaseMs), now: Number(now) });
const body = store.createBody('DOOMEDBODY');
// 1 MB: four chunks stored while "receiving"; the body is never finished.
await new Promise<void>((resolve, reject) => body.stream.write(Buffer.alloc(1024 * 1024, 0x61), (err) => (err ? reject(err) : resolve())));
process.stdout.write(`${JSON.stringify({ claimed: claimed.map((m) => m.id), bodyId: body.bodyId })}\n`);
setInterval(() => undefined, 60_000);
