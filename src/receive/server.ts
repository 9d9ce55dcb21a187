/**
 * The receive stage: an smtp-server per listener, with device policy in its
 * callbacks. smtp-server does the protocol, adapted in relay-smtp-server.ts
 * (greeting pause, enhanced status codes, per-line deadline, PROXY protocol
 * from trusted balancers, TCP_NODELAY); the listening sockets are kept in
 * listener-set.ts, so a reload can change a listener without closing it.
 *
 * Every session takes the relay's current configuration snapshot when it
 * connects (devices, limits, routes: receive/snapshot.ts) and keeps it to its
 * end; the trail records the version each message was accepted under.
 *
 * drain() is the graceful stop: no new connections; a session answers the
 * message in progress, then gets 421 and is closed; at the deadline every
 * session left gets 421.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { Server } from 'node:net';
import { type SMTPServerOptions, type SMTPServerSession, type SMTPServerAuthentication, type SMTPServerAddress } from 'smtp-server';
import type { ListenerConfig } from '../config/schema.js';
import { announcer, type Logger } from '../core/log.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import type { ReceiveStore } from '../spool/store.js';
import { listenerTlsOptions, type CertificatePair } from './tls.js';
import { ingest, type IngestContext } from './ingest.js';
import type { ConnectionState } from './policy.js';
import type { ReceiveSnapshot } from './snapshot.js';
import type { ReceiveTelemetry, SessionWatchSink } from '../core/telemetry.js';
import { explainAuthBeforeTls, explainReply, explainTlsFailure, tlsReason, type ExplainContext } from './explain.js';
import { parseCidr, type Cidr } from '../core/net.js';
import { settlesWithin } from '../core/settle.js';
import { RelaySmtpServer } from './relay-smtp-server.js';
import { ListenerSet, listenerName, type BoundListener, type ListenerPlan, type NamedListener } from './listener-set.js';
import { NO_PART, watchText } from '../core/watch-texts.js';

export type { BoundListener } from './listener-set.js';

export interface ReceiveDeps {
  store: ReceiveStore;
  log: Logger;
  /** The configuration snapshot a new session starts under. */
  current: () => ReceiveSnapshot;
  /** A message is durable; `routed`: stored with its route(s), so nothing waits to be routed. */
  onAccepted: (id: string, routed: boolean) => void;
  /** An SMTP session opened here (the main process then decides whether its receive workers accept too). */
  sessionOpened?: () => void;
  /** Told of TLS sessions, accepted messages, failed logins and refusals (metrics). */
  telemetry?: ReceiveTelemetry;
  /** The live view of sessions (`authrelay device watch`, the console). */
  watch?: SessionWatchSink;
  /** In a receive worker process: the listening socket the main process bound for a listener (else the stage binds its own). */
  adopt?: (l: NamedListener) => Server;
}

/** What the listeners of one configuration version are made of. */
export interface ListenerSettings {
  listeners: readonly ListenerConfig[];
  hostname: string;
  /** The default certificate (tls.cert/tls.key or the self-signed one); not needed when every listener is plain (tls: none). */
  certificate?: CertificatePair | undefined;
}

/** The listener's own certificate (cert and key) when it has one, else the default; none for a plain listener. */
function listenerCertificate(l: ListenerConfig, fallback: CertificatePair | undefined): CertificatePair | undefined {
  if (l.tls === 'none') return undefined;
  if (!l.cert || !l.key) {
    if (!fallback) throw new Error(`listener ${l.name ?? l.port}: TLS needs a certificate, and none was given`);
    return fallback;
  }
  return { cert: readFileSync(l.cert, 'utf8'), key: readFileSync(l.key, 'utf8'), source: l.cert };
}

export interface DrainResult {
  /** Sessions open when the drain began. */
  sessions: number;
  /** Sessions still open at the deadline, closed with 421 (a message in progress there is not accepted; the client sends it again). */
  cutOff: number;
}

export class ReceiveStage {
  private readonly listenerSet: ListenerSet;
  private readonly connections = new Map<string, ConnectionState>();
  /** Messages being stored (DATA handlers that have not answered yet). */
  private readonly ingesting = new Set<Promise<void>>();
  private drained = false;

