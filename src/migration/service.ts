/**
 * The migration feature as one service, used the same way by the CLI
 * (`authrelay migrate ...`), the admin API (routes-migration.ts, the console)
 * and the scheduled scan (schedule.ts): run a scan with the configured app
 * and store it; build the board from the stored scans, the ignore marks and
 * the spool's own messages; mark and unmark senders. One scan runs at a
 * time: a second request while one runs gets the same result.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { UserError } from '../core/user-error.js';
import { resolveEndpoints } from '../identity/entra/clouds.js';
import type { TokenProvider } from '../identity/entra/token-provider.js';
import type { Store } from '../spool/store.js';
import type { IgnoreMark, ScanPeriod, ScanRecord, ScanSummary, ScanTrigger } from '../spool/migration-records.js';
import { buildBoard, type Board } from './board.js';
import { GraphReader, type GraphReaderOptions } from './graph-reader.js';
import { runScan } from './scan.js';
import { migrationSettings, scanApp, type MigrationSettings } from './scan-app.js';

export interface MigrationServiceDeps {
  store: Store;
  /** The configuration in effect now (a reload replaces it). */
  config: () => Config;
  log: Logger;
  now?: () => number;
  /** Retry and wait limits of the Graph calls (tests shorten them). */
  reader?: GraphReaderOptions;
  /** Sign-ins per page (default 1,000, Graph's maximum). */
  pageSize?: number;
}

export interface ScanOptions {
  period?: ScanPeriod | undefined;
  /** An upstream whose app reads the tenant, instead of the configured one. */
  upstream?: string | undefined;
  trigger: ScanTrigger;
  by: string;
}

export class MigrationService {
  private running: Promise<ScanRecord> | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: MigrationServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  settings(): MigrationSettings {
    return migrationSettings(this.deps.config());
  }

  /** Whether a scan is running now. */
  get scanning(): boolean {
    return this.running !== undefined;
  }

  /** Runs a scan now (or joins the one running) and stores it. Throws UserError when no app can read the tenant. */
  scan(opts: ScanOptions): Promise<ScanRecord> {
    this.running ??= this.scanOnce(opts).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async scanOnce(opts: ScanOptions): Promise<ScanRecord> {
    const config = this.deps.config();
    const settings = migrationSettings(config);
    const app = scanApp(config, opts.upstream);
    const period = opts.period ?? settings.period;
    const { log } = this.deps;
    const endpoints = resolveEndpoints(app.cfg);
    if (endpoints.cloud !== 'global') {
      log.warn({ event: 'migration-scan-cloud', cloud: endpoints.cloud },
        `the usage report and sign-in logs are documented for the worldwide cloud only; scanning the ${endpoints.cloud} cloud may be refused`);
    }
    // MSAL is loaded when a scan runs, not when the relay starts (it is not needed to accept mail).
    const [{ AppTokenProvider }, { httpClientFor }] = await Promise.all([
      import('../identity/entra/app-token-provider.js'), import('../identity/entra/msal-config.js'),
    ]);
    let tokens: TokenProvider & { close(): void };
    try {
      tokens = new AppTokenProvider(app.cfg, 'graph', log);
    } catch (err) {
      throw new UserError(`the app of ${app.label} cannot sign in: ${(err as Error).message}`);
    }
    const http = httpClientFor(app.cfg);
    const previous = await this.latest();
    log.info({ event: 'migration-scan-started', app: app.label, tenant: app.cfg.tenant, period, trigger: opts.trigger },
      `migration scan of tenant ${app.cfg.tenant} started by ${opts.by} with the app of ${app.label} (period ${period})`);
    try {
      const reader = new GraphReader(http, tokens, endpoints.graphUrl, log, this.deps.reader);
      const scan = await runScan(reader, {
        period, trigger: opts.trigger, by: opts.by, app: app.label, tenant: app.cfg.tenant, appId: app.cfg.clientId,
        previous: previous && previous.tenant === app.cfg.tenant && previous.period === period ? previous : undefined,
        ...(this.deps.pageSize ? { pageSize: this.deps.pageSize } : {}), now: this.now,
      }, log);
      const id = await this.deps.store.saveScan(scan);
      const pruned = await this.deps.store.pruneScans(this.now() - settings.keepScans);
      const ok = scan.sources.filter((s) => s.status === 'ok' || s.status === 'not-modified').length;
      log.info({ event: 'migration-scan-finished', id, senders: scan.senders.length, concealed: scan.concealed, pruned,
        sources: Object.fromEntries(scan.sources.map((s) => [s.source, s.status])) },
        `migration scan of tenant ${app.cfg.tenant} found ${scan.senders.length} sender(s) using basic-auth SMTP in ${period} (${ok} of ${scan.sources.length} sources read in full)`);
      return { ...scan, id };
    } finally {
      tokens.close();
      http.close();
    }
  }

  async latest(): Promise<ScanRecord | undefined> {
    const [last] = await this.deps.store.scans(1);
    return last ? this.deps.store.scan(last.id) : undefined;
  }

  scans(limit = 50): Promise<ScanSummary[]> {
    return this.deps.store.scans(limit);
  }

  scanById(id: number): Promise<ScanRecord | undefined> {
    return this.deps.store.scan(id);
  }

  async board(): Promise<Board> {
    const config = this.deps.config();
    const settings = migrationSettings(config);
    const [latest, scans, history, marks] = await Promise.all([this.latest(), this.deps.store.scans(400), this.deps.store.senderHistory(), this.deps.store.ignoreMarks()]);
    const mailboxes = history.map((h) => h.mailbox).filter((m): m is string => !!m);
    const seen = await this.deps.store.mailboxesSeen(mailboxes);
    return buildBoard({
      now: this.now(), deadline: settings.deadline, quietAfterMs: settings.quietAfter, latest, scans, history, marks, seen,
      devices: config.devices.map((d) => ({ name: d.name, sendAs: d.sendAs })),
    });
  }

  /** The board as GET /api/v1/migration and `authrelay migrate status --json` show it. */
  async view(): Promise<Board & { scanning: boolean; settings: MigrationSettings }> {
    return { ...(await this.board()), scanning: this.scanning, settings: this.settings() };
  }

  /** Takes a sender off the board (it must be one a scan found). */
  async ignore(input: string, reason: string, by: string): Promise<IgnoreMark> {
    const key = senderKey(input);
    const known = (await this.deps.store.senderHistory()).some((h) => h.key === key);
    if (!known) throw new UserError(`no scan found a sender "${key}"; use the mailbox (or concealed:CODE) as the board shows it`);
    if (!reason.trim()) throw new UserError('say why the sender is ignored (a reason is required)');
    const mark = { key, reason: reason.trim(), by, at: this.now() };
    await this.deps.store.setIgnore(mark);
    this.deps.log.info({ event: 'migration-ignore', key, by }, `migration board: ${by} marked ${key} as ignored (${mark.reason})`);
    return mark;
  }

  async unignore(input: string, by: string): Promise<boolean> {
    const key = senderKey(input);
    const removed = await this.deps.store.clearIgnore(key);
    if (removed) this.deps.log.info({ event: 'migration-unignore', key, by }, `migration board: ${by} put ${key} back on the board`);
    return removed;
  }
}

/** A sender's key as the board has it: the mailbox in lower case, or concealed:CODE in upper case. */
export function senderKey(input: string): string {
  const t = input.trim();
  return /^concealed:/i.test(t) ? `concealed:${t.slice('concealed:'.length).toUpperCase()}` : t.toLowerCase();
}
