/**
 * Slow-loris defence: a line must arrive whole within the socket timeout.
 *
 * smtp-server's socketTimeout is an idle timeout: every byte restarts it, so
 * a client that trickles a byte every few seconds and never ends its line
 * would hold its connection (and a maxClients slot) for ever. As Postfix's
 * smtpd_per_record_deadline does, the time runs from the first byte of a
 * line instead: a command line, or inside DATA each 1000 bytes of content
 * (RFC 5321's line length, so that a fast sender of over-long lines is never
 * cut), must be complete within socketTimeout. Time the client spends waiting
 * for the relay (a command being handled, a message being stored) does not
 * count.
 */
const DATA_RECORD = 1000;

export class LineDeadline {
  /** When the line that is not complete yet began; undefined between lines. */
  private since: number | undefined;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    /** True while the client is waiting for the relay's answer. */
    private readonly waitingForUs: () => boolean,
    /** Called once when a line took too long. */
    private readonly expired: () => void,
  ) {}

  /** Input as the command parser gets it; dataMode: the bytes are message content. */
  observe(chunk: Buffer, dataMode: boolean): void {
    if (this.stopped || chunk.length === 0) return;
    const lf = chunk.lastIndexOf(0x0a);
    if (lf !== -1) {
      this.bytes = chunk.length - lf - 1;
      this.since = this.bytes > 0 ? Date.now() : undefined;
    } else {
      this.since ??= Date.now();
      this.bytes += chunk.length;
      if (dataMode && this.bytes >= DATA_RECORD) {
        this.since = Date.now();
        this.bytes = 0;
      }
    }
    if (this.since !== undefined && !this.timer) this.arm(this.timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.stopped || this.since === undefined) return;
    const now = Date.now();
    if (this.waitingForUs()) {
      this.since = now;
      this.arm(this.timeoutMs);
      return;
    }
    const left = this.since + this.timeoutMs - now;
    if (left > 0) {
      this.arm(left);
      return;
    }
    this.stop();
    this.expired();
  }
}
