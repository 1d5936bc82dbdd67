// bench.js: the Bench page, built from the stations `status` returns (any
// number, any kinds): a card per station, kept up to date from /ws
// notifications (interlock at once, then status), and every 2 s as well.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, debounce, message, $ } from './dom.js';
import { t, fmtNum, fmtTime } from './i18n.js';
import * as ws from './ws.js';
import * as interlock from './interlock.js';

let status = null;
const cards = new Map();      // station name -> {root, parts}
const runs = new Map();       // station name -> {t0, seconds} for the time left
const loads = new Map();      // station name -> the load station.run answered

// ---- status -------------------------------------------------------------
let inFlight = false;
let again = false;
async function refresh() {
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    status = await rpc('status');
    message($('#bench-error'), 'error', '');
    interlock.fromStatus(status.interlock);
    render();
  } catch (e) {
    message($('#bench-error'), 'error', t('bench.status_failed', { why: e.message }));
  } finally {
    inFlight = false;
    if (again) { again = false; refresh(); }
  }
}
const refreshSoon = debounce(refresh, 100);

// ---- jobs in progress ------------------------------------------------------
async function refreshJobs() {
  let list;
  try { list = await rpc('job.list', { limit: 50 }); } catch (e) { return; }
  const open = (list || []).filter((j) => j.state !== 'done' && j.state !== 'aborted');
  const tbody = $('#open-jobs tbody');
  replace(tbody, open.map((j) => h('tr', { dataset: { job: j.id } },
    h('td', null, h('a', { href: `/job.html?job=${encodeURIComponent(j.id)}` }, `#${j.id}`)),
    h('td', null, badge(j.state, t(`state.${j.state}`))),
    h('td', null, h('a', { href: `/history.html?serial=${encodeURIComponent(j.serial)}` }, j.serial)),
    h('td', null, `${label('piece', j.type)} · ${label('metal', j.metal)}`),
    h('td', null, j.services),
    h('td', { class: 'num' }, `${j.steps_done ?? '—'} / ${j.steps ?? '—'}`),
    h('td', null, j.operator),
    h('td', null, fmtTime(j.updated)))));
  $('#open-jobs').parentElement.hidden = open.length === 0;
  $('#no-jobs').hidden = open.length !== 0;
}
const refreshJobsSoon = debounce(refreshJobs, 300);

// ---- helpers ---------------------------------------------------------------
export function label(group, id) {
  if (id === null || id === undefined || id === '') return '—';
  const k = `${group}.${id}`;
  const s = t(k);
  return s === k ? String(id).replace(/_/g, ' ') : s;
}
function badge(state, text) {
  return h('span', { class: `badge state-${state}` }, text || t(`state.${state}`));
}
function reading(key, value, unit) {
  return h('li', null, h('span', { class: 'k' }, t(key)), h('span', { class: 'v' }, unit ? `${value} ${unit}` : value));
}

// Seconds a running station announces: a field if the daemon gives one,
// else "for 10 s" / "10 s left" in its detail.
function announcedSeconds(st) {
  for (const k of ['seconds_left', 'remaining', 'remaining_s', 'time_left']) {
    if (typeof st[k] === 'number') return { left: st[k] };
  }
  const d = st.detail || '';
  let m = d.match(/(\d+(?:\.\d+)?)\s*s\s+(?:left|remaining)/);
  if (m) return { left: Number(m[1]) };
  m = d.match(/\bfor\s+(\d+(?:\.\d+)?)\s*(s|min)\b/);
  if (m) return { total: Number(m[1]) * (m[2] === 'min' ? 60 : 1) };
  return null;
}

function trackRun(name, st) {
  if (st.state !== 'running' && st.state !== 'heating') { runs.delete(name); return; }
  const a = announcedSeconds(st);
  const now = Date.now();
  if (!a) { runs.delete(name); return; }
  if (a.left !== undefined) { runs.set(name, { end: now + a.left * 1000, detail: st.detail }); return; }
  const r = runs.get(name);
  if (!r || r.detail !== st.detail) runs.set(name, { end: now + a.total * 1000, detail: st.detail });
}

