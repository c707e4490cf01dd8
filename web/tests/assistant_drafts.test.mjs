// Assistant › Approval queue, at both sizes, against the real server: the
// assistant is on in draft mode with two knowledge base documents; customers
// write on WhatsApp (signed webhooks). An agent's queue shows each pending
// draft with the customer's message, the draft, why it was drafted, intent
// and confidence, alternatives and a link to the conversation; a draft
// written while the page is open appears live. The agent approves one as
// it is, edits and sends another (the customer gets the edited text),
// rejects a third with a reason; a fourth decided elsewhere leaves the
// page live. A viewer sees the queue without the decisions. In the inbox,
// the agent pauses the assistant in a conversation and resumes it. A draft
// nobody decides within the configured time gets its Escalated badge live.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
import { startStack } from './lib/server.mjs';
import { draftFor, draftMode, inboundDraft, phone } from './lib/assistant.mjs';

let stack;
let browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
  await draftMode(stack);
});
after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pct = (v) => new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 0 }).format(v);

async function outboundTexts(conversationId) {
  return (await stack.api('GET', `/conversations/${conversationId}/messages?limit=100`)).data.filter((m) => m.direction === 'outbound').map((m) => m.body);
}

for (const size of SIZES) {
  test(`approval queue: live drafts, approve, edit then send, reject, pause (${size.name})`, async () => {
    const tag = size.name[0]; // short: the words of a message decide its intent
    const a = await inboundDraft(stack, `What are your opening hours on Saturday? (${tag})`, 'Ana');
    const b = await inboundDraft(stack, `How do I return an item? (${tag})`, 'Ben');
    const c = await inboundDraft(stack, `Can I get a refund? (${tag})`, 'Cleo');
    for (const d of [a, b, c]) assert.equal(d.status, 'pending', JSON.stringify(d));

    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.agent);
    await goNav(page, 'Assistant');
    await page.getByRole('link', { name: 'Approval queue' }).click();
    const card = (d) => page.locator(`[data-draft="${d.id}"]`);
    await card(a).waitFor();

    // Each pending draft as the API has it.
    const pending = (await stack.api('GET', '/assistant/drafts?status=pending&limit=50')).data;
    for (const d of pending) {
      const el = card(d);
      await el.waitFor();
      assert.match(await el.locator('.ast-inbound').textContent(), new RegExp(esc(d.inbound_text)));
      assert.equal(await el.getByLabel('Reply to send').inputValue(), d.text);
      assert.equal(await el.locator('[data-intent]').getAttribute('data-intent'), d.intent || '');
      assert.equal((await el.locator('[data-confidence]').textContent()).trim(), typeof d.confidence === 'number' ? pct(d.confidence) : '—');
      if (d.reason) assert.match(await el.locator('.ast-reason').textContent(), new RegExp(esc(d.reason.slice(0, 20))));
      assert.equal(await el.getByRole('link', { name: 'Open the conversation' }).getAttribute('href'), `/inbox/${encodeURIComponent(d.conversation_id)}`);
      assert.equal(await el.locator('[data-escalated]').count(), d.escalated ? 1 : 0);
    }
    await checkScreen(page, 'assistant-drafts', size);

    // A draft written while the page is open appears without a reload.
    const liveText = `Are you open on Saturday? (${tag})`;
    await stack.inboundWhatsApp(phone(), liveText, 'Dee');
    const d4 = await draftFor(stack, liveText);
    await card(d4).waitFor();

    // Alternatives: one click puts one in the editor (then back to the draft).
    const alts = a.alternatives || [];
    if (alts.length) {
      await card(a).getByRole('button', { name: 'Use this reply (alternative 1)' }).click();
      assert.equal(await card(a).getByLabel('Reply to send').inputValue(), alts[0]);
      await card(a).getByRole('button', { name: 'Undo changes' }).click();
    }

    // Approve as it is: the customer gets the draft; it leaves the pending list.
    await card(a).getByRole('button', { name: 'Approve and send' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Reply to Ana sent.' }).waitFor();
    await card(a).waitFor({ state: 'detached' });
    const sentA = await stack.api('GET', `/assistant/drafts?status=sent&limit=50`).then((r) => r.data.find((x) => x.id === a.id));
    assert.ok(sentA, 'draft A is sent');
    assert.equal(sentA.final_text, a.text);
    assert.ok(sentA.sent_message_id);
    assert.ok((await outboundTexts(a.conversation_id)).includes(a.text));

    // Edit, then send: the customer gets the edited text.
    const edited = `Refunds take five business days to reach your card. (${tag})`;
    await card(b).getByLabel('Reply to send').fill(edited);
    await card(b).getByRole('button', { name: 'Send edited reply' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Edited reply to Ben sent.' }).waitFor();
    await card(b).waitFor({ state: 'detached' });
    const sentB = (await stack.api('GET', '/assistant/drafts?status=sent&limit=50')).data.find((x) => x.id === b.id);
    assert.equal(sentB.final_text, edited);
    assert.ok(sentB.edit_distance > 0);
    assert.ok((await outboundTexts(b.conversation_id)).includes(edited));

    // Reject with a reason (required).
    await card(c).getByRole('button', { name: 'Reject', exact: true }).click();
    assert.ok(await card(c).getByRole('button', { name: 'Reject draft' }).isDisabled(), 'no rejection without a reason');
    await card(c).getByLabel('Reason for rejecting').fill('Shoes have their own policy');
    await checkScreen(page, 'assistant-drafts-reject', size);
    await card(c).getByRole('button', { name: 'Reject draft' }).click();
    await page.locator('[data-toast="ok"]', { hasText: 'Draft for Cleo rejected.' }).waitFor();
    await card(c).waitFor({ state: 'detached' });
    const rejC = (await stack.api('GET', '/assistant/drafts?status=rejected&limit=50')).data.find((x) => x.id === c.id);
    assert.equal(rejC.reject_reason, 'Shoes have their own policy');
    assert.ok(!(await outboundTexts(c.conversation_id)).includes(c.text));

    // Decided elsewhere (the API): it leaves the page live.
    await stack.api('POST', `/assistant/drafts/${d4.id}/reject`, { reason: 'answered by phone' });
    await card(d4).waitFor({ state: 'detached' });

    // The other lists: sent shows A and B with what was sent.
    await page.getByLabel('Show', { exact: true }).selectOption('sent');
    await card(b).waitFor();
    assert.match(await card(b).locator('.ast-bubble').textContent(), /five business days to reach your card/);
    await checkScreen(page, 'assistant-drafts-sent', size);

    // A viewer sees the queue, not the decisions.
    const e = await inboundDraft(stack, `When are you open on Sunday? (${tag})`, 'Eve');
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(stack.base + '/assistant/drafts');
    await viewer.locator(`[data-draft="${e.id}"]`).waitFor();
    for (const name of ['Approve and send', 'Send edited reply', 'Reject']) {
      assert.equal(await viewer.getByRole('button', { name, exact: true }).count(), 0, `no "${name}" for a viewer`);
    }
    assert.equal(await viewer.getByLabel('Reply to send').count(), 0);
    await viewer.getByText('Agents, admins and owners approve or reject drafts.').waitFor();
    await checkScreen(viewer, 'assistant-drafts-viewer', size);

    // In the inbox: pause the assistant in E's conversation, then resume it.
    await page.goto(stack.base + `/inbox/${encodeURIComponent(e.conversation_id)}`);
    const box = page.locator('.conv-assistant');
    await box.locator('text=Assistant on').waitFor();
    await box.getByRole('button', { name: 'Pause assistant' }).click();
    const dlg = page.getByRole('dialog', { name: 'Pause the assistant here?' });
    await dlg.getByLabel('Reason (optional)').fill('VIP customer');
    await dlg.getByRole('button', { name: 'Pause assistant' }).click();
    await page.locator('[data-assistant-paused="true"]').waitFor();
    await box.getByText('VIP customer').waitFor();
    const paused = await stack.api('GET', `/conversations/${e.conversation_id}/assistant`);
    assert.equal(paused.paused, true);
    assert.equal(paused.reason, 'VIP customer');
    await checkScreen(page, 'assistant-paused', size);
    await box.getByRole('button', { name: 'Resume assistant' }).click();
    await page.locator('[data-assistant-paused="false"]').waitFor();
    assert.equal((await stack.api('GET', `/conversations/${e.conversation_id}/assistant`)).paused, false);
    // The viewer sees the state without the buttons.
    await viewer.goto(stack.base + `/inbox/${encodeURIComponent(e.conversation_id)}`);
    await viewer.locator('[data-assistant-paused="false"]').waitFor();
    assert.equal(await viewer.getByRole('button', { name: /^(Pause|Resume) assistant$/ }).count(), 0);
    // A pause made elsewhere (here through the API) reaches the open page live.
    await stack.api('POST', `/conversations/${e.conversation_id}/assistant/pause`, { reason: 'paused elsewhere' });
    await viewer.locator('[data-assistant-paused="true"]').waitFor({ timeout: 10000 });
    await viewer.locator('.conv-assistant').getByText('paused elsewhere').waitFor();
    await stack.api('POST', `/conversations/${e.conversation_id}/assistant/resume`, {});
    await viewer.locator('[data-assistant-paused="false"]').waitFor({ timeout: 10000 });

    for (const p of [page, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}

for (const size of SIZES) {
  test(`a draft nobody decides is marked escalated, live (${size.name})`, async () => {
    const tag = size.name[0];
    const oncall = await stack.api('POST', '/contacts', { name: `On-call manager ${tag}`, identities: [{ kind: 'phone', address: phone() }] });
    await stack.api('PUT', '/assistant/config', { config: { handover: { on_call_contact_id: oncall.id, on_call_account_id: stack.wa.id, draft_escalate_after_s: 1 } } });
    try {
      const page = await newPage(browser, size);
      await login(page, stack.base, stack.users.agent);
      await page.goto(stack.base + '/assistant/drafts');
      await page.locator('html[data-realtime="open"]').waitFor();
      const text = `Are you open on Saturday? (${tag}e)`;
      await stack.inboundWhatsApp(phone(), text, 'Fay');
      const d = await draftFor(stack, text);
      await page.locator(`[data-draft="${d.id}"] [data-escalated]`).waitFor();
      const now = (await stack.api('GET', '/assistant/drafts?status=pending&limit=50')).data.find((x) => x.id === d.id);
      assert.equal(now.escalated, true);
      assert.ok(now.escalated_at);
      await checkScreen(page, 'assistant-drafts-escalated', size);
      assert.deepEqual(page.jsErrors, []);
      await page.context().close();
    } finally {
      await stack.api('PUT', '/assistant/config', { config: { handover: { on_call_contact_id: '', on_call_account_id: '', draft_escalate_after_s: 900 } } });
    }
  });
}
