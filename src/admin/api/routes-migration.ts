/**
 * /api/v1/migration: the migration board (JSON, or CSV with ?format=csv),
 * the stored scans, a scan now, and ignore marks (with a reason). The same
 * MigrationService as `authrelay migrate` (src/migration/service.ts), so the
 * console, the API and the CLI show the same board. Adding a sender as a
 * device goes through POST /api/v1/devices (routes-devices.ts) with the
 * row's prefilled name and sendAs. Scans and marks are audited
 * (migration-scan, migration-ignore, migration-unignore). When the relay
 * was started without the migration service, every route answers 503.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { UserError } from '../../core/user-error.js';
import { boardCsv } from '../../migration/board-csv.js';
import type { MigrationService } from '../../migration/service.js';
import { SCAN_PERIODS, type ScanPeriod, type ScanRecord } from '../../spool/migration-records.js';
import { actorName, principalOf, sendError } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';

const keyParams = { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 3, maxLength: 330 } } } as const;
const iso = (ms: number) => new Date(ms).toISOString();

/** A scan as the API shows it (times as ISO text). */
export function scanView(s: ScanRecord) {
  return { ...s, startedAt: iso(s.startedAt), finishedAt: iso(s.finishedAt) };
}

export function migrationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const service = (reply: FastifyReply): MigrationService | undefined => {
    if (deps.migration) return deps.migration;
    void sendError(reply, 503, 'migration-unavailable', 'the migration board is not available in this relay (it was started without the migration service)');
    return undefined;
  };

  app.get<{ Querystring: { format?: 'json' | 'csv' } }>('/migration', {
    ...access.read,
    schema: {
      summary: 'The migration board: every sender the scans found, its state (basic-auth, moved, quiet, ignored), the summary and the latest scan', tags: ['migration'],
      querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['json', 'csv'], description: 'csv: the rows as a CSV file' } } },
    },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    const view = await m.view();
    if (req.query.format === 'csv') {
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="authrelay-migration.csv"')
        .send(boardCsv(view));
    }
    return view;
  });

  app.get<{ Querystring: { limit: number } }>('/migration/scans', {
    ...access.read,
    schema: {
      summary: 'The stored scans, newest first (without their senders)', tags: ['migration'],
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } } },
    },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    return { scans: (await m.scans(req.query.limit)).map((s) => ({ ...s, startedAt: iso(s.startedAt), finishedAt: iso(s.finishedAt) })) };
  });

  app.get<{ Params: { id: string } }>('/migration/scans/:id', {
    ...access.read,
    schema: { summary: 'One stored scan with the senders it found', tags: ['migration'], params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    const s = await m.scanById(Number(req.params.id));
    if (!s) return sendError(reply, 404, 'not-found', `no scan ${req.params.id}`);
    return scanView(s);
  });

  app.post<{ Body: { period?: ScanPeriod; upstream?: string } }>('/migration/scan', {
    ...access.admin,
    schema: {
      summary: 'Scan the tenant now (usage report, report setting, sign-in logs) and store the result; answers when it is done', tags: ['migration'],
      body: { type: 'object', additionalProperties: false, properties: {
        period: { type: 'string', enum: [...SCAN_PERIODS] }, upstream: { type: 'string', minLength: 1, maxLength: 100 },
      } },
    },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    const by = `${actorName(principalOf(req))} in the console`;
    try {
      const scan = await m.scan({ period: req.body?.period, upstream: req.body?.upstream, trigger: 'console', by });
      audit(deps, req, 'migration-scan', scan.tenant, 'ok', {
        id: scan.id, period: scan.period, senders: scan.senders.length, sources: Object.fromEntries(scan.sources.map((s) => [s.source, s.status])),
      });
      const { senders, ...rest } = scanView(scan);
      return { scan: { ...rest, senderCount: senders.length }, summary: (await m.board()).summary };
    } catch (err) {
      if (err instanceof UserError) {
        audit(deps, req, 'migration-scan', null, 'refused', { reason: err.message });
        return sendError(reply, 400, 'no-app', err.message);
      }
      throw err;
    }
  });

  app.put<{ Params: { key: string }; Body: { reason: string } }>('/migration/ignore/:key', {
    ...access.admin,
    schema: {
      summary: 'Take a sender off the board, with the reason (audited)', tags: ['migration'], params: keyParams,
      body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } } },
    },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    try {
      const mark = await m.ignore(req.params.key, req.body.reason, actorName(principalOf(req)));
      audit(deps, req, 'migration-ignore', mark.key, 'ok', { reason: mark.reason });
      return { key: mark.key, reason: mark.reason, by: mark.by, at: iso(mark.at) };
    } catch (err) {
      if (err instanceof UserError) {
        audit(deps, req, 'migration-ignore', req.params.key, 'refused', { reason: err.message });
        return sendError(reply, /no scan found/.test(err.message) ? 404 : 400, /no scan found/.test(err.message) ? 'not-found' : 'invalid-request', err.message);
      }
      throw err;
    }
  });

  app.delete<{ Params: { key: string } }>('/migration/ignore/:key', {
    ...access.admin,
    schema: { summary: 'Put an ignored sender back on the board (audited)', tags: ['migration'], params: keyParams },
  }, async (req, reply) => {
    const m = service(reply);
    if (!m) return reply;
    const removed = await m.unignore(req.params.key, actorName(principalOf(req)));
    audit(deps, req, 'migration-unignore', req.params.key, removed ? 'ok' : 'refused', removed ? undefined : { reason: 'not ignored' });
    if (!removed) return sendError(reply, 404, 'not-found', `${req.params.key} is not marked as ignored`);
    return reply.code(204).send();
  });
}
