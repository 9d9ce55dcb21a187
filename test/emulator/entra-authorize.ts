/**
 * The authorization code flow on the emulator's Entra (OpenID Connect
 * sign-in of people, e.g. to the admin console):
 *
 * - GET /{tenant}/oauth2/v2.0/authorize checks the app and its registered
 *   redirect URI (problems there are shown on Entra's own error page, never
 *   sent to an unregistered address: AADSTS900144, 700016, 50011), then
 *   errors a redirect URI may receive are sent to it (unsupported
 *   response_type, AADSTS700054 for an implicit grant not enabled, prompt=none
 *   → login_required AADSTS50058); otherwise it shows a sign-in page.
 * - POST to the same address (the page's form) checks the user name and
 *   password against the tenant's mailboxes (AADSTS50034 unknown user,
 *   AADSTS50126 wrong password, shown on the page) and redirects to the
 *   redirect URI with `code`, `state` and `session_state` (response_mode
 *   query, or form_post: an auto-submitted form).
 * - The token endpoint's authorization_code grant redeems a code once
 *   (AADSTS54005 redeemed already, 70008 expired, 9002313 unknown), checks
 *   the redirect URI against the one the code was given for (AADSTS500112),
 *   the PKCE verifier (AADSTS50148) and the client credential, and answers
 *   with tokens; the ID token carries the nonce of the authorization request.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorApp, EmulatorTenant } from './api.js';
import type { EmulatorContext } from './context.js';
import { clientAllowed, issueUserTokens, parseDelegated } from './entra-delegated.js';
import { clientCredentials, findApp, type TokenRequest } from './entra.js';
import { entraTimestamp } from './http-util.js';
import { b64url } from './jwt.js';

/** Parameters of the authorization request that travel through the sign-in page. */
const CARRIED = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'response_mode', 'prompt', 'login_hint', 'client_info', 'client-request-id'];

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function sendHtml(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-ms-request-id': randomUUID() });
  res.end(html);
}

/** Entra's own error page (the request is not sent back to the app). */
function errorPage(res: ServerResponse, code: number, text: string): void {
  const trace = randomUUID();
  sendHtml(res, 400, 'Sign in to your account',
    `<h1>Sign in</h1><p>Sorry, but we're having trouble signing you in.</p>` +
    `<p id="error" data-code="AADSTS${code}">AADSTS${code}: ${escapeHtml(text)}</p>` +
    `<p>Request Id: ${trace}<br>Correlation Id: ${randomUUID()}<br>Timestamp: ${entraTimestamp()}</p>`);
}

/** Sends an OAuth error to the (registered) redirect URI. */
function redirectError(ctx: EmulatorContext, res: ServerResponse, redirectUri: string, state: string | null, error: string, code: number, text: string): void {
  const to = new URL(redirectUri);
  to.searchParams.set('error', error);
  to.searchParams.set('error_description', `AADSTS${code}: ${text}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${entraTimestamp()}`);
  to.searchParams.set('error_uri', `${ctx.origin}/error?code=${code}`);
  if (state !== null) to.searchParams.set('state', state);
  res.writeHead(302, { location: to.toString(), 'cache-control': 'no-store' });
  res.end();
}

function signInPage(res: ServerResponse, params: URLSearchParams, action: string, login: string, error?: { code: number; text: string }): void {
  const hidden = CARRIED.filter((k) => params.has(k))
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(params.get(k)!)}">`).join('');
  const err = error ? `<p id="error" role="alert" data-code="AADSTS${error.code}">AADSTS${error.code}: ${escapeHtml(error.text)}</p>` : '';
  sendHtml(res, 200, 'Sign in to your account',
    `<h1>Sign in</h1>${err}<form method="post" action="${escapeHtml(action)}">${hidden}` +
    `<label>Email, phone, or Skype <input type="email" name="login" id="i0116" value="${escapeHtml(login)}" autocomplete="username"></label>` +
    `<label>Password <input type="password" name="passwd" id="i0118" autocomplete="current-password"></label>` +
    `<input type="submit" id="idSIButton9" value="Sign in"></form>`);
}

