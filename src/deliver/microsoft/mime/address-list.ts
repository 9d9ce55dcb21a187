/**
 * Address lists of To/Cc/From fields (RFC 5322 §3.4), read from raw header
 * bytes as a byte string (latin1: one char per byte, so 8-bit display names
 * and SMTPUTF8 addresses survive untouched): display names, quoted strings,
 * comments, angle addresses, groups (`Team: a@x, b@y;`). Each entry keeps
 * its raw text so a list can be written back with some entries left out.
 * Linear in the length of the value.
 */

export interface MailboxEntry {
  kind: 'mailbox';
  /** The entry as sent, trimmed (may contain folds). */
  raw: string;
  /** The address (addr-spec) as sent, without angle brackets or comments; '' when none was found. */
  address: string;
  /** Raw display name before `<`, trimmed; undefined when the entry has no angle address. */
  phrase?: string;
  /** `<...>` part and anything after it, when present. */
  angle?: string;
}

export interface GroupEntry {
  kind: 'group';
  /** Group display name as sent, trimmed. */
  name: string;
  members: MailboxEntry[];
}

export type AddressEntry = MailboxEntry | GroupEntry;

/** Parses an address list value (folds allowed). */
export function parseAddressList(value: string): AddressEntry[] {
  const entries: AddressEntry[] = [];
  let group: GroupEntry | undefined;
  let start = 0;
  let quote = false;
  let comment = 0;
  let angle = false;
  const push = (end: number) => {
    const text = value.slice(start, end).trim();
    start = end + 1;
    if (!text) return;
    const mb = parseMailbox(text);
    if (group) group.members.push(mb);
    else entries.push(mb);
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (comment) {
      if (c === '\\') i++;
      else if (c === '(') comment++;
      else if (c === ')') comment--;
      continue;
    }
    if (c === '\x1b') i = skipShifted(value, i);
    else if (c === '"') quote = true;
    else if (c === '(') comment = 1;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (angle) continue;
    else if (c === ',') push(i);
    else if (c === ':' && !group) {
      group = { kind: 'group', name: value.slice(start, i).trim(), members: [] };
      entries.push(group);
      start = i + 1;
    } else if (c === ';' && group) {
      push(i);
      group = undefined;
    }
  }
  push(value.length);
  return entries;
}

/**
 * Raw ISO-2022-JP in a display name: its escape sequences and two-byte text
 * use printable ASCII bytes (`(`, `"`, `,`, `<` among them) that are not
 * syntax. Returns the index of the last byte of the escape, or of the
 * return-to-ASCII escape that ends a two-byte run.
 */
function skipShifted(text: string, i: number): number {
  if (text[i + 1] !== '$') return Math.min(i + 2, text.length - 1);
  const back = text.indexOf('\x1b(', i + 1);
  return back < 0 ? text.length - 1 : Math.min(back + 2, text.length - 1);
}

function parseMailbox(text: string): MailboxEntry {
  const lt = indexOutsideQuotes(text, '<');
  if (lt >= 0) {
    const gt = text.indexOf('>', lt);
    let inner = text.slice(lt + 1, gt < 0 ? text.length : gt).trim();
    // An obsolete source route (<@a,@b:user@c>) is not part of the address.
    if (inner.startsWith('@') && inner.includes(':')) inner = inner.slice(inner.indexOf(':') + 1);
    const phrase = text.slice(0, lt).trim();
    return { kind: 'mailbox', raw: text, address: inner, phrase, angle: text.slice(lt).trim() };
  }
  return { kind: 'mailbox', raw: text, address: addrSpec(text) };
}

function indexOutsideQuotes(text: string, ch: string): number {
  let quote = false;
  let comment = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
    } else if (comment) {
      if (c === '\\') i++;
      else if (c === '(') comment++;
      else if (c === ')') comment--;
    } else if (c === '\x1b') i = skipShifted(text, i);
    else if (c === '"') quote = true;
    else if (c === '(') comment = 1;
    else if (c === ch) return i;
  }
  return -1;
}

/** The addr-spec of an entry without angle brackets: comments and folding white space outside quotes removed. */
function addrSpec(text: string): string {
  let out = '';
  let quote = false;
  let comment = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') quote = false;
    } else if (comment) {
      if (c === '\\') i++;
      else if (c === '(') comment++;
      else if (c === ')') comment--;
    } else if (c === '(') comment = 1;
    else if (c === '"') {
      quote = true;
      out += c;
    } else if (!/\s/.test(c)) out += c;
  }
  return out.includes('@') ? out : '';
}

/** Every mailbox in the list, group members included. */
export function mailboxes(entries: AddressEntry[]): MailboxEntry[] {
  return entries.flatMap((e) => (e.kind === 'group' ? e.members : [e]));
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;

/**
 * One form for comparing addresses from headers (byte strings) and the
 * envelope (UTF-8 strings): UTF-8 text, a quoted local part unquoted when it
 * needs no quotes, lower case (Exchange matches addresses without case).
 */
export function addressKey(address: string, byteString = false): string {
  let a = byteString ? Buffer.from(address, 'latin1').toString('utf8') : address;
  a = a.trim().replace(/^<|>$/g, '');
  const at = a.lastIndexOf('@');
  if (at > 0 && a.startsWith('"') && a[at - 1] === '"') {
    const local = a.slice(1, at - 1).replace(/\\(.)/g, '$1');
    if (DOT_ATOM.test(local)) a = `${local}${a.slice(at)}`;
  }
  return a.toLowerCase();
}
