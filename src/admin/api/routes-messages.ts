/**
 * /api/v1/messages: search the spool (sender, recipient, device, subject,
 * state, received time), one message with its trail and each
 * recipient's outcome (with the catalogue's hint, fix and reference), retry,
 * release, delete, and the stored body as .eml. Explanations, trail lines and
 * state names come in the language asked for (Accept-Language) under
 * `localized`, beside the English fields (see localized.ts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import libmime from 'libmime';
import { MESSAGE_STATES, type MessageState, type QueuedMessage } from '../../spool/store.js';
import { actorName, principalOf, sendError } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';
import type { Lang } from '../../core/i18n.js';
import { notesIn, say } from '../../core/trail-texts.js';
import { answerLang, messageStateLabel, outcomeView, recipientStateLabel, trailView } from './localized.js';

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9.]{1,64}$' } } } as const;
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The Subject as a person reads it: MIME encoded words (=?ISO-2022-JP?B?...?=, =?UTF-8?B?...?=) decoded; stored as the device wrote it. */
function readableSubject(subject: string | undefined): string | null {
  if (subject === undefined) return null;
  try {
    return libmime.decodeWords(subject);
  } catch {
    return subject;
  }
}

export function messageSummary(m: QueuedMessage, lang: Lang) {
  return {
    id: m.id, state: m.state, route: m.route, parentId: m.parentId, kind: m.kind ?? 'message', receivedAt: iso(m.receivedAt),
    device: m.origin.device, sender: m.sender, subject: readableSubject(m.subject), size: m.size, attempts: m.attempts,
    recipients: m.recipientRecords.map((r) => ({ address: r.address, state: r.state, localized: recipientStateLabel(r.state, lang) })),
    nextAttemptAt: m.state === 'deferred' ? iso(m.nextAttemptAt) : null, lastError: outcomeView(m.lastError, lang),
    localized: messageStateLabel(m.state, lang),
  };
}

