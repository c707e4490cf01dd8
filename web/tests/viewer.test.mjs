// A viewer reads but does not act: no "Send message" in the navigation (and
// the page itself refuses), a conversation without the reply box, assign,
// resolve or unknown-sender actions, contacts without "New contact",
// "Rename" or "Add address".
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
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
  test(`a viewer sees no admin or agent actions (${size.name})`, async () => {
    const from = '+1415558' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
    await stack.inboundWhatsApp(from, `Is my order ready? (${size.name})`);
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.viewer);
    const row = page.locator('.conv-row', { hasText: from });
    await row.waitFor({ timeout: 15000 });

    const menu = page.getByRole('button', { name: 'Menu' });
    if (await menu.isVisible()) await menu.click();
    const nav = page.getByRole('navigation', { name: 'Main' }).filter({ visible: true });
    await nav.getByRole('link', { name: 'Contacts' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Send message' }).count(), 0, 'no Send message for a viewer');
    if (await menu.isVisible()) await menu.click();

    await row.click();
    await page.locator('.msg-in', { hasText: `Is my order ready? (${size.name})` }).waitFor();
    for (const name of ['Send', 'Resolve', 'Assign to me', 'Create contact', 'Link to existing contact', 'Use a template']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no "${name}" button for a viewer`);
    }
    assert.equal(await page.getByLabel('Message', { exact: true }).count(), 0, 'no reply box');
    assert.equal(await page.locator('article.conv .conv-actions').count(), 0, 'no assign or resolve actions');
    await checkScreen(page, 'viewer-conversation', size);

    await goNav(page, 'Contacts');
    await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New contact' }).count(), 0);
    await page.locator('.contact-row', { hasText: from }).click();
    await page.locator(`[data-identity="${from}"]`).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Rename' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Add address' }).count(), 0);
    await checkScreen(page, 'viewer-contact', size);

    await page.goto(stack.base + '/send');
    await page.getByRole('heading', { name: 'Your role cannot open this page.' }).waitFor();
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
