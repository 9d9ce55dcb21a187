/**
 * The composition root: builds every stage from the validated config, wires
 * them together, and is the only place that builds configuration snapshots
 * and swaps them (a reload: root/reload.ts). Nothing else constructs stages
 * or reads the configuration file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Server } from 'node:net';
// Only what receiving needs is imported here; the rest is loaded once the SMTP listeners accept (see startRelay).
import type { Config } from './config/schema.js';
import type { Logger } from './core/log.js';
import type { PacingCoordinator } from './spool/pacing.js';
import type { Store } from './spool/store.js';
import type { PostgresStore } from './spool/postgres/postgres-store.js';
import { SqliteStore } from './spool/sqlite/sqlite-store.js';
import { openStore } from './spool/open.js';
import { leaseOwner, relayHostname } from './spool/names.js';
import { Lockout, RateLimiter } from './identity/lockout.js';
import { ReceiveStage, type BoundListener } from './receive/server.js';
import { ensureCertificate } from './receive/tls.js';
import type { FailureReporter, Scheduler } from './deliver/scheduler.js';
import type { TokenProviders } from './identity/entra/providers.js';
import type { RelayMetrics } from './report/metrics.js';
import { SessionWatch } from './report/session-watch.js';
import type { AlertMonitor } from './report/alerts.js';
import type { ReadinessCheck } from './admin/server.js';
import type { AdminServer } from './admin/server.js';
import { buildReceive, buildSnapshot, configVersion, effectiveRoutes, type RelaySnapshot } from './root/snapshot.js';
import { CAPTURE_ROUTE } from './config/capture-route.js';
import { deviceAddresses } from './core/device-addresses.js';
import { say } from './core/trail-texts.js';
import type { ReloadResult } from './root/reload.js';
import type { BoundReader } from './root/readers.js';
import type { ReaderListenerView } from './report/reader-activity.js';
import { smtpListenersOf } from './receive/listener-set.js';
import type { ReceiveWorkers } from './root/workers.js';
import { workerCount } from './root/worker-ipc.js';
import { DeferredTelemetry } from './core/telemetry.js';
import { tuneHeap } from './core/heap.js';

export type { ReloadResult } from './root/reload.js';

/** What a person needs to know once the relay runs (the start-up summary on a terminal). */
export interface StartSummary {
  configVersion: string;
  configFile: string | undefined;
  listeners: { name: string; host: string; port: number; tls: 'none' | 'starttls' | 'implicit'; minTlsVersion: string; allowInsecureAuth: boolean; requireAuth: boolean }[];
  /** Where devices reach the relay (publicAddress, or this machine's addresses). */
  deviceAddresses: string[];
  consoleUrl?: string;
  setupLink?: string;
  /** The IMAP/POP3 listeners of legacy readers. */
  readers: { name: string; protocol: string; host: string; port: number; tls: 'none' | 'starttls' | 'implicit'; minTlsVersion: string; upstream: string }[];
  /** Where mail goes now, one entry per route: which mail, and the upstreams in order (none: held in the queue). */
  routes: { device: string[]; sender: string[]; recipientDomain: string[]; use: { name: string; type: string }[] }[];
  /** True when every message is held (no upstream yet). */
  holding: boolean;
}

export interface RunningRelay {
  /** The SMTP listeners as bound now (a reload may add, change or remove some). */
  readonly listeners: BoundListener[];
  /** The IMAP and POP3 listeners (legacy readers, docs/imap-pop.md) as bound now. */
  readonly readers: BoundReader[];
  store: Store;
  scheduler: Scheduler;
  metrics: RelayMetrics;
  alerts: AlertMonitor;
  /** The admin HTTP server; absent when admin.enabled is false or its address could not be bound. */
  admin?: AdminServer;
  /** The configuration in effect now. */
  current(): RelaySnapshot;
  summary(): StartSummary;
  /**
   * Reads the configuration file again and applies it without a restart, or
   * refuses it (with the reasons) and keeps the running configuration.
   */
  reload(by: string, file?: string): Promise<ReloadResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The configuration file the config came from (absent: the embedded default). */
  configFile?: string | undefined;
  /** Environment for ${VAR} references when the file is read again (default process.env). */
  env?: Record<string, string | undefined>;
  /**
   * On the embedded default: where the first change made from the console is
   * written (default ./authrelay.yaml) and the text it starts from (default: a
   * header saying what the file is; the embedded default needs nothing more).
   */
  newConfigFile?: { path?: string; text?: string };
}


