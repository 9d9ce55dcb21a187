/**
 * Items gathered during one turn of the event loop and handed over together at its end (one IPC
 * message, one transaction), instead of one by one. `flush()` hands over what is gathered at once.
 */
export class TurnBatch<T> {
  private items: T[] = [];

  constructor(private readonly deliver: (items: T[]) => void) {}

  /** Items gathered and not handed over yet. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length === 1) setImmediate(() => this.flush());
  }

  flush(): void {
    if (!this.items.length) return;
    const items = this.items;
    this.items = [];
    this.deliver(items);
  }
}
