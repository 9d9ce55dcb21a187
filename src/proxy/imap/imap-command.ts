/**
 * IMAP commands before login (RFC 3501 §9 grammar, the part a login needs):
 * tag, command name, and arguments that are atoms, quoted strings
 * ("..." with \" and \\ escapes), literals ({n} answered with "+", {n+}
 * without: RFC 7888 LITERAL+) and parenthesised lists (ID's). A literal
 * is read as bytes, so a password may hold any character; it is bounded by
 * maxLiteral (a synchronising literal over it is refused before it is sent,
 * a non-synchronising one closes the connection).
 */
export type ImapArg =
  | { type: 'atom'; value: string }
  | { type: 'string'; value: Buffer }
  | { type: 'open' | 'close' };

export interface ImapCommand {
  tag: string;
  /** Upper-cased. */
  name: string;
  args: ImapArg[];
}

export type ImapRead =
  | { kind: 'command'; command: ImapCommand }
  | { kind: 'bad'; tag?: string; text: string; close?: boolean }
  | { kind: 'end' };

export interface ImapCommandSource {
  readLine(): Promise<Buffer | null>;
  readBytes(n: number): Promise<Buffer | null>;
  write(text: string): void;
}

const TAG = /^[\x21-\x7e]+$/;
const LITERAL_AT_END = /\{(\d{1,10})(\+?)\}$/;

/** Reads one command, with its literals. LineError from the reader propagates. */
export async function readImapCommand(src: ImapCommandSource, maxLiteral: number): Promise<ImapRead> {
  let line = await src.readLine();
  if (line === null) return { kind: 'end' };
  const first = line.toString('latin1');
  const head = /^([^ ]+) ([^ ]+)(?: |$)/.exec(first);
  if (!head) return { kind: 'bad', text: first.trim() === '' ? 'Empty command line.' : 'Missing tag or command name.' };
  const tag = head[1]!;
  if (!TAG.test(tag) || /[+(){%*"\\\]]/.test(tag)) return { kind: 'bad', text: 'Invalid tag.' };
  const name = head[2]!.toUpperCase();
  const args: ImapArg[] = [];
  let at = head[0].length;
  for (;;) {
    const parsed = parseArgs(line, at, args);
    if (parsed === 'done') return { kind: 'command', command: { tag, name, args } };
    if (typeof parsed === 'string') return { kind: 'bad', tag, text: parsed };
    const { n, sync } = parsed;
    if (n > maxLiteral) {
      if (sync) return { kind: 'bad', tag, text: `Literal too large (at most ${maxLiteral} bytes before login).` };
      return { kind: 'bad', tag, text: `Literal too large (at most ${maxLiteral} bytes before login).`, close: true };
    }
    if (sync) src.write('+ Ready for literal data\r\n');
    const bytes = await src.readBytes(n);
    if (bytes === null) return { kind: 'end' };
    args.push({ type: 'string', value: Buffer.from(bytes) });
    line = await src.readLine();
    if (line === null) return { kind: 'end' };
    at = 0;
  }
}

/**
 * Parses arguments from `at` to the end of the line into args. Answers
 * 'done', a literal to read next ({ n, sync }), or an error text.
 */
function parseArgs(line: Buffer, at: number, args: ImapArg[]): 'done' | { n: number; sync: boolean } | string {
  let i = at;
  while (i < line.length) {
    const c = line[i]!;
    if (c === 0x20) {
      i += 1;
      continue;
    }
    if (c === 0x28 || c === 0x29) {
      args.push({ type: c === 0x28 ? 'open' : 'close' });
      i += 1;
      continue;
    }
    if (c === 0x22) {
      const q = readQuoted(line, i + 1);
      if (typeof q === 'string') return q;
      args.push({ type: 'string', value: q.value });
      i = q.next;
      continue;
    }
    if (c === 0x7b) {
      const m = LITERAL_AT_END.exec(line.subarray(i).toString('latin1'));
      if (!m || m.index !== 0) return 'Invalid literal.';
      return { n: Number(m[1]), sync: m[2] !== '+' };
    }
    let j = i;
    while (j < line.length && line[j] !== 0x20 && line[j] !== 0x28 && line[j] !== 0x29) {
      if (line[j]! < 0x20 || line[j] === 0x7f) return 'Control character in an atom.';
      j += 1;
    }
    args.push({ type: 'atom', value: line.subarray(i, j).toString('utf8') });
    i = j;
  }
  return 'done';
}

function readQuoted(line: Buffer, start: number): { value: Buffer; next: number } | string {
  const out: number[] = [];
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (c === 0x22) return { value: Buffer.from(out), next: i + 1 };
    if (c === 0x5c) {
      const e = line[i + 1];
      if (e !== 0x22 && e !== 0x5c) return 'Invalid escape in a quoted string.';
      out.push(e);
      i += 1;
      continue;
    }
    if (c === 0x00) return 'NUL in a quoted string.';
    out.push(c);
  }
  return 'Unterminated quoted string.';
}

/** An argument as text (atoms and strings); undefined for a list. */
export function argText(a: ImapArg | undefined): string | undefined {
  if (!a) return undefined;
  if (a.type === 'atom') return a.value;
  if (a.type === 'string') return a.value.toString('utf8');
  return undefined;
}
