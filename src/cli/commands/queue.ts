/**
 * `authrelay queue list|show|retry|release|delete`: the spool, read and acted
 * on directly. `show` explains each problem: the reply, what it means and the
 * fix (from the error catalogue, docs/errors.md).
 */
import { openStore } from '../../spool/open.js';
import { MESSAGE_STATES, type MessageState, type QueuedMessage, type Store, type TrailEvent } from '../../spool/store.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { formatDuration } from '../../core/units.js';
import { labelOf, MESSAGE_STATE_TEXTS, notesIn, RECIPIENT_STATE_TEXTS, say, TRAIL_KIND_TEXTS, trailLine } from '../../core/trail-texts.js';
import { cliLang, complain, formatTime, loadConfig, printJson, say as sayText, table, tr, UsageError } from '../common.js';
import { CLI_TEXT as QT, usage } from '../texts.js';

export interface QueueFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  state?: string[] | undefined;
  limit?: string | undefined;
  sender?: string | undefined;
  recipient?: string | undefined;
  device?: string | undefined;
  /** retry: every failed message (after fixing what made them fail). */
  failed?: boolean | undefined;
}

export async function queueCommand(sub: string | undefined, args: string[], flags: QueueFlags): Promise<number> {
  const { config } = loadConfig(flags.config);
  const store = openStore(config);
  await store.init();
  try {
    switch (sub) {
      case 'list':
        return await list(store, flags);
      case 'show':
        return await show(store, need(args[0], 'show'), flags);
      case 'retry':
      case 'release':
      case 'delete':
        return await act(store, sub, args, flags, config.queue.maxLifetime);
      default:
        throw new UsageError(usage('authrelay queue list|show ID|retry ID|retry --failed|release ID|delete ID [--json] [--config FILE]'));
    }
  } finally {
    await store.close();
  }
}

function need(id: string | undefined, sub: string): string {
  if (!id) throw new UsageError(usage(`authrelay queue ${sub} ID`));
  return id;
}

