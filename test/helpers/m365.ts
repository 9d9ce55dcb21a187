/**
 * A Microsoft 365 tenant in the emulator, set up the way an office would
 * (an app registration with a client secret, mailboxes for the devices and
 * the people they write to), and the relay upstream configs that point at
 * it. Devices send into the relay with nodemailer, like a printer would.
 */
import nodemailer from 'nodemailer';
import type { Emulator, EmulatorApp, EmulatorTenant } from '../emulator/api.js';
import type { TestRelay } from './relay.js';
import { queueIdOf } from './relay.js';

export interface Contoso {
  tenant: EmulatorTenant;
  app: EmulatorApp;
  secret: string;
  /** Mailboxes: scanner (devices send as it), alice, bob, carol (recipients). */
  scanner: string;
  alice: string;
  bob: string;
  carol: string;
}

let n = 0;

/** A tenant with contoso.com, an app granted Mail.Send, Mail.ReadWrite and SMTP.SendAsApp, and four licensed mailboxes. */
export function contoso(emu: Emulator, opts: { graphRoles?: EmulatorApp['graphRoles']; exchangeRoles?: EmulatorApp['exchangeRoles'] } = {}): Contoso {
  const i = ++n;
  const domain = `contoso${i}.com`;
  const tenant = emu.addTenant({ domains: [`contoso${i}.onmicrosoft.com`, domain] });
  const secret = `s3cr3t~${i}~${Math.random().toString(36).slice(2)}`;
  const app = emu.addApp(tenant.id, {
    secrets: [{ value: secret }],
    graphRoles: opts.graphRoles ?? ['Mail.Send', 'Mail.ReadWrite'],
    exchangeRoles: opts.exchangeRoles ?? ['SMTP.SendAsApp'],
  });
  const box = (local: string) => emu.addMailbox(tenant.id, { address: `${local}@${domain}`, maxMessageSize: 150 * 1024 * 1024 }).address;
  return { tenant, app, secret, scanner: box('scanner'), alice: box('alice'), bob: box('bob'), carol: box('carol') };
}

const entra = (emu: Emulator, c: Contoso) => ({
  tenant: c.tenant.domains[0]!,
  clientId: c.app.clientId,
  clientSecret: c.secret,
  ca: emu.caFile,
  endpoints: { authority: emu.authorityHost, graph: emu.graphUrl, smtp: `${emu.smtpHost}:${emu.smtpPort}` },
});

export function graphUpstream(emu: Emulator, c: Contoso, extra: Record<string, unknown> = {}) {
  return { type: 'graph' as const, ...entra(emu, c), mailbox: c.scanner, timeout: '60s', ...extra };
}

export function smtpOauthUpstream(emu: Emulator, c: Contoso, extra: Record<string, unknown> = {}) {
  return { type: 'smtp-oauth' as const, ...entra(emu, c), mailbox: c.scanner, connectTimeout: '5s', timeout: '60s', ...extra };
}

export function directSendUpstream(emu: Emulator, c: Contoso, extra: Record<string, unknown> = {}) {
  const domain = c.tenant.domains[1]!;
  return { type: 'direct-send' as const, domain, mx: `127.0.0.1:${emu.directSendPort}`, ca: emu.caFile, connectTimeout: '5s', timeout: '60s', ...extra };
}

/** Sends exact bytes into the relay like a device (nodemailer does the dot-stuffing and SMTPUTF8); returns the queue id. */
export async function deviceSend(relay: TestRelay, from: string, to: string[], raw: Buffer): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port(), secure: false, tls: { rejectUnauthorized: false } });
  try {
    const info = await t.sendMail({ envelope: { from, to }, raw });
    return queueIdOf(info.response);
  } finally {
    t.close();
  }
}

/** The stored message (Received field + what the device sent) of a queued message. */
export async function storedBytes(relay: TestRelay, id: string): Promise<Buffer> {
  const m = await relay.store.get(id);
  if (!m) throw new Error(`no message ${id}`);
  const parts: Buffer[] = [];
  for await (const c of relay.store.openBody(m.bodyId)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Header block and body of a message (split at the first empty line). */
export function splitMessage(raw: Buffer): { header: Buffer; body: Buffer } {
  const i = raw.indexOf('\r\n\r\n');
  if (i < 0) return { header: raw, body: Buffer.alloc(0) };
  return { header: raw.subarray(0, i + 2), body: raw.subarray(i + 4) };
}

/** Header fields (unfolded lines kept raw), in order. */
export function headerFields(header: Buffer): { name: string; raw: Buffer }[] {
  const s = header.toString('latin1');
  const out: { name: string; raw: Buffer }[] = [];
  let start = 0;
  for (let i = 0; i < s.length; ) {
    let end = s.indexOf('\r\n', i);
    if (end < 0) end = s.length;
    while (s[end + 2] === ' ' || s[end + 2] === '\t') end = s.indexOf('\r\n', end + 2);
    const line = s.slice(start, end + 2);
    out.push({ name: line.slice(0, line.indexOf(':')).toLowerCase(), raw: Buffer.from(line, 'latin1') });
    i = start = end + 2;
  }
  return out;
}
