// plan.js: how a plan or a job is shown, shared by the new-job and job pages:
// the steps with their state and reason, the substitutions, the warnings and
// the quote line by line with the rule that set each price.
import { h } from './dom.js';
import { t, fmtMoney } from './i18n.js';

export function label(group, id) {
  if (id === null || id === undefined || id === '') return '—';
  const k = `${group}.${id}`;
  const s = t(k);
  return s === k ? String(id).replace(/_/g, ' ') : s;
}

export function badge(state) {
  return h('span', { class: `badge state-${state}` }, label('state', state));
}

// One step: {seq, id|name, title, kind, station, state, reason, note, attempts}.
// extra(step) may add controls under it.
export function stepItem(s, extra) {
  return h('li', { class: `step state-${s.state}`, dataset: { seq: s.seq, state: s.state, step: s.id ?? s.name } },
    h('div', { class: 'step-head' },
      h('span', { class: 'seq' }, `${s.seq}.`),
      h('span', { class: 'title' }, s.title || s.name || s.id),
      h('span', { class: 'small muted' }, s.kind === 'machine' ? t('plan.machine', { station: s.station || '—' }) : t('plan.manual')),
      badge(s.state)),
    s.reason ? h('p', { class: 'reason' }, s.reason) : null,
    s.note ? h('p', { class: 'note' }, t('plan.note', { note: s.note })) : null,
    s.unrecorded ? h('p', { class: 'msg msg-warn' }, s.unrecorded) : null,
    extra ? extra(s) : null);
}

export function stepsList(steps, extra) {
  return h('ol', { class: 'steps' }, (steps || []).map((s) => stepItem(s, extra)));
}

export function substitutions(subs, steps) {
  if (!subs || !subs.length) return null;
  const title = (id) => {
    const s = (steps || []).find((x) => (x.id ?? x.name) === id);
    return s ? s.title : label('step', id);
  };
  return h('div', { class: 'substitutions' },
    h('h3', null, t('plan.substitutions')),
    h('ul', null, subs.map((x) => h('li', null,
      h('strong', null, t('plan.instead', { step: title(x.step), instead: title(x.instead) })),
      h('br'), h('span', { class: 'small' }, x.reason)))));
}

export function warnings(list) {
  if (!list || !list.length) return null;
  return h('div', { class: 'msg msg-warn' }, h('strong', null, t('plan.warnings')),
    h('ul', null, list.map((w) => h('li', null, typeof w === 'string' ? w : JSON.stringify(w)))));
}

export function quote(q) {
  if (!q) return null;
  const cur = q.currency || 'USD';
  const rows = (q.lines || []).map((l) => h('tr', null,
    h('td', null, l.title || l.service),
    h('td', null, l.rule || ''),
    h('td', { class: 'num' }, l.price === null || l.price === undefined ? t('quote.on_estimate') : fmtMoney(l.price, cur))));
  let total;
  if (q.estimate || q.total === null || q.total === undefined) total = t('quote.on_estimate');
  else total = (q.from ? t('quote.from') + ' ' : '') + fmtMoney(q.total, cur);
  return h('div', { class: 'quote' },
    h('h3', null, t('quote.heading')),
    h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, h('th', null, t('quote.service')), h('th', null, t('quote.rule')), h('th', { class: 'num' }, t('col.price')))),
      h('tbody', null, rows, h('tr', { class: 'total' }, h('td', { colspan: '2' }, t('col.total')), h('td', { class: 'num' }, total))))),
    q.note ? h('p', { class: 'small' }, q.note) : null);
}

export function gemsText(gems) {
  if (!gems || !gems.length) return t('piece.no_gems');
  return gems.map((g) => {
    const name = g.variety ? `${g.species} (${g.variety})` : g.species;
    const tr = g.treatment && g.treatment !== 'none' ? `, ${g.treatment}` : '';
    return `${name}${tr} ×${g.count}`;
  }).join('; ');
}

// The piece as a definition list.
export function pieceBlock(p, gemsNow) {
  if (!p) return null;
  const row = (k, v) => (v === undefined || v === null || v === '' ? null : [h('dt', null, t(k)), h('dd', null, v)]);
  return h('dl', { class: 'piece' },
    row('piece.serial', p.serial),
    row('piece.type', label('piece', p.type)),
    row('piece.metal', label('metal', p.metal)),
    row('piece.collection', p.collection),
    row('piece.paved', p.paved ? t('common.yes') : null),
    row('piece.purchase_date', p.purchase_date),
    row('piece.certificate', p.certificate === undefined ? null : (p.certificate ? t('common.yes') : t('common.no'))),
    row('piece.gems', gemsText(gemsNow || p.gems)));
}

export function servicesText(services) {
  if (!services) return '—';
  if (typeof services === 'string') return services.split(/\s*,\s*/).map((id) => label('service', id)).join(', ');
  return services.map((s) => {
    if (typeof s === 'string') return label('service', s);
    let x = s.title || s.id;
    if (s.sizes !== undefined) x += ` (${t('svc.sizes_n', { n: s.sizes })})`;
    if (s.change_cm !== undefined) x += ` (${t('svc.change_cm_n', { n: s.change_cm })})`;
    return x;
  }).join(', ');
}
