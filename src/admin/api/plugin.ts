/**
 * The /api/v1 plugin for the admin server: the sign-in guard, JSON errors,
 * every route, and the OpenAPI document made from them.
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { guard, sendError } from '../auth/guard.js';
import { access, type ApiDeps } from './context.js';
import { openApiDocument, routeCollector } from './openapi.js';
import { authRoutes } from './routes-auth.js';
import { deviceRoutes } from './routes-devices.js';
import { configRoutes } from './routes-config.js';
import { watchRoutes } from './routes-watch.js';
import { entraRoutes } from './routes-entra.js';
import { diagnosticsRoutes } from './routes-diagnostics.js';
import { messageRoutes } from './routes-messages.js';
import { migrationRoutes } from './routes-migration.js';
import { statusRoutes } from './routes-status.js';
import { wizardRoutes } from './routes-wizard.js';

export { API_PREFIX } from './prefix.js';

export function apiPlugin(deps: ApiDeps, version: string): FastifyPluginAsync {
  return async (app) => {
    const collected = routeCollector();
    app.addHook('onRoute', collected.onRoute);
    app.addHook('onRequest', guard(deps.auth));
    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err.validation) return sendError(reply, 400, 'invalid-request', err.message);
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, err.statusCode, 'bad-request', err.message);
      req.log.error({ event: 'admin-api-error', err, url: req.url }, 'admin API request failed');
      return sendError(reply, 500, 'internal', 'the request failed; see the relay log');
    });
    app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not-found', `no API route ${req.method} ${req.url.split('?')[0]}`));

    authRoutes(app, deps);
    entraRoutes(app, deps);
    statusRoutes(app, deps);
    messageRoutes(app, deps);
    diagnosticsRoutes(app, deps);
    wizardRoutes(app, deps);
    deviceRoutes(app, deps);
    configRoutes(app, deps);
    watchRoutes(app, deps);
    migrationRoutes(app, deps);
    app.get('/openapi.json', { ...access.public, schema: { summary: 'This API described in OpenAPI 3.1', tags: ['meta'] } },
      async () => openApiDocument(collected.routes, version));
  };
}
