/**
 * What the stages tell the report stage as things happen: counts and
 * timings only, never message content or secrets. The stages call these
 * hooks; the composition root passes an implementation (the Prometheus
 * registry in report/metrics.ts), so no stage imports a face or the report
 * stage. Every hook is cheap and never throws.
 */

/** Receive-side events (src/receive/). */
export interface ReceiveTelemetry {
  /** A TLS session was set up on a listener (STARTTLS or implicit TLS). */
  tlsEstablished(listener: string, tlsVersion: string): void;
  /** A message was accepted (answered 250). tlsVersion is undefined for a plain session. */
  messageAccepted(listener: string, tlsVersion: string | undefined): void;
  /** A login failed; lockedOut when the answer was the lockout's 421. */
  authFailure(listener: string, mechanism: string, lockedOut: boolean): void;
  /** A command was refused with this SMTP reply code. */
  refused(listener: string, code: number): void;
}

/** The answer of one delivery attempt, per recipient. */
export interface AttemptReport {
  route: string;
  /** Upstream type (smtp, graph, smtp-oauth, direct-send, capture). */
  type: string;
  durationMs: number;
  outcomes: { action: string; category: string; code?: number }[];
}

/** Deliver-side events, reported around the transports by the composition root. */
export interface DeliveryTelemetry {
  attempt(report: AttemptReport): void;
}

export type Telemetry = ReceiveTelemetry & DeliveryTelemetry;

/** Telemetry that records nothing (tools and tests that do not look at metrics). */
export const noTelemetry: Telemetry = {
  tlsEstablished: () => undefined,
  messageAccepted: () => undefined,
  authFailure: () => undefined,
  refused: () => undefined,
  attempt: () => undefined,
};
