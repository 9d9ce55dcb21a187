/**
 * One tenant scan: the usage report, the report privacy setting and the
 * sign-in logs, each read on its own, so that a refusal of one (no licence,
 * a missing permission, throttling) leaves the others' answers standing.
 * Every source ends with an outcome that says what happened in one
 * sentence and names the catalogue entry that explains it
 * (docs/errors.md), never a stack trace. The result is a NewScan for the
 * spool; nothing is stored here.
 */
import { TokenError } from '../identity/entra/token-provider.js';
import { explainScan, explainTokenError, type PlaceholderValues } from '../deliver/microsoft/catalogue.js';
import type { Logger } from '../core/log.js';
import type { NewScan, ScanPeriod, ScanRecord, ScanSourceName, ScanSourceOutcome, ScanTrigger } from '../spool/migration-records.js';
import { GraphAnswer, type GraphReader } from './graph-reader.js';
import { networkReason, readReportSettings, readSmtpSignIns, readUsageReport, type SignInEntry, type UsageRow } from './sources.js';
import { buildSenders, rowsFromSenders } from './senders.js';

const DAY = 86_400_000;
const PERIOD_DAYS: Record<ScanPeriod, number> = { D7: 7, D30: 30, D90: 90, D180: 180 };
/** Entra keeps sign-ins 30 days with P1/P2 (reference A.2): a longer period reads those 30 days. */
const SIGN_IN_RETENTION_DAYS = 30;

export interface ScanRequest {
  period: ScanPeriod;
  trigger: ScanTrigger;
  by: string;
  /** `upstream NAME` or `migration.app`. */
  app: string;
  tenant: string;
  appId: string;
  /** The previous scan of this tenant: its report's ETag is sent as If-None-Match. */
  previous?: ScanRecord | undefined;
  /** Sign-ins per page (Graph's maximum and default: 1,000). */
  pageSize?: number;
  now?: () => number;
}

type Failure = Pick<ScanSourceOutcome, 'status' | 'ref' | 'httpStatus' | 'code' | 'message' | 'detail'>;

/** What an error of one source means for the scan. */
function failureOf(source: ScanSourceName, err: unknown, names: PlaceholderValues, partial = false): Failure {
  const operation = source;
  if (err instanceof GraphAnswer) {
    const e = explainScan({ operation, status: err.status, code: err.code, message: err.graphMessage }, names);
    const status: Failure['status'] = partial ? 'partial'
      : e?.category === 'licence' ? 'licence'
        : e?.category === 'permission' ? 'permission'
          : err.status === 429 ? 'throttled' : 'failed';
    const answer = `Microsoft Graph answered ${err.status}${err.code ? ` ${err.code}` : ''}${err.graphMessage ? ` ("${err.graphMessage}")` : ''}`;
    return {
      status, httpStatus: err.status, ...(err.code ? { code: err.code } : {}), ...(err.graphMessage ? { message: err.graphMessage } : {}),
      ...(e ? { ref: e.ref, fix: e.fix } : {}),
      detail: `${answer}. ${e ? e.hint : 'The catalogue does not know this answer; the source is left out of this scan.'}`,
    };
  }
  if (err instanceof TokenError) {
    const o = explainTokenError(err, names);
    return { status: 'failed', ...(o.ref ? { ref: o.ref } : {}), ...(o.fix ? { fix: o.fix } : {}), message: err.message, detail: `No token for Microsoft Graph: ${o.hint ?? err.message}` };
  }
  const net = networkReason(err);
  return { status: partial ? 'partial' : 'failed', message: net ?? (err as Error).message, detail: `Microsoft Graph could not be reached: ${net ?? (err as Error).message}.` };
}

