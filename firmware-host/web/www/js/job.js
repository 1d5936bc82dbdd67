// job.js: the job page (job.html?job=N): job.show, the actions of the bench
// on the job and its steps, live over /ws (`job` notifications for this job),
// and the ticket printed with window.print() (the print stylesheet).
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, debounce, message, $, $$, param, svgImage } from './dom.js';
import { t, fmtTime } from './i18n.js';
import * as ws from './ws.js';
import * as plan from './plan.js';

const jobId = Number(param('job'));
let job = null;
let lastJson = '';
let engravingLoaded = null;

function err(text) { message($('#job-error'), 'error', text); }

async function act(method, params, button) {
  if (button) button.disabled = true;
  try {
    await rpc(method, params);
    err('');
    await load(true);
    return true;
  } catch (e) {
    err(e.code === 0 ? t('error.network') : e.message);
    return false;
  } finally {
    if (button) button.disabled = false;
  }
}

// Controls under a step, by its state.
function stepControls(s) {
  const box = h('div', { class: 'step-form no-print' });
  const seq = s.seq;
  if (s.state === 'running' && s.kind === 'manual') {
    const note = h('textarea', { id: `note-${seq}`, class: 'step-note', rows: '2', required: true });
    const done = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'done', seq } }, t('job.confirm'));
    done.addEventListener('click', () => {
      const text = note.value.trim();
      if (!text) { note.setAttribute('aria-invalid', 'true'); note.focus(); err(t('job.note_needed')); return; }
      act('step.done', { job: jobId, step: seq, note: text }, done);
    });
    box.append(h('div', { class: 'field' }, h('label', { for: `note-${seq}` }, t('job.note_label')), note), h('div', { class: 'actions' }, done));
  }
  const actions = h('div', { class: 'actions' });
  if (['failed', 'interrupted', 'aborted'].includes(s.state) && job.state !== 'aborted' && job.state !== 'done') {
    const retry = h('button', { type: 'button', class: 'btn', dataset: { action: 'retry', seq } }, t('job.retry'));
    retry.addEventListener('click', () => act('step.retry', { job: jobId, step: seq }, retry));
    actions.append(retry);
  }
  if (s.state === 'running' || s.state === 'queued') {
    const why = h('input', { type: 'text', id: `why-${seq}`, class: 'step-why' });
    const form = h('div', { class: 'abort-step-form', hidden: true },
      h('div', { class: 'field' }, h('label', { for: `why-${seq}` }, t('job.abort_step_why')), why));
    const confirm = h('button', { type: 'button', class: 'btn btn-danger btn-primary', dataset: { action: 'confirm-abort-step', seq } }, t('job.confirm_abort_step'));
    confirm.addEventListener('click', () => {
      const w = why.value.trim();
      if (!w) { why.setAttribute('aria-invalid', 'true'); why.focus(); err(t('job.why_needed')); return; }
      act('step.abort', { job: jobId, step: seq, why: w }, confirm);
    });
    form.append(h('div', { class: 'actions' }, confirm));
    const open = h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'abort-step', seq } }, t('job.abort_step'));
    open.addEventListener('click', () => { form.hidden = false; why.focus(); });
    actions.append(open);
    box.append(actions, form);
  } else if (actions.firstChild) box.append(actions);
  return box.firstChild ? box : null;
}

function engravingSpec() {
  if (!job) return null;
  const s = (job.steps || []).find((x) => x.params && x.params.spec && typeof x.params.spec === 'object');
  return s ? s.params.spec : null;
}

async function loadEngraving() {
  const spec = engravingSpec();
  const sec = $('#engraving-section');
  if (!spec) { sec.hidden = true; return; }
  sec.hidden = false;
  const what = spec.text || spec.date || spec.symbol || '';
  const area = spec.area === 'ring' ? `${t('area.ring')} ${spec.ring_size}, ${spec.band_width} mm`
    : spec.area === 'round' ? `${t('area.round')} ⌀ ${spec.diameter} mm` : `${t('area.rect')} ${spec.width} × ${spec.height} mm`;
  replace($('#engraving-text'), h('bdi', { lang: spec.lang || null }, what), ` · ${area}`);
  const key = JSON.stringify(spec);
  if (engravingLoaded === key) return;
  engravingLoaded = key;
  try {
    const r = await rpc('engrave.preview', { engraving: spec });
    if (r && r.svg) replace($('#engraving-preview'), svgImage(r.svg, t('designer.preview_alt')));
  } catch (e) {
    replace($('#engraving-preview'), h('p', { class: 'msg msg-error' }, e.message));
  }
}

