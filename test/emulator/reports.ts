/**
 * Graph's reports for the migration scan on the emulator (reference
 * migration-and-imap.md A.1): `GET /v1.0/reports/getEmailAppUsageUserDetail
 * (period='D7'|…)` or `(date=YYYY-MM-DD)` answers 302 Found (Content-Type
 * text/plain) with a Location on a pre-authenticated download URL, which
 * gives the CSV (application/octet-stream, with an ETag) only when fetched
 * WITHOUT an Authorization header; `If-None-Match` with the current ETag
 * gives 304. Reports.Read.All comes from the token's `roles` (403
 * S2SUnauthorized without it); requests are throttled per app and tenant
 * (14 per 10 minutes) and per tenant (40) with 429 + Retry-After; names are
 * concealed (32 hex digits) while the tenant's displayConcealedNames is on.
 * `GET /v1.0/admin/reportSettings` (ReportSettings.Read.All) reads that
 * setting, PATCH (ReportSettings.ReadWrite.All) changes it. The sign-in
 * logs are in signins.ts. A test's fault rule (target 'graph', with a path)
 * is acted out with these services' own bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RequestRecord } from './api.js';
import type { EmulatorContext } from './context.js';
import { faultBefore } from './faults.js';
import { readBody, sendEmpty, sendGraphError, sendJson } from './http-util.js';
import { etagOf } from './report-data.js';
import { handleSignIns } from './signins.js';
import type { Principal } from './tokens.js';

const TEN_MINUTES = 10 * 60_000;
const PERIODS: Record<string, number> = { D7: 7, D30: 30, D90: 90, D180: 180 };

/** Paths under /v1.0 served here. */
export function isTenantReportPath(parts: string[]): boolean {
  return parts[1] === 'reports' || parts[1] === 'auditLogs' || (parts[1] === 'admin' && parts[2] === 'reportSettings');
}

export function hasRole(p: Principal, ...names: string[]): boolean {
  return names.some((n) => p.permissions.some((x) => x.toLowerCase() === n.toLowerCase()));
}

/** The generic Graph 429 body (Graph's throttling guidance), which the reports service sends. */
export function sendTooManyRequests(req: IncomingMessage, res: ServerResponse, retryAfterSeconds: number): void {
  const requestId = randomUUID();
  sendJson(res, 429, {
    error: {
      code: 'TooManyRequests',
      innerError: { code: '429', date: new Date().toISOString().replace(/\.\d{3}Z$/, ''), message: 'Please retry after', 'request-id': requestId, status: '429' },
      message: 'Please retry again later.',
    },
  }, { 'retry-after': String(retryAfterSeconds), 'request-id': requestId, 'client-request-id': String(req.headers['client-request-id'] ?? requestId) });
}

