// The HTTP API client: api(method, path, body[, {headers, signal, raw}]) returns
// the parsed JSON (null on 204); raw (a string or Blob) is sent as the body
// as it is, with the Content-Type of opts.headers (uploads such as imports). It sends the session cookie, and on writes the
// session's X-CSRF-Token; a non-2xx answer throws ApiError with the API's
// {code, message, request_id}. A 401 also tells onUnauthorized listeners, so
// the shell can go back to the login screen.

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'http_' + status;
    this.requestId = requestId || null;
  }
}

let csrfToken = null;
const unauthorized = new Set();

/** The token GET /api/v1/me or the login returned; sent on every write. */
export function setCsrfToken(tok) {
  csrfToken = tok || null;
}

/** fn() runs when a request comes back 401 (the session ended). Returns an unsubscribe fn. */
export function onUnauthorized(fn) {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

const BASE = '/api/v1';

export async function api(method, path, body, opts = {}) {
  const m = method.toUpperCase();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  const raw = opts.raw !== undefined;
  if (!raw && body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
  if (m !== 'GET' && m !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path.startsWith('/') && !path.startsWith(BASE) ? BASE + path : path, {
      method: m,
      headers,
      body: raw ? opts.raw : body !== undefined && body !== null ? JSON.stringify(body) : undefined,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', navigator.onLine === false ? 'You are offline.' : 'The server could not be reached.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code, e.message || res.statusText, e.request_id || res.headers.get('X-Request-Id'));
    if (res.status === 401 && !opts.noAuthEvent) unauthorized.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

/** A query string from an object, skipping empty values ("?a=1&b=2" or ""). */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/** A random key for Idempotency-Key headers. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}
