// Helpers shared by the inbox's list and conversation view.
import { t } from '../../lib/i18n.js';

/** How to name a conversation's contact: the name, else an address, else "Unknown". */
export function contactLabel(contact, fallbackAddress) {
  if (!contact) return fallbackAddress || t('common.unknown');
  if (contact.name) return contact.name;
  const ids = contact.identities || [];
  return (ids[0] && ids[0].address) || contact.address || fallbackAddress || t('inbox.unknown_sender');
}

/** Does conversation c pass the list's filters ({status, assignee, channel})? q is left to the server. */
export function matches(c, f, meId) {
  if (f.status && c.status !== f.status) return false;
  if (f.channel && c.channel !== f.channel) return false;
  if (f.assignee === 'none' && c.assignee_id) return false;
  if (f.assignee === 'me' && c.assignee_id !== meId) return false;
  if (f.assignee && f.assignee !== 'none' && f.assignee !== 'me' && c.assignee_id !== f.assignee) return false;
  return true;
}

/** The list's newest-first order: last_message_at, then id, descending. */
export function byActivity(a, b) {
  if (a.last_message_at !== b.last_message_at) return a.last_message_at < b.last_message_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Users of the tenant, loaded once per page load (assignee names and choices). */
let usersPromise = null;
export function loadUsers(api) {
  if (!usersPromise) {
    usersPromise = api('GET', '/users')
      .then((r) => r.data || [])
      .catch((e) => {
        usersPromise = null;
        throw e;
      });
  }
  return usersPromise;
}

export function userLabel(u) {
  return u ? u.name || u.email : '';
}

/** Channel accounts of the tenant, loaded once per page load. */
let channelsPromise = null;
export function loadChannels(api) {
  if (!channelsPromise) {
    channelsPromise = api('GET', '/channels')
      .then((r) => r.data || [])
      .catch((e) => {
        channelsPromise = null;
        throw e;
      });
  }
  return channelsPromise;
}
