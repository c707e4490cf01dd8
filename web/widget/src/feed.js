// The live feed of a session: the WebSocket (/widget/v1/ws) first; when it
// cannot be opened twice in a row (a proxy in the way, no WebSocket, the
// server refusing it), the long-poll (GET /widget/v1/messages?after=&wait=)
// for the rest of the page's life. Both resume from the last cursor, so a
// reconnect neither misses nor repeats a message. Reconnects back off
// exponentially with jitter; a 429 waits its Retry-After. A resync (the
// cursor is gone) reloads the history.
//
// o: { api, cursor, onMessage(m), onResync(list), onState(err|null), onLost() }

import { backoff, sleep } from './api.js';

const WAIT_S = 25;

export function startFeed(o) {
  let cursor = o.cursor;
  let stopped = false;
  let ws = null;
  let ctrl = null;
  let timer = 0;
  let attempt = 0;
  let wsFails = 0;

  async function resync() {
    try {
      const h = await o.api.messages();
      o.onResync(h.data || []);
      return h.cursor;
    } catch (e) {
      return null;
    }
  }

  function retry(fn) {
    clearTimeout(timer);
    timer = setTimeout(fn, backoff(attempt++));
  }

  function wsFailed() {
    if (++wsFails >= 2) poll();
    else retry(connect);
  }

  function connect() {
    if (stopped) return;
    let opened = false;
    try {
      ws = new WebSocket(o.api.wsUrl(cursor));
    } catch (e) {
      ws = null;
      wsFailed();
      return;
    }
    ws.onmessage = (ev) => {
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (f.type === 'hello') {
        opened = true;
        attempt = 0;
        wsFails = 0;
        if (!cursor) cursor = f.cursor;
        o.onState(null);
      } else if (f.type === 'message') {
        cursor = f.cursor;
        o.onMessage(f.message);
      } else if (f.type === 'resync') {
        resync();
      }
    };
    ws.onclose = () => {
      ws = null;
      if (stopped) return;
      if (!opened) {
        wsFailed();
      } else {
        o.onState({ code: 'reconnecting' });
        retry(connect);
      }
    };
  }

  async function poll() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const r = await o.api.messages(cursor, WAIT_S, ctrl.signal);
        attempt = 0;
        o.onState(null);
        if (r.resync) o.onResync(r.data || []);
        else (r.data || []).forEach(o.onMessage);
        cursor = r.cursor || cursor;
      } catch (e) {
        if (stopped) return;
        if (e.code === 'invalid_session') {
          stopped = true;
          o.onLost();
          return;
        }
        o.onState(e);
        await sleep(e.retryAfter ? e.retryAfter * 1000 : backoff(attempt++));
      }
    }
  }

  if (typeof WebSocket === 'function') connect();
  else poll();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (ws) ws.close();
      if (ctrl) ctrl.abort();
    },
    /** Which transport is in use now (for tests and diagnostics). */
    get mode() {
      return wsFails >= 2 || typeof WebSocket !== 'function' ? 'poll' : 'ws';
    },
  };
}
