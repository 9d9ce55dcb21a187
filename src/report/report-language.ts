/**
 * The language of what the relay writes to people by mail: non-delivery
 * notices (`notices.language`) and alert e-mails (`alerts.language`). Each is
 * `en`, `ja` or `both` (Japanese first, then English, in one text/plain part).
 * `notices.language`, when absent, follows one rule: `both` when the console's
 * default language or the relay's own locale (LC_ALL, LC_MESSAGES, LANG of the
 * relay process) is Japanese, English otherwise; `alerts.language`, when
 * absent, is whatever `notices.language` is (so one setting covers both). The
 * rule is applied once per configuration version (at start and at each
 * reload), not per message. The webhook always carries both languages
 * (alert-channels.ts).
 */
import type { Config } from '../config/schema.js';
import { langOfLocale, type Lang } from '../core/i18n.js';

export type ReportLanguage = 'en' | 'ja' | 'both';

export interface ReportLanguages {
  notices: ReportLanguage;
  alerts: ReportLanguage;
}

/** The default when the configuration does not name a language. */
export function defaultReportLanguage(consoleLang: Lang | undefined, systemLang: Lang | undefined): ReportLanguage {
  return consoleLang === 'ja' || systemLang === 'ja' ? 'both' : 'en';
}

/**
 * The languages of notices and alert e-mails for each configuration version.
 * The relay's locale is read once, here (the composition root passes its
 * environment); each frozen Config is resolved once and remembered.
 */
export function reportLanguageResolver(env: Record<string, string | undefined>): (config: Config) => ReportLanguages {
  const systemLang = langOfLocale(env.LC_ALL) ?? langOfLocale(env.LC_MESSAGES) ?? langOfLocale(env.LANG);
  const resolved = new WeakMap<Config, ReportLanguages>();
  return (config) => {
    let r = resolved.get(config);
    if (!r) {
      // The console has no configured default language (each browser chooses, console/static/i18n.js), so only the locale counts here.
      const fallback = defaultReportLanguage(undefined, systemLang);
      const notices = config.notices.language ?? fallback;
      r = Object.freeze({ notices, alerts: config.alerts.language ?? notices });
      resolved.set(config, r);
    }
    return r;
  };
}

/** The languages a text is written in, in order (Japanese first when both). */
export function languagesOf(l: ReportLanguage): Lang[] {
  return l === 'both' ? ['ja', 'en'] : [l];
}

/** The line between the Japanese and the English part of a text written in both. */
export const LANGUAGE_SEPARATOR = '\r\n\r\n------------------------------------------------------------\r\n\r\n';
