/**
 * Reading a MIME message the way Exchange does for Graph's MIME sendMail:
 * the header block (folded lines unfolded), the From address, and the
 * recipients from the To, Cc and Bcc fields (display names, quoted commas,
 * groups and RFC 2047 words handled by a real address parser). Also turns a
 * Graph JSON message into MIME, so every accepted message is recorded as MIME.
 */
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';

export interface HeaderField {
  name: string;
  value: string;
}

/** The header fields of a message (everything before the first empty line), unfolded. */
export function headerFields(mime: Buffer): HeaderField[] {
  const text = mime.subarray(0, Math.min(mime.length, 1024 * 1024)).toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const block = m ? text.slice(0, m.index) : text;
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    fields.push({ name: line.slice(0, i).trim(), value: line.slice(i + 1).trim() });
  }
  return fields;
}

type Parsed = ReturnType<typeof addressparser>;

function flatten(list: Parsed): string[] {
  const out: string[] = [];
  for (const a of list) {
    if (a.group) out.push(...flatten(a.group as Parsed));
    else if (a.address && a.address.includes('@')) out.push(a.address);
  }
  return out;
}

/** Addresses of the named fields, in order, de-duplicated (case-insensitive). */
export function addressesOf(fields: HeaderField[], names: string[]): string[] {
  const wanted = names.map((n) => n.toLowerCase());
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of fields) {
    if (!wanted.includes(f.name.toLowerCase())) continue;
    for (const a of flatten(addressparser(f.value))) {
      const key = a.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(a);
    }
  }
  return out;
}

export function mimeRecipients(mime: Buffer): string[] {
  return addressesOf(headerFields(mime), ['to', 'cc', 'bcc']);
}

/** The From address (first mailbox of the From field), or undefined. */
export function mimeFrom(mime: Buffer): string | undefined {
  return addressesOf(headerFields(mime), ['from'])[0];
}

/** Strict base64 as Exchange checks it (whitespace and line breaks allowed). */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const clean = text.replace(/[\r\n\t ]+/g, '');
  if (clean.length === 0 || clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}

interface JsonRecipient {
  emailAddress?: { address?: string; name?: string };
}

export interface JsonMessage {
  subject?: string;
  body?: { contentType?: string; content?: string };
  from?: JsonRecipient;
  toRecipients?: JsonRecipient[];
  ccRecipients?: JsonRecipient[];
  bccRecipients?: JsonRecipient[];
  replyTo?: JsonRecipient[];
  internetMessageHeaders?: { name?: string; value?: string }[];
  attachments?: { '@odata.type'?: string; name?: string; contentType?: string; contentBytes?: string; isInline?: boolean; contentId?: string }[];
}

export function jsonAddresses(list: JsonRecipient[] | undefined): string[] {
  return (list ?? []).map((r) => r.emailAddress?.address ?? '').filter((a) => a.includes('@'));
}

function fmt(list: JsonRecipient[] | undefined): { name: string; address: string }[] {
  return (list ?? []).filter((r) => r.emailAddress?.address).map((r) => ({ name: r.emailAddress?.name ?? '', address: r.emailAddress!.address! }));
}

/** Builds the MIME Exchange would send for a Graph JSON message. `sender` is the mailbox when no from is given. */
export async function jsonToMime(msg: JsonMessage, sender: string): Promise<Buffer> {
  const html = (msg.body?.contentType ?? 'text').toLowerCase() === 'html';
  const headers: Record<string, string> = {};
  for (const h of msg.internetMessageHeaders ?? []) if (h.name && h.value) headers[h.name] = h.value;
  const composer = new MailComposer({
    from: fmt(msg.from ? [msg.from] : undefined)[0] ?? sender,
    to: fmt(msg.toRecipients),
    cc: fmt(msg.ccRecipients),
    bcc: fmt(msg.bccRecipients),
    replyTo: fmt(msg.replyTo),
    subject: msg.subject ?? '',
    ...(html ? { html: msg.body?.content ?? '' } : { text: msg.body?.content ?? '' }),
    headers,
    attachments: (msg.attachments ?? []).map((a) => ({
      filename: a.name ?? 'attachment',
      contentType: a.contentType ?? 'application/octet-stream',
      content: Buffer.from(a.contentBytes ?? '', 'base64'),
      ...(a.contentId ? { cid: a.contentId } : {}),
      ...(a.isInline ? { contentDisposition: 'inline' as const } : {}),
    })),
  });
  const node = composer.compile();
  node.keepBcc = true;
  return node.build();
}
