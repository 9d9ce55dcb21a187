/**
 * The message as submitted to Microsoft 365 through Graph, where the MIME's
 * own To, Cc and Bcc fields are the recipients (there is no envelope):
 *   - every envelope recipient not in To/Cc is put in one `Bcc:` field
 *     (Exchange removes it before delivery); a Bcc field the device sent is replaced;
 *   - a To/Cc address that is not an envelope recipient is taken out of its
 *     field (Graph would deliver to it); a To field left empty becomes
 *     `To: undisclosed-recipients:;`, an empty Cc field is removed;
 *   - raw 8-bit (or ISO-2022-JP) bytes in Subject and in From/To/Cc display
 *     names become RFC 2047 encoded words in their own charset;
 *   - every other field, and the body, stay byte for byte; fields written
 *     anew end in the line break the message uses (CRLF, or a bare LF);
 *   - a message without a Message-ID field gets the one the caller gives
 *     (`addMessageId`, used when the sent copy is to be found in Sent Items
 *     by it; otherwise Exchange would make one the relay never learns).
 * Only the header section is held in memory; the body streams through.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { addressKey, parseAddressList, type AddressEntry, type MailboxEntry } from './address-list.js';
import { repairPhrase, repairUnstructured } from './encoded-words.js';
import { contentTypeOf, fieldValue, lineBreakOf, readHeaderSection, unfoldedValue, type RawField } from './header-section.js';

export interface SubmissionChanges {
  /** Envelope recipients put in the Bcc field. */
  bcc: string[];
  /** To/Cc addresses taken out because they are not envelope recipients. */
  removed: string[];
  /** Names of fields whose raw 8-bit text was repaired into encoded words. */
  repaired: string[];
  /** The top-level type is message/partial: sent as it is; Outlook does not reassemble fragments. */
  partial: boolean;
}

export interface PreparedHeader {
  head: Buffer;
  changes: SubmissionChanges;
  /** The message's Message-ID (`<...>`), as found or as added. */
  messageId?: string;
}

export interface PrepareOptions {
  /** A Message-ID (`<...>`) to add when the message has none. */
  addMessageId?: string;
}

/** The `<...>` of a Message-ID field (or its whole trimmed value when it has no angle brackets). */
export function messageIdOf(value: string): string | undefined {
  const m = /<[^<>]*>/.exec(value);
  const id = m ? m[0] : value.trim();
  return id || undefined;
}

/**
 * Rewrites the top-level header fields for submission (see the file header).
 * Fields written anew end in `eol`, the line break the device used (CRLF; a
 * bare LF from some devices).
 */
export function prepareHeader(fields: RawField[], envelope: readonly string[], eol = lineBreakOf(fields), opts: PrepareOptions = {}): PreparedHeader {
  const ct = contentTypeOf(fields);
  const line = (text: string) => Buffer.from(eol === '\r\n' ? text : text.replace(/\r\n/g, '\n'), 'latin1');
  const wanted = new Set(envelope.map((r) => addressKey(r)));
  const inHeaders = new Set<string>();
  const changes: SubmissionChanges = { bcc: [], removed: [], repaired: [], partial: ct.type === 'message/partial' };
  const out: Buffer[] = [];
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (name === 'bcc') continue;
    if (name === 'to' || name === 'cc') {
      const entries = parseAddressList(fieldValue(f).toString('latin1'));
      let changed = false;
      const keep = (m: MailboxEntry) => {
        if (!m.address) return true; // nothing Graph could deliver to
        const key = addressKey(m.address, true);
        if (wanted.has(key)) {
          inHeaders.add(key);
          return true;
        }
        changes.removed.push(Buffer.from(m.address, 'latin1').toString('utf8'));
        changed = true;
        return false;
      };
      const kept: AddressEntry[] = [];
      for (const e of entries) {
        if (e.kind === 'group') kept.push({ ...e, members: e.members.filter(keep) });
        else if (keep(e)) kept.push(e);
      }
      const repaired = repairEntries(kept, ct.charset);
      if (repaired) changes.repaired.push(f.name);
      if (!changed && !repaired) out.push(f.raw);
      else if (kept.length) out.push(line(fieldLine(f.name, kept.map(renderEntry))));
      else if (name === 'to') out.push(line(`${f.name}: undisclosed-recipients:;\r\n`));
      continue;
    }
    if (name === 'from') {
      const entries = parseAddressList(fieldValue(f).toString('latin1'));
      if (repairEntries(entries, ct.charset)) {
        changes.repaired.push(f.name);
        out.push(line(fieldLine(f.name, entries.map(renderEntry))));
        continue;
      }
    }
    if (name === 'subject') {
      const text = repairUnstructured(fieldValue(f), ct.charset);
      if (text !== undefined) {
        changes.repaired.push(f.name);
        out.push(line(`${f.name}: ${text}\r\n`));
        continue;
      }
    }
    out.push(f.raw);
  }
  const seen = new Set<string>();
  for (const r of envelope) {
    const key = addressKey(r);
    if (inHeaders.has(key) || seen.has(key)) continue;
    seen.add(key);
    changes.bcc.push(r);
  }
  // A message without a body may end its last field without a line break: a field added starts on its own line.
  const newLine = () => {
    const last = out[out.length - 1];
    if (last?.length && last[last.length - 1] !== 0x0a) out.push(Buffer.from(eol));
  };
  if (changes.bcc.length) {
    newLine();
    out.push(line(fieldLine('Bcc', changes.bcc.map((a) => Buffer.from(a, 'utf8').toString('latin1')))));
  }
  const found = fields.find((f) => f.name.toLowerCase() === 'message-id');
  let messageId = found ? messageIdOf(unfoldedValue(found)) : undefined;
  if (!found && opts.addMessageId) {
    messageId = opts.addMessageId;
    newLine();
    out.push(line(`Message-ID: ${messageId}\r\n`));
  }
  return { head: Buffer.concat(out), changes, ...(messageId ? { messageId } : {}) };
}

