// The website chat widget end to end: the real switchboard server serving
// the built dist/widget.js, embedded with one script tag in a page served
// from another loopback origin (http://localhost:<port>, allowed for the
// tenant's website chat), in a real browser (tests/lib: Chromium driven by
// playwright-core, axe-core).
//
// A visitor opens the panel with the keyboard, sends a message (it reaches
// the tenant's inbox: the API, and the dashboard's inbox), an agent's reply (POST
// /api/v1/messages) appears live, a reload keeps the transcript, Escape
// closes; axe finds no serious or critical problem with the panel open; at
// 1280x800 and 390x844, with screenshots (widget-<size>.png). Then: the
// long-poll when the WebSocket cannot be used (with widget.js hosted on
// another origin, data-server), a dropped socket resuming from its cursor,
// a stored session the server forgot, a send lost on the network and
// retried, the refusals (unknown token, origin not allowed) explained in
// words, in Spanish, and a 429 waited out by its Retry-After.
//
// Needs `npm run build` first (dist/widget.js) and SB_BIN, as every e2e test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIZES, checkA11y, checkNoOverflow, launch, login, newPage, screenshot } from './lib/browser.mjs';
import { DIST, startStack } from './lib/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE = readFileSync(join(HERE, 'pages', 'widget.html'), 'utf8');
const WIDGET_LIMITS = { SB_WIDGET_RATE_IP: '100000', SB_WIDGET_BURST_IP: '100000', SB_WIDGET_RATE_TOKEN: '100000',
  SB_WIDGET_BURST_TOKEN: '100000' };

