/**
 * What the /api/v1 routes are given by the composition root, and the audit
 * helper every state-changing route calls once.
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Store } from '../../spool/store.js';
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
}

export interface ApiDeps {
  auth: AdminAuth;
  db: AdminDb;
  store: Store;
  /** The running relay's validated configuration (diagnostics and send-test need all of it). */
  config: Config;
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
  /** The config file the relay was started with; absent when it runs on the embedded default (device edits are then refused). */
  configFile?: string;
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
