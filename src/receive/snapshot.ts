/**
 * What an SMTP session works under, taken from the relay's current
 * configuration snapshot when it connects and kept until it ends: a reload
 * in the middle of a session changes nothing for it.
 */
export type { ReceiveSnapshot } from './policy.js';
