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

export type WatchEventKind = 'connect' | 'tls' | 'tls-failed' | 'command' | 'reply' | 'auth' | 'accepted' | 'refused' | 'close';

/** One thing an SMTP session did, for the live view of a device's sessions (report/session-watch.ts). */
export interface WatchEvent {
  at: number;
  session: string;
  kind: WatchEventKind;
  /** One line saying what happened (never a password). */
  text: string;
  /** For refusals and failures: the explanation's name (receive/explain.ts), what it means and what to do. */
  ref?: string;
  reason?: string;
  fix?: string;
  /** text, reason and fix in Japanese (the console and the CLI show the one in their language); text only where it is the relay's own words (core/watch-texts.ts). */
  ja?: { text?: string; reason?: string; fix?: string };
  code?: number;
  data?: Record<string, unknown>;
}

/** What the receive stage tells the watch of sessions as they happen. Never throws. */
export interface SessionWatchSink {
  /** A session began; device when the address is a device's trusted network. */
  begin(session: string, clientIp: string, listener: string, device: string | undefined, at: number): void;
  /** The session turned out to be this device's (its user name at AUTH). */
  identify(session: string, device: string): void;
  event(session: string, e: Omit<WatchEvent, 'session'>): void;
  end(session: string, at: number): void;
}

/**
 * Receive telemetry for the first moments of a start: the listeners accept
 * before the metrics (prom-client) are loaded, so what happens meanwhile is
 * kept and passed on once the metrics are attached.
 */
export class DeferredTelemetry implements ReceiveTelemetry {
  private target: ReceiveTelemetry | undefined;
  private held: ((t: ReceiveTelemetry) => void)[] = [];

  attach(target: ReceiveTelemetry): void {
    this.target = target;
    for (const f of this.held) f(target);
    this.held = [];
  }

  private pass(f: (t: ReceiveTelemetry) => void): void {
    if (this.target) f(this.target);
    else if (this.held.length < 10_000) this.held.push(f);
  }

  tlsEstablished(listener: string, tlsVersion: string): void {
    this.pass((t) => t.tlsEstablished(listener, tlsVersion));
  }

  messageAccepted(listener: string, tlsVersion: string | undefined): void {
    this.pass((t) => t.messageAccepted(listener, tlsVersion));
  }

  authFailure(listener: string, mechanism: string, lockedOut: boolean): void {
    this.pass((t) => t.authFailure(listener, mechanism, lockedOut));
  }

  refused(listener: string, code: number): void {
    this.pass((t) => t.refused(listener, code));
  }
}

/** Telemetry that records nothing (tools and tests that do not look at metrics). */
export const noTelemetry: Telemetry = {
  tlsEstablished: () => undefined,
  messageAccepted: () => undefined,
  authFailure: () => undefined,
  refused: () => undefined,
  attempt: () => undefined,
};
