// history.js: a piece's history (history.html?serial=S): the `history`
// method's piece, jobs and events; the search box keeps the serial in the URL.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, message, $, param } from './dom.js';
import { t, fmtTime, fmtMoney } from './i18n.js';
import * as plan from './plan.js';

let last = null;

function total(q) {
  if (!q) return '—';
  if (q.estimate || q.total === null || q.total === undefined) return t('quote.on_estimate');
  return (q.from ? `${t('quote.from')} ` : '') + fmtMoney(q.total, q.currency);
}

function render() {
  const r = last;
  const p = { ...r.piece, certificate: undefined };
  replace($('#history-piece'), plan.pieceBlock(p, r.piece.gems),
    r.piece.created ? h('p', { class: 'small muted' }, t('history.recorded', { t: fmtTime(r.piece.created) })) : null);
  $('#history-new-job').href = `/job-new.html?serial=${encodeURIComponent(r.piece.serial)}`;
  // With a shared history (docs/fleet.md) the other workshops' jobs are
  // listed too, each with its workshop; only this workshop's open here.
  const here = (j) => !j.workshop || j.workshop === r.workshop;
  const scope = $('#history-scope');
  scope.hidden = !r.shared;
  if (r.shared) {
    scope.textContent = r.shared.answered ? t('history.shared_all')
      : t('history.shared_local', { why: r.shared.why || '' });
  }
  replace($('#history-jobs tbody'), (r.jobs || []).map((j) => h('tr', { dataset: { job: j.id } },
    h('td', null, here(j) ? h('a', { href: `/job.html?job=${encodeURIComponent(j.id)}` }, `#${j.id}`)
      : `#${j.id}`),
    h('td', null, plan.badge(j.state)),
    h('td', null, plan.servicesText(j.services)),
    h('td', null, j.operator),
    h('td', null, fmtTime(j.created)),
    h('td', null, fmtTime(j.updated)),
    h('td', { class: 'num' }, total(j.quote)),
    h('td', null, j.workshop_name || j.workshop || ''))));
  replace($('#history-events tbody'), (r.events || []).map((e) => h('tr', null,
    h('td', null, h('time', { datetime: e.t }, fmtTime(e.t))), h('td', null, e.who), h('td', null, e.what), h('td', null, e.why || ''),
    h('td', null, e.workshop_name || e.workshop || ''))));
  $('#history').hidden = false;
}

async function search(serial) {
  const err = $('#history-error');
  if (!serial) { $('#history').hidden = true; message(err, 'error', ''); return; }
  try {
    last = await rpc('history', { serial });
    message(err, 'error', '');
    render();
  } catch (e) {
    last = null;
    $('#history').hidden = true;
    message(err, 'error', e.code === 0 ? t('error.network') : e.message);
  }
}

async function main() {
  await initPage('history');
  const s = param('serial') || '';
  $('#serial').value = s;
  $('#history-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('#serial').value.trim();
    const u = new URL(location.href);
    if (v) u.searchParams.set('serial', v); else u.searchParams.delete('serial');
    history.replaceState(null, '', u);
    search(v);
  });
  document.addEventListener('langchange', () => { if (last) render(); });
  if (s) search(s); else $('#serial').focus();
}

main();
