// login.js: the login form: POST /api/login, the messages for a wrong
// password and for too many tries (retry_after, counted down), then the page
// asked for in ?next= (a path of this site only) or the bench.
import { initI18n, t, setLang, getLang } from './i18n.js';
import { login } from './api.js';
import { $, param } from './dom.js';

function nextUrl() {
  const n = param('next');
  // Only a path on this site: no "//host", no "scheme:", no backslashes.
  if (n && n.startsWith('/') && !n.startsWith('//') && !n.includes('\\') && !n.startsWith('/login.html')) return n;
  return '/';
}

let countdown = null;

function showError(text) {
  const e = $('#login-error');
  e.textContent = text;
  e.hidden = !text;
}

function throttled(seconds) {
  clearInterval(countdown);
  const submit = $('#login-submit');
  let left = Math.max(1, Math.ceil(Number(seconds) || 1));
  submit.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(countdown);
      submit.disabled = false;
      showError(t('login.try_again_now'));
      return;
    }
    showError(t('login.throttled', { s: left }));
    left -= 1;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

async function submit(ev) {
  ev.preventDefault();
  const user = $('#login-user').value.trim();
  const password = $('#login-password').value;
  if (!user || !password) {
    showError(t('login.missing'));
    (user ? $('#login-password') : $('#login-user')).focus();
    return;
  }
  const button = $('#login-submit');
  button.disabled = true;
  let r;
  try {
    r = await login(user, password);
  } catch (e) {
    button.disabled = false;
    showError(t('error.network'));
    return;
  }
  if (r.status === 200) {
    location.assign(nextUrl());
    return;
  }
  button.disabled = false;
  if (r.status === 429) {
    throttled(r.body.retry_after);
  } else if (r.status === 401) {
    showError(t('login.wrong'));
    $('#login-password').value = '';
    $('#login-password').focus();
  } else {
    showError(r.body.error || t('error.server', { status: r.status }));
  }
}

async function main() {
  // The form is taken over before anything else, and its button enabled
  // only then: a native submit would put the password in a URL.
  $('#login-form').addEventListener('submit', submit);
  $('#login-submit').disabled = false;
  await initI18n();
  const sel = $('#lang-select');
  sel.value = getLang();
  sel.addEventListener('change', () => setLang(sel.value));
  $('#login-user').focus();
}

main();
