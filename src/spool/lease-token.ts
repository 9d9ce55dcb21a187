/**
 * Lease tokens: each claim gives the messages it takes a token of its own, so
 * that a lease can be told apart from a later one of the same owner (the same
 * node claiming a message again after its lease ran out, or a node restarted
 * under the same name). Random per process, then a counter: cheap, and unique
 * across processes and restarts.
 */
import { randomBytes } from 'node:crypto';

const prefix = randomBytes(9).toString('base64url');
let counter = 0;

export function newLeaseToken(): string {
  return `${prefix}.${(++counter).toString(36)}`;
}
