// Toasts: toast.ok(msg) confirms an action, toast.error(errOrMsg) shows what
// went wrong (an ApiError's own message, with its request id). The <Toasts>
// component (components/Toasts.jsx) renders them in a live region.
const listeners = new Set();
let items = [];
let seq = 0;

function push(kind, text, detail, ms) {
  const id = ++seq;
  items = [...items, { id, kind, text, detail }];
  listeners.forEach((fn) => fn(items));
  if (ms > 0) setTimeout(() => dismiss(id), ms);
  return id;
}

export function dismiss(id) {
  items = items.filter((t) => t.id !== id);
  listeners.forEach((fn) => fn(items));
}

export function subscribeToasts(fn) {
  listeners.add(fn);
  fn(items);
  return () => listeners.delete(fn);
}

export const toast = {
  ok(msg) {
    return push('ok', msg, null, 4000);
  },
  error(errOrMsg) {
    if (typeof errOrMsg === 'string') return push('error', errOrMsg, null, 8000);
    const e = errOrMsg || {};
    const detail = e.requestId ? `${e.code || ''} · ${e.requestId}`.replace(/^ · /, '') : e.code || null;
    return push('error', e.message || String(e), detail, 8000);
  },
};
