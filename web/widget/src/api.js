// The widget API client (/widget/v1/…, docs/webchat.md). Every request
// names the website chat by X-Widget-Token and, once there is one, the
// visitor's session by X-Widget-Session. Failures become ApiError with the
// server's error code, or one of:
//   network  the request did not get an answer the page may read
//   refused  the same, while the server itself is reachable: the server
//            refused this page's origin (it sends no CORS headers then)
// A 429 carries retryAfter (seconds, from Retry-After).

export class ApiError extends Error {
  constructor(code, message, status, retryAfter) {
    super(message || code);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: attempt 0, 1, 2… → about 1, 2, 4… s, at most 30 s. */
export function backoff(attempt) {
  const ms = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  return ms / 2 + Math.random() * (ms / 2);
}

export function createApi(base, token) {
  const api = { base, secret: null };

  async function call(method, path, body, signal) {
    const headers = { 'X-Widget-Token': token };
    if (api.secret) headers['X-Widget-Session'] = api.secret;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(base + '/widget/v1' + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      if (signal && signal.aborted) throw e;
      throw new ApiError('network', String(e && e.message), 0);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      /* an empty or non-JSON body */
    }
    if (res.ok) return data || {};
    const err = (data && data.error) || {};
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    throw new ApiError(err.code || 'http_' + res.status, err.message || res.statusText, res.status,
      res.status === 429 ? (ra > 0 ? ra : 5) : 0);
  }

  /** Tells a refused origin from an unreachable server after a network error. */
  api.diagnose = async (e) => {
    if (!(e instanceof ApiError) || e.code !== 'network') return e;
    try {
      // An opaque answer still proves the server is there.
      await fetch(base + '/healthz', { mode: 'no-cors', credentials: 'omit', cache: 'no-store' });
      return new ApiError('refused', e.message, 0);
    } catch (e2) {
      return e;
    }
  };

  api.config = () => call('GET', '/config');
  api.start = (name, email) => {
    const body = {};
    if (name) body.name = name;
    if (email) body.email = email;
    return call('POST', '/sessions', body);
  };
  api.post = (text, clientId) => call('POST', '/messages', { text, client_id: clientId });
  /** Without after: the history and a cursor; with it: messages since, waiting up to wait s. */
  api.messages = (after, wait, signal) =>
    call('GET', '/messages' + (after ? `?after=${encodeURIComponent(after)}&wait=${wait || 0}` : ''), undefined, signal);
  api.wsUrl = (after) =>
    base.replace(/^http/, 'ws') + '/widget/v1/ws?token=' + encodeURIComponent(token) +
    '&session=' + encodeURIComponent(api.secret || '') + (after ? '&after=' + encodeURIComponent(after) : '');
  return api;
}
