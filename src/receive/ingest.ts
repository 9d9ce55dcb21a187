/**
 * DATA: streams the message from the device into the spool through the line
 * ending guard and the header stage, then commits it. The reply (250 or a
 * refusal) is given only when the spool has said the message is durable.
 */
import { Writable, type Readable } from 'node:stream';
import type { Logger } from '../core/log.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import { newMessageId } from '../core/ids.js';
import { mailDate } from '../core/mail-date.js';
import type { ReceiveStore, NewMessage, RouteAssignment } from '../spool/store.js';
import { fromAllowed } from '../identity/devices.js';
import { LineEndingGuard } from './line-guard.js';
import { HeaderStage } from './header-stage.js';
import { addressInHeader, addressesInHeader, displayNameBytes, type HeaderBlock } from './header-block.js';
import type { ConnectionState, SessionPolicy, Transaction } from './policy.js';
import { renderSay, say, type Say } from '../core/trail-texts.js';

export interface IngestContext {
  store: ReceiveStore;
  policy: SessionPolicy;
  log: Logger;
  hostname: string;
  maxLifetimeMs: number;
  /** The configuration version the session runs under (recorded in the trail). */
  configVersion?: string;
  /** Called after a message is durable (wakes the scheduler); `routed`: stored with its route(s). */
  onAccepted: (id: string, routed: boolean) => void;
  /**
   * Chooses upstreams at acceptance (the route stage's pure function, passed in
   * by the composition root), so a message is stored routed in the same commit.
   */
  router?: (input: { device: string; sender: string; recipients: string[] }) => RouteAssignment[];
}

export interface IngestResult {
  id: string;
  size: number;
  routes: string[];
}

/**
 * The stages of DATA in one writable, called in turn for each chunk: the size
 * limit, the line-ending guard, the header stage, and the body writer they
 * write into. One pipe per message instead of four, and no stream objects for
 * the stages; what the body writer cannot take yet holds the next chunk back.
 */
class DataStages extends Writable {
  bytes = 0;
  exceeded = false;
  private full = false;
  readonly guard: LineEndingGuard;
  readonly headers: HeaderStage;

  constructor(
    private readonly max: number,
    mode: 'normalize' | 'reject',
    edit: (h: HeaderBlock) => void,
    private readonly body: Writable,
  ) {
    super();
    this.headers = new HeaderStage(edit, (chunk) => {
      if (!body.write(chunk)) this.full = true;
    });
    this.guard = new LineEndingGuard(mode, (chunk) => this.headers.write(chunk));
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) this.exceeded = true;
    if (this.exceeded) return cb();
    try {
      this.guard.write(chunk);
    } catch (err) {
      return cb(err as Error);
    }
    this.afterDrain(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.guard.end();
      this.headers.end();
    } catch (err) {
      return cb(err as Error);
    }
    this.body.end();
    cb();
  }

  private afterDrain(cb: () => void): void {
    if (!this.full) return cb();
    this.full = false;
    this.body.once('drain', cb);
  }
}

export async function ingest(
  ctx: IngestContext,
  state: ConnectionState,
  txn: Transaction,
  recipients: string[],
  data: Readable,
  secure: boolean,
): Promise<IngestResult> {
  const device = txn.device;
  const id = newMessageId();
  const now = Date.now();
  // Each note in English, and as a trail text (so the message's page can show it in Japanese).
  const notes: string[] = [];
  const notesSaid: Say[] = [];
  const note = (s: Say) => {
    notesSaid.push(s);
    notes.push(renderSay(s, 'en'));
  };
  let refusal: SmtpReply | undefined;
  const mode = ctx.policy.lineEndingMode(state, device);
  // The listener's SIZE is only advertised by smtp-server; a client that does not
  // declare SIZE= is held to it here, with the device's own limit.
  const portLimited = state.listener.maxMessageSize < device.maxMessageSize;
  let headerFrom: string | undefined;
  const edit = (h: HeaderBlock) => {
    const r = editHeaders(h, { state, txn, id, hostname: ctx.hostname, secure, now, note });
    headerFrom = r.headerFrom;
    refusal ??= r.refusal;
  };
  const writer = ctx.store.createBody(id);
  const stages = new DataStages(Math.min(device.maxMessageSize, state.listener.maxMessageSize), mode, edit, writer.stream);
  const { guard, headers } = stages;
  try {
    await chain(data, stages, writer.stream);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  if (stages.exceeded) refusal = portLimited ? Replies.messageTooBig(state.listener.maxMessageSize, 'port') : Replies.messageTooBig(device.maxMessageSize);
  else if (guard.violation) refusal = Replies.bareLineEnding(guard.violation);
  else if (headers.tooBig) refusal = Replies.headerTooBig();
  if (refusal) {
    await writer.abort();
    throw refusal;
  }
  const s = guard.stats;
  if (s.bareLf || s.bareCr || s.nul) note(say('note.lineEndings', { lf: s.bareLf, cr: s.bareCr, nul: s.nul }));
  if (txn.senderRewritten) note(say('note.senderRewritten', { from: txn.originalSender, to: txn.sender }));
  if (state.proxiedBy) note(say('note.proxied', { ip: state.clientIp, lb: state.proxiedBy }));
  const size = await writer.finish();
  const h = headers.headers;
  const message: NewMessage = {
    id,
    receivedAt: now,
    expiresAt: now + ctx.maxLifetimeMs,
    sender: txn.sender,
    recipients,
    size,
    origin: {
      device: device.name,
      clientIp: state.clientIp,
      listener: state.listener.name,
      ...(state.heloName ? { heloName: state.heloName } : {}),
      ...(state.tlsVersion && secure ? { tlsVersion: state.tlsVersion } : {}),
      ...(state.authUser ? { authUser: state.authUser, authMechanism: state.authMechanism ?? 'PLAIN' } : {}),
    },
    kind: 'message',
    notes,
    ...(notesSaid.length ? { notesSaid } : {}),
    ...(ctx.configVersion ? { configVersion: ctx.configVersion } : {}),
    eightBit: guard.eightBit,
    ...(device.sendAs ? { sendAs: device.sendAs } : {}),
    ...optional('subject', h?.value('Subject')),
    ...optional('headerFrom', headerFrom),
    ...optional('messageIdHeader', h?.value('Message-ID')),
    ...(ctx.router ? { routes: ctx.router({ device: device.name, sender: txn.sender, recipients }) } : {}),
  };
  try {
    await ctx.store.accept(message);
  } catch (err) {
    ctx.log.error({ event: 'store-failed', id, err }, 'could not store the message; the device is told to try again');
    throw Replies.storeFailed();
  }
  return { id, size, routes: message.routes?.map((r) => r.route) ?? [] };
}

/**
 * Pipes the client's data into the stages; resolves when the body writer has
 * all of it, rejects (and stops everything) on the first error or when the
 * client's data stream closes before its end. (stream.pipeline would do the
 * same but creates an AbortError for every message, which costs more than the
 * rest.)
 */
function chain(source: Readable, stages: Writable, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const all: (Readable | Writable)[] = [source, stages, sink];
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      for (const s of all) s.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    for (const s of all) s.on('error', fail);
    source.on('close', () => {
      if (!source.readableEnded) fail(new Error('the connection was lost during DATA'));
    });
    sink.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    source.pipe(stages);
  });
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

