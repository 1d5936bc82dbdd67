// calibration.js: the technicians' calibration page: calibration.due,
// bath.rhodium (and bath.replenish), calibration.history, and one guided
// form per procedure of docs/api.md "Calibration": begin with its params,
// its steps (calibrate.point, calibrate.drive, or a run followed through
// calibrate.status), then calibrate.commit or calibrate.abort.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, message, $, debounce } from './dom.js';
import { t, fmtTime, fmtNum } from './i18n.js';
import * as ws from './ws.js';
import * as plan from './plan.js';

// Each procedure: the station kind, begin fields, its steps, commit fields.
const N = (name, def, opt) => ({ name, type: 'number', def, ...opt });
const PROCS = [
  { id: 'tank.temperature', kind: 'tank', begin: [{ name: 'instrument', type: 'text', required: true }], steps: 'point', unit: '°C' },
  { id: 'tank.sweep', kind: 'tank', begin: [N('from', 35), N('to', 45), N('step', 0.5), N('power', 50)], steps: 'auto' },
  { id: 'tank.power', kind: 'tank', begin: [N('power', 50), N('rated', 120)], steps: 'auto' },
  { id: 'bath.voltage', kind: 'bath', begin: [{ name: 'instrument', type: 'text', required: true }], steps: 'drive-point', unit: 'V' },
  { id: 'bath.current', kind: 'bath', begin: [{ name: 'instrument', type: 'text', required: true }], steps: 'drive-point', unit: 'A' },
  { id: 'laser.scale', kind: 'laser', begin: [N('size', 20), N('x', null), N('y', null), N('power', null), N('feed', null)], steps: 'engrave',
    commit: [N('measured_x', null, { required: true }), N('measured_y', null, { required: true })] },
  { id: 'laser.rotary', kind: 'laser', begin: [N('diameter', null, { required: true }), N('length', 30), N('x', null), N('power', null), N('feed', null)], steps: 'engrave',
    commit: [N('measured', null, { required: true })] },
  { id: 'laser.focus', kind: 'laser', begin: [N('steps', 4), N('dz', 0.5), N('x', null), N('y', null), N('power', null), N('feed', null)], steps: 'engrave',
    commit: [N('line', null, { required: true, step: 1 })] },
  { id: 'laser.grid', kind: 'laser', begin: [{ name: 'metal', type: 'text', required: true }, N('plate_w', 30), N('plate_h', 30), N('x', null), N('y', null), N('steps', 5)], steps: 'engrave',
    commit: [N('power', null, { required: true }), N('speed', null, { required: true })] },
  { id: 'laser.origin', kind: 'laser', begin: [], steps: 'none', commit: [N('x', null), N('y', null)] },
];

let stations = {};
const panels = new Map();   // procedure id -> {session, parts}

function err(text) { message($('#cal-error'), 'error', text); }

// ---- due, rhodium, records ---------------------------------------------------
async function loadDue() {
  try {
    const due = await rpc('calibration.due');
    replace($('#cal-due tbody'), (due || []).map((d) => h('tr', { dataset: { station: d.station } },
      h('td', null, d.station), h('td', null, h('span', { class: `badge state-${d.state}` }, plan.label('calstate', d.state))),
      h('td', null, d.message || ''), h('td', { class: 'num' }, fmtNum(d.due_days, 0)),
      h('td', null, d.last ? fmtTime(d.last) : t('cal.never')), h('td', { class: 'num' }, d.age_days === undefined ? '—' : fmtNum(d.age_days, 0)))));
  } catch (e) { err(e.message); }
}

