// Assistant › Analytics, at both sizes, against the real server: after
// real turns (the assistant in draft mode answering WhatsApp messages from
// its knowledge base; one draft approved, one edited, one rejected through
// the API), the totals and every per-day table on the page are the API's
// (GET /api/v1/assistant/analytics), each chart is drawn, and a range
// without activity says so. A viewer reads the same page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
import { startStack } from './lib/server.mjs';
import { draftMode, inboundDraft } from './lib/assistant.mjs';

let stack;
let browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
  await draftMode(stack);
  const a = await inboundDraft(stack, 'What are your opening hours on Saturday?', 'Ana');
  const b = await inboundDraft(stack, 'How do I return an item?', 'Ben');
  const c = await inboundDraft(stack, 'Can I get a refund?', 'Cleo');
  await stack.api('POST', `/assistant/drafts/${a.id}/approve`, {});
  await stack.api('POST', `/assistant/drafts/${b.id}/approve`, { text: 'Refunds take five business days.' });
  await stack.api('POST', `/assistant/drafts/${c.id}/reject`, { reason: 'shoes have their own policy' });
});
after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const num = (n) => new Intl.NumberFormat('en-US').format(n || 0);
const pct = (r) => (r === null || r === undefined ? '—' : new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(r));
const cost = (m) => new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 }).format((m || 0) / 1e6);

async function stat(page, name) {
  return (await page.locator(`[data-summary="totals"] [data-stat="${name}"] dd`).textContent()).trim();
}

async function cell(page, figure, day, col) {
  return (await page.locator(`#${figure} tr[data-day="${day}"] td[data-col="${col}"]`).textContent()).trim();
}

for (const size of SIZES) {
  test(`analytics match the API (${size.name})`, async () => {
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.admin);
    await goNav(page, 'Assistant');
    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.locator('[data-summary="totals"]').waitFor();
    const api = await stack.api('GET', '/assistant/analytics');
    await page.locator(`[data-range="${api.from}/${api.to}"]`).waitFor();
    assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), api.from);
    assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), api.to);

    // Totals.
    const tot = api.totals;
    assert.ok(tot.approved >= 1 && tot.edited >= 1 && tot.rejected >= 1, JSON.stringify(tot));
    for (const k of ['turns', 'sent', 'drafted', 'approved', 'edited', 'rejected', 'handed_over', 'stale', 'emergency', 'failed']) {
      assert.equal(await stat(page, k), num(tot[k]), k);
    }
    for (const k of ['containment_rate', 'approval_rate', 'edit_rate']) assert.equal(await stat(page, k), pct(tot[k]), k);
    assert.equal(tot.approval_rate, 0.6667); // two of the three decided drafts were sent
    assert.equal(tot.edit_rate, 0.5); // one of the two sent was edited
    assert.equal(await stat(page, 'tokens'), num((tot.prompt_tokens || 0) + (tot.completion_tokens || 0)));
    assert.equal(await stat(page, 'cost'), cost(tot.cost_micros));

    // Per day: every table is the API's numbers.
    const active = api.days.filter((d) => d.turns);
    assert.ok(active.length >= 1, JSON.stringify(api.days));
    for (const d of active) {
      assert.equal(await cell(page, 'ast-chart-containment', d.day, 'turns'), num(d.turns));
      assert.equal(await cell(page, 'ast-chart-containment', d.day, 'contained'), num(d.contained));
      assert.equal(await cell(page, 'ast-chart-containment', d.day, 'handed_over'), num(d.handed_over));
      assert.equal(await cell(page, 'ast-chart-containment', d.day, 'containment_rate'), pct(d.turns ? d.contained / d.turns : null));
      for (const k of ['drafted', 'approved', 'edited', 'rejected']) assert.equal(await cell(page, 'ast-chart-approval', d.day, k), num(d[k]), k);
      const decided = d.approved + d.edited + d.rejected;
      assert.equal(await cell(page, 'ast-chart-approval', d.day, 'approval_rate'), pct(decided ? (d.approved + d.edited) / decided : null));
      assert.equal(await cell(page, 'ast-chart-approval', d.day, 'edit_rate'), pct(d.approved + d.edited ? d.edited / (d.approved + d.edited) : null));
      assert.equal(await cell(page, 'ast-chart-cost', d.day, 'cost'), cost(d.cost_micros));
      const lat = await cell(page, 'ast-chart-latency', d.day, 'latency_avg_ms');
      assert.equal(lat, d.latency_avg_ms === null || d.latency_avg_ms === undefined ? '—' : `${num(Math.round(d.latency_avg_ms))} ms`);
    }
    // Intents: each (day, intent) count is in the intents table.
    for (const x of api.intents) {
      const col = page.locator(`#ast-chart-intents tr[data-day="${x.day}"] td[data-col="${x.intent}"]`);
      if (await col.count()) assert.equal((await col.textContent()).trim(), num(x.count));
    }
    const charts = api.intents.length ? 5 : 4;
    assert.equal(await page.locator('.ast-figure canvas').count(), charts, 'every chart is drawn');
    await checkScreen(page, 'assistant-analytics', size);

    // A range without activity.
    await page.getByLabel('From', { exact: true }).fill('2020-01-01');
    await page.getByLabel('To', { exact: true }).fill('2020-01-31');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.locator('[data-range="2020-01-01/2020-01-31"]').waitFor();
    const old = await stack.api('GET', '/assistant/analytics?from=2020-01-01&to=2020-01-31');
    assert.equal(await stat(page, 'turns'), num(old.totals.turns));
    if (!old.days.some((d) => d.turns || d.drafted)) assert.equal(old.totals.turns, 0);

    // A viewer reads the page.
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(stack.base + '/assistant/analytics');
    await viewer.locator('[data-summary="totals"] [data-stat="drafted"]').waitFor();
    assert.equal(await stat(viewer, 'drafted'), num(tot.drafted));
    await checkScreen(viewer, 'assistant-analytics-viewer', size);

    for (const p of [page, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}