export function messageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { state?: string; sender?: string; recipient?: string; device?: string; subject?: string; since?: string; until?: string; limit: number; before?: string } }>('/messages', {
    ...access.read,
    schema: {
      summary: 'Search messages, newest first', tags: ['messages'],
      querystring: { type: 'object', additionalProperties: false, properties: {
        state: { type: 'string', pattern: `^(${MESSAGE_STATES.join('|')})(,(${MESSAGE_STATES.join('|')}))*$`, description: 'One state or several, comma-separated' },
        sender: { type: 'string', maxLength: 320 }, recipient: { type: 'string', maxLength: 320 }, device: { type: 'string', maxLength: 200 },
        subject: { type: 'string', maxLength: 500, description: 'Part of the Subject, any case; encoded Subjects (=?UTF-8?B?...?=) match by their decoded words' },
        since: { type: 'string', format: 'date-time', description: 'Only messages received at or after this time' },
        until: { type: 'string', format: 'date-time', description: 'Only messages received at or before this time' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        before: { type: 'string', format: 'date-time', description: 'Only messages received before this time (paging)' },
      } },
    },
  }, async (req, reply) => {
    const lang = answerLang(req, reply);
    const q = req.query;
    // until is inclusive, before (paging) exclusive: the earlier of the two bounds wins.
    const bounds = [q.before ? Date.parse(q.before) : undefined, q.until ? Date.parse(q.until) + 1 : undefined].filter((b): b is number => b !== undefined);
    const list = await deps.store.list({
      ...(q.state ? { states: q.state.split(',') as MessageState[] } : {}),
      ...(q.sender ? { sender: q.sender } : {}), ...(q.recipient ? { recipient: q.recipient } : {}), ...(q.device ? { device: q.device } : {}),
      ...(q.subject ? { subject: q.subject } : {}), ...(q.since ? { since: Date.parse(q.since) } : {}),
      limit: q.limit, ...(bounds.length ? { before: Math.min(...bounds) } : {}),
    });
    return { messages: list.map((m) => messageSummary(m, lang)) };
  });

  app.get<{ Params: { id: string } }>('/messages/:id', {
    ...access.read, schema: { summary: 'One message: envelope, origin, recipients with outcomes and explanations, and the trail', tags: ['messages'], params: idParam },
  }, async (req, reply) => {
    const lang = answerLang(req, reply);
    const m = await deps.store.get(req.params.id);
    if (!m) return notFound(reply, req.params.id);
    const trail = await deps.store.trail(m.id);
    const summary = messageSummary(m, lang);
    const notes = notesIn(m.notes ?? [], trail.find((e) => e.kind === 'received')?.data, lang);
    return {
      ...summary, localized: { ...summary.localized, notes: notes.notes, notesLang: notes.lang }, origin: m.origin, headerFrom: m.headerFrom ?? null, messageId: m.messageIdHeader ?? null, sendAs: m.sendAs ?? null,
      notes: m.notes ?? [], expiresAt: iso(m.expiresAt), updatedAt: iso(m.updatedAt),
      recipients: m.recipientRecords.map((r) => ({
        address: r.address, state: r.state, attempts: r.attempts, updatedAt: iso(r.updatedAt), outcome: outcomeView(r.last, lang),
        localized: recipientStateLabel(r.state, lang),
      })),
      trail: trail.map((e) => trailView(e, lang, iso)),
    };
  });

  const actions = { retry: 'queued again', release: 'released' } as const;
  for (const action of ['retry', 'release'] as const) {
    app.post<{ Params: { id: string } }>(`/messages/:id/${action}`, {
      ...access.admin,
      schema: { summary: action === 'retry' ? 'Queue a failed, deferred or held message again (new lifetime)' : 'Release a held message for delivery', tags: ['messages'], params: idParam },
    }, async (req, reply) => {
      const id = req.params.id;
      const m = await deps.store.get(id);
      if (!m) {
        audit(deps, req, `message-${action}`, id, 'refused', { reason: 'no such message' });
        return notFound(reply, id);
      }
      const now = Date.now();
      const by = say('by.api', { name: actorName(principalOf(req)) });
      const ok = action === 'retry' ? await deps.store.retry(id, now, now + deps.config().queue.maxLifetime, by) : await deps.store.release(id, now, by);
      audit(deps, req, `message-${action}`, id, ok ? 'ok' : 'refused', ok ? { from: m.state } : { reason: `state ${m.state}` });
      if (!ok) {
        return sendError(reply, 409, 'wrong-state', action === 'retry'
          ? `message ${id} is ${m.state}: only failed, deferred or held messages whose body is kept can be retried`
          : `message ${id} is ${m.state}: only held messages can be released`);
      }
      deps.wake();
      return { id, status: actions[action] };
    });
  }

  app.delete<{ Params: { id: string } }>('/messages/:id', {
    ...access.admin, schema: { summary: 'Delete a message and its body (not while it is being delivered)', tags: ['messages'], params: idParam },
  }, async (req, reply) => {
    const id = req.params.id;
    const m = await deps.store.get(id);
    const ok = m ? await deps.store.remove(id) : false;
    audit(deps, req, 'message-delete', id, ok ? 'ok' : 'refused', ok ? { state: m?.state, sender: m?.sender } : { reason: m ? `state ${m.state}` : 'no such message' });
    if (!m) return notFound(reply, id);
    if (!ok) return sendError(reply, 409, 'wrong-state', `message ${id} is ${m.state}: a message being delivered cannot be deleted; try again in a moment`);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/messages/:id/eml', {
    ...access.admin, schema: { summary: 'Download the stored message (message/rfc822) as received, with the added Received: header', tags: ['messages'], params: idParam },
  }, async (req, reply) => {
    const id = req.params.id;
    const m = await deps.store.get(id);
    if (!m) return notFound(reply, id);
    const body = deps.store.openBody(m.bodyId);
    const first = await firstChunk(body);
    if (first instanceof Error) {
      body.destroy();
      return sendError(reply, 410, 'body-gone', `the body of message ${id} is no longer kept (delivered message bodies are removed after queue.keepDelivered)`);
    }
    audit(deps, req, 'message-download', id, 'ok', { size: m.size });
    const headers = reply.header('content-type', 'message/rfc822').header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${id}.eml"`);
    if (first === null) return headers.send(Buffer.alloc(0));
    return headers.send(Readable.from((async function* () {
      yield first;
      yield* body;
    })()));
  });
}

function notFound(reply: FastifyReply, id: string): FastifyReply {
  return sendError(reply, 404, 'not-found', `no message ${id} in the queue`);
}

/** Waits for the body's first bytes (or its end, or an error) before any header is sent. */
function firstChunk(s: Readable): Promise<Buffer | null | Error> {
  return new Promise((resolve) => {
    const done = (v: Buffer | null | Error) => {
      s.off('readable', onReadable).off('error', onError).off('end', onEnd);
      resolve(v);
    };
    const onReadable = () => {
      const c = s.read() as Buffer | null;
      if (c !== null) done(c);
    };
    const onError = (err: Error) => done(err);
    const onEnd = () => done(null);
    s.on('readable', onReadable).on('error', onError).on('end', onEnd);
  });
}
