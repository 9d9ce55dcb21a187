/**
 * A map of per-key state that is dropped once it has expired, for state kept
 * about keys that outsiders choose (client addresses, user names, the
 * mailbox a device's From header names): without expiry every key ever seen
 * would stay.
 *
 * Every set() and sweep() looks at the next few entries of one cursor that
 * goes round the map in insertion order (a Map iterator stays valid while
 * the map changes and reaches the keys added after it was made): an expired
 * entry is dropped, a live one is left where it is. So the cost per call is
 * a small constant, never a walk over the whole map (nor over the holes that
 * deletions leave at its front), and each entry is looked at again after at
 * most size / perCall calls: with one new key per call the map holds at most
 * about perCall / (perCall - 1) times the live entries.
 *
 * A value read with get() may be swept by a later call once it looks expired:
 * a caller that holds one across an await writes it back with set().
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, V>();
  private cursor: Iterator<[K, V]> | undefined;

  /**
   * @param expired whether an entry may be dropped at `now` (nothing depends on it any more)
   * @param perCall entries looked at per set() or sweep()
   * @param onExpire told about each entry dropped because it expired
   */
  constructor(
    private readonly expired: (value: V, now: number) => boolean,
    private readonly perCall = 4,
    private readonly onExpire?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /**
   * Sweeps, then stores the value (so a new entry, not yet filled in by the
   * caller, is not the one swept away).
   */
  set(key: K, value: V, now: number): void {
    this.sweep(now);
    this.entries.set(key, value);
  }

  /** A copy of the entries (expired ones included until swept). */
  all(): [K, V][] {
    return [...this.entries];
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Looks at the next `perCall` entries: drops the expired ones. */
  sweep(now: number): void {
    for (let budget = Math.min(this.perCall, this.entries.size); budget > 0; budget--) {
      let next = this.cursor?.next();
      if (!next || next.done) {
        // Round again from the oldest entry (an iterator that has ended stays ended).
        this.cursor = this.entries.entries();
        next = this.cursor.next();
        if (next.done) return;
      }
      const [key, value] = next.value;
      if (!this.expired(value, now)) continue;
      this.entries.delete(key);
      this.onExpire?.(key, value);
    }
  }

  clear(): void {
    this.entries.clear();
    this.cursor = undefined;
  }
}
