// The browser side of the end-to-end tests: one Chromium per test file
// (Debian's /usr/bin/chromium, or $CHROMIUM) driven by playwright-core;
// pages at the two sizes every flow runs at; logging in; axe-core on the
// page (no serious or critical violation is allowed); screenshots written to
// web/tests/screenshots/<test>-<size>.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { PASSWORD, WEB_DIR } from './server.mjs';

export const SIZES = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
];
const SHOTS = join(WEB_DIR, 'tests', 'screenshots');
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A fresh context (own cookies) and page at size, with the locale fixed to English. */
export async function newPage(browser, size, opts = {}) {
  const ctx = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    locale: opts.locale || 'en-US',
    hasTouch: size.name === 'phone',
    isMobile: size.name === 'phone',
    deviceScaleFactor: 1,
    bypassCSP: true, // axe-core is injected as an inline script
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.jsErrors = errors;
  return page;
}

/** Log in through the login screen as email; waits for the inbox. */
export async function login(page, base, email, password = PASSWORD) {
  await page.goto(base + '/login');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/inbox/);
}

/** Open the navigation (on phones it sits behind the menu button) and follow link name. */
export async function goNav(page, name) {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).filter({ visible: true }).first().click();
}

/** Run axe on the page; throws listing every serious or critical violation. */
export async function checkA11y(page, what) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE });
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    throw new Error(`axe (${what}): ${bad.map((v) => `${v.impact} ${v.id}: ${v.help} [${v.nodes.join(', ')}]`).join('; ')}`);
  }
  return res;
}

/** Nothing wider than the viewport (no sideways scrolling, no clipped text). */
export async function checkNoOverflow(page, what) {
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (over > 1) throw new Error(`${what}: the page is ${over}px wider than the viewport`);
}

export async function screenshot(page, test, size) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${test}-${size.name}.png`), fullPage: false });
}

/** axe + overflow check + screenshot, the check every visited screen gets. */
export async function checkScreen(page, test, size) {
  await checkA11y(page, `${test} ${size.name}`);
  await checkNoOverflow(page, `${test} ${size.name}`);
  await screenshot(page, test, size);
}
