/**
 * Which app registration reads the tenant, from the configuration: the
 * upstream named by --upstream or migration.upstream (a graph or smtp-oauth
 * upstream with an app credential), or migration.app, or else the one
 * upstream that can; and the settings the migration section gives (or the
 * defaults when it is absent). Refusals are UserErrors whose message says
 * what to set.
 */
import type { Config, EntraUpstreamConfig, GraphUpstreamConfig } from '../config/schema.js';
import { MIGRATION_DEFAULTS } from '../config/schema-migration.js';
import { UserError } from '../core/user-error.js';
import type { ScanPeriod } from '../spool/migration-records.js';

export interface ScanApp {
  /** `upstream NAME` or `migration.app`. */
  label: string;
  /** The app registration as the token providers take it. */
  cfg: EntraUpstreamConfig;
}

export interface MigrationSettings {
  period: ScanPeriod;
  schedule: 'daily' | 'off';
  deadline: string;
  quietAfter: number;
  keepScans: number;
  configured: boolean;
}

export function migrationSettings(config: Config): MigrationSettings {
  const m = config.migration;
  if (!m) return { ...MIGRATION_DEFAULTS, configured: false };
  return { period: m.period, schedule: m.schedule, deadline: m.deadline, quietAfter: m.quietAfter, keepScans: m.keepScans, configured: true };
}

function canRead(u: Config['upstreams'][string]): u is EntraUpstreamConfig {
  return u.type === 'graph' || (u.type === 'smtp-oauth' && !u.delegated);
}

export function scanApp(config: Config, upstreamFlag?: string): ScanApp {
  const name = upstreamFlag ?? config.migration?.upstream;
  const candidates = Object.entries(config.upstreams).filter(([, u]) => canRead(u)).map(([n]) => n);
  if (name !== undefined) {
    const u = config.upstreams[name];
    if (!u) throw new UserError(`no upstream named "${name}"; the scan can use ${candidates.length ? candidates.join(', ') : 'none of the configured upstreams (add a graph upstream, or migration.app)'}`);
    if (u.type === 'smtp-oauth' && u.delegated) {
      throw new UserError(`upstream "${name}" signs in as one mailbox (delegated); the scan needs an app credential (client secret or certificate): name another upstream or set migration.app`);
    }
    if (u.type !== 'graph' && u.type !== 'smtp-oauth') {
      throw new UserError(`upstream "${name}" is a ${u.type} upstream; the scan needs the app registration of a graph or smtp-oauth upstream, or migration.app`);
    }
    return { label: `upstream ${name}`, cfg: u };
  }
  const app = config.migration?.app;
  if (app) {
    const cfg: GraphUpstreamConfig = { type: 'graph', ...app, mailbox: undefined, concurrency: 1, mailboxConcurrency: 1, maxMessageSize: 0, timeout: 60_000, recipientsPerDay: 9500, dailyWarning: 0.8, sentItems: 'keep' };
    return { label: 'migration.app', cfg };
  }
  if (candidates.length === 1) return { label: `upstream ${candidates[0]}`, cfg: config.upstreams[candidates[0]!] as EntraUpstreamConfig };
  throw new UserError(candidates.length === 0
    ? 'no app registration to read the tenant with: configure a graph upstream, or migration.app (tenant, clientId, clientSecret or certificate) with Reports.Read.All and AuditLog.Read.All; see docs/migration.md'
    : `several upstreams could read the tenant (${candidates.join(', ')}): name one with --upstream NAME or migration.upstream`);
}
