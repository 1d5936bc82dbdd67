// dom.js: small helpers to build elements without innerHTML (every text from
// the daemon or a user goes in as text), debounce, and page parameters.
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'value') e.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden' || k === 'required') e[k] = !!v;
      else e.setAttribute(k, v === true ? '' : v);
    }
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else if (c instanceof Node) e.appendChild(c);
    else e.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

export function replace(e, ...children) {
  clear(e);
  append(e, children);
  return e;
}

export function $(sel, root) { return (root || document).querySelector(sel); }
export function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

export function debounce(f, ms) {
  let timer = null;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; f(...args); }, ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

// An SVG text from the daemon shown as an image (a data: URL): its scripts
// and links never run, and it is never parsed into the page.
export function svgImage(svgText, alt) {
  const img = document.createElement('img');
  img.alt = alt || '';
  img.className = 'svg-preview';
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`;
  return img;
}

// A message line under a form: kind 'error' | 'ok' | 'info'.
export function message(container, kind, text) {
  clear(container);
  if (!text) { container.hidden = true; return; }
  container.hidden = false;
  container.className = `msg msg-${kind}`;
  container.textContent = text;
}