function timeLeftText(name) {
  const r = runs.get(name);
  if (!r) return '';
  const s = Math.max(0, Math.round((r.end - Date.now()) / 1000));
  const mm = Math.floor(s / 60);
  const ss = String(s % 60).padStart(2, '0');
  return t('bench.time_left', { t: `${mm}:${ss}` });
}

// ---- one station's card -----------------------------------------------------
function makeCard(name, kind) {
  const parts = {
    state: h('span'),
    kind: h('span', { class: 'kind' }),
    detail: h('p', { class: 'detail' }),
    left: h('p', { class: 'time-left', 'aria-live': 'off' }),
    readings: h('ul', { class: 'readings' }),
    calib: h('p', { class: 'calib' }),
    queueTitle: h('h3'),
    queue: h('ul', { class: 'queue' }),
    load: h('p', { class: 'small' }),
    msg: h('p', { class: 'msg', role: 'status', hidden: true }),
    actions: h('div', { class: 'actions' }),
  };
  const act = (action, key, method, cls) => h('button', {
    type: 'button', class: `btn ${cls || ''}`, dataset: { action, station: name, i18n: key },
    onclick: (ev) => doAction(name, method, ev.currentTarget),
  }, t(key));
  parts.actions.append(act('run', 'bench.run', 'station.run', 'btn-primary'));
  if (kind === 'laser') {
    parts.actions.append(act('hold', 'bench.hold', 'laser.hold'),
      act('resume', 'bench.resume', 'laser.resume'),
      act('abort', 'bench.abort_laser', 'laser.abort', 'btn-danger'));
  } else if (kind === 'tank') {
    parts.actions.append(act('stop', 'bench.stop', 'tank.stop', 'btn-danger'));
  } else if (kind === 'bath') {
    parts.actions.append(act('stop', 'bench.stop', 'bath.stop', 'btn-danger'));
  }
  const root = h('article', { class: 'card station', dataset: { station: name, kind }, 'aria-label': name },
    h('div', { class: 'station-head' }, h('h2', null, name), parts.state),
    parts.kind, parts.detail, parts.left, parts.readings, parts.calib,
    parts.queueTitle, parts.queue, parts.load, parts.msg, parts.actions);
  return { root, parts, kind };
}

async function doAction(name, method, button) {
  const card = cards.get(name);
  button.disabled = true;
  try {
    const r = await rpc(method, { station: name });
    if (method === 'station.run') {
      loads.set(name, r.load || []);
      message(card.parts.msg, 'ok', t('bench.run_started', { n: (r.load || []).length }));
    } else {
      message(card.parts.msg, 'ok', t('bench.sent'));
    }
  } catch (e) {
    message(card.parts.msg, 'error', e.message);
  } finally {
    button.disabled = false;
    refreshSoon();
  }
}

function deviceReadings(name, st) {
  const out = [];
  const devs = Object.entries(status.devices || {}).filter(([, d]) => d && d.station === name);
  for (const [dname, d] of devs) {
    if ('link' in d) {
      out.push(reading('dev.link', label('link', d.link)));
      if (d.state) out.push(reading('dev.grbl', d.state));
      if (Array.isArray(d.wpos)) out.push(reading('dev.wpos', d.wpos.map((x) => fmtNum(x, 2)).join(' / '), 'mm'));
      if ('laser_mode' in d) out.push(reading('dev.laser_mode', d.laser_mode ? t('common.on') : t('common.off')));
      continue;
    }
    if ('up' in d && !d.up) out.push(reading('dev.link', t('dev.down', { name: dname })));
    if (typeof d.temperature === 'number') out.push(reading('dev.temperature', fmtNum(d.temperature, 1), '°C'));
    if (typeof d.pv === 'number') out.push(reading('dev.bath_temperature', fmtNum(d.pv, 1), '°C'));
    if (typeof d.sv === 'number') out.push(reading('dev.setpoint', fmtNum(d.sv, 1), '°C'));
    if (typeof d.v_out === 'number') out.push(reading('dev.volts', fmtNum(d.v_out, 2), 'V'));
    if (typeof d.i_out === 'number') out.push(reading('dev.amps', fmtNum(d.i_out, 3), 'A'));
    if (typeof d.ah === 'number') out.push(reading('dev.ah', fmtNum(d.ah, 3), 'Ah'));
  }
  if (st.rhodium && typeof st.rhodium.left_grams === 'number') {
    out.push(reading('dev.rhodium_left', fmtNum(st.rhodium.left_grams, 2), 'g'));
  }
  return out;
}