export async function runScan(g: GraphReader, req: ScanRequest, log: Logger): Promise<NewScan> {
  const now = req.now ?? Date.now;
  const startedAt = now();
  const names: PlaceholderValues = { appId: req.appId, tenant: req.tenant };
  const sources: ScanSourceOutcome[] = [];

  // 1. The email apps usage report.
  let report: UsageRow[] | null = null;
  let reportEtag: string | null = null;
  let refreshDate: string | null = null;
  const usage: ScanSourceOutcome = { source: 'usage-report', status: 'ok', detail: '' };
  try {
    const r = await readUsageReport(g, req.period, req.previous?.reportEtag ?? null);
    if (r.status === 'not-modified' && req.previous) {
      report = rowsFromSenders(req.previous.senders, req.previous.reportRefreshDate);
      reportEtag = req.previous.reportEtag;
      refreshDate = req.previous.reportRefreshDate;
      const before = req.previous.sources.find((s) => s.source === 'usage-report');
      Object.assign(usage, { status: 'not-modified', rows: before?.rows ?? report.length, ...(before?.concealed !== undefined ? { concealed: before.concealed } : {}),
        detail: `The report has not changed since the scan of ${new Date(req.previous.finishedAt).toISOString()} (304 Not Modified); its rows were used again.` });
    } else if (r.status === 'ok') {
      report = r.rows;
      reportEtag = r.etag;
      refreshDate = r.refreshDate;
    } else {
      // 304 without a previous scan to take the rows from: ask again without If-None-Match.
      const again = await readUsageReport(g, req.period, null);
      if (again.status === 'ok') ({ rows: report, etag: reportEtag, refreshDate } = again);
    }
  } catch (err) {
    Object.assign(usage, failureOf('usage-report', err, names));
  }
  sources.push(usage);

  // 2. The report privacy setting (optional: concealed names are also recognised in the rows).
  let displayConcealedNames: boolean | null = null;
  const settings: ScanSourceOutcome = { source: 'report-settings', status: 'ok', detail: '' };
  try {
    displayConcealedNames = await readReportSettings(g);
    settings.detail = displayConcealedNames
      ? 'The tenant conceals user, group and site names in all reports.'
      : 'The tenant shows real names in its reports.';
  } catch (err) {
    Object.assign(settings, failureOf('report-settings', err, names));
  }
  sources.push(settings);

  // 3. The sign-in logs of client app Authenticated SMTP.
  let signIns: SignInEntry[] | null = null;
  const days = Math.min(PERIOD_DAYS[req.period], SIGN_IN_RETENTION_DAYS);
  const logs: ScanSourceOutcome = { source: 'sign-ins', status: 'ok', detail: '' };
  try {
    const r = await readSmtpSignIns(g, startedAt - days * DAY, req.pageSize ?? 1000);
    signIns = r.entries;
    logs.pages = r.pages;
    logs.rows = r.entries.length;
    if (r.error) Object.assign(logs, failureOf('sign-ins', r.error, names, true));
    const shorter = PERIOD_DAYS[req.period] > SIGN_IN_RETENTION_DAYS ? ` (Entra keeps sign-ins ${SIGN_IN_RETENTION_DAYS} days, so the last ${days} days of the ${PERIOD_DAYS[req.period]})` : '';
    const read = `${r.entries.length} Authenticated SMTP sign-in(s) in ${r.pages} page(s)${shorter}`;
    logs.detail = r.error ? `${read} were read before a later page failed, and are kept. ${logs.detail}` : `${read} were read.`;
  } catch (err) {
    Object.assign(logs, failureOf('sign-ins', err, names));
  }
  sources.push(logs);

  const built = buildSenders({ report, signIns });
  const concealed = built.concealedRows > 0;
  if (report && usage.status === 'ok') {
    usage.rows = built.smtpRows;
    usage.concealed = built.concealedRows;
    usage.detail = `The report lists ${report.length} user(s); ${built.smtpRows} used the SMTP app in the period${concealed ? `, ${built.concealedRows} of them under concealed names` : ''}.`;
  }
  if (concealed) {
    const e = explainScan({ operation: 'usage-report', status: 200, finding: 'concealed-names' }, names);
    if (e) {
      usage.ref = e.ref;
      usage.fix = e.fix;
      usage.detail += signIns
        ? ' The names are concealed; the sign-in logs name the senders instead.'
        : ` ${e.hint}`;
    }
  }
  for (const s of sources.filter((x) => !['ok', 'not-modified'].includes(x.status))) {
    log.warn({ event: 'migration-scan-source', source: s.source, status: s.status, ref: s.ref, httpStatus: s.httpStatus, code: s.code },
      `migration scan of ${req.tenant}: the ${s.source} ended ${s.status}: ${s.detail}`);
  }
  return {
    startedAt, finishedAt: now(), period: req.period, trigger: req.trigger, by: req.by, app: req.app, tenant: req.tenant, appId: req.appId, sources, concealed,
    displayConcealedNames, reportRefreshDate: refreshDate, reportEtag, senders: built.senders,
  };
}
