// Send to many: the recipient search filters the list by name as you type
// ("No recipients found." when nothing matches) and choices survive the
// filter; the preflight shows who is excluded and why (outside the WhatsApp
// window, no WhatsApp address, opted out) before anything is sent; the send
// goes to the others, once each, and reports per recipient.
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

let seq = 0;
function number() {
  return '+1415557' + String(++seq * 97 + Math.floor(Math.random() * 90)).padStart(4, '0');
}

async function contact(name, identities) {
  return stack.api('POST', '/contacts', { name, identities });
}

async function waitFor(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const size of SIZES) {
  test(`send to several recipients with the search filter (${size.name})`, async () => {
    const tag = size.name;
    const nums = { alice: number(), bob: number(), carol: number(), erin: number() };
    const alice = await contact(`Alice ${tag}`, [{ kind: 'whatsapp', address: nums.alice }]);
    const bob = await contact(`Bob ${tag}`, [{ kind: 'whatsapp', address: nums.bob }]);
    const carol = await contact(`Carol ${tag}`, [{ kind: 'whatsapp', address: nums.carol }]);
    const dave = await contact(`Dave ${tag}`, [{ kind: 'email', address: `dave.${tag}@example.com` }]);
    const erin = await contact(`Erin ${tag}`, [{ kind: 'whatsapp', address: nums.erin }]);
    // Alice, Bob and Erin wrote today (their 24-hour windows are open); Erin then opted out.
    await stack.inboundWhatsApp(nums.alice, 'Hi');
    await stack.inboundWhatsApp(nums.bob, 'Hello');
    await stack.inboundWhatsApp(nums.erin, 'Hey');
    await stack.inboundWhatsApp(nums.erin, 'STOP');
    await waitFor(async () => {
      const [a, b, e] = await Promise.all([alice, bob, erin].map((c) => stack.api('GET', '/contacts/' + c.id)));
      return a.engagement.inbound && b.engagement.inbound && e.identities.some((i) => i.opted_out);
    }, 'inbound messages processed');

    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.agent);
    await goNav(page, 'Send message');
    await page.getByRole('heading', { name: 'Send message', level: 1 }).waitFor();
    const search = page.getByLabel('Search recipients');
    const box = page.locator('.recipients-box');
    const pick = (name) => box.getByLabel(name, { exact: false }).check();

    await search.fill(tag);
    await page.waitForFunction(() => document.querySelectorAll('.recipients-list li').length === 5);
    await search.fill(`Alice ${tag}`);
    await page.waitForFunction(() => document.querySelectorAll('.recipients-list li').length === 1);
    await pick(`Alice ${tag}`);
    await search.fill(`bob ${tag}`); // case does not matter
    await pick(`Bob ${tag}`);
    await search.fill('no such person zzz');
    await page.getByText('No recipients found.').waitFor();
    await checkScreen(page, 'send-no-match', size);
    await search.fill(tag);
    assert.ok(await box.getByLabel(`Alice ${tag}`).isChecked(), 'Alice stays chosen across filters');
    assert.ok(await box.getByLabel(`Bob ${tag}`).isChecked(), 'Bob stays chosen across filters');
    await pick(`Carol ${tag}`);
    await pick(`Dave ${tag}`);
    await pick(`Erin ${tag}`);
    assert.equal(await page.locator('[data-selected]').getAttribute('data-selected'), '5');

    // The list scrolls inside a fixed height, the same spacing as the other fields.
    const css = await box.evaluate((el) => {
      const s = getComputedStyle(el);
      return { height: el.getBoundingClientRect().height, overflowY: s.overflowY, behavior: s.scrollBehavior };
    });
    assert.equal(Math.round(css.height), 280);
    assert.equal(css.overflowY, 'auto');
    assert.equal(css.behavior, 'smooth');

    const text = `Our shop opens at 9 tomorrow (${tag})`;
    await page.getByLabel('Text', { exact: true }).fill(text);
    const summary = page.locator('.send-summary');
    await summary.waitFor();
    assert.equal(await summary.getAttribute('data-going'), '2');
    assert.equal(await summary.getAttribute('data-excluded'), '3');
    await page.locator(`[data-excluded="${carol.id}"]`, { hasText: 'WhatsApp window closed — choose a template' }).waitFor();
    await page.locator(`[data-excluded="${dave.id}"]`, { hasText: 'no WhatsApp address' }).waitFor();
    await page.locator(`[data-excluded="${erin.id}"]`, { hasText: 'opted out' }).waitFor();
    await checkScreen(page, 'send-review', size);

    await page.getByRole('button', { name: 'Send to 2 recipients' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Messages queued for 2 recipients' }).waitFor();
    assert.equal(await page.locator('[data-result="queued"]').count(), 2);
    await checkScreen(page, 'send-results', size);
    const sentTo = await waitFor(async () => {
      const got = (await stack.meta.requests()).filter((r) => r.json && r.json.text && r.json.text.body === text).map((r) => '+' + String(r.json.to).replace(/^\+/, ''));
      return got.length >= 2 && got;
    }, 'the provider to get both messages');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(sentTo.sort(), [nums.alice, nums.bob].sort());
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
