/**
 * Shared helpers of the command-line faces: config location, output, errors,
 * and the language of everything printed (--lang, then LC_ALL, LC_MESSAGES,
 * LANG; set once by main.ts before a command runs).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { render, type Lang, type Placeholders, type Text } from '../core/i18n.js';
import { UserError } from '../core/user-error.js';
import { CLI_TEXT as T } from './texts.js';

let language: Lang = 'en';

/** The language of this run's output (main.ts sets it from --lang and the locale). */
export function setCliLang(lang: Lang): void {
  language = lang;
}

export function cliLang(): Lang {
  return language;
}

/** A text in this run's language, filled. */
export function tr(text: Text, values?: Placeholders): string {
  return render(text, language, values);
}

/** A line on standard output in this run's language. */
export function say(text: Text, values?: Placeholders): void {
  process.stdout.write(`${tr(text, values)}\n`);
}

/** A command used the wrong way (exit code 2); other refusals a person can act on are UserErrors (exit code 1). */
export class UsageError extends UserError {}

/** --config, then $AUTHRELAY_CONFIG, then ./authrelay.yaml if present; else the embedded default. */
export function configPath(flag: string | undefined): string | undefined {
  if (flag) return resolve(flag);
  if (process.env.AUTHRELAY_CONFIG) return resolve(process.env.AUTHRELAY_CONFIG);
  return existsSync('authrelay.yaml') ? resolve('authrelay.yaml') : undefined;
}

export function loadConfig(flag: string | undefined): { config: Config; source: string; file: string | undefined } {
  const file = configPath(flag);
  const { config, source } = loadConfigFile(file, { env: process.env });
  return { config, source, file };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `authrelay: MESSAGE` on standard error, in this run's language. */
export function complain(text: Text, values?: Placeholders): void {
  process.stderr.write(`authrelay: ${tr(text, values)}\n`);
}

export function fail(message: string | Text, code = 1): never {
  process.stderr.write(`authrelay: ${typeof message === 'string' ? message : tr(message)}\n`);
  process.exit(code);
}

/** An error in this run's language: a UserError's own text, a configuration's problems under a translated headline. */
export function describeError(err: unknown): string {
  if (err instanceof ConfigError) {
    // A missing file's English headline is the error's own (it names the file's way out); the problems carry their lines.
    if (language === 'en' && err.problems.length === 0) return err.message;
    const headline = err.problems.length ? T.configInvalid : T.configMissing;
    return `${err.file ? `${err.file}: ` : ''}${tr(headline)}${err.problemsIn(language).map((p) => `\n  - ${p}`).join('')}`;
  }
  if (err instanceof UserError) return err.text[language];
  if (err instanceof Error) return err.message;
  return String(err);
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

/** Terminal columns a text takes: Japanese (and other East Asian wide) characters take two. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff)
      || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd) ? 2 : 1;
  }
  return w;
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? ''))));
  const pad = (c: string, w: number) => c + ' '.repeat(Math.max(0, w - displayWidth(c)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join('  ')).join('\n') + '\n';
}
