// A History-API router: navigate(path[, {replace}]), useRoute() -> {path,
// query (URLSearchParams)}, match(pattern, path) -> params or null
// ("/inbox/:id"), and <Link href> (a real <a>, so middle-click and keyboard
// work; plain clicks stay in the app).
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

function notify() {
  const r = current();
  listeners.forEach((fn) => fn(r));
}

/** Go to path (may carry ?query). replace: no new history entry. */
export function navigate(path, opts = {}) {
  if (path === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  notify();
  if (!opts.replace && !opts.keepScroll) window.scrollTo(0, 0);
}

/** Change query parameters of the current path without a new history entry. */
export function setQuery(params) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), { replace: true });
}

addEventListener('popstate', notify);

export function useRoute() {
  const [r, setR] = useState(current);
  useEffect(() => {
    listeners.add(setR);
    return () => listeners.delete(setR);
  }, []);
  return r;
}

/** Params of pattern ("/contacts/:id") for path, or null when it does not match. */
export function match(pattern, path) {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const out = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

export function Link({ href, onClick, children, ...rest }) {
  const click = (e) => {
    if (onClick) onClick(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return h('a', { href, onClick: click, ...rest }, children);
}
