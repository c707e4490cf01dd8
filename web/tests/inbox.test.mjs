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
import { deflateSync } from 'node:zlib';
import { startStack } from './lib/server.mjs';

// A real 8x8 PNG (the browser must be able to draw it).
function png() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0);
  ihdr.writeUInt32BE(8, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.concat(Array.from({ length: 8 }, () => Buffer.from([0, ...Array(8).fill([200, 40, 40]).flat()])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

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

    // A picture arrives while the conversation is open: shown through the signed media URL once stored.
    await stack.inboundWhatsAppImage(from, png(), 'image/png', `My receipt (${size.name})`, name);
    const pic = page.locator('.msg-in', { hasText: `My receipt (${size.name})` }).locator('img.media-img');
    await pic.waitFor({ timeout: 15000 });
    await page.waitForFunction((cap) => {
      const b = [...document.querySelectorAll('.msg-in')].find((x) => x.textContent.includes(cap));
      const img = b && b.querySelector('img.media-img');
      return img && img.complete && img.naturalWidth === 8;
    }, `My receipt (${size.name})`);
    assert.match(await pic.getAttribute('src'), /\/media\//);

    // Search by number finds the conversation; a name that matches nothing finds none.
    // (On phones the list is one step back from the conversation.)
    const back = page.locator('a.conv-back');
    if (await back.isVisible()) await back.click();
    await page.getByLabel('Search conversations').fill(from);
    await page.waitForURL(/q=/);
    await page.locator('.conv-row', { hasText: name }).waitFor();
    await page.getByLabel('Search conversations').fill('nobody-matches-this');
    await page.getByText('No conversations match this search.').waitFor();
    await page.getByLabel('Search conversations').fill('');
    await page.locator('.conv-row', { hasText: name }).click();
    await page.getByRole('heading', { name, level: 2 }).waitFor();

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

for (const size of SIZES) {
  test(`inbox: outside the WhatsApp window the reply is an approved template (${size.name})`, async () => {
    const to = number();
    // We wrote first (a template); the customer never answered, so the window is closed.
    await stack.api('POST', '/messages', { account_id: stack.wa.id, to, template: { name: 'order_update', language: 'en_US', variables: ['Ana', '41'] } });
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.agent);
    const row = page.locator('.conv-row', { hasText: to });
    await row.waitFor({ timeout: 15000 });
    await row.click();
    await page.locator('.reply-reason[data-reason="outside_window"]', { hasText: 'WhatsApp window closed — choose a template' }).waitFor();
    assert.equal(await page.getByLabel('Message', { exact: true }).count(), 0, 'no free text outside the window');
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'order_update (en_US)' });
    await page.getByLabel('Value for {{1}}').fill('Ana');
    await page.getByLabel('Value for {{2}}').fill('42');
    await page.locator('.tpl-preview', { hasText: 'Hi Ana, your order 42 has shipped.' }).waitFor();
    await checkScreen(page, 'inbox-template-reply', size);
    await page.getByRole('button', { name: 'Send template' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'queued' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('.msg-out')].filter((b) => b.getAttribute('data-status') === 'delivered').length === 2, null, { timeout: 20000 });
    const sent = (await stack.meta.requests()).filter((r) => r.json && r.json.type === 'template' && String(r.json.to).replace('+', '') === to.replace('+', ''));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1].json.template.components[0].parameters.map((p) => p.text), ['Ana', '42']);
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
