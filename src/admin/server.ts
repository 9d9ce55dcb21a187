/**
 * The admin HTTP server (Fastify), bound to admin.listen (127.0.0.1:8025 by
 * default). It serves /metrics (Prometheus), /healthz and /readyz without
 * sign-in: they carry counts and states only. The console pages and the
 * /api/v1 routes plug in as Fastify plugins, each bringing its own sign-in
 * checks: through `register()` before `start()`, or through `registerOnDemand()`,
 * loaded on the first request for them. A face: it only reads what the
 * composition root hands it.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { isIP } from 'node:net';
import type { Logger } from '../core/log.js';

/** What /metrics serves. */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface AdminServerDeps {
  /** host:port, e.g. 127.0.0.1:8025 or [::1]:8025; port 0 lets the system choose. */
  listen: string;
  log: Logger;
  metrics: MetricsSource;
  /** Listeners bound, store reachable, scheduler running, ... */
  readiness: () => Promise<ReadinessCheck[]>;
}

/** Splits host:port ([v6]:port for IPv6). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`admin.listen: "${listen}" is not host:port, e.g. 127.0.0.1:8025`);
  return { host: m[1] ?? m[2]!, port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^::ffff:127\./i.test(host);
}

export class AdminServer {
  readonly app: FastifyInstance;
  private address: { host: string; port: number } | undefined;
  /** The instance that serves the plugins registered on demand, once the first request for them has built it. */
  private onDemand: Promise<FastifyInstance> | undefined;

  constructor(private readonly deps: AdminServerDeps) {
    this.app = this.instance();
    this.app.get('/healthz', async (_req, reply) => {
      void reply.header('cache-control', 'no-store');
      return { status: 'ok' };
    });
    this.app.get('/readyz', async (_req, reply) => {
      const checks = await deps.readiness().catch((err: unknown) => [{ name: 'readiness', ok: false, detail: (err as Error).message }]);
      const failing = checks.filter((c) => !c.ok);
      void reply.header('cache-control', 'no-store').code(failing.length ? 503 : 200);
      return failing.length ? { status: 'not ready', reasons: failing.map((c) => `${c.name}: ${c.detail}`), checks } : { status: 'ready', checks };
    });
    this.app.get('/metrics', async (_req, reply) => {
      const text = await deps.metrics.render();
      void reply.header('content-type', deps.metrics.contentType).header('cache-control', 'no-store');
      return text;
    });
  }

  private instance(): FastifyInstance {
    return Fastify({
      loggerInstance: this.deps.log.child({ component: 'admin' }) as FastifyBaseLogger,
      // Scrapes every few seconds would fill the log; errors are still logged.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 1024 * 1024,
    });
  }

  /** Adds pages or API routes (a Fastify plugin); call before start(). */
  register(plugin: FastifyPluginAsync, opts: { prefix?: string } = {}): void {
    void this.app.register(plugin, opts);
  }

  /**
   * Pages and API routes loaded on the first request for a path other than /metrics, /healthz and
   * /readyz (call before start()): `load` imports and builds the plugins, which are served by an
   * instance of their own, given each such request before its body is read. A relay whose console
   * nobody opens does not hold them (about 10 MB of the console and the API), and their routes'
   * schemas are compiled then, not on the main thread right after the relay starts taking mail.
   * If loading fails the request gets 503 and the next one tries again.
   */
  registerOnDemand(load: () => Promise<{ plugin: FastifyPluginAsync; prefix?: string }[]>): void {
    const build = async () => {
      const app = this.instance();
      for (const { plugin, prefix } of await load()) void app.register(plugin, prefix ? { prefix } : {});
      await app.ready();
      return app;
    };
    this.app.addHook('onRequest', (req, reply, done) => {
      // A route of this instance (/metrics, /healthz, /readyz) is served here; every other path belongs to the plugins.
      if (req.routeOptions.url !== undefined) return done();
      // Hijacked: this instance reads and answers nothing more of the request (runPreParsing stops at reply.sent).
      void reply.hijack();
      done();
      const built = (this.onDemand ??= build().catch((err: unknown) => {
        this.onDemand = undefined;
        throw err;
      }));
      built.then(
        (app) => app.routing(req.raw, reply.raw),
        (err: unknown) => {
          this.deps.log.error({ event: 'admin-load-failed', err: (err as Error).message }, `the console and the API could not be loaded: ${(err as Error).message}`);
          if (!reply.raw.headersSent) reply.raw.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
          reply.raw.end('The console could not be loaded; see the relay\'s log. / コンソールを読み込めませんでした。リレーのログを確認してください。\n');
        },
      );
    });
  }

  /** Whether the plugins registered on demand are loaded (a request for them came). */
  get loadedOnDemand(): boolean {
    return this.onDemand !== undefined;
  }

  /** Whether a route is served, here or by the plugins registered on demand (once a request has loaded them). */
  async hasRoute(route: { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string }): Promise<boolean> {
    if (this.app.hasRoute(route)) return true;
    const onDemand = await this.onDemand;
    return onDemand?.hasRoute(route) ?? false;
  }

  /** Binds admin.listen; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.deps.listen);
    await this.app.listen({ host, port });
    const addr = this.app.server.address();
    this.address = { host, port: typeof addr === 'object' && addr ? addr.port : port };
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${this.address.port}`;
    if (isLoopback(host)) {
      this.deps.log.info({ event: 'admin-listening', host, port: this.address.port }, `admin server on ${url} (/metrics, /healthz, /readyz)`);
    } else {
      this.deps.log.warn({ event: 'admin-listening', host, port: this.address.port, exposed: true },
        `admin server on ${url}: reachable from the network; /metrics, /healthz and /readyz answer without sign-in there. Restrict access with a firewall, or set admin.listen to 127.0.0.1:8025`);
    }
    return this.address;
  }

  get port(): number | undefined {
    return this.address?.port;
  }

  async close(): Promise<void> {
    await this.app.close();
    const built = await this.onDemand?.catch(() => undefined);
    await built?.close();
  }
}
