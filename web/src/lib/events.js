// Realtime events over the GET /api/v1/events WebSocket (docs/events.md).
// subscribe(type | '*', fn) -> unsubscribe fn; fn(event) gets {id, type, data}.
// The socket opens with the first subscriber and closes with the last one. It
// remembers the last event id and reconnects with ?last_event_id= after a drop
// (exponential backoff with jitter, 0.5 s up to 30 s; at once when the browser
// comes back online), so events written meanwhile still arrive, in order.
// "resync" (the log no longer holds them) goes to subscribers of "resync" and
// "*": reload state over REST. Heartbeat: a browser cannot see the server's
// pings, so every 25 s we send a tiny text frame, which the server answers
// (with an "unsupported_message" error frame); silence for 60 s means the
// connection is dead and it is replaced. onState(fn) reports "connecting",
// "open", "offline" for an indicator.
const subs = new Map();
const stateSubs = new Set();
let ws = null;
let lastId = null;
let attempt = 0;
let retryTimer = null;
let beatTimer = null;
let heardAt = 0;
let state = 'closed';
let wanted = false;
const HEARTBEAT_MS = 25000;
const DEAD_MS = 60000;

function setState(s) {
  if (s === state) return;
  state = s;
  stateSubs.forEach((fn) => fn(s));
}

function dispatch(ev) {
  for (const key of [ev.type, '*']) {
    const set = subs.get(key);
    if (set) set.forEach((fn) => {
      try {
        fn(ev);
      } catch (e) {
        console.error(e);
      }
    });
  }
}

function url() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = lastId != null ? `?last_event_id=${lastId}` : '';
  return `${proto}//${location.host}/api/v1/events${q}`;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (!wanted || ws) return;
  if (navigator.onLine === false) {
    setState('offline');
    return;
  }
  setState('connecting');
  const sock = new WebSocket(url());
  ws = sock;
  heardAt = Date.now();
  sock.onmessage = (m) => {
    heardAt = Date.now();
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch (_) {
      return;
    }
    if (ev.type === 'hello') {
      attempt = 0;
      setState('open');
      // A fresh socket (no id yet) is live only: remember where it starts.
      if (lastId == null) lastId = ev.last_event_id;
      dispatch(ev);
      return;
    }
    if (ev.type === 'error') return; // the heartbeat's answer
    if (ev.type === 'resync') {
      dispatch(ev);
      return;
    }
    if (typeof ev.id === 'number') {
      if (lastId != null && ev.id <= lastId) return; // already seen
      lastId = ev.id;
    }
    dispatch(ev);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    scheduleReconnect();
  };
  sock.onerror = () => {
    /* onclose follows */
  };
}

function scheduleReconnect() {
  if (!wanted) {
    setState('closed');
    return;
  }
  setState(navigator.onLine === false ? 'offline' : 'connecting');
  const base = Math.min(30000, 500 * 2 ** attempt);
  attempt++;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
}

function drop() {
  if (!ws) return;
  const sock = ws;
  ws = null;
  try {
    sock.close();
  } catch (_) {
    /* ignore */
  }
}

function heartbeat() {
  if (!ws || ws.readyState !== 1) return;
  if (Date.now() - heardAt > DEAD_MS) {
    drop();
    scheduleReconnect();
    return;
  }
  try {
    ws.send('{"type":"ping"}');
  } catch (_) {
    /* onclose follows */
  }
}

function start() {
  if (wanted) return;
  wanted = true;
  beatTimer = setInterval(heartbeat, HEARTBEAT_MS);
  connect();
}

function stop() {
  wanted = false;
  clearInterval(beatTimer);
  clearTimeout(retryTimer);
  drop();
  setState('closed');
}

addEventListener('online', () => {
  if (!wanted) return;
  attempt = 0;
  drop();
  connect();
});
addEventListener('offline', () => {
  if (!wanted) return;
  drop();
  setState('offline');
});

/** Call fn(event) for events of this type ('*': all). Returns the unsubscribe function. */
export function subscribe(type, fn) {
  if (!subs.has(type)) subs.set(type, new Set());
  subs.get(type).add(fn);
  start();
  return () => {
    const set = subs.get(type);
    if (set) {
      set.delete(fn);
      if (!set.size) subs.delete(type);
    }
    if (![...subs.values()].some((s) => s.size)) stop();
  };
}

/** fn(state) now and on each change: "closed", "connecting", "open", "offline". */
export function onState(fn) {
  stateSubs.add(fn);
  fn(state);
  return () => stateSubs.delete(fn);
}

/** Forget the position (after a logout) and close. */
export function reset() {
  stop();
  lastId = null;
}
