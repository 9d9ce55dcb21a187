/**
 * Measures delivery attempts around the transports: the composition root
 * wraps each Transport so that every attempt's duration and per-recipient
 * answers reach the Telemetry hooks, without the deliver stage knowing of
 * metrics. The wrapped transport behaves exactly like the original.
 */
import { performance } from 'node:perf_hooks';
import type { DeliveryTelemetry } from '../core/telemetry.js';
import type { RecipientOutcome } from '../core/outcome.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../deliver/transport.js';

class MeasuredTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly telemetry: DeliveryTelemetry,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get type(): string {
    return this.inner.type;
  }

  get concurrency(): number {
    return this.inner.concurrency;
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    const started = performance.now();
    let outcomes: { action: string; category: string; code?: number }[] = message.recipients.map(() => ({ action: 'retry', category: 'error' }));
    try {
      const result = await this.inner.deliver(message, ctx);
      outcomes = result.map(({ outcome: o }) => ({ action: o.action, category: o.category, ...(o.code !== undefined ? { code: o.code } : {}) }));
      return result;
    } finally {
      try {
        this.telemetry.attempt({ route: this.inner.name, type: this.inner.type, durationMs: performance.now() - started, outcomes });
      } catch {
        // Metrics never disturb a delivery.
      }
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The same transports, each reporting its attempts to telemetry. */
export function measureTransports(transports: ReadonlyMap<string, Transport>, telemetry: DeliveryTelemetry): Map<string, Transport> {
  return new Map([...transports].map(([name, t]) => [name, new MeasuredTransport(t, telemetry)]));
}
