// job-new.js: the new-job form. The catalogue fills the selects, the gem
// names' datalist and the services; as the piece is described, job.plan
// (debounced) shows what would be done, and Create records it (job.create)
// and opens the job's page.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, debounce, message, $, $$ } from './dom.js';
import { t } from './i18n.js';
import * as plan from './plan.js';

const ENGRAVING_KEY = 'atelier.engraving';
let cat = null;
let me = null;
let seq = 0;           // the latest plan asked for; older answers are dropped
let designerEngraving = null;

// ---- the catalogue ---------------------------------------------------------
function fillSelect(sel, items, group, blank) {
  const keep = sel.value;
  replace(sel, blank ? h('option', { value: '' }, t('new.choose')) : null,
    items.map((x) => h('option', { value: x }, plan.label(group, x))));
  if (keep) sel.value = keep;
}

function fillCatalogue() {
  fillSelect($('#type'), cat.pieces || [], 'piece', true);
  fillSelect($('#metal'), cat.metals || [], 'metal', true);
  const names = new Set([...(cat.species || []), ...Object.keys(cat.aliases || {})]);
  replace($('#species-list'), Array.from(names).sort().map((n) => h('option', { value: n },
    cat.aliases && cat.aliases[n] ? `${n} → ${cat.aliases[n]}` : null)));
  $$('#gems select.treatment').forEach((s) => fillSelect(s, cat.treatments || ['none'], 'treatment'));
  buildServices();
}

// ---- gems ----------------------------------------------------------------
let gemN = 0;
function addGem(g) {
  gemN += 1;
  const id = `gem${gemN}`;
  const treatment = h('select', { id: `${id}-treatment`, class: 'treatment' });
  fillSelect(treatment, (cat && cat.treatments) || ['none'], 'treatment');
  if (g && g.treatment) treatment.value = g.treatment;
  const row = h('div', { class: 'gem-row', dataset: { gem: id } },
    h('div', { class: 'field' }, h('label', { for: `${id}-species`, dataset: { i18n: 'gem.species' } }, t('gem.species')),
      h('input', { type: 'text', id: `${id}-species`, class: 'species', list: 'species-list', value: g ? g.species : '', spellcheck: 'false' })),
    h('div', { class: 'field' }, h('label', { for: `${id}-treatment`, dataset: { i18n: 'gem.treatment' } }, t('gem.treatment')), treatment),
    h('div', { class: 'field' }, h('label', { for: `${id}-count`, dataset: { i18n: 'gem.count' } }, t('gem.count')),
      h('input', { type: 'number', id: `${id}-count`, class: 'count', min: '1', max: '10000', step: '1', value: g ? g.count : 1 })),
    h('button', { type: 'button', class: 'btn btn-quiet', dataset: { action: 'remove-gem' }, 'aria-label': t('new.remove_gem'),
      onclick: () => { row.remove(); planSoon(); } }, t('new.remove')));
  $('#gems').append(row);
  return row;
}

function gems() {
  return $$('#gems .gem-row').map((r) => ({
    species: $('.species', r).value.trim(),
    treatment: $('.treatment', r).value || 'none',
    count: Number($('.count', r).value || 1),
  })).filter((g) => g.species);
}

// ---- services ----------------------------------------------------------------
function buildServices() {
  const box = $('#services');
  const checked = new Set($$('#services input.svc:checked').map((c) => c.value));
  const values = {};
  $$('#services input[data-param]').forEach((i) => { values[i.id] = i.value; });
  replace(box, (cat.services || []).map((s) => {
    const param = s.id === 'ring_resizing' ? { name: 'sizes', key: 'svc.sizes', min: -20, max: 20, step: 1, def: 1 }
      : (s.id === 'necklace_resizing' || s.id === 'bracelet_resizing') ? { name: 'change_cm', key: 'svc.change_cm', min: -50, max: 50, step: 0.5, def: 1 } : null;
    const cb = h('input', { type: 'checkbox', class: 'svc', value: s.id, id: `svc-${s.id}`, checked: checked.has(s.id) });
    const extra = param ? h('div', { class: 'field svc-param', hidden: !checked.has(s.id) },
      h('label', { for: `svc-${s.id}-${param.name}` }, t(param.key)),
      h('input', { type: 'number', id: `svc-${s.id}-${param.name}`, dataset: { param: param.name, service: s.id },
        min: param.min, max: param.max, step: param.step, value: values[`svc-${s.id}-${param.name}`] ?? param.def })) : null;
    cb.addEventListener('change', () => { if (extra) extra.hidden = !cb.checked; });
    return h('div', { class: 'svc-item' }, h('label', { class: 'check', for: `svc-${s.id}` }, cb, h('span', null, plan.label('service', s.id) === s.id.replace(/_/g, ' ') ? s.title : plan.label('service', s.id))), extra);
  }));
}

function services() {
  return $$('#services input.svc:checked').map((c) => {
    const p = $(`#services input[data-service="${c.value}"]`);
    if (!p) return c.value;
    const o = { id: c.value };
    o[p.dataset.param] = Number(p.value);
    return o;
  });
}

// ---- engraving ---------------------------------------------------------------
function engraving() {
  const mode = ($('input[name="engr-mode"]:checked') || {}).value;
  if (mode === 'designer' && designerEngraving) return designerEngraving;
  if (mode !== 'text') return null;
  const text = $('#engr-text').value;
  if (!text.trim()) return null;
  const area = $('#engr-area').value;
  const e = { text, area };
  if (area === 'ring') { e.ring_size = Number($('#engr-ring-size').value); e.band_width = Number($('#engr-band').value); }
  if (area === 'round') e.diameter = Number($('#engr-diameter').value);
  if (area === 'rect') { e.width = Number($('#engr-width').value); e.height = Number($('#engr-height').value); }
  return e;
}