function updateCard(name, st) {
  let c = cards.get(name);
  if (!c || c.kind !== st.kind) {
    if (c) c.root.remove();
    c = makeCard(name, st.kind);
    cards.set(name, c);
  }
  const p = c.parts;
  const state = st.state || 'offline';
  replace(p.state, badge(state, label('state', state)));
  c.root.className = `card station is-${state}`;
  p.kind.textContent = label('kind', st.kind);
  p.detail.textContent = st.detail || '';
  p.detail.hidden = !st.detail;
  trackRun(name, st);
  p.left.textContent = timeLeftText(name);
  p.left.hidden = !p.left.textContent;
  replace(p.readings, deviceReadings(name, st));
  p.readings.hidden = !p.readings.firstChild;

  const cal = (status.calibration || []).find((x) => x.station === name);
  if (cal && cal.state !== 'ok') {
    replace(p.calib, badge(cal.state, label('calstate', cal.state)), ' ', cal.message || '');
    p.calib.hidden = false;
  } else p.calib.hidden = true;

  const q = (status.queues || {})[st.kind] || { queued: [], running: 0 };
  const waiting = q.queued || [];
  p.queueTitle.textContent = t('bench.queue', { kind: label('kind', st.kind), n: waiting.length, running: q.running || 0 });
  replace(p.queue, waiting.map((w) => h('li', null,
    h('a', { href: `/job.html?job=${encodeURIComponent(w.job)}` }, t('bench.queue_item', { job: w.job, serial: w.serial, step: label('step', w.step), seq: w.seq })))));
  p.queue.hidden = waiting.length === 0;

  const load = loads.get(name);
  if (load && load.length && (state === 'running' || state === 'heating' || state === 'stopping')) {
    replace(p.load, t('bench.runs'), ' ', load.map((w, i) => [i ? ', ' : '',
      h('a', { href: `/job.html?job=${encodeURIComponent(w.job)}` }, `#${w.job} ${w.serial} (${label('step', w.step)})`)]));
    p.load.hidden = false;
  } else {
    p.load.hidden = true;
    if (state === 'idle') loads.delete(name);
  }
  const busy = state === 'running' || state === 'heating' || state === 'stopping';
  c.root.querySelectorAll('button[data-action="run"]').forEach((b) => { b.dataset.busy = busy ? '1' : ''; });
  return c;
}

function render() {
  const list = $('#station-list');
  const names = Object.keys(status.stations || {});
  for (const [name, c] of cards) {
    if (!names.includes(name)) { c.root.remove(); cards.delete(name); }
  }
  names.forEach((name, i) => {
    const c = updateCard(name, status.stations[name]);
    if (list.children[i] !== c.root) list.insertBefore(c.root, list.children[i] || null);
  });
}

function retranslate() {
  document.querySelectorAll('#station-list button[data-i18n]').forEach((b) => { b.textContent = t(b.dataset.i18n); });
  if (status) render();
  refreshJobs();
}

async function main() {
  await initPage('bench', { selfStatus: true });
  document.addEventListener('langchange', retranslate);
  ws.onNotify((method) => {
    // The banner itself follows an interlock notification at once (nav.js).
    if (method === 'interlock' || method === 'station' || method === 'job' || method === 'device' || method === 'input' || method === 'calibration') refreshSoon();
    if (method === 'job') refreshJobsSoon();
  });
  ws.onOpen(() => { refreshSoon(); refreshJobsSoon(); });
  await refresh();
  refreshJobs();
  setInterval(refresh, 2000);
  setInterval(refreshJobs, 15000);
  setInterval(() => {
    for (const [name, c] of cards) {
      c.parts.left.textContent = timeLeftText(name);
      c.parts.left.hidden = !c.parts.left.textContent;
    }
  }, 1000);
}

main();
