/**
 * Measures delivery attempts around the transports: the composition root
 * wraps each Transport so that every attempt's duration and per-recipient
 * answers reach the Telemetry hooks, without the deliver stage knowing of
 * metrics. The wrapped transport behaves exactly like the original. A
 * transport that reports the clean-up of its Graph drafts
 * (observeDraftCleanups) is connected to the draftCleanup hook here too, and
 * one that reports Sent Items clean-ups (observeSentItemsCleanups, graph and
 * smtp-oauth with sentItems: delete) to the sentItemsCleanup hook.
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

  accepts(recipient: string): boolean {
    return this.inner.accepts ? this.inner.accepts(recipient) : true;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Counts the clean-up of Graph drafts (RelayMetrics.draftCleanup). */
export interface DraftCleanupTelemetry {
  draftCleanup(route: string, result: string): void;
}

interface ReportsDraftCleanups {
  observeDraftCleanups(fn: (result: string) => void): void;
}

function reportsDraftCleanups(t: Transport): t is Transport & ReportsDraftCleanups {
  return typeof (t as Partial<ReportsDraftCleanups>).observeDraftCleanups === 'function';
}

/** Counts the Sent Items clean-ups (RelayMetrics.sentItemsCleanup). */
export interface SentItemsCleanupTelemetry {
  sentItemsCleanup(route: string, result: string): void;
}

interface ReportsSentItemsCleanups {
  observeSentItemsCleanups(fn: (result: string) => void): void;
}

function reportsSentItemsCleanups(t: Transport): t is Transport & ReportsSentItemsCleanups {
  return typeof (t as Partial<ReportsSentItemsCleanups>).observeSentItemsCleanups === 'function';
}

type CleanupTelemetry = Partial<DraftCleanupTelemetry> & Partial<SentItemsCleanupTelemetry>;

/** The same transport, reporting its attempts (and its draft and Sent Items clean-ups) to telemetry. */
export function measureTransport(name: string, t: Transport, telemetry: DeliveryTelemetry & CleanupTelemetry): Transport {
  const count = telemetry.draftCleanup?.bind(telemetry);
  if (count && reportsDraftCleanups(t)) t.observeDraftCleanups((result) => count(name, result));
  const sent = telemetry.sentItemsCleanup?.bind(telemetry);
  if (sent && reportsSentItemsCleanups(t)) t.observeSentItemsCleanups((result) => sent(name, result));
  return new MeasuredTransport(t, telemetry);
}

/** measureTransport for every transport of a map. */
export function measureTransports(transports: ReadonlyMap<string, Transport>, telemetry: DeliveryTelemetry & CleanupTelemetry): Map<string, Transport> {
  return new Map([...transports].map(([name, t]) => [name, measureTransport(name, t, telemetry)]));
}
