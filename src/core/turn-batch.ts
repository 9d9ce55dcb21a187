/**
 * Items gathered during one turn of the event loop and handed over together at its end (one IPC
 * message, one transaction), instead of one by one. `flush()` hands over what is gathered at once.
 *
 * An item that can wait a little (`later`) does not end the batch by itself: it goes with the
 * next item that cannot wait, or once `laterMs` have passed, whichever comes first. A receive
 * worker sends its metrics, session-view events and log lines this way; with one message at a
 * time each SMTP command was an IPC message of its own that woke the main process (docs/architecture.md,
 * "Receive on every core").
 */
export class TurnBatch<T> {
  private items: T[] = [];
  /** A hand-over at the end of this turn is due. */
  private turn = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deliver: (items: T[]) => void,
    private readonly laterMs = 0,
  ) {}

  /** Items gathered and not handed over yet. */
  get size(): number {
    return this.items.length;
  }

  /** Handed over at the end of this turn (with everything gathered before it). */
  push(item: T): void {
    this.items.push(item);
    if (this.turn) return;
    this.turn = true;
    setImmediate(() => {
      this.turn = false;
      this.flush();
    });
  }

  /** Handed over with the next `push`, or within `laterMs`. */
  later(item: T): void {
    this.items.push(item);
    if (this.turn || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.laterMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.items.length) return;
    const items = this.items;
    this.items = [];
    this.deliver(items);
  }
}
