/**
 * The two languages every text a person reads exists in: English and
 * Japanese (the people who install authrelay mostly read Japanese first).
 * A text is a pair `{ en, ja }` with the same {placeholders} in both; the
 * faces choose the language (the console from its setting, the API from
 * Accept-Language, the CLI from --lang, LC_ALL, LC_MESSAGES or LANG) and fill
 * it with `render`. Microsoft's screens and settings are named as Microsoft's
 * own Japanese UI names them; PowerShell lines, product names, codes and
 * commands stay as they are.
 */

export type Lang = 'en' | 'ja';
export const LANGS: readonly Lang[] = ['en', 'ja'];

/** One text in both languages. */
export interface Text {
  en: string;
  ja: string;
}

/** Values of {placeholders}: the same in both languages, or a part of the sentence that is itself a text in both. */
export type Placeholders = Record<string, string | number | Text | undefined>;

/** Templates cut at their placeholders: text, name, text, name, ..., text (the texts are few and fixed; bounded all the same). */
const cut = new Map<string, string[]>();
const CUT_LIMIT = 5_000;

/**
 * Fills {name} placeholders; a placeholder without a value is left as it is (so a missing value shows).
 * A value that is a text in both languages gives its `lang` part.
 */
export function fill(template: string, values: Placeholders = {}, lang: Lang = 'en'): string {
  let parts = cut.get(template);
  if (!parts) {
    parts = template.split(/\{([A-Za-z][A-Za-z0-9]*)\}/);
    if (cut.size < CUT_LIMIT) cut.set(template, parts);
  }
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const v = values[parts[i]!];
    out += (v === undefined ? `{${parts[i]}}` : typeof v === 'object' ? v[lang] : String(v)) + parts[i + 1]!;
  }
  return out;
}

/** The text in one language, filled. */
export function render(text: Text, lang: Lang, values?: Placeholders): string {
  return fill(text[lang], values, lang);
}

/** The text in both languages, filled (API answers and --json carry both). */
export function renderBoth(text: Text, values?: Placeholders): Text {
  return { en: fill(text.en, values, 'en'), ja: fill(text.ja, values, 'ja') };
}

/** The placeholders a template uses, sorted (a test checks that both languages use the same ones). */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(/\{([A-Za-z][A-Za-z0-9]*)\}/g)].map((m) => m[1]!))].sort();
}

/** The language of a locale string (ja, ja_JP.UTF-8, ja-JP, en_US…); undefined when it names neither. */
export function langOfLocale(locale: string | undefined): Lang | undefined {
  if (!locale) return undefined;
  const l = locale.trim().toLowerCase();
  if (l.startsWith('ja')) return 'ja';
  if (l.startsWith('en') || l === 'c' || l === 'posix' || l.startsWith('c.')) return 'en';
  return undefined;
}

/** The command line's language: --lang, then LC_ALL, LC_MESSAGES, LANG (POSIX order); English otherwise. */
export function langFromEnv(env: Record<string, string | undefined>, flag?: string): Lang {
  return langOfLocale(flag) ?? langOfLocale(env.LC_ALL) ?? langOfLocale(env.LC_MESSAGES) ?? langOfLocale(env.LANG) ?? 'en';
}

/** The language an HTTP client asks for (Accept-Language, by quality); English otherwise. */
export function langFromAcceptLanguage(header: string | undefined): Lang {
  if (!header) return 'en';
  const ranked = header.split(',').map((part, i) => {
    const [tag, ...params] = part.trim().split(';');
    const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? '1');
    return { lang: langOfLocale(tag), q: Number.isFinite(q) ? q : 0, i };
  }).filter((x) => x.lang && x.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.lang ?? 'en';
}

/** A value that reads the same in both languages (a name, an address, a server's own words). */
export function asIs(value: string): Text {
  return { en: value, ja: value };
}

/** Texts joined language by language; empty ones are left out. */
export function joinTexts(parts: readonly (Text | undefined)[], separator = '\n'): Text {
  const kept = parts.filter((p): p is Text => p !== undefined && (p.en !== '' || p.ja !== ''));
  return { en: kept.map((p) => p.en).join(separator), ja: kept.map((p) => p.ja).join(separator) };
}

/** An empty text (no detail, nothing to do). */
export const NO_TEXT: Text = Object.freeze({ en: '', ja: '' });
