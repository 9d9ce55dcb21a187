/**
 * What an SMTP session works under, taken from the relay's current
 * configuration snapshot when it connects and kept until it ends: a reload
 * in the middle of a session changes nothing for it.
 */
import type { RouteAssignment } from '../spool/store.js';
import type { SessionPolicy } from './policy.js';

export interface ReceiveSnapshot {
  /** The configuration version, recorded with every message accepted under it. */
  readonly version: string;
  /** Name in the greeting and the Received field. */
  readonly hostname: string;
  readonly policy: SessionPolicy;
  readonly maxLifetimeMs: number;
  /** Chooses upstreams at acceptance (the route stage's pure function), so a message is stored routed in the same commit. */
  readonly router?: (input: { device: string; sender: string; recipients: string[] }) => RouteAssignment[];
}
