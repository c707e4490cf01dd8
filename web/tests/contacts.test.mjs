// Contacts: a message from an unknown sender is linked, from its
// conversation, to a contact who already exists (the merge moves the
// sender's number and conversation there); another unknown sender is saved
// as a new contact; the contact list searches, and a contact's page shows
// identities with their opt-out standing, engagement and the timeline.
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

function number() {
  return '+1415556' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
}

async function openConversation(page, address) {
  const row = page.locator('.conv-row', { hasText: address });
  await row.waitFor({ timeout: 15000 });
  await row.click();
  await page.getByRole('heading', { name: 'Unknown sender', level: 3 }).waitFor();
}

for (const size of SIZES) {
  test(`contacts: link an unknown sender, create a contact, contact page (${size.name})`, async () => {
    const existing = await stack.api('POST', '/contacts', {
      name: `Maria Lopez ${size.name}`,
      identities: [{ kind: 'email', address: `maria.${size.name}@example.com` }],
    });
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.agent);
    await page.waitForFunction(() => !document.querySelector('[data-conn]'));
    await page.waitForTimeout(300);

    // An unknown sender (no profile name): linked to Maria.
    const from = number();
    await stack.inboundWhatsApp(from, `Hi, it's Maria from my new phone (${size.name})`);
    await openConversation(page, from);
    await checkScreen(page, 'contacts-unknown-sender', size);
    await page.getByRole('button', { name: 'Link to existing contact' }).click();
    const dialog = page.getByRole('dialog', { name: 'Link to existing contact' });
    await dialog.getByLabel('Search contacts').fill('Maria Lopez ' + size.name);
    const choose = dialog.getByRole('button', { name: `Link to Maria Lopez ${size.name}` });
    await choose.waitFor();
    await checkScreen(page, 'contacts-link-dialog', size);
    await choose.click();
    await page.locator('[data-toast="ok"]', { hasText: `Linked to Maria Lopez ${size.name}` }).waitFor();
    await page.getByRole('heading', { name: `Maria Lopez ${size.name}`, level: 2 }).waitFor();
    const merged = await stack.api('GET', '/contacts/' + existing.id);
    assert.ok(merged.identities.some((i) => i.kind === 'whatsapp' && i.address === from), 'the number moved to Maria');
    assert.equal(merged.engagement.inbound, 1);

    // Another unknown sender is saved as a new contact.
    const other = number();
    await page.goto(stack.base + '/inbox');
    await stack.inboundWhatsApp(other, `Hello, do you deliver? (${size.name})`);
    await openConversation(page, other);
    await page.getByRole('button', { name: 'Create contact' }).click();
    const create = page.getByRole('dialog', { name: 'Create contact' });
    await create.getByLabel('Name').fill(`Jon Rivera ${size.name}`);
    await create.getByRole('button', { name: 'Save contact' }).click();
    await page.locator('[data-toast="ok"]', { hasText: `Contact Jon Rivera ${size.name} saved` }).waitFor();
    await page.getByRole('heading', { name: `Jon Rivera ${size.name}`, level: 2 }).waitFor();

    // The contact list finds Maria; her page shows the identities, engagement and timeline.
    await goNav(page, 'Contacts');
    await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await page.getByLabel('Search contacts').fill(`Maria Lopez ${size.name}`);
    const row = page.locator('.contact-row', { hasText: `Maria Lopez ${size.name}` });
    await row.waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.contact-row').length === 1);
    await checkScreen(page, 'contacts-list', size);
    await row.click();
    await page.getByRole('heading', { name: `Maria Lopez ${size.name}`, level: 1 }).waitFor();
    await page.locator(`[data-identity="${from}"]`, { hasText: 'Subscribed' }).waitFor();
    await page.locator(`[data-identity="maria.${size.name}@example.com"]`).waitFor();
    assert.equal(await page.locator('[data-stat="inbound"] dd').textContent(), '1');
    await page.locator('.ctl-item', { hasText: `Maria from my new phone (${size.name})` }).waitFor();
    await checkScreen(page, 'contacts-detail', size);
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
