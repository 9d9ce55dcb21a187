/**
 * Who is asking, and may they: an onRequest hook for the /api/v1 routes. A
 * request is signed in by the session cookie or by `Authorization: Bearer`
 * with an API token. Each route names its access in its config:
 *   public  no sign-in (setup, sign-in, the OpenAPI document)
 *   read    a session or any API token
 *   admin   a session or an API token with scope admin
 *   session a session only (API token management)
 * State-changing requests signed in by cookie must carry the session's CSRF
 * token in the X-CSRF-Token header.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret, type AdminAuth } from './admin-auth.js';
import type { TokenScope } from './admin-db.js';

export const SESSION_COOKIE = 'authrelay_session';
export const CSRF_HEADER = 'x-csrf-token';

export type Access = 'public' | 'read' | 'admin' | 'session';

export type Principal =
  | { kind: 'session'; user: string; sessionId: string; csrf: string; expiresAt: number }
  | { kind: 'token'; id: string; name: string; scope: TokenScope };

const principals = new WeakMap<FastifyRequest, Principal>();

/** The signed-in caller of a guarded route. */
export function principalOf(req: FastifyRequest): Principal | undefined {
  return principals.get(req);
}

/** How the audit log names a caller. */
export function actorName(p: Principal | undefined): string {
  if (!p) return 'anonymous';
  return p.kind === 'session' ? p.user : `token:${p.name}`;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session; maxAgeS 0 removes it. */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export function sendError(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, message });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function guard(auth: AdminAuth) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const access = (req.routeOptions.config as { access?: Access } | undefined)?.access ?? 'admin';
    if (access === 'public') return;
    const now = Date.now();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let principal: Principal | undefined;
    if (bearer) {
      const wait = auth.lockedFor(req.ip, now);
      if (wait) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        await sendError(reply, 429, 'locked-out', 'too many failed sign-ins from this address; try again later');
        return;
      }
      const t = auth.tokenFor(bearer, now);
      if (!t) {
        auth.tokenFailed(req.ip, now);
        await sendError(reply, 401, 'unauthorized', 'the API token is not valid (it may have been deleted)');
        return;
      }
      principal = { kind: 'token', id: t.id, name: t.name, scope: t.scope };
    } else {
      const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
      const s = id ? auth.session(id, now) : undefined;
      if (id && s) principal = { kind: 'session', user: s.user, sessionId: id, csrf: s.csrf, expiresAt: s.expiresAt };
    }
    if (!principal) {
      await sendError(reply, 401, 'unauthorized', 'sign in first (POST /api/v1/session) or send an API token as Authorization: Bearer');
      return;
    }
    if (principal.kind === 'token' && (access === 'session' || (access === 'admin' && principal.scope !== 'admin'))) {
      await sendError(reply, 403, 'forbidden', access === 'session'
        ? 'API tokens are managed by a signed-in admin only'
        : 'this API token has scope read; this action needs a token with scope admin');
      return;
    }
    if (principal.kind === 'session' && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, principal.csrf)) {
        await sendError(reply, 403, 'csrf', `missing or wrong ${CSRF_HEADER} header (the csrfToken given at sign-in)`);
        return;
      }
    }
    principals.set(req, principal);
  };
}