  constructor(private readonly deps: ReceiveDeps) {
    this.listenerSet = new ListenerSet(deps.log, deps.adopt);
  }

  /** A listener's listening socket (passed on to the receive workers). */
  socketOf(name: string): Server | undefined {
    return this.listenerSet.socketOf(name);
  }

  /** SMTP sessions open now. */
  openSessions(): number {
    return this.listenerSet.openSessions();
  }

  /** In a receive worker: accept on a listening socket passed again (see ListenerSet.acceptOn). */
  acceptOn(name: string, socket: Server): boolean {
    return this.listenerSet.acceptOn(name, socket);
  }

  /** In a receive worker: stop accepting; sessions go on (see ListenerSet.stopAccepting). */
  stopAccepting(): void {
    this.listenerSet.stopAccepting();
  }

  /** The listeners as bound now. */
  get bound(): BoundListener[] {
    return this.listenerSet.bound;
  }

  /** Binds the listeners of the first configuration (throws ListenError, with the fix, when a port cannot be bound). */
  async listen(settings: ListenerSettings): Promise<BoundListener[]> {
    const plan = await this.plan(settings);
    plan.commit();
    this.announce(this.bound.map((b) => b.name), settings);
    return this.bound;
  }

  /**
   * The listeners of the next configuration, bound but not yet in effect: a
   * listener whose settings are unchanged keeps its server and sessions; a
   * changed one gets a new server on the same socket; a new one is bound now.
   */
  async plan(settings: ListenerSettings): Promise<ListenerPlan & { announce(): void }> {
    const named = settings.listeners.map((l, i) => ({ ...l, name: listenerName(l, i) }));
    const pairs = new Map(named.map((l) => [l.name, listenerCertificate(l, settings.certificate)]));
    const plan = await this.listenerSet.plan(
      named.map((l) => {
        const pair = pairs.get(l.name);
        const certHash = pair ? createHash('sha256').update(pair.cert).update(pair.key).digest('hex') : 'plain';
        return { listener: l, fingerprint: `${JSON.stringify(l)}|${settings.hostname}|${certHash}` };
      }),
      (l) => this.createServer(l, settings.hostname, pairs.get(l.name)),
    );
    const commit = plan.commit.bind(plan);
    let changes: { added: string[]; changed: string[]; removed: string[] } | undefined;
    return Object.assign(plan, {
      commit: () => (changes = commit()),
      announce: () => {
        if (changes) this.announce([...changes.added, ...changes.changed], settings);
      },
    });
  }

  private announce(names: string[], settings: ListenerSettings): void {
    for (const b of this.bound.filter((x) => names.includes(x.name))) {
      const l = settings.listeners.find((x, i) => listenerName(x, i) === b.name)!;
      // Info, shown at every log level: supervisors and scripts wait for this line.
      announcer(this.deps.log).info(
        {
          event: 'listening', listener: b.name, host: l.host, port: b.port, tls: l.tls, minTlsVersion: l.minTlsVersion, requireAuth: l.requireAuth,
          ...(l.proxyProtocol ? { proxyProtocol: true, trustedProxies: l.trustedProxies } : {}),
        },
        `listening for SMTP on ${l.host}:${b.port} (${l.tls === 'implicit' ? 'implicit TLS' : l.tls === 'starttls' ? 'STARTTLS' : 'no TLS'}, TLS ${l.minTlsVersion} or newer` +
        `${l.proxyProtocol ? `; PROXY protocol from ${l.trustedProxies.join(', ')} only` : ''})`,
      );
      const everyone = l.trustedProxies.filter((c) => parseCidr(c)?.range[1] === 0);
      if (l.proxyProtocol && everyone.length) {
        this.deps.log.warn({ event: 'proxy-trust-all', listener: b.name, trustedProxies: everyone },
          `listener ${b.name} trusts PROXY headers from every address (${everyone.join(', ')}): any client that reaches the port can claim any source address, and so a device's trusted network. List only the load balancers' addresses`);
      }
    }
  }

