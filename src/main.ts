/**
 * The composition root: builds every stage from the validated config and
 * wires them together. Nothing else constructs stages or reads config.
 */
import { hostname as osHostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import type { Logger } from './core/log.js';
import { SqliteStore } from './spool/sqlite/sqlite-store.js';
import { PostgresStore } from './spool/postgres/postgres-store.js';
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
import type { FailureReporter } from './deliver/scheduler.js';
import type { TokenProviders } from './identity/entra/providers.js';
import { HttpClient } from './core/http.js';
import { RelayMetrics } from './report/metrics.js';
import { measureTransports } from './report/instrument.js';
import { AlertMonitor } from './report/alerts.js';
import { expiries, expirySources } from './report/expiry.js';
import { AdminServer, isLoopback, parseListen, type ReadinessCheck } from './admin/server.js';
import { AdminDb } from './admin/auth/admin-db.js';
import { AdminAuth } from './admin/auth/admin-auth.js';
import { EntraSignIn, defaultRedirectUri } from './admin/auth/entra-sign-in.js';
import { apiPlugin, API_PREFIX } from './admin/api/plugin.js';
import { consolePlugin } from './admin/console/plugin.js';

export interface RunningRelay {
  listeners: BoundListener[];
  store: Store;
  scheduler: Scheduler;
  metrics: RelayMetrics;
  alerts: AlertMonitor;
  /** The admin HTTP server; absent when admin.enabled is false or its address could not be bound. */
  admin?: AdminServer;
  stop(): Promise<void>;
}

export function createStore(config: Config, log?: Logger): Store {
  const s = config.store;
  if (s.type === 'postgres') {
    return new PostgresStore({
      url: s.url, poolSize: s.poolSize, applicationName: `authrelay ${leaseOwner(config)}`.slice(0, 63),
      ...(s.ssl ? { ssl: { rejectUnauthorized: s.ssl.rejectUnauthorized, ...(s.ssl.ca ? { ca: readFileSync(s.ssl.ca, 'utf8') } : {}) } } : {}),
      ...(log ? { onIdleError: (err: Error) => log.warn({ event: 'store-connection-lost', err: err.message }, `a PostgreSQL connection was lost (${err.message}); it is replaced on next use`) } : {}),
    });
  }
  const dir = join(config.dataDir, 'queue');
  return new SqliteStore({ dir, ...(s.path ? { file: s.path } : {}) });
}

/**
 * The owner named in delivery leases. One node (SQLite): the relay's host
 * name. Several nodes sharing PostgreSQL: store.node, or the system host name
 * and process id, so that no two live processes share a name.
 */
export function leaseOwner(config: Config): string {
  if (config.store.type === 'postgres') return config.store.node ?? `${osHostname()}:${process.pid}`;
  return relayHostname(config);
}

export function relayHostname(config: Config): string {
  return config.hostname ?? osHostname();
}

export async function startRelay(config: Config, log: Logger, opts: { configFile?: string | undefined } = {}): Promise<RunningRelay> {
  const started = Date.now();
  const hostname = relayHostname(config);
  const store = createStore(config, log);
  await store.init();
  const orphans = await store.removeOrphanBodies();
  if (orphans) log.info({ event: 'spool-cleanup', orphans }, `removed ${orphans} unused or partial body files left by an interrupted run (none belonged to an acknowledged message)`);

  const metrics = new RelayMetrics();
  const tokens = lazyTokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log });
  let tokenProviders: TokenProviders | undefined;
  const getTokens = () => tokens.get().then((t) => (tokenProviders = t));
  let transports: Map<string, Transport>;
  try {
    // With PostgreSQL, per-mailbox pacing is counted in the database: the limits hold for all nodes together.
    const pacing = store instanceof PostgresStore ? store.pacing(leaseOwner(config)) : undefined;
    transports = measureTransports(await createTransports(config, { log, tokens: getTokens, ...(pacing ? { pacing } : {}) }, CAPTURE_ROUTE), metrics);
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
  const alertsRef: { monitor?: AlertMonitor } = {};
  const reporter: FailureReporter = {
    failed: async (m, failed, reason) => {
      alertsRef.monitor?.messageFailed(m, failed, reason);
      await notices.failed(m, failed, reason);
    },
  };
  const scheduler = new Scheduler({
    store, transports, routes, reporter, log, owner: leaseOwner(config),
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
  const receive = new ReceiveStage({ store, policy, log, hostname, maxLifetimeMs: config.queue.maxLifetime, certificate, onAccepted: wake, router, telemetry: metrics });
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
  let schedulerRunning = true;
  let stopping: Promise<void> | undefined;

  const credentials = expirySources(config, { pem: certificate.cert, source: certificate.source });
  const destinations = () => scheduler.destinationStatus();
  metrics.observe({
    store, destinations, expiries: () => expiries(credentials).items,
    tokens: () => (tokenProviders?.list() ?? []).map((t) => ({ requests: t.provider.requests, upstreams: t.upstreams })),
  });
  const alerts = new AlertMonitor({
    settings: config.alerts, store, hostname, log, destinations, expiries: () => expiries(credentials),
    http: new HttpClient({ maxSockets: 2 }), maxLifetimeMs: config.queue.maxLifetime, wake,
    onAlert: (condition, status) => metrics.alert(condition, status),
  });
  alertsRef.monitor = alerts;
  alerts.start();

  const readiness = async (): Promise<ReadinessCheck[]> => {
    let store_: ReadinessCheck;
    try {
      const c = await store.counts();
      store_ = { name: 'store', ok: true, detail: `reachable (${c.incoming + c.active + c.deferred} waiting)` };
    } catch (err) {
      store_ = { name: 'store', ok: false, detail: `not reachable: ${(err as Error).message}` };
    }
    return [
      { name: 'listeners', ok: !stopping && listeners.length === config.listeners.length, detail: stopping ? 'shutting down' : `${listeners.length} of ${config.listeners.length} bound` },
      store_,
      { name: 'scheduler', ok: schedulerRunning, detail: schedulerRunning ? 'running' : 'stopped' },
    ];
  };
  let admin: AdminServer | undefined;
  const adminDbRef: { db?: AdminDb } = {};
  if (config.admin.enabled) {
    const server = new AdminServer({ listen: config.admin.listen, log, metrics, readiness });
    const adminDb = new AdminDb(join(config.dataDir, 'admin.db'));
    try {
      adminDb.init();
      const adminAuth = new AdminAuth(adminDb, {
        sessionLifetimeMs: config.admin.sessionLifetime, failureLimit: config.security.authFailureLimit,
        failureWindowMs: config.security.authFailureWindow, lockoutMs: config.security.lockoutDuration,
      });
      const entraCfg = config.admin.entraSignIn;
      const entraSignIn = entraCfg ? new EntraSignIn(entraCfg, entraCfg.redirectUri ?? '', log) : undefined;
      server.register(apiPlugin({
        auth: adminAuth, db: adminDb, store, config, destinations, wake, log, sessionLifetimeMs: config.admin.sessionLifetime,
        ...(entraSignIn ? { entraSignIn } : {}),
        secureCookies: !isLoopback(parseListen(config.admin.listen).host), ...(opts.configFile ? { configFile: opts.configFile } : {}),
      }, '1'), { prefix: API_PREFIX });
      server.register(consolePlugin({
        auth: adminAuth, hostname: config.hostname, listeners: () => listeners.map((l) => ({ name: l.name, port: l.port, tls: l.tls })),
      }));
      const bound = await server.start();
      if (entraSignIn && entraCfg) {
        if (!entraCfg.redirectUri) entraSignIn.redirectUri = defaultRedirectUri(bound.port);
        log.info({ event: 'admin-entra-sign-in', redirectUri: entraSignIn.redirectUri, users: entraCfg.users.length },
          `console sign-in with Entra ID for ${entraCfg.users.length} listed user(s); the app registration needs the Web redirect URI ${entraSignIn.redirectUri}`);
      }
      admin = server;
      adminDbRef.db = adminDb;
      const setupToken = adminAuth.issueSetupToken();
      if (setupToken) {
        log.warn({ event: 'admin-setup', setupToken },
          `no admin password is set. Set one with the setup token ${setupToken} (valid until used or the next start): POST ${API_PREFIX}/setup on the admin server`);
      }
    } catch (err) {
      // Mail keeps flowing without the admin face; the log says why it is missing.
      await server.close().catch(() => undefined);
      adminDb.close();
      log.error({ event: 'admin-unavailable', listen: config.admin.listen, err: (err as Error).message },
        `the admin server could not listen on ${config.admin.listen} (${(err as Error).message}); /metrics, /healthz and /readyz are unavailable. Free the port or set admin.listen to another address, then restart`);
    }
  }
  log.info({ event: 'started', ms: Date.now() - started, upstreams: [...transports.keys()], devices: devices.all.length }, `authrelay ready in ${Date.now() - started} ms`);

  const purge = setInterval(() => {
    void store.purgeDeliveredBodies(Date.now() - config.queue.keepDelivered).catch((err: unknown) => log.error({ err }, 'purge failed'));
    // In PostgreSQL, bodies a node was receiving when it died are removed once their lease has run out.
    if (config.store.type === 'postgres') void store.removeOrphanBodies().catch((err: unknown) => log.error({ err }, 'orphan body clean-up failed'));
  }, 60_000);
  purge.unref();

  return {
    listeners, store, scheduler, metrics, alerts, ...(admin ? { admin } : {}),
    // The graceful stop (docs/load-balancer.md): /readyz answers 503 from the first moment and
    // the admin server stays up until the end; no new SMTP connections; sessions finish the
    // message in progress and deliveries in flight finish, both until shutdownTimeout; messages
    // claimed but not started are released; then the store is closed.
    stop: () => (stopping ??= (async () => {
      const begun = Date.now();
      const deadline = begun + config.shutdownTimeout;
      clearInterval(purge);
      const [smtp, deliveries] = await Promise.all([receive.drain(deadline), scheduler.stop(deadline - Date.now()), alerts.stop()]);
      schedulerRunning = false;
      await admin?.close();
      adminDbRef.db?.close();
      for (const t of transports.values()) await t.close();
      tokens.close();
      await store.close();
      const cut = [
        smtp.cutOff ? `${smtp.cutOff} SMTP session(s) cut off with 421 at the deadline` : '',
        deliveries.interrupted ? `${deliveries.interrupted} delivery(ies) interrupted at the deadline (retried later)` : '',
      ].filter(Boolean).join('; ');
      log.info({
        event: 'stopped', ms: Date.now() - begun, sessions: smtp.sessions, sessionsCutOff: smtp.cutOff,
        deliveries: deliveries.inFlight, deliveriesInterrupted: deliveries.interrupted, deliveriesUnfinished: deliveries.unfinished,
      }, `authrelay stopped: ${smtp.sessions} SMTP session(s) and ${deliveries.inFlight} delivery(ies) were open${cut ? `; ${cut}` : ', all finished'}`);
    })()),
  };
}
