// Logging in at both sizes: the page in Spanish and back; a wrong password
// shows the API's error; the right one opens the inbox with the navigation
// (sidebar on desktop, menu on phones) and the skip link; logging out goes
// back to the login screen; logging in again with the keyboard alone shows a
// visible focus ring.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, launch, login, newPage } from './lib/browser.mjs';
import { startStack } from './lib/server.mjs';

let stack;
let browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

for (const size of SIZES) {
  test(`login and navigation (${size.name})`, async () => {
    const page = await newPage(browser, size);
    await page.goto(stack.base + '/inbox');
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    await checkScreen(page, 'login', size);

    // Spanish is complete: switching changes the page and its language tag.
    await page.getByLabel('Language').selectOption('es');
    await page.getByRole('heading', { name: 'Inicia sesión en Switchboard' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');
    await checkScreen(page, 'login-es', size);
    await page.getByLabel('Idioma').selectOption('en');
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();

    await page.getByLabel('E-mail').fill(stack.users.agent);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const err = page.locator('.form-error');
    await err.waitFor();
    assert.match(await err.textContent(), /\S/);
    assert.equal(new URL(page.url()).pathname, '/inbox');

    await login(page, stack.base, stack.users.agent);
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    assert.equal(await page.title(), 'Inbox · Switchboard');
    const sidebar = page.locator('.sidebar');
    const menu = page.getByRole('button', { name: 'Menu' });
    if (size.name === 'desktop') {
      assert.ok(await sidebar.isVisible(), 'sidebar on desktop');
      assert.ok(!(await menu.isVisible()), 'no menu button on desktop');
    } else {
      assert.ok(!(await sidebar.isVisible()), 'no sidebar on phones');
      await menu.click();
      assert.equal(await menu.getAttribute('aria-expanded'), 'true');
      await page.locator('#mobile-nav').getByRole('link', { name: 'Contacts' }).waitFor();
      await checkScreen(page, 'login-menu', size);
      await menu.click();
    }
    // A reload keeps the session (cookie) and the route (SPA fallback).
    await page.reload();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    // Keyboard: the first Tab reaches the skip link, which moves focus to main.
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    assert.ok(await skip.evaluate((el) => el === document.activeElement), 'skip link is focused first');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    await checkScreen(page, 'login-inbox', size);

    if (size.name === 'phone') await menu.click();
    await page.getByRole('button', { name: 'Log out' }).filter({ visible: true }).click();
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();

    // Keyboard only: the e-mail field has focus, Tab moves on, Enter submits; focus is visible.
    await page.reload();
    await page.getByRole('heading', { name: 'Log in to Switchboard' }).waitFor();
    // The form focuses its field once mounted, a moment after the heading paints.
    await page.waitForFunction(() => document.activeElement && document.activeElement.type === 'email', null,
      { timeout: 5000 }).catch(() => {});
    assert.equal(await page.evaluate(() => document.activeElement.type), 'email');
    await page.keyboard.type(stack.users.viewer);
    await page.keyboard.press('Tab');
    await page.keyboard.type('correct horse battery staple');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return { tag: document.activeElement.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    assert.equal(ring.tag, 'BUTTON');
    assert.ok(ring.style !== 'none' && ring.width >= 2, 'a visible focus ring: ' + JSON.stringify(ring));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
