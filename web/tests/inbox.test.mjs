// The inbox live: an inbound WhatsApp message (signed like Meta's webhook, to
// the account that sends through the fake) appears in the open inbox without
// a reload, with its unread count; opening it shows the message and clears
// the count; a reply goes out through the fake provider and its tick moves
// to delivered when the fake's signed status callbacks arrive; resolve and
// assign confirm with toasts; after the network drops and comes back, a
// message sent meanwhile arrives (the socket resumes from its last event).
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

function number() {
  return '+1415555' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
}

for (const size of SIZES) {
  test(`inbox: live inbound, reply delivered, actions, resume (${size.name})`, async () => {
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.agent);
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    // The socket is open before the message arrives.
    await page.waitForFunction(() => !document.querySelector('[data-conn]'));
    await page.waitForTimeout(300);

    const from = number();
    const name = `Ana ${size.name}`;
    await stack.inboundWhatsApp(from, `Do you open on Sundays? (${size.name})`, name);
    const row = page.locator('.conv-row', { hasText: name });
    await row.waitFor({ timeout: 15000 });
    assert.equal(await row.locator('[data-unread]').getAttribute('data-unread'), '1');
    await stack.inboundWhatsApp(from, `Or on holidays? (${size.name})`, name);
    await page.waitForFunction((n) => {
      const r = [...document.querySelectorAll('.conv-row')].find((x) => x.textContent.includes(n));
      return r && r.querySelector('[data-unread="2"]');
    }, name);
    await checkScreen(page, 'inbox-list', size);

    await row.click();
    await page.getByRole('heading', { name, level: 2 }).waitFor();
    await page.locator('.msg-in', { hasText: `Or on holidays? (${size.name})` }).waitFor();
    await page.waitForFunction((n) => {
      const r = [...document.querySelectorAll('.conv-row')].find((x) => x.textContent.includes(n));
      return !r || !r.querySelector('[data-unread]');
    }, name);
    const conv = await stack.api('GET', '/conversations/' + (await page.locator('article.conv').getAttribute('data-conversation')));
    assert.equal(conv.unread, 0, 'opening the conversation marked it read');
    await checkScreen(page, 'inbox-conversation', size);

    // Reply: the window is open (the customer just wrote), so free text is allowed.
    const reply = `We open 10 to 4 on Sundays (${size.name})`;
    await page.getByLabel('Message', { exact: true }).fill(reply);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'queued' }).waitFor();
    const bubble = page.locator('.msg-out', { hasText: reply });
    await bubble.waitFor();
    await page.waitForFunction((text) => {
      const b = [...document.querySelectorAll('.msg-out')].find((x) => x.textContent.includes(text));
      return b && b.getAttribute('data-status') === 'delivered';
    }, reply, { timeout: 20000 });
    assert.equal(await bubble.locator('.ticks').getAttribute('data-status'), 'delivered');
    const sent = (await stack.meta.requests()).filter((r) => r.json && r.json.text && r.json.text.body === reply);
    assert.equal(sent.length, 1, 'the provider got the reply once');

    // Assign to me and resolve: each confirmed by a toast, the state shown.
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Assigned to' }).waitFor();
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Conversation resolved' }).waitFor();
    await page.locator('[data-conv-status="resolved"]').waitFor();
    await checkScreen(page, 'inbox-actions', size);

    // The network drops: the page says so; a message sent meanwhile arrives once it is back.
    await page.context().setOffline(true);
    await page.locator('[data-conn="offline"]').waitFor();
    const late = `Still there? (${size.name})`;
    await stack.inboundWhatsApp(from, late, name);
    await page.waitForTimeout(500);
    assert.equal(await page.locator('.msg-in', { hasText: late }).count(), 0);
    await page.context().setOffline(false);
    await page.locator('.msg-in', { hasText: late }).waitFor({ timeout: 15000 });
    await page.waitForFunction(() => !document.querySelector('[data-conn]'));
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
