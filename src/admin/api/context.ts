/**
 * What the /api/v1 routes are given by the composition root, and the audit
 * helper every state-changing route calls once.
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import type { ReloadResult } from '../../core/reload-result.js';
import type { SessionWatch } from '../../report/session-watch.js';
import type { ReaderActivity, ReaderListenerView } from '../../report/reader-activity.js';
import type { Logger } from '../../core/log.js';
import type { Store } from '../../spool/store.js';
import type { MigrationService } from '../../migration/service.js';
import type { AdminAuth } from '../auth/admin-auth.js';
import type { AdminDb } from '../auth/admin-db.js';
import type { EntraSignIn } from '../auth/entra-sign-in.js';
import { actorName, principalOf } from '../auth/guard.js';

export interface DestinationStatus {
  route: string;
  inflight: number;
  pausedUntil: number;
  failures: number;
  lastError?: string;
  /** Set while the upstream cannot take mail and its routes' messages go to the next upstream. */
  /** reasonJa: the reason in Japanese (the API answers it under localized when Japanese is asked for). */
  fallback?: { since: number; reason: string; reasonJa?: string };
}

export interface ApiDeps {
  auth: AdminAuth;
  db: AdminDb;
  store: Store;
  /** The running relay's configuration now (diagnostics and send-test need all of it; a reload replaces it). */
  config: () => Config;
  /** The scheduler's view of each upstream. */
  destinations: () => DestinationStatus[];
  /** Wakes the scheduler after a retry or release. */
  wake: () => void;
  /** Set the Secure attribute on the session cookie (admin listener on TLS or not on loopback). */
  secureCookies: boolean;
  sessionLifetimeMs: number;
  log: Logger;
  /** Sign-in with Entra ID, when admin.entraSignIn is configured. */
  entraSignIn?: EntraSignIn;
  /** The config file the relay runs on; absent while it runs on the embedded default (the first change then writes ./authrelay.yaml). */
  configFile: () => string | undefined;
  /** Where the first change made on the embedded default is written (./authrelay.yaml where the relay runs), and the text it starts from. */
  newConfigFile: { path: string; text: string };
  /** Reads the config file again and applies it (`file`: the first file written while on the embedded default). */
  reload: (by: string, file?: string) => Promise<ReloadResult>;
  /** The live view of SMTP sessions (devices' pages, `device watch`). */
  watch?: SessionWatch;
  /** The migration board and tenant scans (routes-migration.ts); absent: those routes answer 503. */
  migration?: MigrationService;
  /** The IMAP/POP3 listeners of legacy readers and what each device read lately (the devices page). */
  readers?: { activity: ReaderActivity; listeners: () => ReaderListenerView[] };
}

/** Writes one audit entry for the request's caller. */
export function audit(deps: ApiDeps, req: FastifyRequest, action: string, target: string | null,
  outcome: 'ok' | 'refused' = 'ok', detail?: Record<string, unknown>, actor?: string): void {
  const entry = { at: Date.now(), actor: actor ?? actorName(principalOf(req)), action, target, ip: req.ip, outcome, ...(detail ? { detail } : {}) };
  deps.db.audit(entry);
  deps.log.info({ event: 'admin-audit', actor: entry.actor, action, target, ip: req.ip, outcome }, `admin: ${entry.actor} ${action}${target ? ` ${target}` : ''} (${outcome})`);
}

/** Route config: who may call it. */
export const access = {
  public: { config: { access: 'public' } },
  read: { config: { access: 'read' } },
  admin: { config: { access: 'admin' } },
  session: { config: { access: 'session' } },
} as const;
