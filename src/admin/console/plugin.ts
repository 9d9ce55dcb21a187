/**
 * The admin console for the admin server: hand-written HTML, CSS and browser
 * ES modules (src/admin/console/static) and the UI dictionaries
 * (src/admin/console/i18n), read once when the plugin is registered and served
 * from memory under a Content-Security-Policy of default-src 'self'. The pages
 * call /api/v1 with fetch; the only extra route is /console/listeners.json,
 * the SMTP listeners' addresses the Devices page shows as settings to type
 * into a device (signed-in callers only, through the API's guard).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminAuth } from '../auth/admin-auth.js';
import { guard } from '../auth/guard.js';
import { deviceAddresses, isLoopbackAddress } from '../../core/device-addresses.js';

export const CONSOLE_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface ConsoleListener {
  name: string | null;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  /** The address it is bound to (0.0.0.0 or :: for all). */
  host: string;
  minTlsVersion: string;
  /** Passwords accepted without TLS on it. */
  allowInsecureAuth: boolean;
  /** Every client must log in on it. */
  requireAuth: boolean;
}

export interface ConsoleDeps {
  auth: AdminAuth;
  /** The name devices should use for the relay (config.hostname), when set. */
  hostname: () => string | undefined;
  /** publicAddress: the name(s) devices use to reach the relay, when configured. */
  publicAddress: () => readonly string[] | undefined;
  /** The SMTP listeners as bound (actual ports). */
  listeners: () => ConsoleListener[];
  /** Where static/ and i18n/ live; by default found from this module. */
  assetsDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml',
};

/** The console's asset directory: next to this module when copied there, else in the source tree (dist/src/... → src/...). */
export function consoleAssetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  if (existsSync(join(here, 'static', 'index.html'))) return here;
  return fileURLToPath(new URL('../../../../src/admin/console/', import.meta.url));
}

function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(root, p) : [relative(root, p).split(sep).join('/')];
  });
}

/** Every asset, by URL path: /assets/<file> for static/, /assets/i18n/<lang>.json for dictionaries. */
export function loadAssets(dir: string): Map<string, { type: string; body: Buffer }> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const [sub, prefix] of [['static', '/assets/'], ['i18n', '/assets/i18n/']] as const) {
    for (const f of filesUnder(join(dir, sub))) {
      const type = TYPES[extname(f)];
      if (type) assets.set(prefix + f, { type, body: readFileSync(join(dir, sub, f)) });
    }
  }
  return assets;
}

function send(reply: FastifyReply, asset: { type: string; body: Buffer }): FastifyReply {
  return reply.header('content-type', asset.type).header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache')
    .send(asset.body);
}

export function consolePlugin(deps: ConsoleDeps): FastifyPluginAsync {
  return async (app) => {
    const assets = loadAssets(deps.assetsDir ?? consoleAssetsDir());
    const index = assets.get('/assets/index.html');
    if (!index) throw new Error('the admin console files are missing (static/index.html)');
    app.get('/', async (_req, reply) => send(reply, index));
    app.get('/console', async (_req, reply) => reply.redirect('/'));
    app.get('/favicon.ico', async (_req, reply) => reply.redirect('/assets/favicon.svg', 301));
    app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
      const asset = assets.get(`/assets/${req.params['*']}`);
      if (!asset) return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('not found');
      return send(reply, asset);
    });
    // The settings to type into a device: the addresses it can reach the relay at (never the
    // browser's own host name: the console is usually opened on loopback), per listener.
    app.get('/console/listeners.json', { onRequest: guard(deps.auth), config: { access: 'read' } }, async (_req, reply) => {
      void reply.header('cache-control', 'no-store');
      const listeners = deps.listeners().map((l) => {
        const addresses = deviceAddresses(deps.publicAddress(), l.host);
        return { ...l, addresses, loopbackOnly: addresses.length === 0 || addresses.every((a) => isLoopbackAddress(a.address)) };
      });
      return { hostname: deps.hostname() ?? null, publicAddress: deps.publicAddress() ?? null, listeners };
    });
    // The one-time setup link printed at start (/setup#TOKEN) opens the first-start form with the token filled in.
    app.get('/setup', async (_req, reply) => send(reply, index));
  };
}
