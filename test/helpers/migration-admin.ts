/**
 * The running relay's admin face with the migration service wired in, built
 * from the public classes the composition root uses (AdminServer, AdminDb,
 * AdminAuth, apiPlugin, consolePlugin) and the relay's own store, config,
 * reload and listeners, for tests and screenshots while src/root/admin.ts
 * does not construct the service yet (the wiring it needs is in
 * docs/migration.md). The relay is started with admin.enabled: false; this
 * server takes its place, and the returned handle looks like a TestRelay to
 * the browser and API helpers (adminUrl, logs with the setup token).
 */
import { join } from 'node:path';
import { AdminServer } from '../../src/admin/server.js';
import { AdminDb } from '../../src/admin/auth/admin-db.js';
import { AdminAuth } from '../../src/admin/auth/admin-auth.js';
import { apiPlugin, API_PREFIX } from '../../src/admin/api/plugin.js';
import { consolePlugin } from '../../src/admin/console/plugin.js';
import { MigrationService, type MigrationServiceDeps } from '../../src/migration/service.js';
import type { TestRelay } from './relay.js';

export interface MigrationAdmin {
  migration: MigrationService;
  /** The relay, with adminUrl and logs pointing at this admin server. */
  relay: TestRelay;
  close(): Promise<void>;
}

export async function startMigrationAdmin(relay: TestRelay, configFile: string, opts: Partial<MigrationServiceDeps> = {}): Promise<MigrationAdmin> {
  const log = relay.logger;
  const migration = new MigrationService({ store: relay.store, config: () => relay.current().config, log, ...opts });
  const server = new AdminServer({ listen: '127.0.0.1:0', log, metrics: relay.metrics, readiness: async () => [] });
  const db = new AdminDb(join(relay.dataDir, 'admin.db'));
  db.init();
  const config = relay.current().config;
  const auth = new AdminAuth(db, {
    sessionLifetimeMs: config.admin.sessionLifetime, failureLimit: config.security.authFailureLimit,
    failureWindowMs: config.security.authFailureWindow, lockoutMs: config.security.lockoutDuration,
  });
  server.register(apiPlugin({
    auth, db, store: relay.store, config: () => relay.current().config, destinations: () => relay.scheduler.destinationStatus(),
    wake: () => relay.scheduler.wake(), log, sessionLifetimeMs: config.admin.sessionLifetime, secureCookies: false,
    configFile: () => configFile, newConfigFile: { path: configFile, text: '' }, reload: (by, file) => relay.reload(by, file), migration,
  }, '1'), { prefix: API_PREFIX });
  server.register(consolePlugin({
    auth, hostname: () => relay.current().config.hostname, publicAddress: () => relay.current().config.publicAddress,
    // As src/root/admin.ts describes the listeners to the console.
    listeners: () => {
      const configured = relay.current().config.listeners;
      return relay.listeners.map((l) => {
        const c = configured.find((x, i) => (x.name ?? `${x.tls}-${x.port || i}`) === l.name);
        return { name: l.name, port: l.port, tls: l.tls, host: l.host, minTlsVersion: c?.minTlsVersion ?? 'TLSv1.2', allowInsecureAuth: c?.allowInsecureAuth ?? false, requireAuth: c?.requireAuth ?? false };
      });
    },
  }));
  const bound = await server.start();
  const token = auth.issueSetupToken();
  if (token) relay.logs.push({ event: 'admin-setup', setupToken: token });
  const handle = Object.create(relay) as TestRelay;
  handle.adminUrl = (path: string) => `http://127.0.0.1:${bound.port}${path}`;
  return {
    migration,
    relay: handle,
    close: async () => {
      await server.close();
      db.close();
    },
  };
}