/** A request under /v1.0/reports, /v1.0/auditLogs or /v1.0/admin/reportSettings with a verified token. */
export async function handleTenantReports(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL, parts: string[], principal: Principal): Promise<void> {
  const body = await readBody(req, 64 * 1024);
  const method = req.method ?? 'GET';
  const tenant = ctx.state.tenants.get(principal.tenantId);
  if (!tenant) return sendGraphError(req, res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
  if (parts[1] === 'auditLogs') return handleSignIns(ctx, req, res, url, parts, principal, tenant);
  const fault = ctx.state.takeFault('graph', undefined, undefined, undefined, { method, path: url.pathname });
  if (faultBefore(fault, res, (status, retry) => status === 429
    ? sendTooManyRequests(req, res, retry ?? 1)
    : sendGraphError(req, res, status, status === 503 ? 'ServiceUnavailable' : 'UnknownError', `The service answered ${status}.`, retry !== undefined ? { 'retry-after': String(retry) } : {}))) return;

  if (parts[1] === 'admin') {
    const settings = { '@odata.type': '#microsoft.graph.adminReportSettings', displayConcealedNames: tenant.displayConcealedNames ?? true };
    if (method === 'GET') {
      if (!hasRole(principal, 'ReportSettings.Read.All', 'ReportSettings.ReadWrite.All')) {
        return sendGraphError(req, res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      }
      // The v1.0 page's example wraps the object in "value" (reference A.1: clients parse both shapes).
      return sendJson(res, 200, { '@odata.context': `${ctx.origin}/v1.0/$metadata#admin/reportSettings/$entity`, value: settings });
    }
    if (method === 'PATCH') {
      if (!hasRole(principal, 'ReportSettings.ReadWrite.All')) {
        return sendGraphError(req, res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      }
      let patch: { displayConcealedNames?: unknown };
      try {
        patch = JSON.parse(body.data.toString('utf8')) as typeof patch;
      } catch {
        return sendGraphError(req, res, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
      }
      if (typeof patch.displayConcealedNames === 'boolean') tenant.displayConcealedNames = patch.displayConcealedNames;
      return sendEmpty(res, 204);
    }
    return sendGraphError(req, res, 405, 'Request_BadRequest', `The method ${method} is not allowed on this resource.`);
  }

  const call = /^(?:microsoft\.graph\.)?getEmailAppUsageUserDetail\((.*)\)$/.exec(decodeURIComponent(parts.slice(2).join('/')));
  if (!call || method !== 'GET') return sendGraphError(req, res, 400, 'BadRequest', `Resource not found for the segment '${parts[2] ?? ''}'.`);
  const reports = ctx.state.reports;
  const appWait = reports.throttle(`report|${tenant.id}|${principal.clientId}`, reports.reportsPerTenMinutesPerApp, TEN_MINUTES);
  const tenantWait = appWait === undefined ? reports.throttle(`report|${tenant.id}`, reports.reportsPerTenMinutesPerTenant, TEN_MINUTES) : undefined;
  if (appWait !== undefined || tenantWait !== undefined) return sendTooManyRequests(req, res, (appWait ?? tenantWait)!);
  if (!hasRole(principal, 'Reports.Read.All')) return sendGraphError(req, res, 403, 'S2SUnauthorized', 'Invalid permission.');

  const arg = call[1]!;
  const period = /^period='(D7|D30|D90|D180)'$/.exec(arg)?.[1];
  const date = /^date=(\d{4}-\d{2}-\d{2})$/.exec(arg)?.[1];
  if (!period && !date) {
    return sendGraphError(req, res, 400, 'BadRequest', `Invalid value for the function parameter: ${arg}. Use period='D7', 'D30', 'D90' or 'D180', or date=YYYY-MM-DD.`);
  }
  if (date && (Date.now() - Date.parse(`${date}T00:00:00Z`) > 30 * 86_400_000 || Number.isNaN(Date.parse(date)))) {
    return sendGraphError(req, res, 400, 'BadRequest', `The date ${date} is outside the last 30 days this report is kept for.`);
  }
  const csv = reports.csv(tenant.id, period ? PERIODS[period]! : 1, tenant.displayConcealedNames ?? true, date);
  const etag = etagOf(csv);
  if (req.headers['if-none-match'] === etag) return sendEmpty(res, 304, { etag });
  const token = reports.offerDownload(csv);
  res.writeHead(302, { 'content-type': 'text/plain', location: `${ctx.origin}/data/download/${token}`, 'content-length': '0', 'request-id': randomUUID() });
  res.end();
}

/** GET /data/download/{token}: the CSV, for a request without an Authorization header. */
export async function reportDownload(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL, rec: Omit<RequestRecord, 'at' | 'status'>): Promise<void> {
  rec.service = 'report-download';
  rec.bytes = (await readBody(req, 0)).bytes;
  const token = url.pathname.split('/')[3] ?? '';
  const d = ctx.state.reports.download(token);
  if (!d || (req.method ?? 'GET') !== 'GET') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('The download link is not valid or has expired; request the report again.');
    return;
  }
  if (req.headers.authorization !== undefined) {
    // The URL carries its own authorisation; a bearer token sent along is refused.
    res.writeHead(401, { 'content-type': 'text/plain' });
    res.end('This pre-authenticated URL must be requested without an Authorization header.');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(d.csv.length), etag: d.etag });
  res.end(d.csv);
}