async function list(store: Store, f: QueueFlags): Promise<number> {
  const states = (f.state ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  for (const s of states) if (!MESSAGE_STATES.includes(s as MessageState)) throw new UsageError(QT.unknownState, { state: s, states: MESSAGE_STATES.join(', ') });
  const limit = Number(f.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(QT.badLimit, { value: f.limit });
  const messages = await store.list({
    ...(states.length ? { states: states as MessageState[] } : {}),
    ...(f.sender ? { sender: f.sender } : {}),
    ...(f.recipient ? { recipient: f.recipient } : {}),
    ...(f.device ? { device: f.device } : {}),
    limit,
  });
  const counts = await store.counts();
  if (f.json) {
    printJson({ counts, messages: messages.map(summary) });
    return 0;
  }
  process.stdout.write(`Queue: ${MESSAGE_STATES.map((s) => `${s} ${counts[s]}`).join(', ')}\n\n`);
  if (messages.length === 0) {
    process.stdout.write('No messages match.\n');
    return 0;
  }
  const rows = [['ID', 'STATE', 'RECEIVED', 'DEVICE', 'SENDER', 'RCPTS', 'ROUTE', 'SIZE', 'LAST PROBLEM']];
  for (const m of messages) {
    rows.push([m.id, m.state, formatTime(m.receivedAt), m.origin.device ?? '(relay)', m.sender || '<>', String(m.recipients.length),
      m.route ?? '-', String(m.size), m.state === 'delivered' ? '' : (m.lastError?.response ?? m.lastError?.category ?? '').slice(0, 60)]);
  }
  process.stdout.write(table(rows));
  return 0;
}

function summary(m: QueuedMessage): Record<string, unknown> {
  return {
    id: m.id, state: m.state, route: m.route, parentId: m.parentId, receivedAt: new Date(m.receivedAt).toISOString(),
    device: m.origin.device, sender: m.sender, recipients: m.recipientRecords.map((r) => ({ address: r.address, state: r.state })),
    size: m.size, attempts: m.attempts, subject: m.subject ?? null,
    nextAttemptAt: m.state === 'deferred' ? new Date(m.nextAttemptAt).toISOString() : null,
    lastError: m.lastError ?? null,
  };
}

async function show(store: Store, id: string, f: QueueFlags): Promise<number> {
  const m = await store.get(id);
  if (!m) {
    complain(QT.noSuchMessage, { id });
    return 1;
  }
  const trail = await store.trail(id);
  if (f.json) {
    printJson({ ...summary(m), origin: m.origin, notes: m.notes ?? [], expiresAt: new Date(m.expiresAt).toISOString(),
      headerFrom: m.headerFrom ?? null, messageId: m.messageIdHeader ?? null, recipients: m.recipientRecords, trail });
    return 0;
  }
  const o = m.origin;
  const lang = cliLang();
  const notes = m.notes?.length ? notesIn(m.notes, trail.find((e) => e.kind === 'received')?.data, lang).notes : [];
  const out: string[] = [
    tr(QT.qsMessage, { id: m.id, split: m.parentId ? tr(QT.qsSplit, { parent: m.parentId }) : '' }),
    tr(QT.qsState, { state: labelOf(MESSAGE_STATE_TEXTS, m.state)[lang], next: m.state === 'deferred' ? tr(QT.qsNextTry, { at: formatTime(m.nextAttemptAt) }) : '' }),
    tr(QT.qsReceived, {
      at: formatTime(m.receivedAt), device: o.device ?? tr(QT.qsRelay), ip: o.clientIp, listener: o.listener,
      tls: o.tlsVersion ? tr(QT.qsOverTls, { version: o.tlsVersion }) : tr(QT.qsNoTls),
      auth: o.authUser ? tr(QT.qsAuth, { mechanism: o.authMechanism, user: o.authUser }) : '',
    }),
    tr(QT.qsSender, { sender: m.sender || '<>' }),
    tr(QT.qsFrom, { from: m.headerFrom ?? '-' }),
    tr(QT.qsSubject, { subject: m.subject ?? '-' }),
    tr(QT.qsSize, { size: m.size }),
    tr(QT.qsRoute, { route: m.route ?? tr(QT.qsNotRouted) }),
    tr(QT.qsAttempts, { attempts: m.attempts, at: formatTime(m.expiresAt), left: formatDuration(Math.max(0, m.expiresAt - Date.now())) }),
    ...(notes.length ? [tr(QT.qsNotes, { notes: notes.join('; ') })] : []),
    '',
    tr(QT.qsRecipients),
    ...m.recipientRecords.flatMap((r) => [
      `    ${r.address}  ${labelOf(RECIPIENT_STATE_TEXTS, r.state)[lang]}${r.last ? `  ${r.last.response ?? r.last.category}` : ''}`,
      ...(r.last && r.state !== 'delivered' ? explanation(r.last, '      ') : []),
    ]),
    '',
    tr(QT.qsTrail),
    ...trailLines(trail),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/**
 * What an outcome means and what to do about it. Outcomes explained by the
 * error catalogue carry both (hint = meaning, fix = action, ref = its entry in
 * docs/errors.md); older ones carry one hint that says what to do.
 */
function explanation(o: DeliveryOutcome, indent: string): string[] {
  // The catalogue's Japanese when the reader reads Japanese and the entry has it.
  const ja = cliLang() === 'ja' ? o.ja : undefined;
  const hint = ja?.hint || o.hint;
  const fix = ja?.fix || o.fix;
  if (!fix) return hint ? [`${indent}${tr(QT.qsToDo, { fix: hint })}`] : [];
  return [
    ...(hint ? [`${indent}${tr(QT.qsMeans, { hint })}`] : []),
    `${indent}${tr(QT.qsToDo, { fix })}`,
    ...(o.ref ? [`${indent}${tr(QT.qsSee, { ref: o.ref })}`] : []),
  ];
}

/** The trail, with each attempt's replies and their explanation (once while they stay the same). */
function trailLines(trail: TrailEvent[]): string[] {
  const out: string[] = [];
  let previous = '';
  for (const e of trail) {
    out.push(`    ${formatTime(e.at)}  ${labelOf(TRAIL_KIND_TEXTS, e.kind)[cliLang()].padEnd(8)} ${trailLine(e)[cliLang()]}`);
    if (e.kind !== 'attempt') continue;
    const groups = new Map<string, { recipients: string[]; outcome: DeliveryOutcome }>();
    for (const r of attemptRecipients(e)) {
      if (r.state === 'delivered' || !r.outcome) continue;
      const key = JSON.stringify([r.outcome.response, r.outcome.category, r.outcome.hint, r.outcome.fix]);
      const g = groups.get(key) ?? { recipients: [], outcome: r.outcome };
      g.recipients.push(r.address);
      groups.set(key, g);
    }
    const key = [...groups.keys()].join('|');
    if (key && key === previous) {
      out.push(tr(QT.qsSame));
      continue;
    }
    previous = key;
    for (const g of groups.values()) {
      out.push(`      ${g.recipients.join(', ')}: ${g.outcome.response ?? g.outcome.category}`);
      out.push(...explanation(g.outcome, '        '));
    }
  }
  return out;
}

function attemptRecipients(e: TrailEvent): { address: string; state?: string; outcome?: DeliveryOutcome }[] {
  const list = e.data?.['recipients'];
  return Array.isArray(list) ? (list as { address: string; state?: string; outcome?: DeliveryOutcome }[]).filter((r) => typeof r?.address === 'string') : [];
}

async function act(store: Store, sub: 'retry' | 'release' | 'delete', args: string[], f: QueueFlags, lifetime: number): Promise<number> {
  if (f.failed && sub !== 'retry') throw new UsageError(QT.failedWithRetry);
  const ids = f.failed ? [...args, ...(await store.list({ states: ['failed'], limit: 100_000 })).map((m) => m.id)] : args;
  if (f.failed && ids.length === 0) {
    if (f.json) printJson([]);
    else sayText(QT.noFailedMessages);
    return 0;
  }
  if (ids.length === 0) throw new UsageError(usage(`authrelay queue ${sub} ID [ID...]${sub === 'retry' ? '   or: authrelay queue retry --failed' : ''}`));
  const results: { id: string; ok: boolean; reason?: string; text?: string }[] = [];
  const by = say('by.cli', { user: process.env.USER ?? 'user' });
  for (const id of ids) {
    const m = await store.get(id);
    if (!m) {
      results.push({ id, ok: false, reason: 'no such message', text: tr(QT.queueNoSuchMessage, { id }) });
      continue;
    }
    const now = Date.now();
    const ok = sub === 'retry' ? await store.retry(id, now, now + lifetime, by) : sub === 'release' ? await store.release(id, now, by) : await store.remove(id);
    const refused = sub === 'release' ? QT.queueNotInStateRelease : sub === 'retry' ? QT.queueNotInStateRetry : QT.queueNotInStateDelete;
    results.push(ok ? { id, ok } : { id, ok, reason: `not possible in state ${m.state}` + (sub === 'release' ? ' (only held messages are released)' : sub === 'retry' ? ' (only failed, deferred or held messages with a body are retried)' : ' (a message being delivered cannot be deleted)'), text: tr(refused, { id, state: m.state }) });
  }
  if (f.json) printJson(results.map(({ text: _text, ...r }) => r));
  else for (const r of results) process.stdout.write(`${r.ok ? tr(sub === 'delete' ? QT.queueDeleted : sub === 'retry' ? QT.queueRetried : QT.queueReleased, { id: r.id }) : r.text}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}
