/**
 * Entra sign-in logs on the emulator (reference migration-and-imap.md A.2):
 * `GET /v1.0/auditLogs/signIns?$filter=…&$top=…` answers pages of signIn
 * objects (the fields of Graph's signIn resource), newest first, at most
 * and by default 1,000 a page, with `@odata.nextLink` carrying a
 * `$skiptoken` while more remain. $filter takes `eq` on clientAppUsed,
 * userPrincipalName, appId and status/errorCode, `eq`/`ge`/`le`/`gt`/`lt` on
 * createdDateTime, `startsWith` on userPrincipalName and ipAddress, joined
 * with `and`. Without AuditLog.Read.All in the token's `roles`: 403
 * Authentication_MSGraphPermissionMissing; in a tenant without Entra ID
 * P1/P2: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant, Microsoft's
 * exact body; over 5 requests in 10 s per app and tenant: 429 with
 * Retry-After and the body observed from the service.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorTenant } from './api.js';
import type { EmulatorContext } from './context.js';
import { faultBefore } from './faults.js';
import { sendGraphError, sendJson } from './http-util.js';
import type { StoredSignIn } from './report-data.js';
import { hasRole } from './reports.js';
import { objectId, type Principal } from './tokens.js';

const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';
const MAX_TOP = 1000;

function throttledBody(req: IncomingMessage, res: ServerResponse, retryAfterSeconds: number): void {
  const correlation = randomUUID();
  sendGraphError(req, res, 429, 'UnknownError', `This request is throttled. Please try again after the value specified in the Retry-After header. CorrelationId: ${correlation}`,
    { 'retry-after': String(retryAfterSeconds) });
}

export async function handleSignIns(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL, parts: string[], principal: Principal, tenant: EmulatorTenant): Promise<void> {
  if (parts[2] !== 'signIns' || parts.length !== 3 || (req.method ?? 'GET') !== 'GET') {
    return sendGraphError(req, res, 400, 'BadRequest', `Resource not found for the segment '${parts.at(-1) ?? ''}'.`);
  }
  const reports = ctx.state.reports;
  const fault = ctx.state.takeFault('graph', undefined, undefined, undefined, { method: 'GET', path: url.pathname });
  if (faultBefore(fault, res, (status, retry) => status === 429
    ? throttledBody(req, res, retry ?? 1)
    : sendGraphError(req, res, status, status === 503 ? 'ServiceUnavailable' : 'UnknownError', `The service answered ${status}.`, retry !== undefined ? { 'retry-after': String(retry) } : {}))) return;
  const wait = reports.throttle(`signins|${tenant.id}|${principal.clientId}`, reports.signInsPerTenSecondsPerApp, 10_000);
  if (wait !== undefined) return throttledBody(req, res, wait);
  if (!hasRole(principal, 'AuditLog.Read.All')) {
    return sendGraphError(req, res, 403, 'Authentication_MSGraphPermissionMissing', 'Calling principal does not have required MSGraph permissions AuditLog.Read.All');
  }
  if (tenant.entraPremium === false) {
    return sendGraphError(req, res, 403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', "Neither tenant is B2C or tenant doesn't have premium license");
  }

  const q = url.searchParams;
  const skip = q.get('$skiptoken');
  let page;
  if (skip !== null) {
    page = reports.pages.get(skip);
    if (!page || page.tenantId !== tenant.id || page.clientId !== principal.clientId) {
      return sendGraphError(req, res, 400, 'Request_BadRequest', 'The skip token is not valid or has expired.');
    }
    reports.pages.delete(skip);
  } else {
    const filter = q.get('$filter');
    const topText = q.get('$top');
    const top = topText === null ? MAX_TOP : Number(topText);
    if (!Number.isInteger(top) || top < 1) return sendGraphError(req, res, 400, 'Request_BadRequest', `Invalid value '${topText}' for query parameter $top.`);
    let test: (s: StoredSignIn) => boolean;
    try {
      test = parseFilter(filter);
    } catch (err) {
      return sendGraphError(req, res, 400, 'Request_UnsupportedQuery', (err as Error).message);
    }
    const items = reports.signInsOf(tenant.id).filter(test).sort((a, b) => b.at - a.at);
    page = { tenantId: tenant.id, clientId: principal.clientId, filter, top: Math.min(top, MAX_TOP), items, offset: 0 };
  }
  const slice = page.items.slice(page.offset, page.offset + page.top);
  const body: Record<string, unknown> = { '@odata.context': `${ctx.origin}/v1.0/$metadata#auditLogs/signIns` };
  if (page.offset + page.top < page.items.length) {
    const token = randomBytes(24).toString('hex');
    reports.pages.set(token, { ...page, offset: page.offset + page.top });
    const next = new URLSearchParams();
    if (page.filter !== null) next.set('$filter', page.filter);
    next.set('$top', String(page.top));
    next.set('$skiptoken', token);
    body['@odata.nextLink'] = `${ctx.origin}/v1.0/auditLogs/signIns?${next.toString().replace(/%24/g, '$')}`;
  }
  body.value = slice.map((s) => resource(tenant, s));
  sendJson(res, 200, body);
}

/** Graph's signIn resource (v1.0) for one stored sign-in. */
function resource(tenant: EmulatorTenant, s: StoredSignIn): Record<string, unknown> {
  const ok = (s.errorCode ?? 0) === 0;
  return {
    id: s.id,
    createdDateTime: new Date(s.at).toISOString().replace(/Z$/, '0000Z'),
    userDisplayName: s.displayName ?? s.user.split('@')[0],
    userPrincipalName: s.user,
    userId: objectId('user', tenant.id, s.user),
    appId: EXCHANGE_APP_ID,
    appDisplayName: 'Office 365 Exchange Online',
    ipAddress: s.ipAddress,
    clientAppUsed: s.clientAppUsed ?? 'Authenticated SMTP',
    correlationId: s.correlationId,
    conditionalAccessStatus: 'notApplied',
    isInteractive: true,
    riskDetail: 'none', riskLevelAggregated: 'none', riskLevelDuringSignIn: 'none', riskState: 'none', riskEventTypes: [],
    resourceDisplayName: 'Office 365 Exchange Online',
    resourceId: EXCHANGE_APP_ID,
    status: { errorCode: s.errorCode ?? 0, failureReason: ok ? null : (s.failureReason ?? 'Other.'), additionalDetails: s.additionalDetails ?? null },
    deviceDetail: { deviceId: '', displayName: null, operatingSystem: null, browser: null, isCompliant: null, isManaged: null, trustType: null },
    location: { city: null, state: null, countryOrRegion: null, geoCoordinates: { altitude: null, latitude: null, longitude: null } },
    appliedConditionalAccessPolicies: [],
  };
}