export async function startRelay(config: Config, log: Logger, opts: StartOptions = {}): Promise<RunningRelay> {
  tuneHeap();
  const started = Date.now();
  const env = opts.env ?? process.env;
  const store = openStore(config, log);
  await store.init();
  const orphans = await store.removeOrphanBodies();
  if (orphans) log.info({ event: 'spool-cleanup', orphans }, `removed ${orphans} unused or partial body files left by an interrupted run (none belonged to an acknowledged message)`);

  const shared = {
    // The limits are read from the configuration in effect at every check.
    lockout: new Lockout(() => {
      const sec = (current ?? { config }).config.security;
      return { limit: sec.authFailureLimit, windowMs: sec.authFailureWindow, lockMs: sec.lockoutDuration };
    }),
    rates: new RateLimiter(),
  };
  // The first version's receive part is built now; its transports once the listeners accept (below).
  const text = opts.configFile && existsSync(opts.configFile) ? readFileSync(opts.configFile, 'utf8') : JSON.stringify(config);
  const firstVersion = configVersion(1, text, opts.configFile ?? '(embedded default)');
  const firstReceive = buildReceive(config, firstVersion, shared);
  let current: RelaySnapshot;
  let planned = false;
  if (Object.keys(config.upstreams).length === 0) {
    log.warn({ event: 'capture-default' },
      'no upstream is configured: every message is held in the queue by the built-in capture route, nothing is delivered. ' +
      'Add an upstream (e.g. upstreams: { relay: { type: smtp, host: smtp.example.com, port: 587 } }) and a route, reload, then release the held messages.');
  }
  const schedulerRef: { scheduler?: Scheduler } = {};
  const wake = (routing = true) => schedulerRef.scheduler?.wake(routing);

  // A relay whose listeners are all plain SMTP (tls: none) accepts before its self-signed certificate is made
  // (a first start); it is made right after, for the expiry checks and a reload that adds TLS.
  const needsCertificate = config.listeners.some((l) => l.tls !== 'none' || l.protocol !== 'smtp');
  let certificate = needsCertificate ? await ensureCertificate(config.tls, config.dataDir, relayHostname(config), log) : undefined;
  // The live view of sessions: `authrelay device watch`, the console's device page.
  const watch = new SessionWatch();
  // Metrics count from the first session; prom-client is loaded once the listeners accept.
  const receiveTelemetry = new DeferredTelemetry();
  // The receive workers, once started (a session may open in this process before: see sessionOpened).
  let workers: ReceiveWorkers | undefined;
  const receive = new ReceiveStage({ store, log, current: () => (planned ? current.receive : firstReceive), onAccepted: (_id, routed) => schedulerRef.scheduler?.accepted(!routed), telemetry: receiveTelemetry, watch,
    sessionOpened: () => workers?.sessionOpened() });
  // Listeners first: if a port cannot be bound the relay stops before any delivery starts.
  try {
    await receive.listen({ listeners: smtpListenersOf(config.listeners), hostname: relayHostname(config), certificate });
  } catch (err) {
    await receive.close();
    await store.close();
    throw err;
  }

  // What receiving does not need is loaded now, while the listeners accept.
  const [
    { RelayMetrics }, { lazyTokenProviders }, { MemoryPacing }, { BudgetBook }, { TransportRegistry }, { measureTransport }, { reportLanguageResolver },
    { NonDeliveryNotices }, { Scheduler }, { ReaderActivity, teeTelemetry }, { ReaderListeners }, { ReceiveWorkers },
  ] = await Promise.all([
    import('./report/metrics.js'), import('./deliver/factory.js'), import('./spool/pacing.js'), import('./deliver/budget-book.js'), import('./root/transports.js'),
    import('./report/instrument.js'), import('./report/report-language.js'), import('./report/notices.js'), import('./deliver/scheduler.js'),
    import('./report/reader-activity.js'), import('./root/readers.js'), import('./root/workers.js'),
  ]);
  const metrics = new RelayMetrics();
  receiveTelemetry.attach(metrics);
  const tokens = lazyTokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log });
  let tokenProviders: TokenProviders | undefined;
  const getTokens = () => tokens.get().then((t) => (tokenProviders = t));
  // With PostgreSQL, per-mailbox pacing is counted in the database: the limits hold for all nodes together.
  // One coordinator for every upstream: a mailbox's daily budget is shared by all routes sending as it.
  const pacing: PacingCoordinator = config.store.type === 'postgres' ? (store as PostgresStore).pacing(leaseOwner(config)) : new MemoryPacing();
  const budgets = new BudgetBook(pacing, log);
  const registry = new TransportRegistry(
    { log, tokens: getTokens, pacing, budgets },
    (name, t) => measureTransport(name, t, metrics),
    (t) => schedulerRef.scheduler?.inUse(t) ?? false,
    log,
  );
  // notices.language and alerts.language, their defaults from the console's language and this process's locale, resolved once per configuration version.
  const reportLanguages = reportLanguageResolver(env);
  const notices = new NonDeliveryNotices(store, () => {
    const c = current.config;
    return {
      toSender: c.notices.toSender, hostname: relayHostname(c), maxLifetimeMs: c.queue.maxLifetime, language: reportLanguages(c).notices,
      ...(c.notices.admin ? { admin: c.notices.admin } : {}), ...(c.notices.from ? { from: c.notices.from } : {}),
    };
  }, log, () => wake());
  const alertsRef: { monitor?: AlertMonitor } = {};
  const reporter: FailureReporter = {
    failed: async (m, failed, reason) => {
      alertsRef.monitor?.messageFailed(m, failed, reason);
      await notices.failed(m, failed, reason);
    },
  };
  const scheduler = new Scheduler({ store, current: () => current.delivery, reporter, log, owner: leaseOwner(config), gatherAccepted: store instanceof SqliteStore });
  schedulerRef.scheduler = scheduler;

  // What readers did lately, per device (the console's devices page).
  const readerActivity = new ReaderActivity();
  // The IMAP and POP3 listeners of legacy readers: the same lockout and token providers as the rest of the relay.
  const readers = new ReaderListeners({ log, tokens: getTokens, lockout: shared.lockout, telemetry: teeTelemetry(metrics.readers, readerActivity) });
  try {
    certificate ??= await ensureCertificate(config.tls, config.dataDir, relayHostname(config), log);
    const plan = await readers.plan(config, certificate);
    plan.commit();
    plan.announce();
    // The transports (and the libraries they load) after the listeners accept; deliveries start below.
    // A credential that cannot be loaded (a certificate, a key) stops the start.
    const transports = await registry.plan(config);
    transports.commit();
    current = buildSnapshot(config, firstVersion, transports.transports, shared, firstReceive);
    planned = true;
    // Receive on every core (workers > 1): more processes accept on the same sockets.
    const count = workerCount(config.workers, availableParallelism());
    if (count > 1) {
      workers = new ReceiveWorkers({
        log, lockout: shared.lockout, rates: shared.rates, telemetry: metrics, watch, accepted: (routing) => schedulerRef.scheduler?.accepted(routing),
        ...(store instanceof SqliteStore ? { spool: store } : {}),
        sockets: () => new Map(receive.bound.map((b) => [b.name, receive.socketOf(b.name)]).filter((e): e is [string, Server] => e[1] !== undefined)),
        sessions: () => receive.openSessions(),
      });
      await workers.start(count - 1, { config, version: firstVersion, certificate });
      log.info({ event: 'workers', workers: count, pids: [process.pid, ...workers.pids] },
        `receiving SMTP in ${count} processes (workers: ${config.workers}): this one (pid ${process.pid}) and ${workers.pids.map((p) => `pid ${p}`).join(', ')}`);
    }
  } catch (err) {
    workers?.kill();
    await readers.close();
    await receive.close();
    await registry.close();
    tokens.close();
    await store.close();
    throw err;
  }
  const [
    { HttpClient }, { AlertMonitor }, { expiries, expirySources }, { MigrationService }, { MigrationSchedule }, { Reloader }, { ControlServer, controlSocketPath },
    { EMBEDDED_DEFAULT_FILE, firstFileText }, { startAdmin },
  ] = await Promise.all([
    import('./core/http.js'), import('./report/alerts.js'), import('./report/expiry.js'), import('./migration/service.js'), import('./migration/schedule.js'),
    import('./root/reload.js'), import('./control/server.js'), import('./config/editor.js'), import('./root/admin.js'),
  ]);
  await scheduler.start();
  let schedulerRunning = true;
  let stopping: Promise<void> | undefined;

  let credentials = expirySources(config, { pem: certificate.cert, source: certificate.source });
  const destinations = () => scheduler.destinationStatus();
  metrics.observe({
    store, destinations, expiries: () => expiries(credentials).items, budgets: () => budgets.list(),
    tokens: () => (tokenProviders?.list() ?? []).map((t) => ({ requests: t.provider.requests, upstreams: t.upstreams })),
  });
  const alerts = new AlertMonitor({
    current: () => ({ settings: current.config.alerts, hostname: relayHostname(current.config), maxLifetimeMs: current.config.queue.maxLifetime, language: reportLanguages(current.config).alerts }),
    store, log, destinations, expiries: () => expiries(credentials), budgets: () => budgets.list(),
    http: new HttpClient({ maxSockets: 2 }), wake,
    onAlert: (condition, status) => metrics.alert(condition, status),
  });
  alertsRef.monitor = alerts;
  alerts.start();

  // The migration board's tenant scans (docs/migration.md): on request, and daily when configured.
  const migration = new MigrationService({ store, config: () => current.config, log });
  const migrationSchedule = new MigrationSchedule({
    scan: () => migration.scan({ trigger: 'schedule', by: 'the daily schedule' }),
    lastScanAt: async () => (await store.scans(1))[0]?.finishedAt,
    enabled: () => current.config.migration?.schedule === 'daily',
    log,
  });
  migrationSchedule.start();

  const reloader = new Reloader({
    log, env, configFile: opts.configFile, current: () => current,
    build: async (next, version) => {
      const cert = await ensureCertificate(next.tls, next.dataDir, relayHostname(next), log);
      const listeners = await receive.plan({ listeners: smtpListenersOf(next.listeners), hostname: relayHostname(next), certificate: cert });
      let readerPlan;
      try {
        readerPlan = await readers.plan(next, cert);
      } catch (err) {
        listeners.abort();
        throw err;
      }
      let transports;
      try {
        transports = await registry.plan(next);
      } catch (err) {
        listeners.abort();
        await readerPlan.abort();
        throw err;
      }
      const snapshot = buildSnapshot(next, version, transports.transports, shared);
      return {
        snapshot,
        changes: { upstreams: transports.changes },
        abort: async () => {
          listeners.abort();
          await readerPlan.abort();
          await transports.abort();
        },
        commit: async () => {
          const before = current;
          current = snapshot;
          transports.commit();
          const smtpChanges = listeners.commit();
          listeners.announce();
          await workers?.update({ config: next, version, certificate: cert }, listeners.openedNames);
          const readerChanges = readerPlan.commit();
          readerPlan.announce();
          const listenerChanges = {
            added: [...smtpChanges.added, ...readerChanges.added],
            changed: [...smtpChanges.changed, ...readerChanges.changed],
            removed: [...smtpChanges.removed, ...readerChanges.removed],
          };
          certificate = cert;
          credentials = expirySources(next, { pem: cert.cert, source: cert.source });
          log.level = next.log.level;
          alerts.reconfigured();
          let rerouted = 0;
          if (before.routingKey !== snapshot.routingKey) rerouted = await store.unrouteQueued(Date.now(), say('reroute.configChanged', { version: version.label }));
          wake();
          return { listeners: listenerChanges, rerouted };
        },
      };
    },
  });

  // `authrelay reload` and the device commands reach this relay through its control socket.
  const control = new ControlServer(controlSocketPath(config.dataDir), {
    reload: (by, file) => reloader.reload(by, file),
    watch: (device, send) => {
      const target = device;
      const history = target === '*unknown' ? watch.unknownSessions() : watch.sessionsOf(target);
      if (target !== '*unknown' && !history.length && !current.receive.policy.devices.all.some((d) => d.name === target)) {
        return { error: `no device named ${target} (and no session seen for it)` };
      }
      for (const s of history) for (const e of s.events) send({ ...e, device: s.device ?? null, clientIp: s.clientIp, history: true });
      return watch.subscribe(target, (e, s) => send({ ...e, device: s.device ?? null, clientIp: s.clientIp }));
    },
    status: () => ({
      pid: process.pid, configVersion: current.version.label, configFile: reloader.configFile ?? null,
      listeners: receive.bound, readers: readers.bound, upstreams: [...current.delivery.transports.keys()], workers: [process.pid, ...(workers?.pids ?? [])],
    }),
  }, log);

  const readiness = async (): Promise<ReadinessCheck[]> => {
    let store_: ReadinessCheck;
    try {
      const c = await store.counts();
      store_ = { name: 'store', ok: true, detail: `reachable (${c.incoming + c.active + c.deferred} waiting)` };
    } catch (err) {
      store_ = { name: 'store', ok: false, detail: `not reachable: ${(err as Error).message}` };
    }
    const bound = receive.bound.length + readers.bound.length;
    const wanted = current.config.listeners.length;
    return [
      { name: 'listeners', ok: !stopping && bound === wanted, detail: stopping ? 'shutting down' : `${bound} of ${wanted} bound` },
      store_,
      { name: 'scheduler', ok: schedulerRunning, detail: schedulerRunning ? 'running' : 'stopped' },
    ];
  };
  const admin = config.admin.enabled
    ? await startAdmin(config, {
      log, metrics, readiness, store, destinations, wake,
      config: () => current.config,
      configFile: () => reloader.configFile,
      newConfigFile: { path: opts.newConfigFile?.path ?? resolve(EMBEDDED_DEFAULT_FILE), text: opts.newConfigFile?.text ?? firstFileText('the console') },
      reload: (by, file) => reloader.reload(by, file),
      listeners: () => receive.bound,
      watch,
      readers: { activity: readerActivity, listeners: () => readers.bound },
      migration,
    })
    : undefined;
  // Last: a relay whose control socket answers is wholly up (the admin server included).
  await control.start();
  log.info({ event: 'started', ms: Date.now() - started, upstreams: [...current.delivery.transports.keys()], devices: current.receive.policy.devices.all.length, configVersion: current.version.label },
    `authrelay ready in ${Date.now() - started} ms (configuration ${current.version.label})`);

  const purge = setInterval(() => {
    void store.purgeDeliveredBodies(Date.now() - current.config.queue.keepDelivered).catch((err: unknown) => log.error({ err }, 'purge failed'));
    // In PostgreSQL, bodies a node was receiving when it died are removed once their lease has run out.
    if (config.store.type === 'postgres') void store.removeOrphanBodies().catch((err: unknown) => log.error({ err }, 'orphan body clean-up failed'));
  }, 60_000);
  purge.unref();

  return {
    get listeners() {
      return receive.bound;
    },
    get readers() {
      return readers.bound;
    },
    store, scheduler, metrics, alerts, ...(admin?.server ? { admin: admin.server } : {}),
    current: () => current,
    summary: () => startSummary(current, receive.bound, readers.bound, reloader.configFile, admin),
    reload: (by, file) => reloader.reload(by, file),
    // The graceful stop (docs/load-balancer.md): /readyz answers 503 from the first moment and
    // the admin server stays up until the end; no new SMTP connections; sessions finish the
    // message in progress and deliveries in flight finish, both until shutdownTimeout; messages
    // claimed but not started are released; then the store is closed.
    stop: () => (stopping ??= (async () => {
      const begun = Date.now();
      const deadline = begun + current.config.shutdownTimeout;
      clearInterval(purge);
      reloader.close();
      await control.close();
      const [own, others, deliveries, reading] = await Promise.all([
        receive.drain(deadline), workers?.drain(deadline) ?? { sessions: 0, cutOff: 0 }, scheduler.stop(deadline - Date.now()), readers.drain(deadline), alerts.stop(), migrationSchedule.stop(),
      ]);
      const smtp = { sessions: own.sessions + others.sessions, cutOff: own.cutOff + others.cutOff };
      schedulerRunning = false;
      await admin?.close();
      await registry.close();
      tokens.close();
      await store.close();
      const cut = [
        smtp.cutOff ? `${smtp.cutOff} SMTP session(s) cut off with 421 at the deadline` : '',
        reading.cutOff ? `${reading.cutOff} IMAP/POP3 session(s) cut off at the deadline` : '',
        deliveries.interrupted ? `${deliveries.interrupted} delivery(ies) interrupted at the deadline (retried later)` : '',
      ].filter(Boolean).join('; ');
      log.info({
        event: 'stopped', ms: Date.now() - begun, sessions: smtp.sessions, sessionsCutOff: smtp.cutOff, readerSessions: reading.sessions, readerSessionsCutOff: reading.cutOff,
        deliveries: deliveries.inFlight, deliveriesInterrupted: deliveries.interrupted, deliveriesUnfinished: deliveries.unfinished,
      }, `authrelay stopped: ${smtp.sessions} SMTP session(s)${reading.sessions ? `, ${reading.sessions} IMAP/POP3 session(s)` : ''} and ${deliveries.inFlight} delivery(ies) were open${cut ? `; ${cut}` : ', all finished'}`);
    })()),
  };
}