  /** Closes the listening sockets (a start that failed after binding). */
  async close(): Promise<void> {
    if (this.drained) return;
    this.listenerSet.close();
  }

  /**
   * The graceful stop. The listening sockets close at once (new connections
   * are refused) and connections still before their session (PROXY header,
   * TLS handshake) are dropped. A session without a message in progress gets
   * `421 4.3.2` and is closed; a session with one finishes it (the client gets
   * its 250, or its refusal) and is then closed the same way. Sessions still
   * open at the deadline get 421 at once. Resolves when every session is gone
   * and every message being stored has been answered.
   */
  async drain(deadline: number): Promise<DrainResult> {
    this.drained = true;
    const result = await this.listenerSet.drain(deadline);
    await settlesWithin(Promise.allSettled([...this.ingesting]), 10_000);
    return result;
  }

  private createServer(l: NamedListener, hostname: string, certificate: CertificatePair | undefined): RelaySmtpServer {
    const plain = l.tls === 'none';
    const options: SMTPServerOptions = {
      name: hostname,
      // smtp-server greets with "220 <name> ESMTP <banner>".
      banner: 'authrelay ready',
      secure: l.tls === 'implicit',
      ...(certificate ? listenerTlsOptions(l, certificate) : {}),
      disabledCommands: plain ? (l.allowInsecureAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH']) : [],
      hideSTARTTLS: plain,
      hidePIPELINING: false,
      hide8BITMIME: false,
      hideSMTPUTF8: false,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      authMethods: l.authMethods,
      authOptional: true,
      allowInsecureAuth: l.allowInsecureAuth,
      size: l.maxMessageSize,
      maxClients: l.maxClients,
      socketTimeout: l.socketTimeout,
      closeTimeout: 5_000,
      disableReverseLookup: true,
      lenientAddressParsing: true,
      logger: false,
      onConnect: (session, cb) => this.onConnect(l, session, cb, server.proxiedBy.get(session.id)),
      onSecure: (socket, session, cb) => {
        const st = this.connections.get(session.id);
        if (st) st.tlsVersion = (socket as TLSSocket).getProtocol?.() ?? undefined;
        if (st?.tlsVersion) this.deps.telemetry?.tlsEstablished(l.name, st.tlsVersion);
        const cipher = (socket as TLSSocket).getCipher?.()?.name;
        const line = watchText('tls', { version: st?.tlsVersion ?? watchText('tls.unknownVersion'), cipher: cipher ? watchText('tls.cipher', { cipher }) : NO_PART });
        this.deps.watch?.event(session.id, { at: Date.now(), kind: 'tls', text: line.en, ja: { text: line.ja }, data: { tlsVersion: st?.tlsVersion, cipher } });
        cb();
      },
      onAuth: (auth, session, cb) => {
        this.onAuth(auth, session, cb).catch((err: unknown) => {
          this.deps.log.error({ event: 'auth-error', err }, 'could not check a login');
          cb(new SmtpReply(454, '4.7.0', 'Temporary authentication failure'));
        });
      },
      onMailFrom: (address, session, cb) => this.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => this.onRcptTo(address, session, cb),
      onData: (stream, session, cb) => {
        const p = this.onData(stream, session, cb).catch((err: unknown) => {
          this.deps.log.error({ event: 'data-error', err }, 'message transfer failed');
          cb(Replies.storeFailed());
        }).finally(() => this.ingesting.delete(p));
        this.ingesting.add(p);
      },
      onClose: (session) => {
        this.deps.watch?.end(session.id, Date.now());
        this.connections.delete(session.id);
        server.proxiedBy.delete(session.id);
      },
    };
    const server = new RelaySmtpServer(options);
    if (this.deps.watch) server.watch = this.serverWatch(l);
    // A connection's error (a failed TLS handshake, a reset) is logged; it never reaches the process.
    server.on('error', (err: Error) => this.deps.log.warn({ event: 'smtp-error', listener: l.name, err: err.message }, 'SMTP connection error'));
    server.greetingDelayMs = l.greetingDelay;
    if (l.proxyProtocol) {
      server.proxy = {
        trusted: l.trustedProxies.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== undefined),
        headerTimeoutMs: l.proxyHeaderTimeout,
        refused: (peer, reason, detail) => {
          // A load balancer's plain TCP health check connects and closes without a header: not worth a warning.
          const level = reason === 'closed' ? 'debug' : 'warn';
          this.deps.log[level]({ event: 'proxy-refused', listener: l.name, peer, reason, detail },
            reason === 'untrusted'
              ? `refused a connection from ${peer} on ${l.name}: only the trusted proxies (${l.trustedProxies.join(', ')}) may connect to a proxyProtocol listener`
              : `closed a connection from proxy ${peer} on ${l.name}: ${detail}`);
        },
      };
    }
    server.onRecipientRefused = (session, reply, recipient) => {
      const st = this.connections.get(session.id);
      if (st) this.refused(st, reply, { recipient });
    };
    return server;
  }

