/**
 * What the delivery tests share: a relay with fast retry settings and a
 * ready-made certificate, mail sent into it with nodemailer, and readers for
 * the trail and for the non-delivery notices it queues.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { ConfigInput } from '../../src/config/schema.js';
import type { QueuedMessage, TrailEvent } from '../../src/spool/store.js';
import { queueIdOf, startTestRelay, type TestRelay } from './relay.js';

let certificate: { cert: string; key: string } | undefined;

/** One listener certificate per test process (making one on every start costs half a second). */
export function relayCertificate(): { cert: string; key: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-cert-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=relay.test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  certificate = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  return certificate;
}

export const FAST_QUEUE = { pollInterval: '100ms', minBackoff: '500ms', maxBackoff: '1s', destinationMinBackoff: '1s', destinationMaxBackoff: '2s' } as const;

/** An smtp upstream on loopback without TLS. */
export function smtpUpstream(port: number, extra: Record<string, unknown> = {}) {
  return { type: 'smtp' as const, host: '127.0.0.1', port, tls: 'none' as const, connectTimeout: '2s', ...extra };
}

/** startTestRelay with the shared certificate; queue settings are merged over FAST_QUEUE. */
export function startRelay(input: ConfigInput = {}, opts: { dataDir?: string } = {}): Promise<TestRelay> {
  return startTestRelay({ tls: relayCertificate(), ...input, queue: { ...FAST_QUEUE, ...(input.queue ?? {}) } }, opts);
}

export interface Outgoing {
  from?: string;
  to?: string[];
  cc?: string[];
  /** Envelope to use instead of the one nodemailer derives from the headers (Bcc, null sender). */
  envelope?: { from: string; to: string[] };
  subject?: string;
  text?: string;
  auth?: { user: string; pass: string };
  localAddress?: string;
}

/** Sends one message into the relay like a device would; returns its queue id. */
export async function sendMail(relay: TestRelay, o: Outgoing = {}): Promise<string> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1', port: relay.port(), secure: false, tls: { rejectUnauthorized: false },
    ...(o.auth ? { auth: o.auth } : {}), ...(o.localAddress ? { localAddress: o.localAddress } : {}),
  });
  try {
    const info = await t.sendMail({
      from: o.from ?? 'Scanner <scanner@contoso.com>',
      to: o.to ?? ['alice@contoso.com'],
      ...(o.cc ? { cc: o.cc } : {}),
      subject: o.subject ?? 'Scanned document',
      text: o.text ?? 'Please find the scan attached.',
      messageId: `<${Math.random().toString(36).slice(2)}@mfp.contoso.com>`,
      ...(o.envelope ? { envelope: o.envelope } : {}),
    });
    return queueIdOf(info.response);
  } finally {
    t.close();
  }
}

export async function attemptsOf(relay: TestRelay, id: string): Promise<TrailEvent[]> {
  return (await relay.store.trail(id)).filter((e) => e.kind === 'attempt');
}

/** Notices queued about a message (from its trail). */
export async function noticesAbout(relay: TestRelay, id: string): Promise<QueuedMessage[]> {
  const ids = (await relay.store.trail(id)).filter((e) => e.kind === 'notice').map((e) => String(e.data?.noticeId));
  const found = await Promise.all(ids.map((n) => relay.store.get(n)));
  return found.filter((m): m is QueuedMessage => m !== undefined);
}

/** Waits for the notice about a failed message (queued just after the failure is recorded). */
export async function noticeAbout(relay: TestRelay, id: string): Promise<QueuedMessage> {
  let found: QueuedMessage | undefined;
  await waitUntil(`a notice about ${id}`, async () => Boolean((found = (await noticesAbout(relay, id))[0])));
  return found!;
}

/** Every notice in the spool. */
export async function allNotices(relay: TestRelay): Promise<QueuedMessage[]> {
  return (await relay.store.list({ limit: 1000 })).filter((m) => m.kind === 'notice');
}

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The MIME parts of a multipart message: [headers, body] per part. */
export function mimeParts(message: string): { headers: string; body: string }[] {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(message)?.[1];
  if (!boundary) throw new Error('not a multipart message');
  const chunks = message.split(`--${boundary}`).slice(1, -1);
  return chunks.map((c) => {
    const text = c.replace(/^\r\n/, '');
    const end = text.indexOf('\r\n\r\n');
    return { headers: text.slice(0, end), body: text.slice(end + 4) };
  });
}
