/**
 * The admin face of the running relay, built by the composition root: the
 * admin HTTP server (metrics, health), the REST API and the console. When it
 * cannot start, mail keeps flowing and the log says why.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Store } from '../spool/store.js';
import type { RelayMetrics } from '../report/metrics.js';
import type { BoundListener } from '../receive/server.js';
import type { SessionWatch } from '../report/session-watch.js';
import type { ReaderActivity, ReaderListenerView } from '../report/reader-activity.js';
import type { MigrationService } from '../migration/service.js';
import type { DestinationStatus } from '../admin/api/context.js';
import type { ReloadResult } from '../core/reload-result.js';
import type { AdminServer, ReadinessCheck } from '../admin/server.js';

export interface AdminWiring {
  log: Logger;
  metrics: RelayMetrics;
  readiness: () => Promise<ReadinessCheck[]>;
  store: Store;
  destinations: () => DestinationStatus[];
  wake: () => void;
  config: () => Config;
  configFile: () => string | undefined;
  newConfigFile: { path: string; text: string };
  reload: (by: string, file?: string) => Promise<ReloadResult>;
  listeners: () => BoundListener[];
  watch: SessionWatch;
  migration: MigrationService;
  /** The IMAP/POP3 readers: their listeners and what each device read lately. */
  readers?: { activity: ReaderActivity; listeners: () => ReaderListenerView[] };
}

export interface StartedAdmin {
  server?: AdminServer;
  /** The console's address (http://127.0.0.1:8025/). */
  url?: string;
  /** The one-time link that sets the first admin password, while none is set. */
  setupLink?: string;
  close(): Promise<void>;
}

/** The address people open in a browser: a wildcard bind is reached on loopback from this machine. */
function consoleUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

export async function startAdmin(config: Config, w: AdminWiring): Promise<StartedAdmin> {
  const { log } = w;
  // Loaded after the SMTP listeners accept: the relay takes mail before the console is ready. The API and
  // the console themselves are loaded by the first request for them (AdminServer.registerOnDemand).
  const [{ AdminServer, isLoopback, parseListen }, { AdminDb }, { AdminAuth }, { API_PREFIX }] = await Promise.all([
    import('../admin/server.js'), import('../admin/auth/admin-db.js'), import('../admin/auth/admin-auth.js'), import('../admin/api/prefix.js'),
  ]);
  const server = new AdminServer({ listen: config.admin.listen, log, metrics: w.metrics, readiness: w.readiness });
  const adminDb = new AdminDb(join(config.dataDir, 'admin.db'));
  try {
    adminDb.init();
    const adminAuth = new AdminAuth(adminDb, {
      sessionLifetimeMs: config.admin.sessionLifetime, failureLimit: config.security.authFailureLimit,
      failureWindowMs: config.security.authFailureWindow, lockoutMs: config.security.lockoutDuration,
    });
    const entraCfg = config.admin.entraSignIn;
    const entra = entraCfg ? await import('../admin/auth/entra-sign-in.js') : undefined;
    const entraSignIn = entraCfg && entra ? new entra.EntraSignIn(entraCfg, entraCfg.redirectUri ?? '', log) : undefined;
    server.registerOnDemand(async () => {
      const [{ apiPlugin }, { consolePlugin }] = await Promise.all([import('../admin/api/plugin.js'), import('../admin/console/plugin.js')]);
      return [{ plugin: apiPlugin({
        auth: adminAuth, db: adminDb, store: w.store, config: w.config, destinations: w.destinations, wake: w.wake, log,
        sessionLifetimeMs: config.admin.sessionLifetime, ...(entraSignIn ? { entraSignIn } : {}),
        secureCookies: !isLoopback(parseListen(config.admin.listen).host), configFile: w.configFile, newConfigFile: w.newConfigFile, reload: w.reload, watch: w.watch, migration: w.migration,
        ...(w.readers ? { readers: w.readers } : {}),
      }, '1'), prefix: API_PREFIX }, { plugin: consolePlugin({
      auth: adminAuth, hostname: () => w.config().hostname, publicAddress: () => w.config().publicAddress,
      listeners: () => {
        const configured = w.config().listeners;
        return w.listeners().map((l) => {
          const c = configured.find((x, i) => (x.name ?? `${x.tls}-${x.port || i}`) === l.name);
          return { name: l.name, port: l.port, tls: l.tls, host: l.host, minTlsVersion: c?.minTlsVersion ?? 'TLSv1.2', allowInsecureAuth: c?.allowInsecureAuth ?? false, requireAuth: c?.requireAuth ?? false };
        });
      },
      }) }];
    });
    const bound = await server.start();
    if (entraSignIn && entraCfg && entra) {
      if (!entraCfg.redirectUri) entraSignIn.redirectUri = entra.defaultRedirectUri(bound.port);
      log.info({ event: 'admin-entra-sign-in', redirectUri: entraSignIn.redirectUri, users: entraCfg.users.length },
        `console sign-in with Entra ID for ${entraCfg.users.length} listed user(s); the app registration needs the Web redirect URI ${entraSignIn.redirectUri}`);
    }
    const url = consoleUrl(parseListen(config.admin.listen).host, bound.port);
    const setupToken = adminAuth.issueSetupToken();
    const setupLink = setupToken ? `${url}setup#${setupToken}` : undefined;
    if (setupToken) {
      log.warn({ event: 'admin-setup', setupToken, setupLink },
        `no admin password is set yet: open ${setupLink} to set one (a one-time link, valid until used or the next start; the setup token is ${setupToken}, for POST ${API_PREFIX}/setup)`);
    }
    log.info({ event: 'admin-console', url }, `the web console is at ${url}`);
    return {
      server, url, ...(setupLink ? { setupLink } : {}),
      close: async () => {
        await server.close();
        adminDb.close();
      },
    };
  } catch (err) {
    // Mail keeps flowing without the admin face; the log says why it is missing.
    await server.close().catch(() => undefined);
    adminDb.close();
    log.error({ event: 'admin-unavailable', listen: config.admin.listen, err: (err as Error).message },
      `the admin server could not listen on ${config.admin.listen} (${(err as Error).message}); /metrics, /healthz and /readyz are unavailable. Free the port or set admin.listen to another address, then restart`);
    return { close: async () => undefined };
  }
}