  private state(session: SMTPServerSession): ConnectionState {
    const st = this.connections.get(session.id);
    if (!st) throw new SmtpReply(421, '4.3.0', 'Session state lost; please reconnect');
    st.heloName = session.hostNameAppearsAs || st.heloName;
    st.esmtp = session.openingCommand === 'EHLO' || session.openingCommand === 'LHLO';
    return st;
  }

  private onConnect(l: NamedListener, session: SMTPServerSession, cb: (err?: Error | null) => void, proxiedBy?: string): void {
    const snapshot = this.deps.current();
    const st = snapshot.policy.open(session.id, snapshot, l, session.remoteAddress, proxiedBy);
    this.connections.set(session.id, st);
    this.deps.sessionOpened?.();
    const now = Date.now();
    this.deps.watch?.begin(session.id, st.clientIp, l.name, st.networkDevice?.name, now);
    const line = watchText('connect', {
      ip: st.clientIp, proxy: proxiedBy ? watchText('connect.proxy', { lb: proxiedBy }) : NO_PART, listener: l.name,
      mode: watchText(l.tls === 'implicit' ? 'connect.implicit' : l.tls === 'starttls' ? 'connect.starttls' : 'connect.none'),
      trusted: st.networkDevice ? watchText('connect.trusted', { device: st.networkDevice.name }) : NO_PART,
    });
    this.deps.watch?.event(session.id, { at: now, kind: 'connect', text: line.en, ja: { text: line.ja }, data: { clientIp: st.clientIp, listener: l.name } });
    if (proxiedBy) this.deps.log.debug({ event: 'proxied', listener: l.name, clientIp: st.clientIp, proxy: proxiedBy }, `session from ${st.clientIp} through proxy ${proxiedBy}`);
    const refusal = st.snapshot.policy.connectRefusal(st, Date.now());
    if (refusal) {
      this.deps.log.info({ event: 'connection-refused', listener: l.name, clientIp: st.clientIp, reason: 'locked-out' }, 'refused a locked-out address');
      this.deps.telemetry?.refused(l.name, refusal.code);
      return cb(refusal);
    }
    cb();
  }