/** The $filter clauses the sign-in logs support, joined with `and`. */
function parseFilter(filter: string | null): (s: StoredSignIn) => boolean {
  if (filter === null || filter.trim() === '') return () => true;
  const tests = filter.split(/\s+and\s+/i).map((clause) => {
    const c = clause.trim().replace(/^\((.*)\)$/, '$1');
    const sw = /^startsWith\((userPrincipalName|ipAddress),\s*'([^']*)'\)$/i.exec(c);
    if (sw) {
      const field = sw[1]!.toLowerCase() === 'ipaddress' ? 'ipAddress' : 'user';
      return (s: StoredSignIn) => String(field === 'ipAddress' ? s.ipAddress : s.user).toLowerCase().startsWith(sw[2]!.toLowerCase());
    }
    const m = /^([A-Za-z/]+)\s+(eq|ge|le|gt|lt)\s+(.+)$/i.exec(c);
    if (!m) throw new Error(`Invalid filter clause: ${c}`);
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    const str = /^'(.*)'$/.exec(raw)?.[1];
    switch (field.toLowerCase()) {
      case 'clientappused':
      case 'userprincipalname':
      case 'appid': {
        if (op.toLowerCase() !== 'eq' || str === undefined) throw new Error(`Invalid filter clause: ${c}`);
        const key = field.toLowerCase();
        return (s: StoredSignIn) => (key === 'clientappused' ? (s.clientAppUsed ?? 'Authenticated SMTP') : key === 'appid' ? EXCHANGE_APP_ID : s.user).toLowerCase() === str.toLowerCase();
      }
      case 'status/errorcode': {
        if (op.toLowerCase() !== 'eq' || !/^\d+$/.test(raw)) throw new Error(`Invalid filter clause: ${c}`);
        return (s: StoredSignIn) => (s.errorCode ?? 0) === Number(raw);
      }
      case 'createddatetime': {
        const t = Date.parse(raw);
        if (Number.isNaN(t)) throw new Error(`Invalid filter clause: ${c}`);
        const o = op.toLowerCase();
        return (s: StoredSignIn) => (o === 'eq' ? s.at === t : o === 'ge' ? s.at >= t : o === 'le' ? s.at <= t : o === 'gt' ? s.at > t : s.at < t);
      }
      default:
        throw new Error(`Invalid filter clause: ${c}`);
    }
  });
  return (s) => tests.every((t) => t(s));
}
