/**
 * Password checks the proxy did lately (Dovecot's auth cache). A legacy
 * reader polls every few minutes with the same password, often on several
 * connections at once, and each scrypt check costs 16 MB and tens of
 * milliseconds. A successful check is remembered for ttlMs as an HMAC of
 * (device, hash, password) under a key that lives only in this process,
 * and checks of the same password that run at the same time share one
 * scrypt. Failures are never remembered: a wrong password always pays the
 * full check (and counts in the lockout). A changed password hash misses.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface Remembered {
  digest: Buffer;
  until: number;
}

export class PasswordCheckCache {
  private readonly key = randomBytes(32);
  private readonly good = new Map<string, Remembered>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly ttlMs: number,
    private readonly verify: (password: string, hash: string) => Promise<boolean>,
    private readonly maxEntries = 10_000,
  ) {}

  async check(device: string, password: string, hash: string): Promise<boolean> {
    const digest = createHmac('sha256', this.key).update(`${device}\0${hash}\0`).update(password, 'utf8').digest();
    const now = Date.now();
    const hit = this.good.get(device);
    if (hit && hit.until > now && timingSafeEqual(hit.digest, digest)) return true;
    const id = digest.toString('base64');
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.verify(password, hash).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    const ok = await pending;
    if (ok && this.ttlMs > 0) {
      this.good.delete(device);
      if (this.good.size >= this.maxEntries) this.good.delete(this.good.keys().next().value!);
      this.good.set(device, { digest, until: Date.now() + this.ttlMs });
    }
    return ok;
  }
}