/** GET shows the sign-in page; POST (the page's form) signs the user in and sends the code. */
export function authorizeEndpoint(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, tenant: EmulatorTenant, url: URL, form: URLSearchParams): void {
  const post = req.method === 'POST';
  const params = post ? form : url.searchParams;
  const clientId = params.get('client_id');
  if (!clientId) return errorPage(res, 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = ctx.state.apps.get(clientId.toLowerCase());
  if (!app || app.tenantId !== tenant.id) {
    return errorPage(res, 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant.domains[0] ?? tenant.id}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  }
  const redirectUri = params.get('redirect_uri') ?? app.redirectUris[0] ?? '';
  if (!app.redirectUris.includes(redirectUri)) {
    return errorPage(res, 50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`);
  }
  const state = params.get('state');
  const responseType = (params.get('response_type') ?? '').trim();
  if (responseType !== 'code') {
    if (/\b(id_token|token)\b/.test(responseType)) {
      return redirectError(ctx, res, redirectUri, state, 'unsupported_response_type', 700054, `response_type '${responseType}' is not enabled for the application.`);
    }
    return redirectError(ctx, res, redirectUri, state, 'unsupported_response_type', 900144, "The request body must contain the following parameter: 'response_type'.");
  }
  const method = params.get('code_challenge_method');
  if (method !== null && method !== 'S256' && method !== 'plain') {
    return redirectError(ctx, res, redirectUri, state, 'invalid_request', 50148, `The code_challenge_method '${method}' is not supported.`);
  }
  if (!post) {
    if (params.get('prompt') === 'none') {
      return redirectError(ctx, res, redirectUri, state, 'login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
    }
    return signInPage(res, params, url.pathname, params.get('login_hint') ?? '');
  }
  const login = (form.get('login') ?? '').trim();
  const mailbox = ctx.state.findMailbox(login);
  if (!mailbox || mailbox.tenantId !== tenant.id) {
    return signInPage(res, params, url.pathname, login, { code: 50034, text: `The user account {EUII Hidden} does not exist in the ${tenant.id} directory. To sign into this application, the account must be added to the directory.` });
  }
  if (mailbox.password === undefined || form.get('passwd') !== mailbox.password) {
    return signInPage(res, params, url.pathname, login, { code: 50126, text: 'Error validating credentials due to invalid username or password.' });
  }
  const code = `1.AQ${b64url(randomBytes(140))}`;
  const challenge = params.get('code_challenge');
  ctx.state.authCodes.set(code, {
    clientId: app.clientId, tenantId: tenant.id, redirectUri, user: mailbox.address,
    scopes: (params.get('scope') ?? 'openid').split(/\s+/).filter(Boolean),
    ...(params.get('nonce') !== null ? { nonce: params.get('nonce')! } : {}),
    ...(challenge !== null ? { codeChallenge: challenge, codeChallengeMethod: (method ?? 'plain') as 'S256' | 'plain' } : {}),
    expiresAt: Date.now() + ctx.state.authCodeLifetimeSeconds * 1000, redeemed: false,
  });
  const answer = new URLSearchParams({ code, ...(state !== null ? { state } : {}), session_state: randomUUID() });
  if (params.get('response_mode') === 'form_post') {
    const fields = [...answer].map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`).join('');
    return sendHtml(res, 200, 'Working...', `<form method="POST" name="hiddenform" action="${escapeHtml(redirectUri)}">${fields}<noscript><input type="submit" value="Continue"></noscript></form><script>document.forms[0].submit()</script>`);
  }
  const to = new URL(redirectUri);
  for (const [k, v] of answer) to.searchParams.set(k, v);
  res.writeHead(302, { location: to.toString(), 'cache-control': 'no-store' });
  res.end();
}

function challengeOf(verifier: string, method: 'S256' | 'plain'): string {
  return method === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
}

export function authorizationCodeGrant(t: TokenRequest): void {
  const { clientId, secret } = clientCredentials(t);
  const app: EmulatorApp | undefined = findApp(t, clientId);
  if (!app) return;
  const code = t.form.get('code');
  if (!code) {
    t.fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
    return;
  }
  const entry = t.ctx.state.authCodes.get(code);
  if (!entry || entry.clientId !== app.clientId || entry.tenantId !== t.tenant.id) {
    t.fail(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    return;
  }
  const redirectUri = t.form.get('redirect_uri') ?? '';
  if (redirectUri !== entry.redirectUri) {
    t.fail(401, 'invalid_client', 500112, `The reply address '${redirectUri}' does not match the reply address '${entry.redirectUri}' provided when requesting Authorization code.`);
    return;
  }
  if (!clientAllowed(t, app, secret)) return;
  if (entry.redeemed) {
    t.fail(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
    return;
  }
  if (entry.expiresAt <= Date.now()) {
    t.fail(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
    return;
  }
  if (entry.codeChallenge !== undefined) {
    const verifier = t.form.get('code_verifier') ?? '';
    if (!verifier || challengeOf(verifier, entry.codeChallengeMethod ?? 'plain') !== entry.codeChallenge) {
      t.fail(400, 'invalid_grant', 50148, 'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
      return;
    }
  }
  const asked = (t.form.get('scope') ?? '').trim();
  const scopes = asked ? asked.split(/\s+/) : entry.scopes;
  const parsed = parseDelegated(t, scopes.join(' '));
  if (!parsed) return;
  entry.redeemed = true;
  const mailbox = t.ctx.state.findMailbox(entry.user);
  issueUserTokens(t, app, entry.user, parsed, scopes, {
    ...(entry.nonce !== undefined ? { nonce: entry.nonce } : {}),
    ...(mailbox ? { email: mailbox.address } : {}),
  });
}
