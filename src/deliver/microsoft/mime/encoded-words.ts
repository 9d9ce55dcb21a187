/**
 * Repair of raw 8-bit header text into RFC 2047 encoded words. Devices (many
 * Japanese multifunction printers among them) put Shift_JIS, EUC-JP, UTF-8 or
 * ISO-2022-JP bytes straight into Subject and display names; Exchange guesses
 * a charset for such bytes and often shows mojibake. The original bytes are
 * kept, only labelled with the charset they are in and base64-wrapped:
 * nothing is transcoded.
 */

const ESC = 0x1b;

/** True when the bytes need repair: 8-bit bytes, or ISO-2022-JP escape sequences. */
export function needsRepair(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80 || b === ESC) return true;
  return false;
}

function decodes(bytes: Buffer, label: string): boolean {
  try {
    new TextDecoder(label, { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const JAPANESE: Record<string, string> = {
  shift_jis: 'Shift_JIS', sjis: 'Shift_JIS', 'x-sjis': 'Shift_JIS', cp932: 'Shift_JIS', 'windows-31j': 'Shift_JIS', ms_kanji: 'Shift_JIS',
  'euc-jp': 'EUC-JP', eucjp: 'EUC-JP', 'x-euc-jp': 'EUC-JP',
};

/**
 * The charset the raw bytes are in: ISO-2022-JP when they carry its escape
 * sequences, UTF-8 when valid, else the body's charset when it is Japanese
 * and fits, else EUC-JP or Shift_JIS by which decodes (EUC-JP first: its
 * byte pairs are all ≥ 0xA1, while Shift_JIS kana and kanji use lead bytes
 * 0x81–0x9F that EUC-JP refuses). Anything else is labelled with the body's
 * charset, or ISO-8859-1 (every byte is valid in it).
 */
export function detectCharset(bytes: Buffer, bodyCharset?: string): string {
  if (bytes.includes(ESC) && !hasHighBit(bytes)) return 'ISO-2022-JP';
  if (decodes(bytes, 'utf-8')) return 'UTF-8';
  const hinted = bodyCharset ? JAPANESE[bodyCharset.toLowerCase()] : undefined;
  if (hinted && decodes(bytes, hinted)) return hinted;
  if (decodes(bytes, 'euc-jp')) return 'EUC-JP';
  if (decodes(bytes, 'shift_jis')) return 'Shift_JIS';
  if (bodyCharset && bodyCharset.toLowerCase() !== 'us-ascii' && supported(bodyCharset)) return bodyCharset;
  return 'ISO-8859-1';
}

function hasHighBit(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

function supported(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/** Length of the character starting at bytes[i] in the charset (so encoded words never split one). */
function charLength(bytes: Buffer, i: number, charset: string): number {
  const b = bytes[i]!;
  switch (charset) {
    case 'UTF-8':
      if (b >= 0xf0) return 4;
      if (b >= 0xe0) return 3;
      if (b >= 0xc0) return 2;
      return 1;
    case 'Shift_JIS':
      return (b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc) ? 2 : 1;
    case 'EUC-JP':
      if (b === 0x8f) return 3;
      return b === 0x8e || b >= 0xa1 ? 2 : 1;
    default:
      return 1;
  }
}

/** Most payload bytes in one encoded word of this charset, so that the word stays within 75 characters. */
function wordBytes(charset: string): number {
  return Math.floor((75 - 7 - charset.length) / 4) * 3;
}

/**
 * Encoded words (RFC 2047, B encoding) for the bytes, each at most 75
 * characters, to be joined with CRLF SP. Words end on character boundaries;
 * ISO-2022-JP words each start and end in ASCII mode (RFC 1468), so a long
 * run is closed with ESC ( B and reopened with its escape in the next word.
 */
export function encodeWords(bytes: Buffer, charset: string): string[] {
  const max = wordBytes(charset);
  const pieces = charset === 'ISO-2022-JP' ? iso2022Pieces(bytes, max) : chunkByChars(bytes, charset, max);
  return pieces.map((p) => `=?${charset}?B?${p.toString('base64')}?=`);
}

function chunkByChars(bytes: Buffer, charset: string, max: number): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = Math.min(charLength(bytes, i, charset), bytes.length - i);
    if (i + n - start > max && i > start) {
      out.push(bytes.subarray(start, i));
      start = i;
    }
    i += n;
  }
  if (i > start) out.push(bytes.subarray(start, i));
  return out;
}

const TO_ASCII = Buffer.from([ESC, 0x28, 0x42]);

/** ISO-2022-JP cut into self-contained pieces: cuts fall between characters, and the mode's escape is repeated. */
function iso2022Pieces(bytes: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  let cur: number[] = [];
  let mode: Buffer = TO_ASCII;
  const shifted = () => !mode.equals(TO_ASCII);
  const flush = () => {
    out.push(Buffer.from(shifted() ? [...cur, ...TO_ASCII] : cur));
    cur = shifted() ? [...mode] : [];
  };
  let i = 0;
  while (i < bytes.length) {
    let unit: Buffer;
    if (bytes[i] === ESC) {
      // ESC $ ( D (JIS X 0212) is four bytes; the others three.
      const len = bytes[i + 1] === 0x24 && bytes[i + 2] === 0x28 ? 4 : 3;
      unit = bytes.subarray(i, i + len);
      mode = Buffer.from(unit);
    } else {
      unit = bytes.subarray(i, i + (mode[1] === 0x24 ? 2 : 1));
    }
    if (cur.length && cur.length + unit.length + TO_ASCII.length > max) flush();
    // After a cut the mode escape is already at the start of the new piece.
    if (!(unit[0] === ESC && cur.length === unit.length && Buffer.from(cur).equals(unit))) cur.push(...unit);
    i += unit.length;
  }
  // A word must end in ASCII mode: the return escape is added when the device left it out.
  if (cur.length && !(cur.length === TO_ASCII.length && Buffer.from(cur).equals(TO_ASCII))) {
    out.push(Buffer.from(shifted() ? [...cur, ...TO_ASCII] : cur));
  } else if (cur.length && !out.length) {
    out.push(Buffer.from(cur));
  }
  return out;
}

/**
 * Unstructured text (a Subject) with raw bytes repaired: the span from the
 * first word that needs repair to the last one becomes encoded words; ASCII
 * words before and after stay as they are. Returns the new value text
 * (ASCII only, folded with CRLF SP), or undefined when nothing needs repair.
 */
export function repairUnstructured(value: Buffer, bodyCharset?: string): string | undefined {
  if (!needsRepair(value)) return undefined;
  const unfolded = Buffer.from(value.toString('latin1').replace(/\r?\n(?=[ \t])/g, ''), 'latin1');
  const trimmed = unfolded.toString('latin1').trim();
  const words = trimmed.split(/([ \t]+)/);
  let first = -1;
  let last = -1;
  words.forEach((w, i) => {
    if (needsRepair(Buffer.from(w, 'latin1'))) {
      if (first < 0) first = i;
      last = i;
    }
  });
  const before = words.slice(0, first).join('');
  const after = words.slice(last + 1).join('');
  const span = Buffer.from(words.slice(first, last + 1).join(''), 'latin1');
  const encoded = encodeWords(span, detectCharset(span, bodyCharset)).join('\r\n ');
  return `${before}${encoded}${after}`;
}

/** A display name (raw bytes, possibly a quoted string) repaired into encoded words, or undefined when it needs none. */
export function repairPhrase(phrase: Buffer, bodyCharset?: string): string | undefined {
  if (!needsRepair(phrase)) return undefined;
  let text = phrase.toString('latin1').replace(/\r?\n(?=[ \t])/g, '').trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1).replace(/\\(.)/g, '$1');
  const bytes = Buffer.from(text, 'latin1');
  return encodeWords(bytes, detectCharset(bytes, bodyCharset)).join('\r\n ');
}
