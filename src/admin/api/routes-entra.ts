/**
 * /api/v1 sign-in with Entra ID (OpenID Connect) and the list of sign-in
 * methods the console offers. The two Entra routes are browser navigations,
 * not API calls: /session/entra sends the browser to Microsoft, and
 * /session/entra/callback takes Microsoft's answer, opens a session for a
 * listed user and sends the browser on to the console (or back to its
 * sign-in page with the reason).
 *
 * Cookies: the sign-in state cookie is SameSite=Lax (it must come back with
 * the top-level navigation from Microsoft); the session cookie stays
 * SameSite=Strict, so the callback answers with a page that moves on to the
 * console itself (a same-site navigation that carries the new session).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cookieValue, sendError, sessionCookie } from '../auth/guard.js';
import { ENTRA_START_PATH, ENTRA_STATE_COOKIE, type EntraCallbackQuery } from '../auth/entra-sign-in.js';
import { access, audit, type ApiDeps } from './context.js';

/** Only console page addresses (#/...) are followed after sign-in. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^#\/[A-Za-z0-9\-/?=&.%_]*$/.test(next) && !next.startsWith('#/signin') ? next : '#/overview';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A page that moves the browser on to `to` (same origin) without script. */
function moveOn(reply: FastifyReply, to: string, text: string): FastifyReply {
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${escapeHtml(to)}"><title>authrelay</title></head>` +
    `<body><p>${escapeHtml(text)} <a href="${escapeHtml(to)}">Continue</a></p></body></html>`;
  return reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    .header('referrer-policy', 'no-referrer').send(html);
}

function stateCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${ENTRA_STATE_COOKIE}=${value}; Path=${ENTRA_START_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export function entraRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/session/methods', {
    ...access.public,
    schema: { summary: 'How one may sign in: the admin password (and whether it still has to be set) and Entra ID', tags: ['sign-in'] },
  }, async () => ({ password: true, setupNeeded: deps.auth.needsSetup, entra: deps.entraSignIn !== undefined }));

  app.get<{ Querystring: { next?: string } }>('/session/entra', {
    ...access.public,
    schema: {
      summary: 'Browser navigation: starts sign-in with Entra ID (redirects to Microsoft); only users in admin.entraSignIn.users get a session', tags: ['sign-in'],
      querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 200 } } },
    },
  }, async (req, reply) => {
    const entra = deps.entraSignIn;
    if (!entra) return sendError(reply, 404, 'not-configured', 'sign-in with Entra ID is not configured (admin.entraSignIn)');
    const next = safeNext(req.query.next);
    const target = new URL(entra.redirectUri);
    // The state cookie must be set on the name Microsoft sends the browser back to.
    if ((req.headers.host ?? '').toLowerCase() !== target.host.toLowerCase()) {
      return reply.redirect(`${target.origin}${ENTRA_START_PATH}?next=${encodeURIComponent(next)}`);
    }
    const now = Date.now();
    if (deps.auth.lockedFor(req.ip, now)) return moveOn(reply, '/#/signin?entra=locked', 'Too many failed sign-ins from this address.');
    const { url, state } = await entra.start(next, now);
    void reply.header('set-cookie', stateCookie(state, 600, target.protocol === 'https:')).header('cache-control', 'no-store');
    return reply.redirect(url);
  });

  app.get<{ Querystring: EntraCallbackQuery }>('/session/entra/callback', {
    ...access.public,
    schema: {
      summary: "Browser navigation: Microsoft's answer to an Entra ID sign-in (the redirect URI to register on the app)", tags: ['sign-in'],
      querystring: { type: 'object', properties: {
        code: { type: 'string', maxLength: 4096 }, state: { type: 'string', maxLength: 200 },
        error: { type: 'string', maxLength: 200 }, error_description: { type: 'string', maxLength: 4096 } } },
    },
  }, async (req, reply) => {
    const entra = deps.entraSignIn;
    if (!entra) return sendError(reply, 404, 'not-configured', 'sign-in with Entra ID is not configured (admin.entraSignIn)');
    const now = Date.now();
    const secure = new URL(entra.redirectUri).protocol === 'https:';
    const cookies = [stateCookie('', 0, secure)];
    const r = await entra.finish(req.query, cookieValue(req.headers.cookie, ENTRA_STATE_COOKIE), now);
    if (!r.ok) {
      if (r.reason === 'not-listed') deps.auth.signInFailed(req.ip, now);
      audit(deps, req, 'sign-in', r.user ?? null, 'refused', { method: 'entra', reason: r.reason, message: r.message }, r.user ?? 'anonymous');
      deps.log.warn({ event: 'admin-entra-sign-in', outcome: 'refused', reason: r.reason, user: r.user }, `admin: Entra ID sign-in refused: ${r.message}`);
      void reply.header('set-cookie', cookies);
      return moveOn(reply, `/#/signin?entra=${r.reason}&detail=${encodeURIComponent(r.message)}`, 'Sign-in refused.');
    }
    const { sessionId, session } = deps.auth.openSession(r.user, req.ip, now);
    audit(deps, req, 'sign-in', r.user, 'ok', { method: 'entra' }, r.user);
    cookies.push(sessionCookie(sessionId, Math.floor(deps.sessionLifetimeMs / 1000), deps.secureCookies));
    void reply.header('set-cookie', cookies);
    return moveOn(reply, `/${r.next}`, `Signed in as ${session.user}.`);
  });
}