/** Repairs raw 8-bit display names in place; true when any changed. */
function repairEntries(entries: AddressEntry[], charset: string | undefined): boolean {
  let changed = false;
  const fix = (m: MailboxEntry) => {
    if (m.phrase === undefined || !m.angle) return;
    const text = repairPhrase(Buffer.from(m.phrase, 'latin1'), charset);
    if (text === undefined) return;
    m.phrase = text;
    m.raw = `${text} ${m.angle}`;
    changed = true;
  };
  for (const e of entries) {
    if (e.kind === 'group') {
      e.members.forEach(fix);
      const name = repairPhrase(Buffer.from(e.name, 'latin1'), charset);
      if (name !== undefined) {
        e.name = name;
        changed = true;
      }
    } else fix(e);
  }
  return changed;
}

function renderEntry(e: AddressEntry): string {
  if (e.kind === 'mailbox') return e.raw;
  return `${e.name}:${e.members.length ? ` ${e.members.map((m) => m.raw).join(', ')}` : ''};`;
}

/** `Name: a, b, c` (latin1 text, ending in CRLF) folded before an entry that would pass 78 characters. */
function fieldLine(name: string, items: string[]): string {
  let line = `${name}:`;
  let lineLength = line.length;
  items.forEach((item, i) => {
    const piece = `${item}${i < items.length - 1 ? ',' : ''}`;
    const first = piece.split(/\r?\n/)[0]!.length;
    if (i > 0 && lineLength + 1 + first > 78) {
      line += `\r\n ${piece}`;
    } else {
      line += ` ${piece}`;
    }
    const lines = line.split(/\r?\n/);
    lineLength = lines[lines.length - 1]!.length;
  });
  return `${line}\r\n`;
}

export interface PreparedMessage {
  /** The whole prepared message (new header section, then the body as stored). */
  stream: Readable;
  /** Its exact length in bytes. */
  size: number;
  changes: SubmissionChanges;
  /** The line break the message uses (CRLF, or a bare LF), for fields written anew. */
  lineBreak: '\r\n' | '\n';
  /** The Message-ID (`<...>`), as found or as added (PrepareOptions). */
  messageId?: string;
}

/**
 * Opens the stored message and prepares it for submission. `storedSize` is
 * the stored length; the prepared stream fails if the store holds a different
 * number of bytes (a Content-Length already sent would otherwise be wrong).
 */
export async function prepareMessage(body: Readable, storedSize: number, envelope: readonly string[], opts: PrepareOptions = {}): Promise<PreparedMessage> {
  const { fields, rest, lineBreak } = await readHeaderSection(body);
  const oldHead = fields.reduce((n, f) => n + f.raw.length, 0);
  const { head, changes, messageId } = prepareHeader(fields, envelope, lineBreak, opts);
  const size = storedSize - oldHead + head.length;
  const guard = new LengthGuard(storedSize - oldHead);
  rest.on('error', (err) => guard.destroy(err));
  // The stored message is released with the prepared stream, however it ends (read, failed or given up).
  guard.on('close', () => {
    rest.destroy();
    body.destroy();
  });
  guard.push(head);
  rest.pipe(guard);
  return { stream: guard, size, changes, lineBreak, ...(messageId ? { messageId } : {}) };
}

/** Passes bytes through and fails when their count is not the expected one. */
class LengthGuard extends Transform {
  private seen = 0;
  constructor(private readonly expected: number) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) return cb(new Error(`the stored message is longer than its recorded size (${this.expected} bytes after the header)`));
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.expected) return cb(new Error(`the stored message is shorter than its recorded size (${this.seen} of ${this.expected} bytes after the header)`));
    cb();
  }
}
