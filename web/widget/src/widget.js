// Switchboard's website chat widget: one script tag on any page,
//   <script src="https://switchboard.example.com/widget.js" data-token="…" async></script>
// The widget token comes from data-token and the server from the script's
// own src (the folder widget.js is served from), or data-server when the
// file is hosted elsewhere; data-locale picks the language ("en", "es").
//
// Start: the website chat's config (title, greeting, colour), then, when
// this browser already has a session for the token (localStorage), its
// history and the live feed. A session is started with the visitor's first
// message (with the optional name and e-mail), so a page view alone writes
// nothing on the server. Visitor messages are shown at once and replaced by
// the server's copy when the feed brings it back (matched by ref); a send
// is retried with the same client_id, so a retry is never a second message.

import { ApiError, backoff, createApi, sleep } from './api.js';
import { startFeed } from './feed.js';
import { strings } from './i18n.js';
import { createUI } from './ui.js';

const KEY = 'switchboard-chat:';
const SEND_TRIES = 4;

function findScript() {
  const cur = document.currentScript;
  if (cur && cur.dataset.token) return cur;
  return document.querySelector('script[data-token][src*="widget"]');
}

function boot() {
  const script = findScript();
  if (!script || window.__switchboardChat) return;
  const token = script.dataset.token;
  const src = new URL(script.src, location.href);
  const base = (script.dataset.server || src.origin + src.pathname.replace(/\/[^/]*$/, '')).replace(/\/+$/, '');
  const t = strings(script.dataset.locale || navigator.language);
  const api = createApi(base, token);
  const store = {
    get() {
      try {
        return JSON.parse(localStorage.getItem(KEY + token) || 'null');
      } catch (e) {
        return null;
      }
    },
    set(s) {
      try {
        if (s) localStorage.setItem(KEY + token, JSON.stringify(s));
        else localStorage.removeItem(KEY + token);
      } catch (e) {
        /* storage disabled: the session lasts as long as the page */
      }
    },
  };

  let session = null; // {id, secret}
  let feed = null;
  let ready = null; // resolves once config is loaded (or fails for good)
  let broken = false;
  const pending = new Map(); // ref -> {text, clientId}
  const seen = new Set(); // message ids shown

  const ui = createUI(t, { onSend: send, onRetry: retry });
  const state = { api, get session() { return session; }, get feed() { return feed; } };
  window.__switchboardChat = state;

  function refusal(e) {
    if (e.code === 'invalid_widget_token') return t.errToken;
    if (e.code === 'refused' || e.code === 'origin_not_allowed' || e.code === 'origin_required') return t.errOrigin;
    return null;
  }

  function show(e) {
    if (!e) return ui.showStatus('');
    const fatal = refusal(e);
    if (fatal) {
      broken = true;
      if (feed) feed.stop();
      return ui.fatal(fatal);
    }
    if (e.code === 'rate_limited' || e.status === 429) return ui.showStatus(t.rateLimited(e.retryAfter), false);
    if (e.code === 'reconnecting') return ui.showStatus(t.reconnecting, false);
    if (e.code === 'network') return ui.showStatus(t.errNetwork, false);
    return ui.showStatus(t.errSend + (e.message ? ' (' + e.message + ')' : ''), true);
  }

  /** A message from the server: shown once, replacing its optimistic copy. */
  function receive(m, live) {
    if (!m || !m.id) return;
    if (m.ref) pending.delete(m.ref);
    const isNew = !seen.has(m.id);
    seen.add(m.id);
    ui.put(m, null);
    if (isNew && live && m.sender !== 'visitor') ui.announce(m);
  }

  function replace(list) {
    ui.clear();
    seen.clear();
    list.forEach((m) => receive(m, false));
    for (const [ref, p] of pending) ui.put({ ref, sender: 'visitor', text: p.text }, p.state);
  }

  // Each call retries until it gets an answer or a refusal the visitor cannot
  // fix. Only the first request (first) can meet a refused origin: a later
  // network error is just that, even while the server answers /healthz.
  async function persist(fn, first) {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fn();
        show(null);
        return r;
      } catch (e0) {
        const e = first ? await api.diagnose(e0) : e0;
        if (e.code === 'invalid_session') throw e;
        show(e);
        if (broken || !(e.code === 'network' || e.status === 429 || e.status >= 500)) throw e;
        await sleep(e.retryAfter ? e.retryAfter * 1000 : backoff(attempt));
      }
    }
  }

  async function follow() {
    const h = await persist(() => api.messages());
    replace(h.data || []);
    if (feed) feed.stop();
    feed = startFeed({
      api, cursor: h.cursor, onState: show, onLost: lost,
      onMessage: (m) => receive(m, true),
      onResync: replace,
    });
  }

  function lost() {
    // The server no longer knows the session: start afresh with the next message.
    session = null;
    api.secret = null;
    store.set(null);
    if (feed) feed.stop();
    feed = null;
    ui.clear();
    seen.clear();
    ui.showForm(true);
  }

  // One start at a time: a second message typed meanwhile joins the same session.
  let starting = null;
  async function ensureSession(name, email) {
    if (session) return;
    if (!starting) {
      starting = (async () => {
        const s = await persist(() => api.start(name, email));
        session = { id: s.session_id, secret: s.secret };
        api.secret = s.secret;
        store.set(session);
        ui.showForm(false);
        await follow();
      })().finally(() => {
        starting = null;
      });
    }
    await starting;
  }

  async function deliver(ref) {
    const p = pending.get(ref);
    if (!p) return;
    p.state = 'sending';
    ui.put({ ref, sender: 'visitor', text: p.text }, 'sending');
    for (let attempt = 0; attempt < SEND_TRIES; attempt++) {
      try {
        await api.post(p.text, p.clientId);
        show(null);
        return;
      } catch (e) {
        if (e.code === 'invalid_session') {
          // Keep the text: the session is gone, so the message goes into a new one.
          pending.delete(ref);
          lost();
          ui.restore(p.text);
          return;
        }
        show(e);
        if (broken || !(e.code === 'network' || e.status === 429 || e.status >= 500)) break;
        if (e.status !== 429 && attempt === SEND_TRIES - 1) {
          ui.showStatus(t.errSend, true); // no longer "trying again"
          break;
        }
        if (e.status === 429) attempt--; // waiting out a rate limit is not a failed try
        await sleep(e.retryAfter ? e.retryAfter * 1000 : backoff(attempt));
      }
    }
    if (!pending.has(ref) || broken) return; // the feed brought it back meanwhile, or the chat is refused
    p.state = 'failed';
    ui.put({ ref, sender: 'visitor', text: p.text }, 'failed');
  }

  async function send(text, name, email) {
    try {
      await ready;
      if (broken) return;
      await ensureSession(name, email);
    } catch (e) {
      ui.restore(text);
      if (e.code === 'invalid_email' || e.code === 'invalid_name') ui.showForm(true);
      return;
    }
    const clientId = 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    const ref = session.id + '/' + clientId;
    pending.set(ref, { text, clientId, state: 'sending' });
    deliver(ref);
  }

  function retry(ref) {
    deliver(ref);
  }

  async function start() {
    (document.body || document.documentElement).append(ui.host);
    ui.configure({});
    ready = persist(() => api.config(), true)
      .then((cfg) => ui.configure(cfg))
      .catch(() => {});
    await ready;
    if (broken) return;
    const saved = store.get();
    if (saved && saved.id && saved.secret) {
      session = saved;
      api.secret = saved.secret;
      ui.showForm(false);
      try {
        await follow();
      } catch (e) {
        if (e instanceof ApiError && e.code === 'invalid_session') lost();
      }
    } else {
      ui.showForm(true);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}

boot();
