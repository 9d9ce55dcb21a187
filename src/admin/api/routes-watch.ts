/**
 * Watching a device connect, from the console: the last SMTP sessions of a
 * device (or of addresses that are no known device) with every step and, for
 * each refusal, what it means and what to do; and the same live, as
 * server-sent events, while someone presses "send" at the printer. Passwords
 * never appear (the receive stage hands over no AUTH arguments).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WatchedSession } from '../../report/session-watch.js';
import { sendError } from '../auth/guard.js';
import { access, type ApiDeps } from './context.js';

const NAME = '^[A-Za-z0-9*][A-Za-z0-9._-]{0,99}$';
/** The watch target of sessions from addresses that are no known device. */
export const UNKNOWN = '*unknown';

function view(s: WatchedSession): Record<string, unknown> {
  return {
    id: s.id, startedAt: new Date(s.startedAt).toISOString(), ...(s.endedAt ? { endedAt: new Date(s.endedAt).toISOString() } : {}),
    clientIp: s.clientIp, listener: s.listener, device: s.device ?? null,
    events: s.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
  };
}

export function watchRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Streams still open when the admin server closes are ended, so the close does not wait for them.
  const streams = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...streams]) end();
  });
  const params = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME } } } as const;

  app.get<{ Params: { name: string } }>('/devices/:name/sessions', {
    ...access.read,
    schema: { summary: 'The last SMTP sessions of a device (name *unknown: of addresses that are no known device), every step with the reason and fix of each refusal', tags: ['devices'], params },
  }, async (req, reply) => {
    const watch = deps.watch;
    if (!watch) return sendError(reply, 503, 'unavailable', 'the live view of sessions is not available in this relay');
    const name = req.params.name;
    const sessions = name === UNKNOWN ? watch.unknownSessions() : watch.sessionsOf(name);
    return { device: name, sessions: sessions.map(view) };
  });

  app.get<{ Params: { name: string } }>('/devices/:name/watch', {
    ...access.read,
    schema: { summary: 'Server-sent events: each step of the device\'s SMTP sessions as it happens (name *unknown: addresses that are no known device)', tags: ['devices'], params },
  }, async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    const watch = deps.watch;
    if (!watch) return sendError(reply, 503, 'unavailable', 'the live view of sessions is not available in this relay');
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': watching\n\n');
    const stop = watch.subscribe(req.params.name, (e, s) => {
      raw.write(`data: ${JSON.stringify({ ...e, at: new Date(e.at).toISOString(), device: s.device ?? null, clientIp: s.clientIp, listener: s.listener })}\n\n`);
    });
    // A comment now and then keeps proxies from closing a quiet stream.
    const ping = setInterval(() => raw.write(': ping\n\n'), 25_000);
    ping.unref();
    const end = () => {
      if (!streams.delete(end)) return;
      clearInterval(ping);
      stop();
      raw.end();
    };
    streams.add(end);
    req.raw.on('close', end);
    raw.on('close', end);
  });
}
