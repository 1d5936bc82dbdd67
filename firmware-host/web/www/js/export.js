// export.js: the journal export page: `export` (optionally for one serial),
// the rows in a table, and the same rows as an RFC 4180 CSV built here
// (cells quoted, text that a spreadsheet would run as a formula neutralised)
// offered as atelier-export-YYYY-MM-DD.csv.
import { initPage } from './nav.js';
import { rpc } from './api.js';
import { h, replace, message, $, param } from './dom.js';
import { t, fmtTime, fmtMoney } from './i18n.js';
import * as plan from './plan.js';

const COLUMNS = ['job', 'serial', 'type', 'metal', 'services', 'operator', 'job_state', 'price_usd',
  'seq', 'step', 'kind', 'station', 'state', 'reason', 'note', 'attempts', 'updated'];
let rows = [];
let url = null;

// One CSV cell: numbers as numbers; texts quoted, with a leading = + - @
// tab or CR neutralised by a single quote (as atelierctl export does).
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function toCsv(list) {
  const lines = [COLUMNS.join(',')];
  for (const r of list) lines.push(COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function render() {
  replace($('#export-table thead tr'), COLUMNS.map((c) => h('th', { class: ['job', 'seq', 'attempts', 'price_usd'].includes(c) ? 'num' : null }, t(`export.col.${c}`))));
  replace($('#export-table tbody'), rows.map((r) => h('tr', null, COLUMNS.map((c) => {
    const v = r[c];
    if (c === 'job') return h('td', { class: 'num' }, h('a', { href: `/job.html?job=${encodeURIComponent(v)}` }, String(v)));
    if (c === 'serial') return h('td', null, h('a', { href: `/history.html?serial=${encodeURIComponent(v)}` }, v));
    if (c === 'state' || c === 'job_state') return h('td', null, plan.badge(v));
    if (c === 'updated') return h('td', null, fmtTime(v));
    if (c === 'price_usd') return h('td', { class: 'num' }, v === null || v === undefined ? '—' : fmtMoney(v, 'USD'));
    if (c === 'seq' || c === 'attempts') return h('td', { class: 'num' }, v ?? '');
    return h('td', null, v === null || v === undefined ? '' : String(v));
  }))));
  $('#export-wrap').hidden = rows.length === 0;
  $('#export-count').textContent = t('export.count', { n: rows.length });
}

async function run(serial) {
  const params = serial ? { serial } : {};
  const dl = $('#export-download');
  try {
    rows = await rpc('export', params) || [];
    message($('#export-error'), 'error', '');
  } catch (e) {
    rows = [];
    message($('#export-error'), 'error', e.code === 0 ? t('error.network') : e.message);
  }
  render();
  if (url) URL.revokeObjectURL(url);
  url = null;
  if (rows.length) {
    url = URL.createObjectURL(new Blob(['\ufeff', toCsv(rows)], { type: 'text/csv;charset=utf-8' }));
    dl.href = url;
    dl.download = `atelier-export-${today()}.csv`;
    dl.hidden = false;
  } else {
    dl.hidden = true;
    dl.removeAttribute('href');
  }
}

async function main() {
  await initPage('export');
  const s = param('serial') || '';
  $('#export-serial').value = s;
  $('#export-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run($('#export-serial').value.trim());
  });
  document.addEventListener('langchange', render);
  render();
  $('#export-count').textContent = '';
}

main();
