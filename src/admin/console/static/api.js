// authrelay console: calls to /api/v1 with fetch. The session cookie rides
// along by itself; state-changing calls add the session's CSRF token. A 401
// sends the browser to the sign-in page. Every call asks for the console's
// language (Accept-Language), so explanations and trail lines come in it.
/* global fetch, location, URLSearchParams */
import { lang } from './i18n.js';

let csrf = '';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? '';
    /** The whole answer (e.g. the live test's lines of a refused write). */
    this.body = body ?? null;
    /** The configuration problems of a refused change (400 invalid-config), one sentence each. */
    this.problems = Array.isArray(body?.problems) ? body.problems.map(String) : [];
  }
}

export function setCsrf(token) {
  csrf = token ?? '';
}

/** api('GET', '/overview') → the JSON answer; throws ApiError. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json', 'accept-language': lang() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(`/api/v1${path}`, {
    method, headers, credentials: 'same-origin', cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? await res.json() : null;
  if (res.status === 401 && path !== '/session') {
    setCsrf('');
    const next = location.hash.startsWith('#/signin') ? '' : `?next=${encodeURIComponent(location.hash)}`;
    location.hash = `#/signin${next}`;
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The console-only listing of SMTP listeners (for the settings to type into a device). */
export async function listeners() {
  const res = await fetch('/console/listeners.json', { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, null);
  return res.json();
}

/** Builds a query string from the non-empty fields. */
export function query(fields) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && String(v).trim() !== '') q.set(k, String(v).trim());
  const str = q.toString();
  return str ? `?${str}` : '';
}
