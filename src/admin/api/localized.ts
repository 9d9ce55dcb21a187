/**
 * The API's answers in the language the client asks for (Accept-Language,
 * English unless Japanese is preferred). The English fields stay as they
 * always were; beside each object a person reads, `localized` carries the
 * same fields in the language asked for, with `lang` saying which language
 * they are in (English when there is no Japanese for them: a trail entry
 * written before the trail had keys, an explanation the catalogue has no
 * Japanese for). Explanations always carry the catalogue's stable `ref`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { langFromAcceptLanguage, type Lang } from '../../core/i18n.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { labelOf, MESSAGE_STATE_TEXTS, RECIPIENT_STATE_TEXTS, TRAIL_KIND_TEXTS, trailHasKey, trailLine } from '../../core/trail-texts.js';
import type { TrailEvent } from '../../spool/store.js';

/** The language the request asks for; the answer says it in Content-Language (and varies by Accept-Language). */
export function answerLang(req: FastifyRequest, reply: FastifyReply): Lang {
  const lang = langFromAcceptLanguage(req.headers['accept-language']);
  reply.header('content-language', lang).header('vary', 'Accept-Language');
  return lang;
}

export interface LocalizedOutcome {
  lang: Lang;
  hint: string | null;
  fix: string | null;
  ref: string | null;
}

/** What an outcome means and what to do, in the language asked for (English when the catalogue entry has no Japanese). */
export function localizeOutcome(o: DeliveryOutcome, lang: Lang): LocalizedOutcome {
  const ja = lang === 'ja' && (o.ja?.hint || o.ja?.fix) ? o.ja : undefined;
  return {
    lang: ja ? 'ja' : 'en',
    hint: (ja ? ja.hint || o.hint : o.hint) ?? null,
    fix: (ja ? ja.fix || o.fix : o.fix) ?? null,
    ref: o.ref ?? null,
  };
}

/** An outcome as the API shows it: as stored, with `localized` beside. */
export function outcomeView(o: DeliveryOutcome | null | undefined, lang: Lang): (DeliveryOutcome & { localized: LocalizedOutcome }) | null {
  return o ? { ...o, localized: localizeOutcome(o, lang) } : null;
}

export function messageStateLabel(state: string, lang: Lang): { lang: Lang; state: string } {
  return { lang, state: labelOf(MESSAGE_STATE_TEXTS, state)[lang] };
}

export function recipientStateLabel(state: string, lang: Lang): { lang: Lang; state: string } {
  return { lang, state: labelOf(RECIPIENT_STATE_TEXTS, state)[lang] };
}

/** One trail entry: when, its kind, the line as written (English), its facts, and the kind's name and the line in the language asked for. */
export function trailView(e: TrailEvent, lang: Lang, iso: (ms: number) => string | null) {
  const line = trailLine(e);
  return {
    at: iso(e.at), kind: e.kind, text: e.text, ...(e.data ? { data: e.data } : {}),
    localized: { lang: trailHasKey(e) ? lang : 'en', kind: labelOf(TRAIL_KIND_TEXTS, e.kind)[lang], text: line[lang] },
  };
}
