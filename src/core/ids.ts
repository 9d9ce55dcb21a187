/** Queue ids: sortable by time, unique across nodes, safe as file names. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newMessageId(now = Date.now()): string {
  let t = '';
  let n = now;
  for (let i = 0; i < 9; i++) {
    t = ALPHABET[n % 32]! + t;
    n = Math.floor(n / 32);
  }
  const r = randomBytes(7);
  let s = '';
  for (const b of r) s += ALPHABET[b % 32]!;
  return t + s;
}
