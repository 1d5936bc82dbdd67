// api.js: the one door to atelier-web's JSON API: the session, login/logout
// and rpc() (POST /api/rpc with the CSRF token; a 401 goes to the login page
// with ?next=, a 403 re-reads the session's token once and tries again).
let csrf = null;
let current = null;

export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export function loginUrl() {
  const next = location.pathname + location.search;
  return `/login.html?next=${encodeURIComponent(next)}`;
}

function toLogin() {
  location.assign(loginUrl());
  // Nothing more happens on this page.
  return new Promise(() => {});
}

async function readJson(r) {
  try { return await r.json(); } catch (e) { return {}; }
}

// The logged-in user, or a redirect to the login page.
export async function getSession({ redirect = true } = {}) {
  let r;
  try {
    r = await fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new RpcError(0, e.message);
  }
  if (r.status === 401) {
    if (redirect) return toLogin();
    return null;
  }
  const j = await readJson(r);
  if (!r.ok) throw new RpcError(r.status, j.error || r.statusText);
  csrf = j.csrf;
  current = j;
  return j;
}

export function session() { return current; }

export async function login(user, password) {
  const r = await fetch('/api/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  const j = await readJson(r);
  if (r.ok) { csrf = j.csrf; current = j; }
  return { status: r.status, body: j };
}

export async function logout() {
  try {
    await fetch('/api/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf || '', 'Content-Type': 'application/json' },
      body: '{}',
    });
  } finally {
    location.assign('/login.html');
  }
}

// rpc('job.plan', {...}) -> the result; throws RpcError(code, message) with
// atelierd's sentence (code 0: the server could not be reached).
export async function rpc(method, params, retried) {
  const body = { method };
  if (params !== undefined) body.params = params;
  let r;
  try {
    r = await fetch('/api/rpc', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf || '' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new RpcError(0, e.message);
  }
  if (r.status === 401) return toLogin();
  const j = await readJson(r);
  if (r.status === 403 && !retried) {
    await getSession();
    return rpc(method, params, true);
  }
  if (!r.ok) throw new RpcError(r.status, (j && typeof j.error === 'string') ? j.error : r.statusText);
  if (j.error) {
    const e = typeof j.error === 'object' ? j.error : { code: -1, message: String(j.error) };
    throw new RpcError(e.code, e.message, e.data);
  }
  return j.result;
}
