// i18n.js: the string catalogues (i18n/en.json, i18n/fr.json), the language
// choice (localStorage, else navigator.languages: fr* -> French, else English),
// t(key, vars) for strings made in JS and applyI18n() for data-i18n attributes.
const KEY = 'atelier.lang';
export const LANGS = ['en', 'fr'];
let lang = 'en';
let strings = {};
let fallback = {};

export function chooseLang() {
  const kept = localStorage.getItem(KEY);
  if (LANGS.includes(kept)) return kept;
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of wanted) {
    const base = String(l).toLowerCase().slice(0, 2);
    if (base === 'fr') return 'fr';
    if (base === 'en') return 'en';
  }
  return 'en';
}

async function loadCatalogue(l) {
  const r = await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`i18n ${l}: ${r.status}`);
  return r.json();
}

export async function initI18n() {
  lang = chooseLang();
  try {
    fallback = await loadCatalogue('en');
    strings = lang === 'en' ? fallback : await loadCatalogue(lang);
  } catch (e) {
    strings = strings || {};
  }
  document.documentElement.lang = lang;
  applyI18n(document);
}

export async function setLang(l) {
  if (!LANGS.includes(l)) return;
  localStorage.setItem(KEY, l);
  lang = l;
  strings = l === 'en' ? fallback : await loadCatalogue(l);
  document.documentElement.lang = l;
  applyI18n(document);
  document.dispatchEvent(new CustomEvent('langchange', { detail: l }));
}

export function getLang() { return lang; }

// t('quote.total', {n: 3}) -> the catalogue's string with {n} replaced.
export function t(key, vars) {
  let s = strings[key];
  if (s === undefined) s = fallback[key];
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
  return s;
}

// Elements: data-i18n (text), data-i18n-placeholder, data-i18n-title,
// data-i18n-aria-label (attributes).
export function applyI18n(root) {
  root.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((e) => { e.placeholder = t(e.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-title]').forEach((e) => { e.title = t(e.dataset.i18nTitle); });
  root.querySelectorAll('[data-i18n-aria-label]').forEach((e) => { e.setAttribute('aria-label', t(e.dataset.i18nAriaLabel)); });
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = t(title.dataset.i18n);
}

// Numbers and dates in the chosen language.
export function fmtNum(n, digits) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  const o = digits === undefined ? { maximumFractionDigits: 2 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
  return new Intl.NumberFormat(lang, o).format(Number(n));
}
export function fmtMoney(n, currency) {
  if (n === null || n === undefined) return '—';
  try {
    return new Intl.NumberFormat(lang, { style: 'currency', currency: currency || 'USD' }).format(Number(n));
  } catch (e) {
    return `${fmtNum(n, 2)} ${currency || ''}`;
  }
}
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
