/**
 * A small client for the /api/v1 tests: real HTTP (fetch) against a running
 * relay's admin server, the first-start setup done with the token from the
 * log, and a signed-in session (cookie + CSRF token).
 */
import assert from 'node:assert/strict';
import type { TestRelay } from '../helpers/relay.js';

export const PASSWORD = 'correct horse battery staple';

export interface Call {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  bytes: Buffer;
}

export interface Auth {
  cookie?: string;
  csrf?: string;
  bearer?: string;
}

export async function call(relay: TestRelay, method: string, path: string, opts: { auth?: Auth; body?: unknown; headers?: Record<string, string> } = {}): Promise<Call> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth?.cookie) headers.cookie = opts.auth.cookie;
  if (opts.auth?.csrf) headers['x-csrf-token'] = opts.auth.csrf;
  if (opts.auth?.bearer) headers.authorization = `Bearer ${opts.auth.bearer}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(relay.adminUrl(`/api/v1${path}`), { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(bytes.toString('utf8'));
  return { status: res.status, headers: res.headers, json, bytes };
}

/** The setup token the relay printed at start (event admin-setup). */
export function setupTokenOf(relay: TestRelay): string {
  const lines = relay.logs.filter((l) => l.event === 'admin-setup');
  const token = lines.at(-1)?.setupToken;
  assert.equal(typeof token, 'string', 'the setup token is in the log');
  return token as string;
}

export async function signIn(relay: TestRelay, password = PASSWORD): Promise<Required<Pick<Auth, 'cookie' | 'csrf'>>> {
  const r = await call(relay, 'POST', '/session', { body: { password } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  assert.match(cookie, /^authrelay_session=[A-Za-z0-9_-]{20,}$/);
  return { cookie, csrf: String(r.json.csrfToken) };
}

/** First start: sets the admin password with the logged token, then signs in. */
export async function setUpAndSignIn(relay: TestRelay): Promise<Required<Pick<Auth, 'cookie' | 'csrf'>>> {
  const r = await call(relay, 'POST', '/setup', { body: { setupToken: setupTokenOf(relay), password: PASSWORD } });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return signIn(relay);
}

export async function auditActions(relay: TestRelay, auth: Auth): Promise<{ actor: string; action: string; target: string | null; outcome: string; ip: string }[]> {
  const r = await call(relay, 'GET', '/audit?limit=1000', { auth });
  assert.equal(r.status, 200);
  return (r.json.entries as { actor: string; action: string; target: string | null; outcome: string; ip: string }[]).reverse();
}
