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
// A block is never written again once drawn, so the bytes handed out stay as they are.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** Takes `n` bytes of the pool (a new block when this one has too few left); returns where they start. */
function take(n: number): number {
  if (poolAt + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  poolAt += n;
  return poolAt - n;
}

function nextRandomByte(): number {
  return pool[take(1)]!;
}

/** `n` random bytes (at most 4,096) from the same pool. */
export function pooledRandomBytes(n: number): Buffer {
  const at = take(n);
  return pool.subarray(at, at + n);
}