function render() {
  const j = job;
  $('#job-heading').textContent = t('job.heading_n', { n: j.id });
  document.title = t('job.title_n', { n: j.id });
  replace($('#job-meta'), plan.badge(j.state), ' ',
    h('a', { href: `/history.html?serial=${encodeURIComponent(j.serial)}` }, j.serial), ' · ',
    t('job.meta', { operator: j.operator || '—', created: fmtTime(j.created), updated: fmtTime(j.updated) }));
  $('#start-job').hidden = j.state !== 'planned';
  $('#abort-job').hidden = j.state === 'done' || j.state === 'aborted';
  if ($('#abort-job').hidden) $('#abort-job-form').hidden = true;
  replace($('#piece'), plan.pieceBlock(j.piece, j.piece_gems));
  $('#services').textContent = plan.servicesText(j.services);
  replace($('#quote'), plan.quote(j.quote));
  $('#quote').querySelectorAll('h3').forEach((x) => x.remove());

  // Keep what is being typed in the steps' fields across a re-render.
  const kept = {};
  $$('#steps input, #steps textarea').forEach((i) => { kept[i.id] = i.value; });
  const focused = document.activeElement && document.activeElement.closest('#steps') ? document.activeElement.id : null;
  const openForms = $$('#steps .abort-step-form').filter((f) => !f.hidden).map((f) => f.querySelector('input').id);
  replace($('#substitutions'), plan.substitutions(j.substitutions, (j.steps || []).map((s) => ({ ...s, id: s.name }))));
  replace($('#steps'), plan.stepsList((j.steps || []).map((s) => ({ ...s })), stepControls));
  for (const [id, v] of Object.entries(kept)) { const e = document.getElementById(id); if (e) e.value = v; }
  openForms.forEach((id) => { const e = document.getElementById(id); if (e) e.closest('.abort-step-form').hidden = false; });
  if (focused) { const e = document.getElementById(focused); if (e) e.focus(); }

  replace($('#events tbody'), (j.events || []).map((e) => h('tr', null,
    h('td', null, h('time', { datetime: e.t }, fmtTime(e.t))), h('td', null, e.who), h('td', null, e.what), h('td', null, e.why || ''))));
  loadEngraving();
}

async function load(force) {
  if (!Number.isInteger(jobId) || jobId < 1) { err(t('job.no_job')); return; }
  try {
    const j = await rpc('job.show', { job: jobId });
    const s = JSON.stringify(j);
    if (!force && s === lastJson) return;
    lastJson = s;
    job = j;
    render();
  } catch (e) {
    err(e.code === 0 ? t('error.network') : e.message);
  }
}
const loadSoon = debounce(() => load(false), 150);

async function main() {
  await initPage('job');
  if (Number.isInteger(jobId) && jobId > 0) $('#ticket-qr').src = `/api/qr.svg?job=${encodeURIComponent(jobId)}`;
  $('#ticket-qr').alt = t('job.qr');
  $('#start-job').addEventListener('click', (ev) => act('job.start', { job: jobId }, ev.currentTarget));
  $('#print-ticket').addEventListener('click', () => window.print());
  $('#abort-job').addEventListener('click', () => { $('#abort-job-form').hidden = false; $('#abort-job-why').focus(); });
  $('#abort-job-cancel').addEventListener('click', () => { $('#abort-job-form').hidden = true; });
  $('#abort-job-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const why = $('#abort-job-why').value.trim();
    if (!why) { $('#abort-job-why').setAttribute('aria-invalid', 'true'); err(t('job.why_needed')); return; }
    if (await act('job.abort', { job: jobId, why }, ev.submitter)) $('#abort-job-form').hidden = true;
  });
  ws.onNotify((method, p) => { if (method === 'job' && Number(p.job) === jobId) loadSoon(); });
  ws.onOpen(loadSoon);
  document.addEventListener('langchange', () => { if (job) { engravingLoaded = null; render(); } });
  await load(true);
  setInterval(() => load(false), 5000);
}

main();
