// The widget's DOM, in a shadow root on a <switchboard-chat> element: the
// launcher button and the chat panel (a non-modal dialog). Accessibility:
// the button says whether the panel is open (aria-expanded) and which it
// controls; opening moves focus into the panel, closing (button, Escape)
// back to the button; replies are announced by a polite live region; Enter
// sends, Shift+Enter adds a line. No framework: a tiny h() helper.
//
// ui = createUI(t, handlers) with handlers { onSend(text, name, email),
// onRetry(ref) }; see the methods returned at the end.

import { css } from './style.js';
import { normalize, textOn } from './color.js';

const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
const ICON_X = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z';
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const k in attrs || {}) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids) if (kid != null) el.append(kid);
  return el;
}

function icon(d) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', d);
  svg.append(p);
  return svg;
}

export function createUI(t, on) {
  const host = document.createElement('switchboard-chat');
  // Inline and important: the page's own rules cannot hide or move the host.
  for (const [k, v] of [['display', 'block'], ['position', 'static'], ['visibility', 'visible']])
    host.style.setProperty(k, v, 'important');
  const root = host.attachShadow({ mode: 'open' });
  const id = (s) => 'sbw-' + s;
  let unread = 0;
  let maxLen = 4096;

  const badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
  const launch = h('button', {
    type: 'button', class: 'launch', 'aria-label': t.open, 'aria-expanded': 'false',
    'aria-controls': id('panel'), onclick: () => (panel.hidden ? open() : close()),
  }, icon(ICON_CHAT), badge);
  const title = h('h2', { id: id('title') }, t.title);
  const closeBtn = h('button', { type: 'button', class: 'x', 'aria-label': t.close, onclick: () => close() },
    icon(ICON_X));
  const greet = h('p', { class: 'greet', hidden: true });
  const log = h('ol');
  // Focusable, so the transcript can be scrolled with the keyboard.
  const body = h('div', { class: 'body', tabindex: '0', role: 'region', 'aria-label': t.conversation }, greet, log);
  const status = h('p', { class: 'status', role: 'status' });
  const live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'false' });
  const nameIn = h('input', { id: id('name'), name: 'name', autocomplete: 'name', maxlength: '127' });
  const emailIn = h('input', {
    id: id('email'), name: 'email', type: 'email', autocomplete: 'email', maxlength: '254',
    'aria-describedby': id('details'),
  });
  const form = h('div', { class: 'form', role: 'group', 'aria-labelledby': id('details'), hidden: true },
    h('p', { id: id('details') }, t.details),
    h('div', { class: 'row' },
      h('label', { for: id('name') }, t.name, nameIn),
      h('label', { for: id('email') }, t.email, emailIn)));
  const text = h('textarea', {
    id: id('text'), rows: '1', placeholder: t.placeholder, 'aria-describedby': id('hint'),
    onkeydown: (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    },
    oninput: () => grow(),
  });
  const sendBtn = h('button', { type: 'submit', class: 'send' }, t.send);
  const compose = h('form', {
    class: 'compose', onsubmit: (e) => {
      e.preventDefault();
      submit();
    },
  }, h('label', { class: 'sr', for: id('text') }, t.message), text, sendBtn);
  const hint = h('p', { class: 'hint', id: id('hint') }, t.hint);
  const panel = h('div', {
    class: 'panel', id: id('panel'), role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': id('title'),
    hidden: true, lang: t.lang,
    onkeydown: (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        close();
      }
    },
  }, h('div', { class: 'head' }, title, closeBtn), body, status, form, compose, hint, live);
  const wrap = h('div', { class: 'w', lang: t.lang }, launch, panel);
  root.append(h('style', null, css), wrap);

  function grow() {
    text.style.height = 'auto';
    text.style.height = Math.min(text.scrollHeight + 2, 140) + 'px';
  }

  function setUnread(n) {
    unread = n;
    badge.hidden = !n;
    badge.textContent = n > 9 ? '9+' : String(n);
    launch.setAttribute('aria-label', n ? t.openUnread(n) : t.open);
  }

  function open() {
    panel.hidden = false;
    launch.setAttribute('aria-expanded', 'true');
    setUnread(0);
    scroll();
    (text.disabled ? body : text).focus();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    launch.setAttribute('aria-expanded', 'false');
    launch.focus();
  }

  function scroll() {
    body.scrollTop = body.scrollHeight;
  }

  function submit() {
    const msg = text.value.trim();
    if (!msg || text.disabled) return;
    if (msg.length > maxLen) {
      showStatus(t.errTooLong(maxLen), true);
      return;
    }
    const email = emailIn.value.trim();
    if (!form.hidden && email && !EMAIL_RE.test(email)) {
      emailIn.setAttribute('aria-invalid', 'true');
      showStatus(t.badEmail, true);
      emailIn.focus();
      return;
    }
    emailIn.removeAttribute('aria-invalid');
    text.value = '';
    grow();
    on.onSend(msg, form.hidden ? '' : nameIn.value.trim(), form.hidden ? '' : email);
  }

  function showStatus(msg, bad) {
    status.textContent = msg || '';
    status.classList.toggle('bad', !!bad);
  }

  const time = (iso) => {
    const d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? '' : d.toLocaleTimeString(t.lang, { hour: '2-digit', minute: '2-digit' });
  };

  /** The list item of message m ({id, ref, sender, text, created_at}); pending: "sending", "failed" or null. */
  function item(m, pending) {
    const me = m.sender === 'visitor';
    const who = me ? t.you : t[m.sender] || t.agent;
    const meta = h('p', { class: 'meta' });
    if (pending === 'failed') {
      meta.className = 'meta fail';
      meta.append(t.notSent + ' ',
        h('button', { type: 'button', class: 'link', onclick: () => on.onRetry(m.ref) }, t.retry));
    } else {
      meta.textContent = pending === 'sending' ? t.sending : time(m.created_at);
    }
    return h('li', { class: me ? 'm me' : 'm', 'data-id': m.id || '', 'data-ref': m.ref || '' },
      h('p', { class: me ? 'sr who' : 'who' }, who), h('div', { class: 'b' }, m.text), meta);
  }

  return {
    host,
    root,
    /** The tenant's look and words: {title, greeting, color, max_text_length}. */
    configure(cfg) {
      const bg = normalize(cfg.color);
      wrap.style.setProperty('--bg', bg);
      wrap.style.setProperty('--fg', textOn(bg));
      title.textContent = cfg.title || t.title;
      greet.textContent = cfg.greeting || '';
      greet.hidden = !cfg.greeting;
      if (cfg.max_text_length > 0) maxLen = cfg.max_text_length;
    },
    showStatus,
    /** A refusal the visitor cannot fix: say so and stop taking messages. */
    fatal(msg) {
      showStatus(msg, true);
      text.disabled = sendBtn.disabled = form.hidden = hint.hidden = true;
    },
    /** The name/e-mail fields: only before the first message of a session. */
    showForm(show) {
      form.hidden = !show;
    },
    /** Puts m into the transcript (replacing the item with its id or ref), in order of arrival. */
    put(m, pending) {
      const el = item(m, pending);
      const old = (m.id && log.querySelector(`[data-id="${CSS.escape(m.id)}"]`)) ||
        (m.ref && log.querySelector(`[data-ref="${CSS.escape(m.ref)}"]`));
      if (old) old.replaceWith(el);
      else log.append(el);
      scroll();
      return !old;
    },
    /** Announces a reply, and counts it on the button while the panel is closed. */
    announce(m) {
      live.textContent = `${t[m.sender] || t.agent}: ${m.text}`;
      if (panel.hidden) setUnread(unread + 1);
    },
    clear() {
      log.textContent = '';
    },
    restore(msg) {
      if (!text.value) text.value = msg;
      grow();
    },
    get isOpen() {
      return !panel.hidden;
    },
  };
}