async function loadRhodium() {
  const box = $('#rhodium');
  try {
    const r = await rpc('bath.rhodium');
    replace(box,
      r.message ? h('p', { class: r.warning ? 'msg msg-warn' : 'msg msg-info' }, r.message) : null,
      h('ul', { class: 'readings' },
        h('li', null, h('span', { class: 'k' }, t('cal.rh_left')), h('span', { class: 'v' }, `${fmtNum(r.left_grams, 2)} g`)),
        h('li', null, h('span', { class: 'k' }, t('cal.rh_used')), h('span', { class: 'v' }, `${fmtNum(r.used_grams, 2)} g`)),
        h('li', null, h('span', { class: 'k' }, t('cal.rh_total')), h('span', { class: 'v' }, `${fmtNum(r.rhodium_grams, 2)} g`)),
        h('li', null, h('span', { class: 'k' }, t('cal.rh_ah')), h('span', { class: 'v' }, `${fmtNum(r.ah_since, 3)} Ah`)),
        h('li', null, h('span', { class: 'k' }, t('cal.rh_eff')), h('span', { class: 'v' }, fmtNum(r.efficiency, 2)))));
  } catch (e) {
    replace(box, h('p', { class: 'msg msg-info' }, e.message));
  }
}

function short(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  return Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : x}`).join(', ');
}

async function loadHistory() {
  try {
    const list = await rpc('calibration.history', { limit: 100 });
    replace($('#cal-history tbody'), (list || []).map((r) => h('tr', null,
      h('td', null, fmtTime(r.time)), h('td', null, r.station), h('td', null, r.procedure), h('td', null, r.kind),
      h('td', null, r.technician || ''), h('td', null, r.instrument || ''),
      h('td', { class: 'small' }, short(r.before)), h('td', { class: 'small' }, short(r.after)), h('td', null, r.note || ''))));
  } catch (e) { err(e.message); }
}

// ---- procedures ----------------------------------------------------------------
function field(procId, f, prefix) {
  const id = `${prefix}-${procId.replace('.', '-')}-${f.name}`;
  const input = h('input', {
    type: f.type, id, dataset: { name: f.name }, required: f.required,
    step: f.type === 'number' ? (f.step || 'any') : null, value: f.def ?? '',
  });
  return h('div', { class: 'field' }, h('label', { for: id }, t(`cal.f.${f.name}`), f.required ? ' *' : ''), input);
}

function readFields(box) {
  const out = {};
  let missing = null;
  box.querySelectorAll('input[data-name]').forEach((i) => {
    const v = i.value.trim();
    if (v === '') { if (i.required && !missing) missing = i; return; }
    out[i.dataset.name] = i.type === 'number' ? Number(v) : v;
  });
  return { params: out, missing };
}

function sweepChart(sweep) {
  if (!Array.isArray(sweep) || sweep.length < 2) return null;
  const NS = 'http://www.w3.org/2000/svg';
  const xs = sweep.map((p) => p[0]);
  const ys = sweep.map((p) => p[1]);
  const x0 = Math.min(...xs); const x1 = Math.max(...xs);
  const y1 = Math.max(...ys, 1);
  const W = 600; const H = 200;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'sweep-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('cal.sweep_chart'));
  const pts = sweep.slice().sort((a, b) => a[0] - b[0]).map((p) => `${((p[0] - x0) / (x1 - x0 || 1)) * (W - 20) + 10},${H - 10 - (p[1] / y1) * (H - 20)}`).join(' ');
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', pts);
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#1f4e79');
  line.setAttribute('stroke-width', '2');
  svg.appendChild(line);
  return svg;
}

function renderSession(p) {
  const s = p.session;
  const parts = p.parts;
  if (!s) { parts.session.hidden = true; parts.begin.disabled = false; return; }
  parts.session.hidden = false;
  const active = ['ready', 'running', 'writing'].includes(s.state);
  parts.begin.disabled = active;
  replace(parts.status,
    h('p', null, h('span', { class: `badge state-${s.state}` }, t(`cal.state.${s.state}`) === `cal.state.${s.state}` ? s.state : t(`cal.state.${s.state}`)),
      ' ', t('cal.session', { n: s.session, station: s.station || '—' })),
    s.message ? h('p', { class: 'msg msg-info' }, s.message) : null,
    s.points && s.points.length ? h('ul', null, s.points.map((x, i) => h('li', null,
      t('cal.point', { i: i + 1, device: fmtNum(x.device, 3), reference: fmtNum(x.reference, 3), unit: s.unit || p.proc.unit || '' })))) : null,
    s.resonance ? h('p', null, t('cal.resonance', { v: short(s.resonance) })) : null,
    sweepChart(s.sweep),
    s.power ? h('p', null, short(s.power)) : null,
    s.record ? h('p', { class: 'msg msg-ok' }, t('cal.recorded', { v: short(s.record.after || s.record) })) : null);
  parts.stepBox.hidden = !active || s.state !== 'ready';
  parts.commitBox.hidden = !active || s.state !== 'ready';
  parts.abort.hidden = !active;
}

async function poll(p, force) {
  if (!p.session || (!force && !['running', 'writing'].includes(p.session.state))) return;
  try {
    p.session = await rpc('calibrate.status', { session: p.session.session });
    renderSession(p);
  } catch (e) { message(p.parts.msg, 'error', e.message); }
  if (['running', 'writing'].includes(p.session.state)) setTimeout(() => poll(p), 1000);
  else { loadDue(); loadHistory(); }
}

async function call(p, method, params, button) {
  if (button) button.disabled = true;
  try {
    const r = await rpc(method, params);
    p.session = r;
    message(p.parts.msg, 'ok', '');
    renderSession(p);
    poll(p);
    if (['recorded', 'aborted', 'failed'].includes(r.state)) { loadDue(); loadHistory(); loadRhodium(); }
  } catch (e) {
    message(p.parts.msg, 'error', e.message);
  } finally {
    if (button) button.disabled = false;
  }
}

function buildPanel(proc) {
  const pid = proc.id.replace('.', '-');
  const stSel = h('select', { id: `st-${pid}` });
  const beginFields = h('div', { class: 'grid' }, proc.begin.map((f) => field(proc.id, f, 'b')));
  const begin = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'begin', procedure: proc.id } }, t('cal.begin'));
  const stepBox = h('div', { class: 'card', hidden: true });
  const commitFields = h('div', { class: 'grid' }, (proc.commit || []).map((f) => field(proc.id, f, 'c')));
  const commit = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'commit', procedure: proc.id } }, t('cal.commit'));
  const commitBox = h('div', { hidden: true }, commitFields, h('div', { class: 'actions' }, commit));
  const abort = h('button', { type: 'button', class: 'btn btn-danger', hidden: true, dataset: { action: 'abort-cal', procedure: proc.id } }, t('cal.abort'));
  const msg = h('p', { class: 'msg', hidden: true, role: 'status' });
  const status = h('div');
  const session = h('div', { hidden: true }, status);
  const p = { proc, session: null, parts: { stSel, begin, stepBox, commitBox, abort, msg, status, session } };

  // The steps of the procedure.
  if (proc.steps === 'point' || proc.steps === 'drive-point') {
    const refId = `ref-${pid}`;
    const ref = h('input', { type: 'number', id: refId, step: 'any' });
    const take = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'point', procedure: proc.id } }, t('cal.take_point'));
    take.addEventListener('click', () => {
      if (ref.value === '') { ref.focus(); return; }
      call(p, 'calibrate.point', { session: p.session.session, reference: Number(ref.value) }, take);
    });
    if (proc.steps === 'drive-point') {
      const valId = `drv-${pid}`;
      const val = h('input', { type: 'number', id: valId, step: 'any' });
      const drive = h('button', { type: 'button', class: 'btn', dataset: { action: 'drive', procedure: proc.id } }, t('cal.drive'));
      drive.addEventListener('click', () => {
        if (val.value === '') { val.focus(); return; }
        call(p, 'calibrate.drive', { session: p.session.session, value: Number(val.value) }, drive);
      });
      stepBox.append(h('ol', { class: 'proc-steps' },
        h('li', null, h('div', { class: 'field' }, h('label', { for: valId }, t('cal.drive_value', { unit: proc.unit })), val), drive),
        h('li', null, h('div', { class: 'field' }, h('label', { for: refId }, t('cal.reference', { unit: proc.unit })), ref), take),
        h('li', null, t('cal.twice'))));
    } else {
      stepBox.append(h('ol', { class: 'proc-steps' },
        h('li', null, h('div', { class: 'field' }, h('label', { for: refId }, t('cal.reference', { unit: proc.unit })), ref), take),
        h('li', null, t('cal.two_points'))));
    }
  } else if (proc.steps === 'engrave') {
    stepBox.append(h('p', null, t(`cal.engrave_${proc.id.replace('.', '_')}`)));
  } else if (proc.steps === 'auto') {
    stepBox.append(h('p', null, t('cal.auto')));
  } else {
    stepBox.append(h('p', null, t('cal.origin')));
  }

  begin.addEventListener('click', () => {
    const { params, missing } = readFields(beginFields);
    if (missing) { missing.setAttribute('aria-invalid', 'true'); missing.focus(); message(msg, 'error', t('cal.missing')); return; }
    params.procedure = proc.id;
    if (stSel.value) params.station = stSel.value;
    call(p, 'calibrate.begin', params, begin);
  });
  commit.addEventListener('click', () => {
    const { params, missing } = readFields(commitFields);
    if (missing) { missing.setAttribute('aria-invalid', 'true'); missing.focus(); message(msg, 'error', t('cal.missing')); return; }
    params.session = p.session.session;
    call(p, 'calibrate.commit', params, commit);
  });
  abort.addEventListener('click', () => call(p, 'calibrate.abort', { session: p.session.session }, abort));

  const root = h('details', { class: 'card proc', dataset: { procedure: proc.id } },
    h('summary', null, `${t(`cal.proc.${proc.id.replace('.', '_')}`)} (${proc.id})`),
    h('div', { class: 'field' }, h('label', { for: `st-${pid}` }, t('col.station')), stSel),
    beginFields, h('div', { class: 'actions' }, begin, abort), msg, session, stepBox, commitBox);
  p.root = root;
  panels.set(proc.id, p);
  return root;
}

function fillStations() {
  for (const p of panels.values()) {
    const names = Object.entries(stations).filter(([, s]) => s.kind === p.proc.kind).map(([n]) => n);
    const keep = p.parts.stSel.value;
    replace(p.parts.stSel, names.map((n) => h('option', { value: n }, n)));
    if (keep && names.includes(keep)) p.parts.stSel.value = keep;
    p.root.hidden = names.length === 0;
  }
}

async function main() {
  const s = await initPage('calibration');
  if (s.role !== 'technician') {
    err(t('cal.technicians_only'));
    return;
  }
  replace($('#procedures'), PROCS.map(buildPanel));
  try { stations = (await rpc('status')).stations || {}; } catch (e) { err(e.message); }
  fillStations();
  // A session already waiting (another tab, a reload) is shown in its panel.
  try {
    const cur = await rpc('calibrate.status', {});
    const p = cur && panels.get(cur.procedure);
    if (p && ['ready', 'running', 'writing'].includes(cur.state)) { p.session = cur; p.root.open = true; renderSession(p); poll(p); }
  } catch (e) { /* none */ }
  $('#replenish-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const g = $('#rh-grams').value;
    const params = { technician: s.name || s.user };
    if (g !== '') params.rhodium_grams = Number(g);
    if ($('#rh-note').value.trim()) params.note = $('#rh-note').value.trim();
    try {
      const r = await rpc('bath.replenish', params);
      message($('#rh-msg'), 'ok', t('cal.replenished', { g: fmtNum(r.rhodium_grams, 2) }));
      loadRhodium();
    } catch (e) { message($('#rh-msg'), 'error', e.message); }
  });
  const refresh = debounce(() => {
    loadDue(); loadHistory(); loadRhodium();
    for (const p of panels.values()) if (p.session) poll(p, true);
  }, 200);
  ws.onNotify((method) => { if (method === 'calibration') refresh(); });
  document.addEventListener('langchange', () => {
    const saved = new Map(Array.from(panels, ([k, p]) => [k, { session: p.session, open: p.root.open }]));
    replace($('#procedures'), PROCS.map(buildPanel));
    fillStations();
    for (const [k, v] of saved) { const p = panels.get(k); p.session = v.session; p.root.open = v.open; renderSession(p); }
    loadDue(); loadHistory(); loadRhodium();
  });
  loadDue(); loadRhodium(); loadHistory();
}

main();
