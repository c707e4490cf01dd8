// The signed-in user: useSession() -> {status, user, tenant, role, can, login,
// logout, refresh}. status is "loading" (asking GET /api/v1/me), "anon" (no
// session: the login screen) or "ready". can(action) answers from the role
// matrix of docs/permissions.md (the server decides; this only hides what a
// role may not do). The tenant's settings give the time zone for dates.
import { useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized, setCsrfToken } from './api.js';
import { setTimeZone } from './i18n.js';

const RANK = { viewer: 0, agent: 1, admin: 2, owner: 3 };
// The lowest role allowed each action (docs/permissions.md).
const MIN_ROLE = {
  'me.read': 'viewer',
  'users.list': 'viewer',
  'events.subscribe': 'viewer',
  'conversations.read': 'viewer',
  'contacts.read': 'viewer',
  'channels.list': 'viewer',
  'templates.list': 'viewer',
  'kb.read': 'viewer',
  'assistant.read': 'viewer',
  'settings.read': 'viewer',
  'monitoring.read': 'viewer',
  'compliance.read': 'viewer',
  'suppressions.read': 'viewer',
  'conversations.update': 'agent',
  'messages.send': 'agent',
  'contacts.update': 'agent',
  'contacts.create': 'agent',
  'contacts.merge': 'agent',
  'templates.create': 'agent',
  'templates.update': 'agent',
  'templates.submit': 'agent',
  'compliance.review': 'agent',
  'assistant.drafts': 'agent',
  'suppressions.create': 'agent',
  'apikeys.list': 'admin',
  'apikeys.create': 'admin',
  'apikeys.revoke': 'admin',
  'users.create': 'admin',
  'users.update': 'admin',
  'users.delete': 'admin',
  'audit.read': 'admin',
  'secrets.write': 'admin',
  'jobs.read': 'admin',
  'jobs.retry': 'admin',
  'jobs.discard': 'admin',
  'channels.create': 'admin',
  'channels.delete': 'admin',
  'channels.test': 'admin',
  'templates.sync': 'admin',
  'templates.approve': 'admin',
  'kb.write': 'admin',
  'assistant.config': 'admin',
  'settings.update': 'admin',
  'security.read': 'admin',
  'compliance.update': 'admin',
  'suppressions.delete': 'admin',
  'suppressions.import': 'admin',
};

let state = { status: 'loading', user: null, tenant: null, role: null };
const listeners = new Set();

function set(next) {
  state = { ...state, ...next };
  listeners.forEach((fn) => fn(state));
}

/** May the signed-in user do action? Unknown actions need admin. */
export function can(action) {
  if (!state.role) return false;
  if (Array.isArray(state.permissions)) return state.permissions.includes(action);
  const min = MIN_ROLE[action] || 'admin';
  return RANK[state.role] >= RANK[min];
}

async function loadSettings() {
  try {
    const s = await api('GET', '/settings');
    set({ tenant: { ...state.tenant, timezone: s.timezone || 'UTC', settings: s } });
    setTimeZone(s.timezone || 'UTC');
  } catch (_) {
    /* dates then use the browser's zone */
  }
}

function fromMe(me) {
  setCsrfToken(me.csrf_token);
  set({
    status: 'ready',
    user: me.user ? { ...me.user, role: me.role } : null,
    tenant: { id: me.tenant_id, ...(state.tenant && state.tenant.id === me.tenant_id ? state.tenant : {}) },
    role: me.role,
    permissions: me.permissions,
  });
}

/** Ask the server who we are (on start, and after a login). */
export async function refresh() {
  try {
    const me = await api('GET', '/me', null, { noAuthEvent: true });
    fromMe(me);
    loadSettings();
  } catch (e) {
    if (e.status === 401) set({ status: 'anon', user: null, tenant: null, role: null });
    else set({ status: 'error', error: e });
  }
  return state;
}

/** Log in with e-mail and password; throws ApiError (invalid_credentials, login_throttled…). */
export async function login(email, password, tenantId) {
  const body = { email, password };
  if (tenantId) body.tenant_id = tenantId;
  await api('POST', '/auth/login', body, { noAuthEvent: true });
  return refresh();
}

export async function logout() {
  try {
    await api('POST', '/auth/logout', null, { noAuthEvent: true });
  } finally {
    setCsrfToken(null);
    set({ status: 'anon', user: null, tenant: null, role: null });
  }
}

export function getSession() {
  return state;
}

onUnauthorized(() => {
  if (state.status === 'ready') set({ status: 'anon', user: null, tenant: null, role: null });
});

/** The session, re-rendering the caller when it changes. */
export function useSession() {
  const [s, setS] = useState(state);
  useEffect(() => {
    listeners.add(setS);
    setS(state);
    return () => listeners.delete(setS);
  }, []);
  return { ...s, can, login, logout, refresh };
}
