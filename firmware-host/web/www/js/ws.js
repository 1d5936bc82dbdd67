// ws.js: one WebSocket to /ws per page, carrying atelierd's notifications
// (JSON-RPC, {method, params}); it reconnects with a growing delay when the
// socket closes (a daemon restart) and tells its listeners when it is back,
// so that they fetch status again.
const listeners = new Set();
const openers = new Set();
let sock = null;
let delay = 500;
let timer = null;
let started = false;

function url() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

function connect() {
  timer = null;
  try {
    sock = new WebSocket(url());
  } catch (e) {
    schedule();
    return;
  }
  sock.addEventListener('open', () => {
    delay = 500;
    openers.forEach((f) => { try { f(); } catch (e) { console.warn(e); } });
  });
  sock.addEventListener('message', (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (!m || typeof m.method !== 'string') return;
    listeners.forEach((f) => { try { f(m.method, m.params || {}); } catch (e) { console.warn(e); } });
  });
  sock.addEventListener('close', () => { sock = null; schedule(); });
  sock.addEventListener('error', () => { /* close follows */ });
}

function schedule() {
  if (timer) return;
  timer = setTimeout(connect, delay);
  delay = Math.min(delay * 2, 15000);
}

// onNotify((method, params) => ...), onOpen(() => ...) (also after reconnecting).
export function onNotify(f) { listeners.add(f); start(); }
export function onOpen(f) { openers.add(f); start(); }

export function start() {
  if (started) return;
  started = true;
  connect();
}