function startSummary(snap: RelaySnapshot, bound: BoundListener[], readers: ReaderListenerView[], configFile: string | undefined, admin: { url?: string; setupLink?: string } | undefined): StartSummary {
  const c = snap.config;
  const listeners = bound.map((b) => {
    const l = c.listeners.find((x, i) => (x.name ?? `${x.tls}-${x.port || i}`) === b.name);
    return { name: b.name, host: b.host, port: b.port, tls: b.tls, minTlsVersion: l?.minTlsVersion ?? 'TLSv1.2', allowInsecureAuth: l?.allowInsecureAuth ?? false, requireAuth: l?.requireAuth ?? false };
  });
  const types = new Map(Object.entries(c.upstreams).map(([n, u]) => [n, u.type]));
  const routes = effectiveRoutes(c).map((r) => ({
    device: r.when.device ?? [], sender: r.when.sender ?? [], recipientDomain: r.when.recipientDomain ?? [],
    use: r.use.length === 1 && r.use[0] === CAPTURE_ROUTE ? [] : r.use.map((u) => ({ name: u, type: types.get(u) ?? 'capture' })),
  }));
  const addresses = deviceAddresses(c.publicAddress, listeners[0]?.host).map((a) => a.address);
  return {
    configVersion: snap.version.label, configFile, listeners, deviceAddresses: addresses,
    readers: readers.map((r) => ({ name: r.name, protocol: r.protocol, host: r.host, port: r.port, tls: r.tls, minTlsVersion: r.minTlsVersion, upstream: r.upstream })),
    ...(admin?.url ? { consoleUrl: admin.url } : {}), ...(admin?.setupLink ? { setupLink: admin.setupLink } : {}),
    routes, holding: routes.every((r) => r.use.length === 0),
  };
}
