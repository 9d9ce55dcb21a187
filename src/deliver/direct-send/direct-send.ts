/**
 * The direct-send transport: anonymous SMTP on port 25 to the tenant's own
 * MX host (`*.mail.protection.outlook.com`), the way a printer would use
 * Microsoft 365 Direct Send. No AUTH; STARTTLS whenever offered (required
 * with `requireTls`), the certificate checked against the MX host name; the
 * stored bytes and the envelope go out unchanged.
 *
 * Direct Send reaches only mailboxes in the tenant's accepted domains, so
 * recipients outside `acceptedDomains` (default: `domain`; exact domain
 * match, subdomains must be listed) fail with category `not-internal`
 * before any connection is made. Replies (550 5.7.68 RejectDirectSend,
 * 5.7.64 TenantAttribution, 451 4.7.5xx...) are explained by the Microsoft
 * error catalogue. The SPF / RejectDirectSend warnings are logged at start.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { rootCertificates } from 'node:tls';
import type { DirectSendUpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { DeliveryOutcome, RecipientOutcome } from '../../core/outcome.js';
import { interrupted, untilAborted } from '../body-transfer.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { outcomeForError } from '../smtp-oauth/replies.js';
import { SmtpSession, type SmtpErrorLike } from '../smtp-oauth/smtp-session.js';
import { transfer } from '../smtp-oauth/transfer.js';
import { isMicrosoftMx, MxLookup, type MxTarget } from './mx.js';
import { acceptedDomainsOf, directSendWarnings, domainOf, foreignMxWarning, notInternal } from './warnings.js';

export interface DirectSendDeps {
  log: Logger;
  /** EHLO name when the upstream sets no helo: the relay's host name (default: the system's). */
  hostname?: string;
  /** Clock for the MX cache (tests). */
  now?: () => number;
}

export class DirectSendTransport implements Transport {
  readonly type = 'direct-send';
  readonly concurrency: number;
  readonly acceptedDomains: string[];
  private readonly mx: MxLookup;
  private readonly ca: string[] | undefined;
  private warnedHost: string | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: DirectSendUpstreamConfig,
    private readonly deps: DirectSendDeps,
  ) {
    this.concurrency = cfg.concurrency;
    this.acceptedDomains = acceptedDomainsOf(cfg);
    this.mx = new MxLookup({ domain: cfg.domain, ...(cfg.mx ? { mx: cfg.mx } : {}), ...(cfg.dnsServers ? { dnsServers: cfg.dnsServers } : {}) }, deps.now);
    this.ca = cfg.ca ? [...rootCertificates, readFileSync(cfg.ca, 'utf8')] : undefined;
    for (const warning of directSendWarnings(cfg)) deps.log.warn({ upstream: name }, warning);
  }

  /** Direct Send reaches the tenant's accepted domains only (as a fallback it takes those, the rest waits). */
  accepts(recipient: string): boolean {
    return this.acceptedDomains.includes(domainOf(recipient));
  }

  /** DNS lookups made so far (the MX cache's effect shows here). */
  get lookups(): number {
    return this.mx.lookups;
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    const internal = message.recipients.filter((r) => this.acceptedDomains.includes(domainOf(r)));
    const outcomes = new Map<string, DeliveryOutcome>();
    for (const r of message.recipients) if (!internal.includes(r)) outcomes.set(r, notInternal(r, this.acceptedDomains));
    if (outcomes.size) ctx.trace?.('recipients', { outsideAcceptedDomains: [...outcomes.keys()], acceptedDomains: this.acceptedDomains });
    const done = () => message.recipients.map((recipient) => ({ recipient, outcome: outcomes.get(recipient)! }));
    if (internal.length === 0) return done();
    const all = (o: DeliveryOutcome) => {
      for (const r of internal) outcomes.set(r, o);
      return done();
    };
    if (ctx.signal.aborted) return all(interrupted(false));

    let target: MxTarget;
    try {
      target = await untilAborted(this.mx.resolve(), ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return all(interrupted(false));
      return all(dnsFailure(this.cfg, err as NodeJS.ErrnoException));
    }
    ctx.trace?.('mx', { host: target.host, address: target.address, source: target.source, ...(target.exchanges ? { exchanges: target.exchanges } : {}) });
    if (target.source === 'mx' && !isMicrosoftMx(target.host) && this.warnedHost !== target.host) {
      this.warnedHost = target.host;
      this.deps.log.warn({ upstream: this.name, mx: target.host }, foreignMxWarning(this.cfg.domain, target.host));
    }

    let session: SmtpSession;
    try {
      session = await SmtpSession.openUnlessAborted({
        host: target.address,
        port: target.port ?? this.cfg.port,
        ...(target.address !== target.host ? { servername: target.host } : {}),
        requireTLS: this.cfg.requireTls,
        tls: { minVersion: 'TLSv1.2', rejectUnauthorized: this.cfg.rejectUnauthorized, ...(this.ca ? { ca: this.ca } : {}) },
        name: this.cfg.helo ?? this.deps.hostname ?? hostname(),
        connectTimeoutMs: this.cfg.connectTimeout,
        socketTimeoutMs: this.cfg.timeout,
      }, ctx.signal, ctx.trace);
    } catch (err) {
      if (ctx.signal.aborted) return all(interrupted(false));
      return all(outcomeForError(err as SmtpErrorLike, false, { upstream: this.name }));
    }
    const result = await transfer(session, { ...message, recipients: internal }, ctx, { upstream: this.name });
    if (result.reusable) session.quit();
    for (const { recipient, outcome } of result.outcomes) outcomes.set(recipient, outcome);
    return done();
  }

  async close(): Promise<void> {}
}

function dnsFailure(cfg: DirectSendUpstreamConfig, err: NodeJS.ErrnoException): DeliveryOutcome {
  const what = cfg.mx ? `the address of ${cfg.mx}` : `the MX host of ${cfg.domain}`;
  return {
    action: 'retry', scope: 'destination', category: 'dns',
    response: `DNS lookup of ${what} failed: ${err.code ?? err.message}`,
    hint: `The relay could not find ${what}; it pauses this route and tries again.`,
    fix: cfg.mx
      ? 'Check that mx names a host that resolves, or give its address.'
      : `Check the domain and the DNS servers (dnsServers); the MX record of ${cfg.domain} should point to <domain-with-dashes>.mail.protection.outlook.com.`,
  };
}