  private async onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, res?: { user?: unknown }) => void): Promise<void> {
    const st = this.state(session);
    const result = await st.snapshot.policy.authenticate(st, auth.method, auth.username ?? '', auth.password ?? '', session.secure);
    if (result instanceof SmtpReply) {
      this.deps.log.warn({ event: 'auth-failed', listener: st.listener.name, clientIp: st.clientIp, username: auth.username, method: auth.method, reply: result.code },
        `authentication failed for ${JSON.stringify(auth.username ?? '')} from ${st.clientIp}${result.code === 421 ? ' (locked out)' : ''}`);
      this.deps.telemetry?.authFailure(st.listener.name, auth.method, result.code === 421);
      this.deps.telemetry?.refused(st.listener.name, result.code);
      if (st.networkDevice) this.recordRefusal(st.networkDevice.name, st.clientIp);
      this.watchAuth(st, session.id, auth.username ?? '', auth.method, result);
      return cb(result);
    }
    this.deps.watch?.identify(session.id, result.name);
    const line = watchText('auth.ok', { user: JSON.stringify(auth.username ?? ''), method: auth.method, device: result.name });
    this.deps.watch?.event(session.id, { at: Date.now(), kind: 'auth', text: line.en, ja: { text: line.ja }, data: { method: auth.method, ok: true } });
    this.deps.log.info({ event: 'auth', listener: st.listener.name, clientIp: st.clientIp, device: result.name, method: auth.method, tlsVersion: st.tlsVersion }, `device ${result.name} logged in`);
    cb(null, { user: result.name });
  }

  private onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.state(session);
    const size = Number(((address.args || {}) as Record<string, string>).SIZE ?? 0) || 0;
    st.snapshot.policy.mailFrom(st, address.address ?? '', size, session.secure, Date.now()).then((r) => {
      if (r instanceof SmtpReply) {
        this.refused(st, r, { sender: address.address });
        return cb(r);
      }
      cb();
    }, (err: unknown) => {
      this.deps.log.error({ event: 'mail-from-error', err }, 'could not check a sender');
      cb(new SmtpReply(451, '4.3.0', 'Temporary failure; please try again'));
    });
  }

  private onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.state(session);
    const r = st.snapshot.policy.rcptTo(st, address.address, session.envelope.rcptTo.length);
    if (r) {
      this.refused(st, r, { recipient: address.address });
      return cb(r);
    }
    cb();
  }

  private async onData(stream: NodeJS.ReadableStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): Promise<void> {
    const st = this.state(session);
    const txn = st.txn;
    if (!txn) {
      stream.resume();
      return cb(new SmtpReply(503, '5.5.1', 'No valid sender'));
    }
    const snap = st.snapshot;
    const ctx: IngestContext = {
      store: this.deps.store, policy: snap.policy, log: this.deps.log, hostname: snap.hostname, maxLifetimeMs: snap.maxLifetimeMs,
      configVersion: snap.version, onAccepted: this.deps.onAccepted, ...(snap.router ? { router: snap.router } : {}),
    };
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    try {
      const res = await ingest(ctx, st, txn, recipients, stream as never, session.secure);
      this.deps.log.info(
        { event: 'state', id: res.id, state: 'incoming', device: txn.device.name, clientIp: st.clientIp, sender: txn.sender, recipients: recipients.length, size: res.size, tlsVersion: session.secure ? st.tlsVersion : undefined, routes: res.routes },
        `accepted ${res.id} from ${txn.device.name}${res.routes.length ? ` for ${res.routes.join(', ')}` : ''}`,
      );
      this.deps.telemetry?.messageAccepted(st.listener.name, session.secure ? st.tlsVersion : undefined);
      const line = watchText('accepted', { id: res.id, size: res.size, routes: res.routes.length ? watchText('accepted.routes', { routes: res.routes.join(', ') }) : NO_PART });
      this.deps.watch?.event(session.id, { at: Date.now(), kind: 'accepted', text: line.en, ja: { text: line.ja }, data: { id: res.id } });
      this.deps.onAccepted(res.id, res.routes.length > 0);
      cb(null, `2.0.0 OK: queued as ${res.id}`);
    } catch (err) {
      if (err instanceof SmtpReply) {
        this.refused(st, err, { sender: txn.sender });
        return cb(err);
      }
      this.deps.log.warn({ event: 'data-aborted', clientIp: st.clientIp, err: (err as Error).message }, 'message transfer did not complete');
      cb(err as Error);
    } finally {
      st.txn = undefined;
    }
  }

  /** The settings the explanations point at (the listener of the session, and every listener). */
  private explainContext(listener: NamedListener, device?: string): ExplainContext {
    const hints = this.listenerSet.settings().map(({ listener: x, port }) => ({ name: x.name, port, tls: x.tls, minTlsVersion: x.minTlsVersion, allowInsecureAuth: x.allowInsecureAuth }));
    const own = hints.find((h) => h.name === listener.name) ?? { name: listener.name, port: listener.port, tls: listener.tls, minTlsVersion: listener.minTlsVersion, allowInsecureAuth: listener.allowInsecureAuth };
    return { listener: own, listeners: hints, ...(device ? { device } : {}) };
  }

  /** What smtp-server reports of a listener's sessions, as watch events. */
  private serverWatch(l: NamedListener): NonNullable<RelaySmtpServer['watch']> {
    const watch = this.deps.watch!;
    return {
      command: (session, text) => watch.event(session, { at: Date.now(), kind: 'command', text }),
      reply: (session, code, text) => {
        // 538 comes from smtp-server itself (AUTH before STARTTLS): explained here.
        const e = code === 538 ? explainAuthBeforeTls(this.explainContext(l)) : undefined;
        watch.event(session, { at: Date.now(), kind: 'reply', text: `${code} ${text}`, code, ...(e ? { ref: e.ref, reason: e.reason, fix: e.fix, ja: e.ja } : {}) });
      },
      tlsFailed: (session, clientIp, err) => {
        const e = explainTlsFailure(err.message, this.explainContext(l));
        const failed = watchText('tls.failed', { reason: tlsReason(err.message) });
        const now = Date.now();
        if (session === undefined) {
          // No session yet (TLS from the first byte): one of its own, so the failure is seen on the device or its address.
          const id = `tls-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
          watch.begin(id, clientIp, l.name, this.deps.current().policy.devices.byAddress(clientIp)?.name, now);
          const connected = watchText('connect', { ip: clientIp, proxy: NO_PART, listener: l.name, mode: watchText('connect.implicit'), trusted: NO_PART });
          watch.event(id, { at: now, kind: 'connect', text: connected.en, ja: { text: connected.ja } });
          watch.event(id, { at: now, kind: 'tls-failed', text: failed.en, ref: e.ref, reason: e.reason, fix: e.fix, ja: { text: failed.ja, ...e.ja } });
          watch.end(id, now);
        } else {
          watch.event(session, { at: now, kind: 'tls-failed', text: failed.en, ref: e.ref, reason: e.reason, fix: e.fix, ja: { text: failed.ja, ...e.ja } });
        }
      },
    };
  }

  private watchAuth(st: ConnectionState, session: string, username: string, method: string, r: SmtpReply): void {
    const watch = this.deps.watch;
    if (!watch) return;
    const device = st.snapshot.policy.devices.byUsername(username);
    if (device) watch.identify(session, device.name);
    const e = r.ref === 'authBeforeTls' ? explainAuthBeforeTls(this.explainContext(st.listener, device?.name)) : explainReply(r, this.explainContext(st.listener, device?.name));
    const line = watchText('auth.refused', {
      user: JSON.stringify(username), method, reply: `${r.code} ${r.enhanced} ${r.text}`, unknown: device ? NO_PART : watchText('auth.noDevice'),
    });
    watch.event(session, {
      at: Date.now(), kind: 'auth', code: r.code, ref: e.ref, reason: e.reason, fix: e.fix, ja: { text: line.ja, ...e.ja }, data: { method, ok: false },
      text: line.en,
    });
  }

  private refused(st: ConnectionState, r: SmtpReply, fields: Record<string, unknown>): void {
    const dev = st.authDevice ?? st.networkDevice;
    const e = explainReply(r, this.explainContext(st.listener, dev?.name));
    const line = watchText('refused', { reply: `${r.code} ${r.enhanced} ${r.text}` });
    this.deps.watch?.event(st.id, { at: Date.now(), kind: 'refused', code: r.code, ref: e.ref, reason: e.reason, fix: e.fix, ja: { text: line.ja, ...e.ja }, text: line.en, data: fields });
    const device = st.authDevice ?? st.networkDevice;
    this.deps.log.info({ event: 'refused', listener: st.listener.name, clientIp: st.clientIp, device: device?.name, code: r.code, enhanced: r.enhanced, reason: r.text, ...fields }, `refused: ${r.code} ${r.enhanced} ${r.text}`);
    this.deps.telemetry?.refused(st.listener.name, r.code);
    if (device) this.recordRefusal(device.name, st.clientIp);
  }

  private recordRefusal(device: string, clientIp: string): void {
    this.deps.store.recordDeviceActivity({ device, clientIp, at: Date.now(), rejected: 1 })
      .catch((err: unknown) => this.deps.log.warn({ event: 'inventory-error', err }, 'could not update the device inventory'));
  }
}
