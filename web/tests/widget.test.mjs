// The website chat widget end to end: the real switchboard server, the
// built widget.js embedded with one script tag in a page served from another
// loopback origin, and a real browser (playwright-core driving chromium).
//
// A visitor opens the panel with the keyboard, sends a message (it reaches
// the tenant's inbox through the API), an agent's reply (POST
// /api/v1/messages) appears live, a reload keeps the transcript, Escape
// closes; axe finds no serious or critical problem with the panel open; at
// 1280x800 and 390x844, with screenshots. Then: the long-poll when the
// WebSocket cannot be used, the refusals (unknown token, origin not
// allowed) explained in words, a 429 waited out by its Retry-After, and the
// Spanish strings.
//
// Environment: SB_BIN (the server binary; default build-dev or build under
// the repository root), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '..');
const ROOT = path.resolve(WEB, '..');
const SHOTS = path.join(HERE, 'screenshots');
const SIZES = [
  { name: '1280x800', width: 1280, height: 800 },
  { name: '390x844', width: 390, height: 844 },
];
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PAGE = fs.readFileSync(path.join(HERE, 'pages', 'widget.html'), 'utf8');

function sbBin() {
  if (process.env.SB_BIN) return process.env.SB_BIN;
  for (const d of ['build-dev', 'build', 'build-asan']) {
    const p = path.join(ROOT, d, 'src', 'switchboard');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('no switchboard binary: build it or set SB_BIN');
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const until = async (fn, what, ms = 20000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** One switchboard process with its own data dir; env adds settings. */
async function startServer(env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-'));
  const port = await freePort();
  const bin = sbBin();
  const senv = {
    ...process.env, SB_ENV: 'development', SB_COOKIE_SECURE: 'false', SB_DATA_DIR: dir, SB_LOG_LEVEL: 'warn',
    ...env,
  };
  delete senv.SB_DATABASE_URL;
  const cli = (args, input) => {
    const r = spawnSync(bin, [...args, '--data', dir], { input, env: senv, cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`switchboard ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    cli(['migrate']);
  } catch (e) {
    // A server without the static web app (SB_WEB_DIR) refuses the variable.
    if (!senv.SB_WEB_DIR || !/unknown variable SB_WEB_DIR/.test(e.message)) throw e;
    delete senv.SB_WEB_DIR;
    cli(['migrate']);
  }
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', dir],
    { env: senv, cwd: dir, stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error('server exited: ' + fs.readFileSync(path.join(dir, 'server.log')));
    try {
      return (await fetch(url + '/healthz')).ok;
    } catch (e) {
      return false;
    }
  }, 'the server');
  return {
    url,
    cliJson: (args, input) => JSON.parse(cli([...args, '--json'], input)),
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A tenant with an agent API key and a website chat allowing these origins. */
function seed(srv, origins, extra = {}) {
  const tenant = srv.cliJson(['tenant', 'create', '--name', 'Shop']).id;
  const key = srv.cliJson(['apikey', 'create', '--tenant', tenant, '--role', 'agent']).key;
  const settings = { allowed_origins: origins.join(', '), title: 'Shop chat', greeting: 'Hi! How can we help?',
    color: '#ffcc00', ...extra };
  const lines = Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join('');
  const acct = srv.cliJson(['channel', 'add', '--tenant', tenant, '--provider', 'webchat', '--name', 'Shop chat',
    '--set-stdin'], lines);
  return { tenant, key, account: acct.id, token: acct.account_key };
}

async function apiJson(srv, key, method, p, body) {
  const r = await fetch(srv.url + p, {
    method, headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

/** The inbound message with this text in the tenant's webchat inbox, or null. */
async function inboxMessage(srv, t, text) {
  const convs = await apiJson(srv, t.key, 'GET', '/api/v1/conversations?channel=webchat');
  for (const c of convs.body.data) {
    const msgs = await apiJson(srv, t.key, 'GET', `/api/v1/conversations/${c.id}/messages`);
    const m = msgs.body.data.find((x) => x.body === text && x.direction === 'inbound');
    if (m) return m;
  }
  return null;
}

/** Serves the test page (and the built widget) on its own loopback origin. */
async function startPages(widgetJs) {
  const port = await freePort();
  const pages = new Map();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/widget.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(widgetJs);
    }
    const html = pages.get(u.pathname);
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html || 'not found');
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    origin: `http://localhost:${port}`,
    /** A page at pathname that embeds the widget with these script attributes. */
    add(pathname, attrs) {
      const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${v}"`).join('');
      pages.set(pathname, PAGE.replace('<!--SCRIPT-->', `<script${a} async></script>`));
      return `http://localhost:${port}${pathname}`;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

// ------------------------------------------------------------- the fixture

let browser, srv, pages, shop, widgetJs, embed;

before(async () => {
  const out = await esbuild.build({
    entryPoints: [path.join(WEB, 'widget', 'src', 'widget.js')], bundle: true, minify: true, format: 'iife',
    target: 'es2019', write: false,
  });
  widgetJs = out.outputFiles[0].text;
  fs.mkdirSync(SHOTS, { recursive: true });
  const webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-web-'));
  fs.writeFileSync(path.join(webDir, 'widget.js'), widgetJs);
  srv = await startServer({ SB_WEB_DIR: webDir, SB_WIDGET_RATE_IP: '100000', SB_WIDGET_BURST_IP: '100000',
    SB_WIDGET_RATE_TOKEN: '100000', SB_WIDGET_BURST_TOKEN: '100000' });
  pages = await startPages(widgetJs);
  shop = seed(srv, [pages.origin]);
  // The real embed: widget.js from the switchboard server itself when it
  // serves the web app; else from the page's origin, pointed at the server.
  const served = await fetch(srv.url + '/widget.js').then((r) => r.ok && r.text()).catch(() => null);
  embed = (token, more = {}) => (served === widgetJs
    ? { src: srv.url + '/widget.js', 'data-token': token, ...more }
    : { src: pages.origin + '/widget.js', 'data-server': srv.url, 'data-token': token, ...more });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (pages) await pages.close();
  if (srv) await srv.stop();
});

/** A fresh browser profile (its own localStorage) at a size, with the page's console errors kept. */
async function visit(url, size, init) {
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(url);
  return { context, page };
}

const launcher = (page) => page.locator('switchboard-chat button.launch');
const panel = (page) => page.locator('switchboard-chat [role=dialog]');
const transcript = (page) => page.locator('switchboard-chat ol li .b');
const statusText = (page) => page.locator('switchboard-chat .status');

/** Tabs from the top of the page until the chat button has focus; then Enter. */
async function openWithKeyboard(page) {
  await launcher(page).waitFor();
  await page.locator('body').focus();
  await until(async () => {
    await page.keyboard.press('Tab');
    return page.evaluate(() => {
      const host = document.activeElement;
      return host && host.shadowRoot && host.shadowRoot.activeElement?.classList.contains('launch');
    });
  }, 'the chat button to take focus', 10000);
  await page.keyboard.press('Enter');
  await panel(page).waitFor({ state: 'visible' });
}

const focusedInWidget = (page) =>
  page.evaluate(() => {
    const a = document.activeElement?.shadowRoot?.activeElement;
    return a ? a.tagName.toLowerCase() + (a.className ? '.' + a.className : '') : null;
  });

async function axeSeriousProblems(page) {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
}

// ---------------------------------------------------------------- the tests

for (const size of SIZES) {
  test(`a visitor chats with an agent, live, at ${size.name}`, { timeout: 120000 }, async () => {
    const url = pages.add(`/chat-${size.name}.html`, embed(shop.token));
    const { context, page } = await visit(url, size);
    try {
      // The host page's aggressive CSS does not reach the widget.
      const box = await launcher(page).boundingBox();
      assert.equal(Math.round(box.width), 60);
      assert.ok(box.x + box.width > size.width - 30 && box.y + box.height > size.height - 30, 'bottom right');
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
      assert.equal(await launcher(page).getAttribute('aria-label'), 'Open chat');
      assert.equal(await launcher(page).getAttribute('aria-controls'), await panel(page).getAttribute('id'));
      // The tenant's colour, yellow: black text on it (the better contrast).
      await until(() => page.locator('switchboard-chat h2').textContent().then((t) => t === 'Shop chat'), 'config');
      const colors = await launcher(page).evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]);
      assert.deepEqual(colors, ['rgb(255, 204, 0)', 'rgb(0, 0, 0)']);

      await openWithKeyboard(page);
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
      assert.equal(await focusedInWidget(page), 'textarea', 'focus moves into the panel');
      assert.equal(await panel(page).getAttribute('aria-labelledby'), 'sbw-title');
      const font = await page.locator('switchboard-chat textarea').evaluate((el) => getComputedStyle(el).fontFamily);
      assert.ok(!/comic/i.test(font), font);
      assert.match(await page.locator('switchboard-chat .greet').textContent(), /How can we help/);

      // A name, then a message of two lines: Shift+Enter is a new line, Enter sends.
      const name = 'Ana ' + size.name;
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Message', { exact: true }).focus();
      const first = `Do you ship to Spain? (${size.name})`;
      await page.keyboard.type(first);
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('And to Portugal?');
      await page.keyboard.press('Enter');
      const text = first + '\nAnd to Portugal?';
      await until(() => transcript(page).first().textContent().then((t) => t === text), 'the message shown');
      assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), '');

      // It reaches the inbox, once, as the visitor's, with the contact named.
      const msg = await until(() => inboxMessage(srv, shop, text), 'the message in the inbox');
      assert.equal(msg.origin, 'customer');
      const convs = await apiJson(srv, shop.key, 'GET', '/api/v1/conversations?channel=webchat');
      const conv = convs.body.data.find((c) => c.id === msg.conversation_id);
      assert.equal(conv.contact.name, name);
      // The server's copy replaced the optimistic one (no "Sending…").
      await until(() => page.locator('switchboard-chat li[data-id]:not([data-id=""])').count().then((n) => n === 1),
        'the server copy of the message');

      // The agent answers through the API: it appears live and is announced.
      const reply = `Yes, in 3 days (${size.name}).`;
      const sent = await apiJson(srv, shop.key, 'POST', '/api/v1/messages',
        { account_id: shop.account, to: msg.address, text: reply });
      assert.ok(sent.status === 201 || sent.status === 202, JSON.stringify(sent.body));
      await until(() => transcript(page).nth(1).textContent().then((t) => t === reply).catch(() => false),
        'the reply in the widget');
      assert.equal(await page.locator('switchboard-chat [aria-live=polite]').textContent(), 'Agent: ' + reply);
      assert.equal(await page.evaluate(() => window.__switchboardChat.feed.mode), 'ws');
      await until(async () => (await apiJson(srv, shop.key, 'GET', '/api/v1/messages/' + sent.body.id)).body.status
        === 'delivered', 'the reply marked delivered');

      // Accessibility with the panel open; a screenshot of it.
      assert.deepEqual(await axeSeriousProblems(page), []);
      await page.screenshot({ path: path.join(SHOTS, `widget-${size.name}.png`) });

      // Escape closes and gives focus back to the button.
      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
      assert.equal(await focusedInWidget(page), 'button.launch');

      // A reload keeps the session and the transcript (from the server).
      await page.reload();
      await launcher(page).click();
      await until(() => transcript(page).allTextContents().then((t) => t.join('|') === text + '|' + reply),
        'the transcript after a reload');
      assert.equal(await page.locator('switchboard-chat .form').isHidden(), true, 'no name form in a session');
      // Closed panel: a new reply is counted on the button.
      await page.getByRole('button', { name: 'Close chat' }).click();
      await apiJson(srv, shop.key, 'POST', '/api/v1/messages',
        { account_id: shop.account, to: msg.address, text: 'Anything else?' });
      await until(() => launcher(page).getAttribute('aria-label').then((l) => l === 'Open chat (1 new message)'),
        'the unread count');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });
}

test('the long-poll carries the chat when the WebSocket cannot connect', { timeout: 90000 }, async () => {
  const url = pages.add('/no-ws.html', embed(shop.token));
  // As behind a proxy that refuses WebSocket upgrades.
  const { context, page } = await visit(url, SIZES[1], () => {
    window.WebSocket = function () {
      throw new Error('blocked');
    };
  });
  try {
    await openWithKeyboard(page);
    await page.keyboard.type('Hello over HTTP');
    await page.keyboard.press('Enter');
    const msg = await until(() => inboxMessage(srv, shop, 'Hello over HTTP'), 'the message in the inbox');
    await until(() => page.evaluate(() => window.__switchboardChat.feed.mode === 'poll'), 'the long-poll');
    await apiJson(srv, shop.key, 'POST', '/api/v1/messages', { account_id: shop.account, to: msg.address,
      text: 'Hello by long-poll' });
    await until(() => transcript(page).allTextContents().then((t) => t.includes('Hello by long-poll')),
      'the reply by long-poll');
    assert.equal(await statusText(page).textContent(), '');
  } finally {
    await context.close();
  }
});

test('refusals are explained: an unknown token, a site not on the allowed list', { timeout: 60000 }, async () => {
  const badToken = pages.add('/bad-token.html', embed('no-such-token'));
  let { context, page } = await visit(badToken, SIZES[0]);
  try {
    await launcher(page).click();
    await until(() => statusText(page).textContent().then((t) => /widget token/.test(t)), 'the token error');
    assert.equal(await page.getByLabel('Message', { exact: true }).isDisabled(), true);
  } finally {
    await context.close();
  }
  // The same page on another origin (127.0.0.1 rather than localhost): not allowed.
  const other = badToken.replace('localhost', '127.0.0.1').replace('bad-token', 'other-origin');
  pages.add('/other-origin.html', embed(shop.token, { 'data-locale': 'es' }));
  ({ context, page } = await visit(other, SIZES[0]));
  try {
    const open = page.getByRole('button', { name: 'Abrir el chat' });
    await open.click();
    await until(() => statusText(page).textContent().then((t) => /no está habilitado para este sitio/.test(t)),
      'the origin error, in Spanish');
    assert.equal(await page.getByRole('button', { name: 'Cerrar el chat' }).isVisible(), true);
  } finally {
    await context.close();
  }
});

test('a rate-limited send waits out Retry-After and then goes through, once', { timeout: 120000 }, async () => {
  // Twelve requests a minute per address: the third widget request is refused for ~5 s.
  const strict = await startServer({ SB_WIDGET_RATE_IP: '12', SB_WIDGET_BURST_IP: '2' });
  try {
    const t = seed(strict, [pages.origin]);
    const url = pages.add('/strict.html', { src: pages.origin + '/widget.js', 'data-server': strict.url,
      'data-token': t.token });
    const { context, page } = await visit(url, SIZES[0]);
    try {
      await until(() => page.locator('switchboard-chat h2').textContent().then((x) => x === 'Shop chat'), 'config');
      await launcher(page).click();
      await page.getByLabel('Message', { exact: true }).fill('Slow and steady');
      await page.keyboard.press('Enter');
      // config and the session took the burst: the wait is shown, then the message arrives.
      await until(() => statusText(page).textContent().then((x) => /Too many requests\. Trying again in \d+ s\./.test(x)),
        'the rate-limit notice');
      await until(() => inboxMessage(strict, t, 'Slow and steady'), 'the message after the wait', 60000);
      const convs = await apiJson(strict, t.key, 'GET', '/api/v1/conversations?channel=webchat');
      const msgs = await apiJson(strict, t.key, 'GET', `/api/v1/conversations/${convs.body.data[0].id}/messages`);
      assert.equal(msgs.body.data.filter((m) => m.body === 'Slow and steady').length, 1);
    } finally {
      await context.close();
    }
  } finally {
    await strict.stop();
  }
});