const until = async (fn, what, ms = 20000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** startStack with these server settings (the harness passes its environment on). */
async function stackWith(env) {
  const saved = {};
  for (const k of Object.keys(env)) {
    saved[k] = process.env[k];
    process.env[k] = env[k];
  }
  try {
    return await startStack();
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

/** A website chat of the stack's tenant allowing these origins, and an agent API key. */
function seed(stack, origins) {
  const settings = { allowed_origins: origins.join(', '), title: 'Shop chat', greeting: 'Hi! How can we help?',
    color: '#ffcc00' };
  const lines = Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join('');
  const acct = stack.cliJson(['channel', 'add', '--tenant', stack.tenant, '--provider', 'webchat', '--name',
    'Shop chat', '--set-stdin'], lines);
  const key = stack.cliJson(['apikey', 'create', '--tenant', stack.tenant, '--role', 'agent']).key;
  return { stack, key, account: acct.id, token: acct.account_key };
}

async function apiJson(chat, method, p, body) {
  const r = await fetch(chat.stack.publicUrl + '/api/v1' + p, {
    method, headers: { Authorization: 'Bearer ' + chat.key, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

/** The visitor's message with this text in the tenant's inbox (webchat conversations), or null. */
async function inboxMessage(chat, text) {
  const convs = await apiJson(chat, 'GET', '/conversations?channel=webchat');
  for (const c of convs.body.data) {
    const msgs = await apiJson(chat, 'GET', `/conversations/${c.id}/messages`);
    const m = msgs.body.data.find((x) => x.body === text && x.direction === 'inbound');
    if (m) return { conv: c, msg: m };
  }
  return null;
}

const reply = async (chat, to, text) => {
  const r = await apiJson(chat, 'POST', '/messages', { account_id: chat.account, to, text });
  assert.ok(r.status === 201 || r.status === 202, JSON.stringify(r.body));
  return r.body;
};

/** The shop's site: test pages (and a copy of widget.js) on their own loopback origin. */
async function startSite() {
  const pages = new Map();
  const widgetJs = readFileSync(join(DIST, 'widget.js'));
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/widget.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(widgetJs);
    }
    const html = pages.get(path);
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html || 'not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    /** A page at path embedding the widget with these script attributes; its URL. */
    add(path, attrs) {
      const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${v}"`).join('');
      pages.set(path, PAGE.replace('<!--SCRIPT-->', `<script${a} async></script>`));
      return origin + path;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

// ------------------------------------------------------------- the fixture

let browser, stack, site, shop;
const embed = (token, more = {}) => ({ src: stack.base + '/widget.js', 'data-token': token, ...more });

before(async () => {
  stack = await stackWith(WIDGET_LIMITS);
  site = await startSite();
  shop = seed(stack, [site.origin]);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (stack) await stack.stop();
});

/** A fresh browser profile (own localStorage) at size on url. */
async function visit(url, size, opts = {}) {
  const page = await newPage(browser, size, opts);
  if (opts.init) await page.context().addInitScript(opts.init);
  await page.goto(url);
  return page;
}

const launcher = (page) => page.locator('switchboard-chat button.launch');
const panel = (page) => page.locator('switchboard-chat [role=dialog]');
const transcript = (page) => page.locator('switchboard-chat ol li .b');
const statusText = (page) => page.locator('switchboard-chat .status');
const title = (page) => page.locator('switchboard-chat h2');

/** Tabs from the top of the page until the chat button has focus; then Enter. */
async function openWithKeyboard(page) {
  await launcher(page).waitFor();
  await until(async () => {
    await page.keyboard.press('Tab');
    return page.evaluate(() => !!document.activeElement?.shadowRoot?.activeElement?.classList.contains('launch'));
  }, 'the chat button to take focus', 10000);
  await page.keyboard.press('Enter');
  await panel(page).waitFor({ state: 'visible' });
}

/** The harness's 44 px rule, inside the widget's shadow root (which the harness's check does not enter). */
async function checkWidgetTapTargets(page) {
  const small = await page.evaluate(() => {
    const root = document.querySelector('switchboard-chat').shadowRoot;
    return [...root.querySelectorAll('button, input, textarea')]
      .map((el) => [el.getAttribute('aria-label') || el.textContent || el.id, el.getBoundingClientRect()])
      .filter(([, r]) => r.width > 0 && (r.width < 43.5 || r.height < 43.5))
      .map(([n, r]) => `${n} ${Math.round(r.width)}x${Math.round(r.height)}`);
  });
  assert.deepEqual(small, [], 'widget tap targets under 44px');
}

const focusedInWidget = (page) =>
  page.evaluate(() => {
    const a = document.activeElement?.shadowRoot?.activeElement;
    return a ? a.tagName.toLowerCase() + (a.className ? '.' + a.className : '') : null;
  });

// ---------------------------------------------------------------- the tests

for (const size of SIZES) {
  test(`a visitor chats with an agent, live (${size.name})`, { timeout: 120000 }, async () => {
    const page = await visit(site.add(`/chat-${size.name}.html`, embed(shop.token)), size);
    try {
      // The host page's aggressive CSS does not reach the widget: bottom right, its own size.
      const box = await launcher(page).boundingBox();
      assert.equal(Math.round(box.width), 60);
      assert.ok(box.x + box.width > size.width - 30 && box.y + box.height > size.height - 30, 'bottom right');
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
      assert.equal(await launcher(page).getAttribute('aria-label'), 'Open chat');
      assert.equal(await launcher(page).getAttribute('aria-controls'), await panel(page).getAttribute('id'));
      // The tenant's colour is yellow: black text on it (the better contrast).
      await until(() => title(page).textContent().then((x) => x === 'Shop chat'), 'the config');
      const colors = await launcher(page).evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]);
      assert.deepEqual(colors, ['rgb(255, 204, 0)', 'rgb(0, 0, 0)']);

      await openWithKeyboard(page);
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
      assert.equal(await focusedInWidget(page), 'textarea', 'focus moves into the panel');
      assert.equal(await panel(page).getAttribute('aria-labelledby'), 'sbw-title');
      const font = await page.locator('switchboard-chat textarea').evaluate((el) => getComputedStyle(el).fontFamily);
      assert.ok(!/comic/i.test(font), font);
      assert.match(await page.locator('switchboard-chat .greet').textContent(), /How can we help/);
      await checkA11y(page, `widget open ${size.name}`);
      if (size.name === 'phone') await checkWidgetTapTargets(page);

      // A name, then a message of two lines: Shift+Enter is a new line, Enter sends.
      const name = 'Ana ' + size.name;
      const email = `ana-${size.name}@example.com`;
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Message', { exact: true }).focus();
      const first = `Do you ship to Spain? (${size.name})`;
      await page.keyboard.type(first);
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('And to Portugal?');
      await page.keyboard.press('Enter');
      const text = first + '\nAnd to Portugal?';
      await until(() => transcript(page).first().textContent().then((x) => x === text), 'the message shown');
      assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), '');

      // It reaches the inbox, once, as the visitor's, with the contact named.
      const { conv, msg } = await until(() => inboxMessage(shop, text), 'the message in the inbox');
      assert.equal(msg.origin, 'customer');
      assert.equal(conv.contact.name, name);
      // The e-mail linked the session to the contact with that address.
      const contact = (await apiJson(shop, 'GET', '/contacts/' + conv.contact.id)).body;
      const idents = contact.identities.map((i) => `${i.kind}:${i.address}`);
      assert.ok(idents.includes('email:' + email) && idents.includes('webchat:' + msg.address), idents.join(', '));
      // An agent sees it in the dashboard's inbox, under the visitor's name.
      const agent = await newPage(browser, size);
      try {
        await login(agent, stack.base, stack.users.agent);
        await agent.locator('.conv-row', { hasText: name }).click();
        await agent.locator('.msg-in', { hasText: first }).waitFor();
      } finally {
        await agent.context().close();
      }
      // The server's copy replaced the optimistic one.
      await until(() => page.locator('switchboard-chat li[data-id^="msg"]').count().then((n) => n === 1),
        'the server copy of the message');

      // The agent answers through the API: it appears live and is announced.
      const answer = `Yes, in 3 days (${size.name}).`;
      const sent = await reply(shop, msg.address, answer);
      await until(() => transcript(page).nth(1).textContent().then((x) => x === answer).catch(() => false),
        'the reply in the widget');
      assert.equal(await page.locator('switchboard-chat [aria-live=polite]').textContent(), 'Agent: ' + answer);
      assert.equal(await page.evaluate(() => window.__switchboardChat.feed.mode), 'ws');
      await until(async () => (await apiJson(shop, 'GET', '/messages/' + sent.id)).body.status === 'delivered',
        'the reply marked delivered');

      // With the conversation in the open panel: axe, no sideways scrolling, a screenshot.
      await checkA11y(page, `widget conversation ${size.name}`);
      await checkNoOverflow(page, `widget ${size.name}`);
      await screenshot(page, 'widget', size);

      // Escape closes and gives focus back to the button.
      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
      assert.equal(await focusedInWidget(page), 'button.launch');

      // A reload keeps the session and the transcript (from the server).
      await page.reload();
      await launcher(page).click();
      await until(() => transcript(page).allTextContents().then((t) => t.join('|') === text + '|' + answer),
        'the transcript after a reload');
      assert.ok(await page.locator('switchboard-chat .form').isHidden(), 'no name form within a session');
      // While the panel is closed a reply is counted on the button.
      await page.getByRole('button', { name: 'Close chat' }).click();
      await reply(shop, msg.address, 'Anything else?');
      await until(() => launcher(page).getAttribute('aria-label').then((l) => l === 'Open chat (1 new message)'),
        'the unread count');
      assert.deepEqual(page.jsErrors, []);
    } finally {
      await page.context().close();
    }
  });
}

test('the long-poll carries the chat when the WebSocket cannot connect', { timeout: 90000 }, async () => {
  // widget.js hosted on the site itself (data-server names the chat server),
  // behind something that refuses WebSocket connections.
  const url = site.add('/no-ws.html', { src: site.origin + '/widget.js', 'data-server': stack.base,
    'data-token': shop.token });
  const page = await visit(url, SIZES[1], {
    init: () => {
      window.WebSocket = function () {
        throw new Error('blocked');
      };
    },
  });
  try {
    await openWithKeyboard(page);
    await page.keyboard.type('Hello over HTTP');
    await page.keyboard.press('Enter');
    const { msg } = await until(() => inboxMessage(shop, 'Hello over HTTP'), 'the message in the inbox');
    await until(() => page.evaluate(() => window.__switchboardChat.feed.mode === 'poll'), 'the long-poll');
    await reply(shop, msg.address, 'Hello by long-poll');
    await until(() => transcript(page).allTextContents().then((t) => t.includes('Hello by long-poll')),
      'the reply by long-poll');
    // A transcript longer than the panel still passes axe (it scrolls, and can be scrolled by keyboard).
    for (let i = 1; i <= 12; i++) await reply(shop, msg.address, `Line ${i} of a long answer`);
    await until(() => transcript(page).count().then((n) => n === 14), 'the long answer');
    assert.ok(await page.locator('switchboard-chat .body').evaluate((b) => b.scrollHeight > b.clientHeight));
    await checkA11y(page, 'widget long transcript');
    assert.equal(await statusText(page).textContent(), '');
    assert.deepEqual(page.jsErrors, []);
  } finally {
    await page.context().close();
  }
});

test('a dropped WebSocket reconnects and resumes from its cursor: nothing missed, nothing twice', { timeout: 90000 },
  async () => {
    const page = await newPage(browser, SIZES[0]);
    const urls = [];
    const sockets = [];
    // Every widget socket passes through here, so the test can cut one.
    await page.routeWebSocket(/\/widget\/v1\/ws/, (ws) => {
      urls.push(ws.url());
      sockets.push(ws);
      ws.connectToServer();
    });
    try {
      await page.goto(site.add('/drop.html', embed(shop.token)));
      await launcher(page).click();
      await page.getByLabel('Message', { exact: true }).fill('Before the drop');
      await page.keyboard.press('Enter');
      const { msg } = await until(() => inboxMessage(shop, 'Before the drop'), 'the message in the inbox');
      await until(() => transcript(page).allTextContents().then((t) => t.length === 1) && sockets.length === 1,
        'the first socket');
      await until(() => page.locator('switchboard-chat li[data-id^="msg"]').count().then((n) => n === 1), 'the echo');
      // Cut the connection; the reply is written while the widget is away.
      await sockets[0].close({ code: 4000, reason: 'test' });
      await reply(shop, msg.address, 'Written while you were away');
      await until(() => transcript(page).allTextContents().then((t) => t.includes('Written while you were away')),
        'the reply after the reconnect');
      assert.equal(sockets.length, 2);
      assert.match(urls[1], /[?&]after=\d+/);
      await reply(shop, msg.address, 'And live again');
      await until(() => transcript(page).allTextContents().then((t) => t.includes('And live again')), 'a live reply');
      assert.deepEqual(await transcript(page).allTextContents(),
        ['Before the drop', 'Written while you were away', 'And live again']);
      assert.equal(await statusText(page).textContent(), '');
      assert.deepEqual(page.jsErrors, []);
    } finally {
      await page.context().close();
    }
  });

test('a forgotten session starts afresh; a send lost on the network is retried by the visitor, once', { timeout: 90000 },
  async () => {
    const url = site.add('/retry.html', embed(shop.token));
    // This browser remembers a session the server does not know.
    const page = await visit(url, SIZES[0], {
      init: `localStorage.setItem('switchboard-chat:${shop.token}', '{"id":"wcs_gone","secret":"not-a-secret"}')`,
    });
    try {
      await launcher(page).click();
      await page.locator('switchboard-chat .form').waitFor({ state: 'visible' });
      await page.getByLabel('Message', { exact: true }).fill('A fresh start');
      await page.keyboard.press('Enter');
      const { msg } = await until(() => inboxMessage(shop, 'A fresh start'), 'the message in a new session');
      assert.notEqual(msg.address, 'wcs_gone');
      const saved = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), 'switchboard-chat:' + shop.token);
      assert.equal(saved.id, msg.address);

      // The network loses every send: after its retries the message says so, with a Retry button.
      const lose = (route) => (route.request().method() === 'POST' ? route.abort('connectionreset') : route.continue());
      await page.route('**/widget/v1/messages', lose);
      await page.getByLabel('Message', { exact: true }).fill('Lost then found');
      await page.keyboard.press('Enter');
      const retry = page.getByRole('button', { name: 'Retry' });
      await retry.waitFor({ timeout: 30000 });
      assert.match(await page.locator('switchboard-chat .fail').textContent(), /Not sent/);
      await checkWidgetTapTargets(page);
      // A send lost on the way is not mistaken for a refusal: the chat stays usable.
      assert.equal(await statusText(page).textContent(), 'Your message could not be sent.');
      assert.ok(await page.getByLabel('Message', { exact: true }).isEnabled());
      await page.unroute('**/widget/v1/messages', lose);
      await retry.click();
      await until(() => inboxMessage(shop, 'Lost then found'), 'the retried message');
      await until(() => page.locator('switchboard-chat .fail').count().then((n) => n === 0), 'the failure cleared');
      const msgs = await apiJson(shop, 'GET', `/conversations/${msg.conversation_id}/messages`);
      assert.equal(msgs.body.data.filter((m) => m.body === 'Lost then found').length, 1);
      assert.deepEqual(await transcript(page).allTextContents(), ['A fresh start', 'Lost then found']);
    } finally {
      await page.context().close();
    }
  });

test('refusals are explained: an unknown token; a site not on the allowed list, in Spanish', { timeout: 60000 },
  async () => {
    let page = await visit(site.add('/bad-token.html', embed('no-such-token')), SIZES[0]);
    try {
      await launcher(page).click();
      await until(() => statusText(page).textContent().then((x) => /widget token/.test(x)), 'the token error');
      assert.ok(await page.getByLabel('Message', { exact: true }).isDisabled());
    } finally {
      await page.context().close();
    }
    // The same site under another origin (127.0.0.1 rather than localhost), a Spanish browser.
    const other = site.add('/other-origin.html', embed(shop.token)).replace('localhost', '127.0.0.1');
    page = await visit(other, SIZES[1], { locale: 'es-ES' });
    try {
      await page.getByRole('button', { name: 'Abrir el chat' }).click();
      await until(() => statusText(page).textContent().then((x) => /no está habilitado para este sitio/.test(x)),
        'the origin error, in Spanish');
      await checkA11y(page, 'widget refused');
      await page.keyboard.press('Escape');
      assert.equal(await focusedInWidget(page), 'button.launch');
    } finally {
      await page.context().close();
    }
    // data-locale wins over the browser's language.
    page = await visit(site.add('/es.html', embed(shop.token, { 'data-locale': 'es' })), SIZES[0]);
    try {
      await page.getByRole('button', { name: 'Abrir el chat' }).click();
      await page.getByRole('button', { name: 'Cerrar el chat' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Enviar' }).isVisible(), true);
    } finally {
      await page.context().close();
    }
  });

test('a rate-limited visitor waits out Retry-After, then the message goes through once', { timeout: 120000 },
  async () => {
    // Twelve widget requests a minute per address, bursts of two: config and
    // the session take the burst, the next request is refused for ~5 s.
    const strict = await stackWith({ SB_WIDGET_RATE_IP: '12', SB_WIDGET_BURST_IP: '2' });
    try {
      const chat = seed(strict, [site.origin]);
      const page = await visit(site.add('/strict.html', { src: strict.base + '/widget.js', 'data-token': chat.token }),
        SIZES[0]);
      try {
        await until(() => title(page).textContent().then((x) => x === 'Shop chat'), 'the config');
        await launcher(page).click();
        await page.getByLabel('Message', { exact: true }).fill('Slow and steady');
        await page.keyboard.press('Enter');
        await until(() => statusText(page).textContent().then((x) => /^Too many requests\. Trying again in \d+ s\.$/.test(x)),
          'the rate-limit notice');
        await until(() => inboxMessage(chat, 'Slow and steady'), 'the message after the wait', 60000);
        const { conv } = await inboxMessage(chat, 'Slow and steady');
        const msgs = await apiJson(chat, 'GET', `/conversations/${conv.id}/messages`);
        assert.equal(msgs.body.data.filter((m) => m.body === 'Slow and steady').length, 1);
        await until(() => statusText(page).textContent().then((x) => x === ''), 'the notice cleared', 60000);
      } finally {
        await page.context().close();
      }
    } finally {
      await strict.stop();
    }
  });
