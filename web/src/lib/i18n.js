// UI strings and formatting. One dictionary per locale (src/i18n/<locale>.json),
// keys namespaced by screen ("inbox.title"); a value may be {one, other, …}
// (Intl.PluralRules on vars.count). Placeholders are {name}. The locale comes
// from the user's choice (kept in localStorage), else the browser; dates are
// shown in the tenant's time zone (setTimeZone, from GET /api/v1/settings).
import { useEffect, useState } from 'preact/hooks';
import en from '../i18n/en.json';
import es from '../i18n/es.json';

const DICTS = { en, es };
export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
];
const STORE_KEY = 'sb.locale';

function pickLocale() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved && DICTS[saved]) return saved;
  } catch (_) {
    /* storage may be unavailable */
  }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (DICTS[base]) return base;
  }
  return 'en';
}

let locale = pickLocale();
let timeZone;
let plural = new Intl.PluralRules(locale);
const listeners = new Set();

function lookup(dict, key) {
  let v = dict;
  for (const part of key.split('.')) {
    if (v == null || typeof v !== 'object') return undefined;
    v = v[part];
  }
  return v;
}

/** The string for key in the current locale (English, then the key itself, when missing). */
export function t(key, vars) {
  let v = lookup(DICTS[locale], key);
  if (v === undefined) v = lookup(en, key);
  if (v === undefined) return key;
  if (typeof v === 'object') {
    const n = vars && typeof vars.count === 'number' ? vars.count : 0;
    v = v[n === 0 && v.zero ? 'zero' : plural.select(n)] ?? v.other;
  }
  if (!vars) return v;
  return String(v).replace(/\{(\w+)\}/g, (m, name) =>
    vars[name] === undefined ? m : typeof vars[name] === 'number' ? fmtNumber(vars[name]) : String(vars[name]),
  );
}

/** True when key exists in the English dictionary. */
export function hasKey(key) {
  return lookup(en, key) !== undefined;
}

export function getLocale() {
  return locale;
}

/** Switch the locale (remembered for next time) and re-render subscribers. */
export function setLocale(l, remember = true) {
  if (!DICTS[l]) return;
  locale = l;
  plural = new Intl.PluralRules(l);
  document.documentElement.lang = l;
  if (remember) {
    try {
      localStorage.setItem(STORE_KEY, l);
    } catch (_) {
      /* ignore */
    }
  }
  listeners.forEach((fn) => fn());
}

/** The tenant's IANA time zone for every date shown (undefined: the browser's). */
export function setTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    timeZone = tz;
  } catch (_) {
    timeZone = undefined;
  }
  listeners.forEach((fn) => fn());
}

export function getTimeZone() {
  return timeZone;
}

/** Re-render the calling component when the locale or time zone changes. */
export function useLocale() {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return locale;
}

function toMs(v) {
  if (v == null || v === '') return NaN;
  return typeof v === 'number' ? v : Date.parse(v);
}

/** A date (ms or RFC 3339) in the locale and the tenant's time zone; opts are Intl's. */
export function fmtDate(ms, opts) {
  const d = toMs(ms);
  if (Number.isNaN(d)) return '';
  const o = opts || { dateStyle: 'medium', timeStyle: 'short' };
  return new Intl.DateTimeFormat(locale, { ...o, timeZone }).format(new Date(d));
}

/** Short form for lists: the time today, the date otherwise. */
export function fmtWhen(ms) {
  const d = toMs(ms);
  if (Number.isNaN(d)) return '';
  const day = (x) => new Intl.DateTimeFormat('en-CA', { timeZone, dateStyle: 'short' }).format(new Date(x));
  return day(d) === day(Date.now())
    ? fmtDate(d, { hour: 'numeric', minute: '2-digit' })
    : fmtDate(d, { month: 'short', day: 'numeric' });
}

export function fmtNumber(n, opts) {
  return new Intl.NumberFormat(locale, opts).format(n);
}

document.documentElement.lang = locale;
