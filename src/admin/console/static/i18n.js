// authrelay console: the UI language. English or Japanese, chosen from the
// browser's languages, switchable, remembered in localStorage. Strings come
// from /assets/i18n/<lang>.json; t('key', { n: 3 }) fills {n}.
/* global navigator, localStorage, document, fetch */

export const LANGS = ['en', 'ja'];
const KEY = 'authrelay.lang';
let dict = {};
let fallback = {};
let current = 'en';

/** The stored choice, else the first of the browser's languages we have, else English. */
export function preferredLang() {
  const stored = localStorage.getItem(KEY);
  if (LANGS.includes(stored)) return stored;
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function load(lang) {
  const res = await fetch(`/assets/i18n/${lang}.json`, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`cannot load the ${lang} dictionary (${res.status})`);
  return res.json();
}

/** Loads a language; remember=true stores the choice. */
export async function setLang(lang, remember = false) {
  if (!LANGS.includes(lang)) lang = 'en';
  if (!Object.keys(fallback).length) fallback = await load('en');
  dict = lang === 'en' ? fallback : await load(lang);
  current = lang;
  if (remember) localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.getAttribute('data-i18n'));
}

export function lang() {
  return current;
}

export function t(key, vars = {}) {
  const text = dict[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** A date and time in the UI language. */
export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(current === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A duration in seconds, e.g. "3 min" / "3 分". */
export function ago(seconds) {
  if (seconds < 90) return t('time.seconds', { n: seconds });
  if (seconds < 5400) return t('time.minutes', { n: Math.round(seconds / 60) });
  if (seconds < 172800) return t('time.hours', { n: Math.round(seconds / 3600) });
  return t('time.days', { n: Math.round(seconds / 86400) });
}

/** A size in bytes, readable. */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}
