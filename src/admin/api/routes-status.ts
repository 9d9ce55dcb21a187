/**
 * /api/v1 overview, devices, upstreams and audit: the queue at a glance and
 * its activity over time, the device inventory (the devices as the config
 * file has them, changes that wait for a restart marked), the upstreams'
 * status (never their secrets) and the audit log of state-changing actions.
 */
import type { FastifyInstance } from 'fastify';
import type { DeviceConfig, UpstreamConfig } from '../../config/schema.js';
import { queueStats } from '../../report/queue-stats.js';
import { CAPTURE_ROUTE } from '../../config/capture-route.js';
import { access, type ApiDeps, type DestinationStatus } from './context.js';
import { devicesInFile } from './routes-devices.js';
import { answerLang } from './localized.js';
import type { Lang } from '../../core/i18n.js';

/** Overview activity windows: bucket length and bucket count. */
const ACTIVITY_RANGES = { '24h': { bucketMinutes: 60, buckets: 24 }, '7d': { bucketMinutes: 360, buckets: 28 } } as const;
type ActivityRange = keyof typeof ACTIVITY_RANGES;

/** The last buckets up to now, aligned on whole buckets (UTC), the current one partly filled. */
async function activity(deps: ApiDeps, range: ActivityRange, now: number) {
  const r = ACTIVITY_RANGES[range];
  const bucketMs = r.bucketMinutes * 60_000;
  const since = (Math.floor(now / bucketMs) - r.buckets + 1) * bucketMs;
  const buckets = await deps.store.activity({ since, until: since + r.buckets * bucketMs, bucketMs });
  return { range, bucketMinutes: r.bucketMinutes, buckets: buckets.map((b) => ({ ...b, start: new Date(b.start).toISOString() })) };
}

/** JSON with object keys sorted: equal settings give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function status(d: DestinationStatus | undefined, now: number, lang: Lang) {
  if (!d) return { state: 'up', inflight: 0, failures: 0, pausedUntil: null, lastError: null, fallback: null };
  const paused = d.pausedUntil > now;
  return {
    state: d.fallback ? 'fallback' : paused ? 'paused' : 'up', inflight: d.inflight, failures: d.failures, pausedUntil: paused ? iso(d.pausedUntil) : null, lastError: d.lastError ?? null,
    // Running on fallback: this upstream cannot take mail, and the messages of routes listing another go there.
    // The reason as well in the language asked for (Accept-Language), see localized.ts.
    fallback: d.fallback ? {
      since: iso(d.fallback.since), reason: d.fallback.reason,
      localized: lang === 'ja' && d.fallback.reasonJa !== undefined ? { lang, reason: d.fallback.reasonJa } : { lang: 'en' as Lang, reason: d.fallback.reason },
    } : null,
  };
}

/** What may be shown of an upstream: where it goes and which kind of credential, never the credential. */
export function upstreamFacts(u: UpstreamConfig): Record<string, unknown> {
  switch (u.type) {
    case 'smtp':
      return { host: u.host, port: u.port, tls: u.tls, credential: u.auth ? 'password' : u.clientCert ? 'client certificate' : 'none', user: u.auth?.user ?? null };
    case 'graph':
    case 'smtp-oauth':
      return { tenant: u.tenant, clientId: u.clientId, cloud: u.cloud, mailbox: u.mailbox ?? null,
        credential: u.clientSecret !== undefined ? 'client secret' : u.certificate ? 'certificate' : 'delegated sign-in',
        ...(u.type === 'smtp-oauth' && u.delegated ? { user: u.delegated.user } : {}) };
    case 'direct-send':
      return { domain: u.domain, mx: u.mx ?? null, port: u.port, requireTls: u.requireTls, credential: 'none' };
    case 'capture':
      return { credential: 'none' };
    case 'exchange-mailbox':
      return { tenant: u.tenant, clientId: u.clientId, cloud: u.cloud,
        credential: u.clientSecret !== undefined ? 'client secret' : u.certificate ? 'certificate' : 'delegated sign-in',
        ...(u.delegated ? { user: u.delegated.user } : {}) };
  }
}

/** What a reader device (one with mailboxes) did lately over IMAP/POP3: null for a device that reads nothing and never tried. */
function readerView(deps: ApiDeps, d: DeviceConfig) {
  const a = deps.readers?.activity.of(d.name);
  // A refused login names a user, not a device: the device's username or one of its mailboxes.
  const refusal = deps.readers?.activity.lastRefusal([...(d.username ? [d.username] : []), ...d.mailboxes]);
  if (!a && !refusal && d.mailboxes.length === 0) return null;
  const last = [a?.lastError, refusal].filter((e) => e).sort((x, y) => y!.at - x!.at)[0];
  return {
    lastLogin: iso(a?.lastLogin ?? undefined), lastMailbox: a?.lastMailbox ?? null, lastProtocol: a?.lastProtocol ?? null, logins: a?.logins ?? 0,
    bytesToClient: a?.bytesToClient ?? 0, bytesToServer: a?.bytesToServer ?? 0, errors: a?.errors ?? 0,
    lastError: last ? { ...last, at: iso(last.at) } : null,
    sessions: (a?.sessions ?? []).map((s) => ({ ...s, startedAt: iso(s.startedAt), endedAt: iso(s.endedAt ?? undefined), open: s.endedAt === null })),
  };
}

