// nav.js: what every page but the login has: the language, the session (or
// the login page), the common header (page links, user, role, language
// switch, logout) and the interlock banner kept up to date over /ws.
import { h, replace, debounce } from './dom.js';
import { initI18n, t, setLang, getLang, LANGS } from './i18n.js';
import { getSession, logout, rpc } from './api.js';
import * as ws from './ws.js';
import * as interlock from './interlock.js';

const PAGES = [
  { id: 'bench', href: '/index.html', key: 'nav.bench' },
  { id: 'job-new', href: '/job-new.html', key: 'nav.new_job' },
  { id: 'designer', href: '/designer.html', key: 'nav.designer' },
  { id: 'history', href: '/history.html', key: 'nav.history' },
  { id: 'export', href: '/export.html', key: 'nav.export' },
  { id: 'calibration', href: '/calibration.html', key: 'nav.calibration', technician: true },
];

function buildHeader(s, pageId) {
  const header = document.getElementById('nav');
  if (!header) return;
  const links = PAGES.filter((p) => !p.technician || s.role === 'technician').map((p) => h('li', null,
    h('a', { href: p.href, class: 'nav-link', 'aria-current': p.id === pageId ? 'page' : null, dataset: { page: p.id } }, t(p.key))));
  const langSel = h('select', { id: 'lang-select', class: 'lang-select', 'aria-label': t('nav.language') },
    LANGS.map((l) => h('option', { value: l, selected: l === getLang() }, t(`lang.${l}`))));
  langSel.addEventListener('change', () => setLang(langSel.value));
  replace(header,
    h('div', { class: 'brand' }, h('a', { href: '/index.html', class: 'brand-link' }, 'Atelier')),
    h('nav', { 'aria-label': t('nav.pages') }, h('ul', { class: 'nav-links' }, links)),
    h('div', { class: 'user' },
      h('span', { class: 'user-name', id: 'user-name' }, s.name || s.user),
      h('span', { class: `role role-${s.role}`, id: 'user-role' }, t(`role.${s.role}`)),
      langSel,
      h('button', { type: 'button', id: 'logout', class: 'btn btn-quiet', dataset: { action: 'logout' }, onclick: () => logout() }, t('nav.logout'))));
}

// Options: selfStatus: the page fetches status itself and feeds the banner
// (the bench); technician: the page is for technicians only.
export async function initPage(pageId, opts = {}) {
  await initI18n();
  const s = await getSession();
  buildHeader(s, pageId);
  document.addEventListener('langchange', () => { buildHeader(s, pageId); interlock.rerender(); });
  ws.onNotify((method, params) => {
    if (method === 'interlock') interlock.fromNotification(params);
  });
  if (!opts.selfStatus) {
    const refresh = debounce(async () => {
      try { interlock.fromStatus((await rpc('status')).interlock); } catch (e) { /* the next try */ }
    }, 100);
    ws.onNotify((method) => { if (method === 'interlock' || method === 'input') refresh(); });
    ws.onOpen(refresh);
    refresh();
    setInterval(refresh, 5000);
  }
  return s;
}
