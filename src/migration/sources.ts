/**
 * The three things the scan reads (reference migration-and-imap.md Part A):
 * - the email apps usage report (`reports/getEmailAppUsageUserDetail`,
 *   Reports.Read.All): 302 to a pre-authenticated CSV fetched without
 *   Authorization, or 304 when If-None-Match still holds;
 * - the Entra sign-in logs of client app "Authenticated SMTP"
 *   (`auditLogs/signIns`, AuditLog.Read.All), page by page along
 *   @odata.nextLink, newest first;
 * - the report privacy setting (`admin/reportSettings`, optional).
 * Each returns what it read or throws a GraphAnswer (or a network or
 * sign-in error); the sign-in logs return what they read before a later
 * page failed, with that failure.
 */
import { HttpError } from '../core/http.js';
import { parseCsv } from './csv.js';
import { GraphAnswer, type GraphReader } from './graph-reader.js';

export interface UsageRow {
  upn: string;
  displayName: string;
  isDeleted: boolean;
  lastActivityDate: string | null;
  smtpApp: string;
  refreshDate: string;
}

export type UsageReport = { status: 'ok'; rows: UsageRow[]; etag: string | null; refreshDate: string | null } | { status: 'not-modified' };

const COLUMNS = ['User Principal Name', 'Last Activity Date', 'SMTP App'];

export async function readUsageReport(g: GraphReader, period: string, etag: string | null): Promise<UsageReport> {
  const res = await g.get('usage-report', `reports/getEmailAppUsageUserDetail(period='${period}')`, etag ? { headers: { 'if-none-match': etag } } : {});
  if (res.status === 304) return { status: 'not-modified' };
  let file = res;
  if (res.status === 302 || res.status === 301 || res.status === 307) {
    const location = res.headers.location;
    if (!location) throw new GraphAnswer('usage-report', res.status, undefined, 'the redirect carried no Location');
    // The download URL is pre-authenticated: a bearer token must not go with it, and it is never logged or stored.
    const url = new URL(location, g.graphUrl);
    try {
      file = await g.get('usage-report', url.toString(), { auth: false, headers: { accept: 'text/csv, application/octet-stream' } });
    } catch (err) {
      if (err instanceof HttpError) throw new HttpError(err.message.split(url.pathname).join('/…'), err.code, err.bodySent);
      throw err;
    }
  }
  if (file.status !== 200) throw GraphAnswer.from('usage-report', file);
  const rows = parseCsv(file.body.toString('utf8'));
  const header = rows[0] ? Object.keys(rows[0]) : [];
  if (rows.length && !COLUMNS.every((c) => header.includes(c))) {
    throw new GraphAnswer('usage-report', 200, 'UnexpectedReport', `the report has no ${COLUMNS.filter((c) => !header.includes(c)).join(', ')} column`);
  }
  const out = rows.map((r) => ({
    upn: r['User Principal Name'] ?? '', displayName: r['Display Name'] ?? '', isDeleted: /^true$/i.test(r['Is Deleted'] ?? ''),
    lastActivityDate: r['Last Activity Date'] || null, smtpApp: r['SMTP App'] ?? '', refreshDate: r['Report Refresh Date'] ?? '',
  })).filter((r) => r.upn !== '');
  const tag = file.headers.etag;
  return { status: 'ok', rows: out, etag: typeof tag === 'string' ? tag : null, refreshDate: out[0]?.refreshDate || null };
}

export interface SignInEntry {
  upn: string;
  displayName: string | null;
  at: number;
  ip: string;
  errorCode: number;
  failureReason: string | null;
}

export interface SignInRead {
  entries: SignInEntry[];
  pages: number;
  /** Set when a page after the first failed: what was read is kept. */
  error?: unknown;
}

interface SignInPage {
  value?: { userPrincipalName?: string; userDisplayName?: string | null; createdDateTime?: string; ipAddress?: string;
    status?: { errorCode?: number; failureReason?: string | null } }[];
  '@odata.nextLink'?: string;
}

/** Pages allowed at most (1,000 sign-ins each): a loop guard, far above a real tenant's month of SMTP sign-ins. */
const MAX_PAGES = 500;

export async function readSmtpSignIns(g: GraphReader, since: number, pageSize: number): Promise<SignInRead> {
  const iso = new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const filter = `clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge ${iso}`;
  let url: string | undefined = `auditLogs/signIns?$filter=${encodeURIComponent(filter)}&$top=${pageSize}`;
  const entries: SignInEntry[] = [];
  let pages = 0;
  while (url && pages < MAX_PAGES) {
    let body: SignInPage | undefined;
    try {
      const res = await g.get('sign-ins', url);
      if (res.status !== 200) throw GraphAnswer.from('sign-ins', res);
      body = res.json<SignInPage>();
      if (!body || !Array.isArray(body.value)) throw new GraphAnswer('sign-ins', 200, 'UnexpectedAnswer', 'the answer has no "value" list');
    } catch (err) {
      if (pages === 0) throw err;
      return { entries, pages, error: err };
    }
    pages += 1;
    for (const s of body.value ?? []) {
      if (!s.userPrincipalName || !s.createdDateTime) continue;
      entries.push({
        upn: s.userPrincipalName, displayName: s.userDisplayName ?? null, at: Date.parse(s.createdDateTime), ip: s.ipAddress ?? '',
        errorCode: s.status?.errorCode ?? 0, failureReason: s.status?.failureReason ?? null,
      });
    }
    url = body['@odata.nextLink'];
  }
  return { entries, pages };
}

/** displayConcealedNames, read from either shape Graph has used ({value:{…}} or the object itself). */
export async function readReportSettings(g: GraphReader): Promise<boolean> {
  const res = await g.get('report-settings', 'admin/reportSettings');
  if (res.status !== 200) throw GraphAnswer.from('report-settings', res);
  const body = res.json<{ displayConcealedNames?: unknown; value?: { displayConcealedNames?: unknown } }>();
  const v = body?.value?.displayConcealedNames ?? body?.displayConcealedNames;
  if (typeof v !== 'boolean') throw new GraphAnswer('report-settings', 200, 'UnexpectedAnswer', 'the answer has no displayConcealedNames');
  return v;
}

/** A one-line reason for an error that is not Graph's answer (network, TLS, timeout). */
export function networkReason(err: unknown): string | undefined {
  if (err instanceof HttpError) return `${err.code}: ${err.message}`;
  return undefined;
}
