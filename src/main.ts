/**
 * The composition root: builds every stage from the validated config and
 * wires them together. Nothing else constructs stages or reads config.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import type { Logger } from './core/log.js';
import { SqliteStore } from './spool/sqlite/sqlite-store.js';
import type { Store } from './spool/store.js';
import { DeviceRegistry } from './identity/devices.js';
import { Lockout, RateLimiter } from './identity/lockout.js';
import { SessionPolicy } from './receive/policy.js';
import { ReceiveStage, type BoundListener } from './receive/server.js';
import { ensureCertificate } from './receive/tls.js';
import { RouteTable, CAPTURE_ROUTE } from './route/rules.js';
import { createTransports, lazyTokenProviders } from './deliver/factory.js';
import { Scheduler } from './deliver/scheduler.js';
import type { Transport } from './deliver/transport.js';
import { NonDeliveryNotices } from './report/notices.js';

export interface RunningRelay {
  listeners: BoundListener[];
  store: Store;
  scheduler: Scheduler;
  stop(): Promise<void>;
}

export function createStore(config: Config): Store {
  const dir = join(config.dataDir, 'queue');
  return new SqliteStore({ dir, ...(config.store.path ? { file: config.store.path } : {}) });
}

export function relayHostname(config: Config): string {
  return config.hostname ?? osHostname();
}

export async function startRelay(config: Config, log: Logger): Promise<RunningRelay> {
  const started = Date.now();
  const hostname = relayHostname(config);
  const store = createStore(config);
  await store.init();
  const orphans = await store.removeOrphanBodies();
  if (orphans) log.info({ event: 'spool-cleanup', orphans }, `removed ${orphans} unused or partial body files left by an interrupted run (none belonged to an acknowledged message)`);

  const tokens = lazyTokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log });
  let transports: Map<string, Transport>;
  try {
    transports = await createTransports(config, { log, tokens: tokens.get }, CAPTURE_ROUTE);
  } catch (err) {
    // A credential that cannot be loaded (a certificate, a key) stops the start: release what is open.
    tokens.close();
    await store.close();
    throw err;
  }
  const upstreamNames = Object.keys(config.upstreams);
  const routeRules = config.routes.length > 0
    ? config.routes
    : [{ name: upstreamNames.length === 1 ? 'the only upstream' : 'embedded default', use: upstreamNames.length === 1 ? upstreamNames[0]! : CAPTURE_ROUTE, when: {} }];
  if (Object.keys(config.upstreams).length === 0) {
    log.warn({ event: 'capture-default' },
      'no upstream is configured: every message is held in the queue by the built-in capture route, nothing is delivered. ' +
      'Add an upstream (e.g. upstreams: { relay: { type: smtp, host: smtp.example.com, port: 587 } }) and a route, restart, then `authrelay queue release ID`.');
  }
  const routes = new RouteTable(routeRules);
  const devices = new DeviceRegistry(config.devices, { trustLoopback: config.trustLoopback });
  const deviceRoutes = new Map(config.devices.filter((d) => d.route).map((d) => [d.name, d.route!]));

  const wakeRef: { scheduler?: Scheduler } = {};
  const wake = () => wakeRef.scheduler?.wake();
  const notices = new NonDeliveryNotices(store, {
    toSender: config.notices.toSender, hostname, maxLifetimeMs: config.queue.maxLifetime,
    ...(config.notices.admin ? { admin: config.notices.admin } : {}),
    ...(config.notices.from ? { from: config.notices.from } : {}),
  }, log, wake);
  const scheduler = new Scheduler({
    store, transports, routes, reporter: notices, log, owner: hostname,
    deviceRoute: (d) => (d ? deviceRoutes.get(d) : undefined),
    options: config.queue,
  });
  wakeRef.scheduler = scheduler;

  const certificate = await ensureCertificate(config.tls, config.dataDir, hostname, log);
  const policy = new SessionPolicy(devices, {
    lockout: new Lockout({ limit: config.security.authFailureLimit, windowMs: config.security.authFailureWindow, lockMs: config.security.lockoutDuration }),
    rates: new RateLimiter(),
    failureDelayMs: config.security.authFailureDelay,
  });
  const router = (i: { device: string; sender: string; recipients: string[] }) =>
    routes.resolve({ device: i.device, sender: i.sender, recipients: i.recipients, ...(deviceRoutes.has(i.device) ? { deviceRoute: deviceRoutes.get(i.device)! } : {}) })
      .map((g) => ({ route: g.route, recipients: g.recipients, rule: g.rule }));
  const receive = new ReceiveStage({ store, policy, log, hostname, maxLifetimeMs: config.queue.maxLifetime, certificate, onAccepted: wake, router });
  // Listeners first: if a port cannot be bound the relay stops before any delivery starts.
  let listeners: BoundListener[];
  try {
    listeners = await receive.listen(config.listeners);
  } catch (err) {
    await receive.close();
    for (const t of transports.values()) await t.close();
    tokens.close();
    await store.close();
    throw err;
  }
  await scheduler.start();
  log.info({ event: 'started', ms: Date.now() - started, upstreams: [...transports.keys()], devices: devices.all.length }, `authrelay ready in ${Date.now() - started} ms`);

  const purge = setInterval(() => {
    void store.purgeDeliveredBodies(Date.now() - config.queue.keepDelivered).catch((err: unknown) => log.error({ err }, 'purge failed'));
  }, 60_000);
  purge.unref();

  let stopping: Promise<void> | undefined;
  return {
    listeners, store, scheduler,
    stop: () => (stopping ??= (async () => {
      clearInterval(purge);
      await receive.close();
      await scheduler.stop();
      for (const t of transports.values()) await t.close();
      tokens.close();
      await store.close();
      log.info({ event: 'stopped' }, 'authrelay stopped');
    })()),
  };
}
