/**
 * The transports across configuration versions. A reload builds the next set
 * from the new upstreams: an upstream whose settings did not change keeps its
 * transport (its connections, pacing and token cache); a new or changed one
 * gets a new transport. A transport that is no longer in the current set is
 * closed once its last delivery has ended.
 */
import type { Config, UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { createTransport, type TransportDeps } from '../deliver/factory.js';
import type { Transport } from '../deliver/transport.js';
import { CAPTURE_ROUTE } from '../config/capture-route.js';
import { relayHostname } from '../spool/names.js';

interface Held {
  key: string;
  transport: Transport;
}

export interface TransportPlan {
  transports: Map<string, Transport>;
  /** Upstreams made anew, changed or removed (for the log). */
  changes: { added: string[]; changed: string[]; removed: string[] };
  commit(): void;
  /** Closes the transports made for a reload that was refused. */
  abort(): Promise<void>;
}

export class TransportRegistry {
  private current = new Map<string, Held>();
  private readonly retired = new Set<Transport>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: TransportDeps,
    /** Wraps each new transport (metrics). */
    private readonly wrap: (name: string, t: Transport) => Transport,
    /** Whether a delivery still runs through a transport (the scheduler knows). */
    private readonly inUse: (t: Transport) => boolean,
    private readonly log: Logger,
  ) {}

  async plan(config: Config): Promise<TransportPlan> {
    const upstreams: [string, UpstreamConfig][] = Object.entries(config.upstreams);
    if (!config.upstreams[CAPTURE_ROUTE]) upstreams.push([CAPTURE_ROUTE, { type: 'capture' }]);
    const next = new Map<string, Held>();
    const made: Transport[] = [];
    const changes = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    try {
      // The relay's host name is the EHLO name of the SMTP transports: part of what makes a transport.
      const hostname = relayHostname(config);
      for (const [name, cfg] of upstreams) {
        // Opens mailboxes for the IMAP/POP3 listeners (src/proxy/); not a delivery transport.
        if (cfg.type === 'exchange-mailbox') continue;
        const key = `${JSON.stringify(cfg)}|${hostname}`;
        const old = this.current.get(name);
        if (old?.key === key) {
          next.set(name, old);
          continue;
        }
        const transport = this.wrap(name, await createTransport(name, cfg, { ...this.deps, hostname }));
        made.push(transport);
        next.set(name, { key, transport });
        (old ? changes.changed : changes.added).push(name);
      }
    } catch (err) {
      await Promise.allSettled(made.map((t) => t.close()));
      throw err;
    }
    for (const name of this.current.keys()) if (!next.has(name)) changes.removed.push(name);
    return {
      transports: new Map([...next].map(([n, h]) => [n, h.transport])),
      changes,
      commit: () => {
        const kept = new Set([...next.values()].map((h) => h.transport));
        for (const h of this.current.values()) if (!kept.has(h.transport)) this.retire(h.transport);
        this.current = next;
      },
      abort: async () => {
        await Promise.allSettled(made.map((t) => t.close()));
      },
    };
  }

  /** Closes a replaced transport as soon as no delivery uses it. */
  private retire(t: Transport): void {
    this.retired.add(t);
    this.sweep();
  }

  private sweep(): void {
    for (const t of this.retired) {
      if (this.inUse(t)) continue;
      this.retired.delete(t);
      t.close().catch((err: unknown) => this.log.warn({ event: 'transport-close-failed', upstream: t.name, err: (err as Error).message }, `could not close the replaced transport of ${t.name}: ${(err as Error).message}`));
    }
    if (this.retired.size && !this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), 1_000);
      this.sweeper.unref();
    } else if (!this.retired.size && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Closes every transport (the relay stops). */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const all = new Set([...[...this.current.values()].map((h) => h.transport), ...this.retired]);
    this.retired.clear();
    for (const t of all) await t.close();
  }
}
