// designer.js: the engraving designer: builds engrave.preview's `engraving`
// from the form, asks for the preview 250 ms after the last keystroke, shows
// the SVG as an image, the fit (and, when it does not fit, the numbers), and
// hands the engraving to the new-job page through sessionStorage.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, debounce, $, $$, svgImage } from './dom.js';
import { t, fmtNum } from './i18n.js';

const ENGRAVING_KEY = 'atelier.engraving';
let seq = 0;
let last = null;        // {engraving, result} of the latest answer
let lastError = null;

function content() { return ($('input[name="content"]:checked') || {}).value || 'text'; }

// The language of a text when none is chosen: the daemon needs it for
// right-to-left shaping; Arabic and Hebrew letters say it.
function guessLang(text) {
  if (/[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/.test(text)) return 'ar';
  if (/[\u0590-\u05FF\uFB1D-\uFB4F]/.test(text)) return 'he';
  return null;
}

function num(id) {
  const v = $(id).value;
  return v === '' ? null : Number(v);
}

export function engraving() {
  const e = {};
  const c = content();
  const lang = $('#lang').value;
  if (c === 'text') {
    e.text = $('#text').value;
    const l = lang || guessLang(e.text);
    if (l) e.lang = l;
  } else if (c === 'date') {
    e.date = $('#date').value;
    if (lang) e.lang = lang;
    e.date_style = $('#date-style').value;
  } else {
    e.symbol = $('#symbol').value;
    if (e.symbol === 'monogram' && $('#initials').value.trim()) e.text = $('#initials').value.trim();
  }
  e.area = $('#area').value;
  if (e.area === 'ring') { e.ring_size = num('#ring-size'); e.band_width = num('#band-width'); }
  if (e.area === 'round') e.diameter = num('#diameter');
  if (e.area === 'bangle' || e.area === 'cylinder') { e.diameter = num('#diameter'); e.band_width = num('#band-width'); }
  if (e.area === 'ring' || e.area === 'bangle') {
    e.band = $('#band').value;
    if (e.band === 'outer') e.thickness = num('#thickness');
  }
  if (['ring', 'bangle', 'cylinder'].includes(e.area) && num('#start-angle')) e.start_angle = num('#start-angle');
  if (e.area === 'rect') { e.width = num('#width'); e.height = num('#height'); }
  const ch = num('#char-height');
  if (ch !== null) e.char_height = ch;
  e.align = $('#align').value;
  if ($('#fill').value) e.fill = $('#fill').value;
  return e;
}

function hasContent(e) {
  if (e.symbol) return true;
  if (e.date !== undefined) return !!e.date;
  return !!(e.text && e.text.trim());
}

function showFields() {
  const c = content();
  $$('#designer-form [data-content]').forEach((f) => {
    const kinds = f.dataset.content.split(' ');
    f.hidden = !(kinds.includes(c) || (kinds.includes('monogram') && c === 'symbol' && $('#symbol').value === 'monogram'));
  });
  const area = $('#area').value;
  $$('#designer-form [data-area]').forEach((f) => { f.hidden = !f.dataset.area.split(' ').includes(area); });
}

// "its width needs 23.4 mm at 0.8 mm; 18.0 mm available" -> the numbers.
export function fitNumbers(msg) {
  const m = /(\w+) needs ([\d.]+) mm at ([\d.]+) mm; ([\d.]+) mm available/.exec(msg || '');
  if (!m) return null;
  return { what: m[1], needed: Number(m[2]), at: Number(m[3]), available: Number(m[4]) };
}

function renderResult() {
  const fit = $('#fit');
  const use = $('#use-engraving');
  if (lastError) {
    const e = lastError;
    const n = e.code === 1002 ? fitNumbers(e.message) : null;
    fit.className = 'fit-bad';
    replace(fit, e.code === 1002 ? t('designer.no_fit') : t('designer.refused'), ' ', h('span', { class: 'fit-message' }, e.message));
    if (n) {
      fit.append(h('br'), t('designer.no_fit_numbers', { what: t(`designer.dim_${n.what}`) === `designer.dim_${n.what}` ? n.what : t(`designer.dim_${n.what}`), needed: fmtNum(n.needed, 1), at: fmtNum(n.at, 1), available: fmtNum(n.available, 1) }));
    }
    fit.dataset.fits = 'false';
    replace($('#preview'), h('p', { class: 'muted' }, t('designer.no_preview')));
    $('#stats').textContent = '';
    use.disabled = true;
    return;
  }
  if (!last) {
    fit.className = '';
    fit.textContent = t('designer.hint');
    fit.dataset.fits = '';
    replace($('#preview'));
    $('#stats').textContent = '';
    use.disabled = true;
    return;
  }
  const r = last.result;
  const f = r.fit || {};
  fit.dataset.fits = f.fits === false ? 'false' : 'true';
  fit.className = f.fits === false ? 'fit-bad' : 'fit-ok';
  if (f.fits === false) {
    fit.textContent = t('designer.no_fit_numbers', { what: '', needed: fmtNum(f.needed, 1), at: fmtNum(f.char_height, 1), available: fmtNum(f.available, 1) });
  } else if (typeof f.char_height === 'number') {
    fit.textContent = t('designer.fits', { h: fmtNum(f.char_height, 2), w: fmtNum(f.area_w, 1), ah: fmtNum(f.area_h, 1), lines: f.lines || 1 });
  } else {
    fit.textContent = t('designer.fits_design', { w: fmtNum(f.area_w, 1), ah: fmtNum(f.area_h, 1) });
  }
  if (r.svg) replace($('#preview'), svgImage(r.svg, t('designer.preview_alt')));
  const s = r.stats || {};
  $('#stats').textContent = s.seconds !== undefined
    ? t('designer.stats', { s: fmtNum(s.seconds, 0), burn: fmtNum(s.burn_mm, 0), paths: s.paths ?? '—' }) : '';
  use.disabled = false;
}

async function preview() {
  const e = engraving();
  const mine = ++seq;
  if (!hasContent(e)) { last = null; lastError = null; renderResult(); return; }
  $('#preview').classList.add('busy');
  try {
    // A round piece turns on a laser's rotary: the one chosen, else the
    // daemon's pick (a flat bed cannot take the outside of a band).
    const params = { engraving: e };
    if (['ring', 'bangle', 'cylinder'].includes(e.area) && $('#station').value) params.station = $('#station').value;
    const r = await rpc('engrave.preview', params);
    if (mine !== seq) return;
    last = { engraving: e, result: r };
    lastError = null;
  } catch (err) {
    if (mine !== seq) return;
    last = null;
    lastError = err;
  } finally {
    if (mine === seq) $('#preview').classList.remove('busy');
  }
  if (mine === seq) renderResult();
}
const previewSoon = debounce(preview, 250);

function use() {
  const e = last ? last.engraving : engraving();
  sessionStorage.setItem(ENGRAVING_KEY, JSON.stringify(e));
  location.assign('/job-new.html');
}

// Back from the new-job page: the design kept in sessionStorage is shown again.
function restore() {
  let e = null;
  try { e = JSON.parse(sessionStorage.getItem(ENGRAVING_KEY) || 'null'); } catch (x) { e = null; }
  if (!e || typeof e !== 'object') return;
  const set = (id, v) => { if (v !== undefined && v !== null) $(id).value = v; };
  if (e.symbol) { $('#content-symbol').checked = true; set('#symbol', e.symbol); set('#initials', e.text); }
  else if (e.date) { $('#content-date').checked = true; set('#date', e.date); set('#date-style', e.date_style); }
  else { $('#content-text').checked = true; set('#text', e.text); }
  set('#lang', e.lang || '');
  set('#area', e.area);
  set('#ring-size', e.ring_size); set('#band-width', e.band_width); set('#diameter', e.diameter);
  set('#band', e.band); set('#thickness', e.thickness); set('#start-angle', e.start_angle);
  set('#width', e.width); set('#height', e.height); set('#char-height', e.char_height);
  set('#align', e.align); set('#fill', e.fill || '');
}

// The lasers of the workshop, those with a rotary first: a round piece's
// outside is engraved turning.
async function loadLasers() {
  const sel = $('#station');
  try {
    const st = await rpc('status');
    const names = Object.entries(st.stations || {}).filter(([, v]) => v.kind === 'laser').map(([k]) => k);
    const auto = document.createElement('option');
    auto.value = '';
    auto.textContent = t('designer.station_auto');
    sel.replaceChildren(auto, ...names.map((n) => { const o = document.createElement('option'); o.value = n; o.textContent = n; return o; }));
  } catch (e) { /* the preview says what is wrong */ }
}

async function main() {
  await initPage('designer');
  await loadLasers();
  restore();
  showFields();
  const form = $('#designer-form');
  form.addEventListener('input', () => { showFields(); previewSoon(); });
  form.addEventListener('change', () => { showFields(); previewSoon(); });
  form.addEventListener('submit', (ev) => ev.preventDefault());
  $('#use-engraving').addEventListener('click', use);
  document.addEventListener('langchange', renderResult);
  renderResult();
  preview();
}

main();
