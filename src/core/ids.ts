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
  let s = '';
  for (let i = 0; i < 7; i++) s += ALPHABET[nextRandomByte() % 32]!;
  return t + s;
}

// Random bytes are drawn in blocks: one call to the system per 4,096 bytes instead of one per id.
let pool = Buffer.alloc(0);
let poolAt = 0;
function nextRandomByte(): number {
  if (poolAt >= pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/** `n` random bytes (at most 4,096) from the same pool, to be used at once (the pool's memory is reused). */
export function pooledRandomBytes(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}