function showEngravingFields() {
  const mode = ($('input[name="engr-mode"]:checked') || {}).value;
  $('#engr-text-fields').hidden = mode !== 'text';
  const area = $('#engr-area').value;
  $$('#engr-text-fields [data-area]').forEach((f) => { f.hidden = f.dataset.area !== area; });
}

function loadDesignerEngraving() {
  let e = null;
  try { e = JSON.parse(sessionStorage.getItem(ENGRAVING_KEY) || 'null'); } catch (x) { e = null; }
  if (!e || typeof e !== 'object') return;
  designerEngraving = e;
  $('#engr-designer-row').hidden = false;
  $('#engr-designer').checked = true;
  const what = e.text || e.date || e.symbol || '';
  const area = e.area === 'ring' ? `${t('area.ring')} ${e.ring_size}, ${e.band_width} mm`
    : e.area === 'round' ? `${t('area.round')} ⌀ ${e.diameter} mm` : `${t('area.rect')} ${e.width} × ${e.height} mm`;
  const s = $('#engr-designer-summary');
  replace(s, h('bdi', null, what), ` · ${area}`);
  s.hidden = false;
}

// ---- the request and the plan ---------------------------------------------------
function request() {
  const piece = {
    serial: $('#serial').value.trim(),
    type: $('#type').value,
    metal: $('#metal').value,
    paved: $('#paved').checked,
    gems: gems(),
    certificate: $('#certificate').checked,
  };
  const coll = $('#collection').value.trim();
  if (coll) piece.collection = coll;
  if ($('#purchase-date').value) piece.purchase_date = $('#purchase-date').value;
  const r = { operator: $('#operator').value.trim() || (me.name || me.user), piece, services: services() };
  const e = engraving();
  if (e) r.engraving = e;
  const note = $('#note').value.trim();
  if (note) r.note = note;
  if ($('#supersede').checked) r.supersede_gems = true;
  return r;
}

function ready(r) {
  return r.piece.serial && r.piece.type && r.piece.metal && r.services.length > 0;
}

function errorBox(e) {
  const code = e.code ? ` (${t('error.code', { code: e.code })})` : '';
  return h('div', { class: 'msg msg-error', role: 'alert', dataset: { code: e.code } },
    h('strong', null, e.code === 1002 ? t('new.refused') : t('new.not_possible')), h('br'),
    e.code === 0 ? t('error.network') : e.message, h('span', { class: 'small muted' }, code));
}

function renderPlan(p) {
  replace($('#plan'),
    p.warnings && p.warnings.length ? plan.warnings(p.warnings) : null,
    h('h3', null, t('plan.steps')),
    plan.stepsList(p.steps),
    plan.substitutions(p.substitutions, p.steps),
    plan.quote(p.quote));
}

let lastPlan = null;
async function doPlan() {
  const r = request();
  const mine = ++seq;
  if (!ready(r)) {
    lastPlan = null;
    replace($('#plan'), h('p', { class: 'muted' }, t('new.plan_hint')));
    return;
  }
  $('#plan').classList.add('busy');
  try {
    const p = await rpc('job.plan', r);
    if (mine !== seq) return;
    lastPlan = p;
    renderPlan(p);
  } catch (e) {
    if (mine !== seq) return;
    lastPlan = null;
    replace($('#plan'), errorBox(e));
  } finally {
    if (mine === seq) $('#plan').classList.remove('busy');
  }
}
const planSoon = debounce(doPlan, 400);

async function create() {
  const r = request();
  const err = $('#create-error');
  if (!ready(r)) { message(err, 'error', t('new.incomplete')); return; }
  const b = $('#create-job');
  b.disabled = true;
  message(err, 'error', '');
  try {
    const j = await rpc('job.create', r);
    if (designerEngraving && r.engraving === designerEngraving) sessionStorage.removeItem(ENGRAVING_KEY);
    location.assign(`/job.html?job=${encodeURIComponent(j.job)}`);
  } catch (e) {
    b.disabled = false;
    replace(err, errorBox(e));
    err.className = '';
    err.hidden = false;
  }
}

async function main() {
  me = await initPage('job-new');
  $('#operator').value = me.name || me.user;
  $('#supersede-row').hidden = me.role !== 'technician';
  try {
    cat = await rpc('catalogue');
  } catch (e) {
    message($('#catalogue-error'), 'error', t('new.catalogue_failed', { why: e.message }));
    cat = { species: [], aliases: {}, treatments: ['none'], metals: [], pieces: [], services: [] };
  }
  fillCatalogue();
  loadDesignerEngraving();
  showEngravingFields();
  $('#add-gem').addEventListener('click', () => { $('.species', addGem()).focus(); });
  const form = $('#job-form');
  form.addEventListener('input', planSoon);
  form.addEventListener('change', () => { showEngravingFields(); planSoon(); });
  form.addEventListener('submit', (ev) => ev.preventDefault());
  $('#create-job').addEventListener('click', create);
  document.addEventListener('langchange', () => { fillCatalogue(); if (lastPlan) renderPlan(lastPlan); else doPlan(); });
  const serial = new URLSearchParams(location.search).get('serial');
  if (serial) $('#serial').value = serial;
  doPlan();
}

main();