export function statusRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { range: ActivityRange } }>('/overview', {
    ...access.read,
    schema: {
      summary: 'Messages by state, queue depth, oldest waiting message, upstream status, and accepted/delivered/failed messages over time', tags: ['status'],
      querystring: { type: 'object', additionalProperties: false, properties: {
        range: { type: 'string', enum: Object.keys(ACTIVITY_RANGES), default: '24h', description: 'Activity window: 24h in hourly buckets, 7d in 6-hour buckets' },
      } },
    },
  }, async (req, reply) => {
    const lang = answerLang(req, reply);
    const now = Date.now();
    const q = await queueStats(deps.store);
    const dest = new Map(deps.destinations().map((d) => [d.route, d]));
    return {
      counts: q.byState, queueDepth: q.waiting, waitingByRoute: Object.fromEntries(q.waitingByRoute),
      oldestWaiting: q.oldestWaitingAt === undefined ? null : { receivedAt: iso(q.oldestWaitingAt), ageSeconds: Math.round((now - q.oldestWaitingAt) / 1000) },
      upstreams: upstreamNames(deps).map((name) => ({ name, type: typeOf(deps, name), ...status(dest.get(name), now, lang) })),
      activity: await activity(deps, req.query.range, now),
    };
  });

  app.get('/devices', {
    ...access.read,
    schema: { summary: 'Configured devices as in the config file (changes made to the file by hand and not yet applied marked) and where each was seen (addresses, AUTH, TLS, counts)', tags: ['devices'] },
  }, async () => {
    const seen = await deps.store.devicesSeen();
    const running = deps.config().devices;
    const file = devicesInFile(deps);
    const inFile = file && 'devices' in file ? file.devices : undefined;
    const configured = new Set([...running, ...(inFile ?? [])].map((d) => d.name));
    const inventory = (name: string) => seen.filter((s) => s.device === name).map((s) => ({
      clientIp: s.clientIp, lastSeen: iso(s.lastSeen), authMechanism: s.authMechanism, tlsVersion: s.tlsVersion, listener: s.listener,
      accepted: s.accepted, rejected: s.rejected, failed: s.failed,
    }));
    const entry = (d: DeviceConfig, pending: 'added' | 'edited' | 'removed' | null) => ({
      name: d.name, configured: true, username: d.username ?? null, networks: d.networks, sendAs: d.sendAs ?? null, allowedFrom: d.allowedFrom,
      maxMessageSize: d.maxMessageSize, route: d.route ?? null, pending, seen: inventory(d.name),
      mailboxes: d.mailboxes, reader: readerView(deps, d),
    });
    const list = inFile
      ? [
        ...inFile.map((d) => {
          const now = running.find((r) => r.name === d.name);
          return entry(d, !now ? 'added' : canonical(now) === canonical(d) ? null : 'edited');
        }),
        ...running.filter((r) => !inFile.some((d) => d.name === r.name)).map((r) => entry(r, 'removed')),
      ]
      : running.map((d) => entry(d, null));
    return {
      readerListeners: deps.readers?.listeners() ?? [],
      reloadNeeded: list.some((d) => d.pending !== null),
      ...(file && 'error' in file ? { fileError: file.error } : {}),
      devices: [
        ...list,
        ...[...new Set(seen.map((s) => s.device))].filter((n) => !configured.has(n)).map((name) => ({ name, configured: false, seen: inventory(name) })),
      ],
    };
  });

  app.get('/upstreams', { ...access.read, schema: { summary: 'Upstreams: name, type, where they deliver, live status (never secrets)', tags: ['status'] } }, async (req, reply) => {
    const lang = answerLang(req, reply);
    const now = Date.now();
    const dest = new Map(deps.destinations().map((d) => [d.route, d]));
    return {
      upstreams: upstreamNames(deps).map((name) => {
        const u = deps.config().upstreams[name];
        return { name, type: typeOf(deps, name), ...(u ? upstreamFacts(u) : { credential: 'none' }), status: status(dest.get(name), now, lang),
          routes: deps.config().routes.filter((r) => r.use.includes(name)).map((r) => r.name ?? null) };
      }),
    };
  });

  app.get<{ Querystring: { limit: number; before?: number; action?: string } }>('/audit', {
    ...access.admin,
    schema: {
      summary: 'The audit log, newest first: who did what to which target, when, from which address', tags: ['audit'],
      querystring: { type: 'object', additionalProperties: false, properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        before: { type: 'integer', minimum: 1, description: 'Only entries with a smaller seq (paging)' },
        action: { type: 'string', maxLength: 64 },
      } },
    },
  }, async (req) => {
    const entries = deps.db.auditEntries({ limit: req.query.limit, ...(req.query.before ? { before: req.query.before } : {}), ...(req.query.action ? { action: req.query.action } : {}) });
    return { entries: entries.map((e) => ({ ...e, at: iso(e.at) })) };
  });
}

/** Configured upstreams, and the built-in capture route when something uses it or nothing is configured. */
function upstreamNames(deps: ApiDeps): string[] {
  const names = Object.keys(deps.config().upstreams);
  const captureUsed = names.length === 0 || deps.config().routes.some((r) => r.use.includes(CAPTURE_ROUTE)) || deps.config().devices.some((d) => d.route === CAPTURE_ROUTE);
  return captureUsed && !names.includes(CAPTURE_ROUTE) ? [...names, CAPTURE_ROUTE] : names;
}

function typeOf(deps: ApiDeps, name: string): string {
  return deps.config().upstreams[name]?.type ?? 'capture';
}
