/**
 * The Subject as a person reads it: MIME encoded-words (RFC 2047, such as
 * =?UTF-8?B?...?= for a Japanese subject) decoded. The stores keep it beside
 * the Subject as received (subject_text, only when the two differ) so a
 * search for the words a person types finds the message.
 */
import libmime from 'libmime';

/** The decoded Subject, or null when decoding changes nothing (or the message has none). */
export function decodedSubject(subject: string | null | undefined): string | null {
  if (!subject || !subject.includes('=?')) return null;
  try {
    const text = libmime.decodeWords(subject);
    return text !== subject ? text : null;
  } catch {
    return null;
  }
}
