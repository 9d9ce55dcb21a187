/**
 * The Subject as a person reads it: MIME encoded-words (RFC 2047, such as
 * =?UTF-8?B?...?= for a Japanese subject) decoded. The stores keep it beside
 * the Subject as received (subject_text, only when the two differ) so a
 * search for the words a person types finds the message.
 */
import { createRequire } from 'node:module';

// libmime (with the character sets it decodes: iconv-lite, encoding-japanese) is loaded
// at the first encoded subject, not at start: the listeners open before it is needed.
let libmime: (typeof import('libmime'))['default'] | undefined;

/** The decoded Subject, or null when decoding changes nothing (or the message has none). */
export function decodedSubject(subject: string | null | undefined): string | null {
  if (!subject || !subject.includes('=?')) return null;
  try {
    libmime ??= createRequire(import.meta.url)('libmime') as (typeof import('libmime'))['default'];
    const text = libmime.decodeWords(subject);
    return text !== subject ? text : null;
  } catch {
    return null;
  }
}