interface EditContext {
  state: ConnectionState;
  txn: Transaction;
  id: string;
  hostname: string;
  secure: boolean;
  now: number;
  note: (s: Say) => void;
}

/** Adds the Received trace and applies sender rewriting to the header section. */
function editHeaders(h: HeaderBlock, c: EditContext): { headerFrom?: string; refusal?: SmtpReply } {
  const device = c.txn.device;
  const fromValue = h.value('From');
  let headerFrom = addressInHeader(fromValue);
  let refusal: SmtpReply | undefined;
  // Only the first From address is checked (and rewritten) below. Any other
  // mailbox, in the same From field or in a second one, must be allowed as it
  // is, or sendAs/allowedFrom could be bypassed.
  const rewrite = headerFrom !== undefined && !fromAllowed(device, headerFrom) && device.sendAs !== undefined;
  const others = h.fields
    .filter((f) => f.name.toLowerCase() === 'from')
    .flatMap((f, i) => (i === 0 && rewrite ? [] : addressesInHeader(f.raw.subarray(f.raw.indexOf(':') + 1).toString('latin1'))));
  const smuggled = others.find((a) => !fromAllowed(device, a));
  if (smuggled) {
    refusal = Replies.fromNotAllowed(smuggled);
  } else if (headerFrom && !fromAllowed(device, headerFrom)) {
    if (device.sendAs) {
      const original = h.get('From')!;
      const colon = original.raw.indexOf(':');
      if (!h.get('Reply-To')) {
        h.fields.splice(h.fields.indexOf(original) + 1, 0, {
          name: 'Reply-To',
          raw: Buffer.concat([Buffer.from('Reply-To:'), original.raw.subarray(colon + 1)]),
        });
      }
      const display = displayNameBytes(original.raw.subarray(colon + 1));
      h.set('From', display ? Buffer.concat([display, Buffer.from(` <${device.sendAs}>`)]) : device.sendAs);
      c.note(say('note.fromRewritten', { from: headerFrom, to: device.sendAs }));
      headerFrom = device.sendAs;
    } else {
      refusal = Replies.fromNotAllowed(headerFrom);
    }
  } else if (!headerFrom && device.sendAs) {
    h.set('From', device.sendAs);
    c.note(say('note.fromMissing', { to: device.sendAs }));
    headerFrom = device.sendAs;
  }
  const s = c.state;
  const proto = `${s.esmtp ? 'E' : ''}SMTP${c.secure ? 'S' : ''}${s.authUser ? 'A' : ''}`;
  const tls = c.secure && s.tlsVersion ? ` (using ${s.tlsVersion})` : '';
  const helo = (s.heloName ?? 'unknown').replace(/[^\x21-\x7e]/g, '?');
  // Blind copies travel in the envelope only; a Bcc field the device wrote would show them to everyone.
  const bcc = h.fields.filter((f) => /^(resent-)?bcc$/i.test(f.name));
  if (bcc.length) {
    h.fields = h.fields.filter((f) => !bcc.includes(f));
    c.note(say('note.bccRemoved'));
  }
  h.prepend('Received', `from ${helo} ([${s.clientIp}])${tls}\r\n\tby ${c.hostname} (authrelay) with ${proto} id ${c.id};\r\n\t${mailDate(new Date(c.now))}`);
  return { ...(headerFrom ? { headerFrom } : {}), ...(refusal ? { refusal } : {}) };
}
