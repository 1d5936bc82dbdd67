// interlock.js: the red banner (#interlock-banner, role="alert") shown on
// every page while the e-stop is latched or a door or lid is open: from
// status.interlock, or at once from an `interlock` notification.
import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { rpc, session } from './api.js';

let last = null;

function banner() { return document.getElementById('interlock-banner'); }

// Group the same sentence over several lines: [{reason, lines: [...]}].
function group(pairs) {
  const m = new Map();
  for (const [line, reason] of pairs) {
    const k = reason || '';
    if (!m.has(k)) m.set(k, []);
    if (line) m.get(k).push(line);
  }
  return Array.from(m, ([reason, lines]) => ({ reason, lines }));
}

function render(latched, pairs) {
  const b = banner();
  if (!b) return;
  const show = latched || pairs.length > 0;
  document.body.classList.toggle('interlock-on', show);
  if (!show) {
    b.hidden = true;
    replace(b);
    return;
  }
  const items = group(pairs).map((g) => h('li', null,
    g.reason || t('interlock.tripped'),
    g.lines.length ? h('span', { class: 'lines' }, ` (${g.lines.join(', ')})`) : null));
  const s = session();
  const reset = latched && s && s.role === 'technician'
    ? h('button', { type: 'button', class: 'btn btn-light', dataset: { action: 'estop-reset' }, onclick: resetEstop }, t('interlock.reset'))
    : null;
  replace(b,
    h('strong', { class: 'banner-title' }, latched ? t('interlock.latched') : t('interlock.open')),
    h('p', null, latched ? t('interlock.latched_why') : t('interlock.open_why')),
    items.length ? h('ul', null, items) : null,
    reset,
    h('p', { class: 'banner-error', id: 'interlock-error', hidden: true }));
  b.hidden = false;
}

async function resetEstop() {
  const err = document.getElementById('interlock-error');
  try {
    await rpc('estop.reset');
    if (err) err.hidden = true;
  } catch (e) {
    if (err) { err.hidden = false; err.textContent = e.message; }
  }
}

// From status.interlock: {latched, permitted, reasons {line: sentence}}.
export function fromStatus(il) {
  if (!il) return;
  last = { latched: !!il.latched, pairs: Object.entries(il.reasons || {}) };
  render(last.latched, last.pairs);
}

// From the notification: {tripped: [{actuator, reason}], latched}.
export function fromNotification(p) {
  const pairs = (p.tripped || []).map((x) => [x.actuator, x.reason]);
  last = { latched: !!p.latched, pairs };
  render(last.latched, pairs);
}

export function rerender() {
  if (last) render(last.latched, last.pairs);
}
