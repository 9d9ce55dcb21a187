/**
 * /api/v1 setup, session and tokens: the first admin password (with the
 * setup token from the log), sign-in and sign-out, and API tokens for scripts.
 */
import type { FastifyInstance } from 'fastify';
import { principalOf, sendError, sessionCookie } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export function authRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: { setupToken: string; password: string } }>('/setup', {
    ...access.public,
    schema: {
      summary: 'Set the admin password with the one-time setup token printed in the log (only while none is set)', tags: ['sign-in'],
      body: { type: 'object', required: ['setupToken', 'password'], additionalProperties: false, properties: {
        setupToken: { type: 'string', minLength: 1, maxLength: 200 }, password: { type: 'string', minLength: 12, maxLength: 1024 } } },
    },
  }, async (req, reply) => {
    const now = Date.now();
    const wait = deps.auth.lockedFor(req.ip, now);
    if (wait) {
      void reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendError(reply, 429, 'locked-out', 'too many failed attempts from this address; try again later');
    }
    const r = await deps.auth.setup(req.body.setupToken, req.body.password, req.ip, now);
    audit(deps, req, 'setup', 'admin', r === 'ok' ? 'ok' : 'refused', r === 'ok' ? undefined : { reason: r }, 'anonymous');
    if (r === 'done-already') return sendError(reply, 409, 'setup-done', 'the admin password is set already; sign in with it');
    if (r === 'wrong-token') return sendError(reply, 403, 'wrong-setup-token', 'wrong setup token: use the one in the log line with event admin-setup from the latest start');
    if (r === 'locked') return sendError(reply, 429, 'locked-out', 'too many failed attempts from this address; try again later');
    return reply.code(201).send({ status: 'admin password set; sign in with POST /api/v1/session' });
  });

  app.post<{ Body: { password: string } }>('/session', {
    ...access.public,
    schema: {
      summary: 'Sign in with the admin password: sets the session cookie and returns the CSRF token', tags: ['sign-in'],
      body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', minLength: 1, maxLength: 1024 } } },
    },
  }, async (req, reply) => {
    const r = await deps.auth.signIn(req.body.password, req.ip, Date.now());
    if (!r.ok) {
      audit(deps, req, 'sign-in', 'admin', 'refused', { reason: r.reason }, 'anonymous');
      if (r.reason === 'locked') {
        void reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
        return sendError(reply, 429, 'locked-out', 'too many failed sign-ins from this address; try again later');
      }
      if (r.reason === 'no-admin') return sendError(reply, 409, 'setup-needed', 'no admin password is set yet: POST /api/v1/setup with the setup token from the log');
      return sendError(reply, 401, 'wrong-password', 'wrong password');
    }
    audit(deps, req, 'sign-in', 'admin', 'ok', undefined, r.session.user);
    void reply.header('set-cookie', sessionCookie(r.sessionId, Math.floor(deps.sessionLifetimeMs / 1000), deps.secureCookies)).header('cache-control', 'no-store');
    return { user: r.session.user, csrfToken: r.session.csrf, expiresAt: new Date(r.session.expiresAt).toISOString() };
  });

  app.get('/session', { ...access.session, schema: { summary: 'The signed-in user and the CSRF token of this session', tags: ['sign-in'] } }, async (req, reply) => {
    const p = principalOf(req);
    if (p?.kind !== 'session') return sendError(reply, 401, 'unauthorized', 'no session');
    void reply.header('cache-control', 'no-store');
    return { user: p.user, csrfToken: p.csrf, expiresAt: new Date(p.expiresAt).toISOString() };
  });

  app.delete('/session', { ...access.session, schema: { summary: 'Sign out: ends this session', tags: ['sign-in'] } }, async (req, reply) => {
    const p = principalOf(req);
    if (p?.kind === 'session') deps.auth.signOut(p.sessionId);
    audit(deps, req, 'sign-out', p?.kind === 'session' ? p.user : null);
    void reply.header('set-cookie', sessionCookie('', 0, deps.secureCookies));
    return reply.code(204).send();
  });

  app.post<{ Body: { name: string; scope?: 'read' | 'admin' } }>('/tokens', {
    ...access.session,
    schema: {
      summary: 'Create an API token for scripts; the token is in this answer only', tags: ['tokens'],
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: {
        name: { type: 'string', minLength: 1, maxLength: 100 }, scope: { type: 'string', enum: ['read', 'admin'], default: 'read' } } },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const { token, row } = deps.auth.createToken(req.body.name, req.body.scope ?? 'read', p?.kind === 'session' ? p.user : 'unknown', Date.now());
    audit(deps, req, 'token-create', row.id, 'ok', { name: row.name, scope: row.scope });
    void reply.header('cache-control', 'no-store');
    return reply.code(201).send({ ...publicToken(row), token });
  });

  app.get('/tokens', { ...access.session, schema: { summary: 'List API tokens (never their secrets)', tags: ['tokens'] } }, async () =>
    ({ tokens: deps.db.tokens().map(publicToken) }));

  app.delete<{ Params: { id: string } }>('/tokens/:id', {
    ...access.session, schema: { summary: 'Delete an API token: scripts using it are refused from now on', tags: ['tokens'], params: idParam },
  }, async (req, reply) => {
    const row = deps.db.removeToken(req.params.id);
    audit(deps, req, 'token-delete', req.params.id, row ? 'ok' : 'refused', row ? { name: row.name } : { reason: 'no such token' });
    if (!row) return sendError(reply, 404, 'not-found', `no API token ${req.params.id}`);
    return reply.code(204).send();
  });
}

function publicToken(r: { id: string; name: string; scope: string; createdBy: string; createdAt: number; lastUsedAt: number | null }) {
  return { id: r.id, name: r.name, scope: r.scope, createdBy: r.createdBy, createdAt: new Date(r.createdAt).toISOString(),
    lastUsedAt: r.lastUsedAt === null ? null : new Date(r.lastUsedAt).toISOString() };
}
