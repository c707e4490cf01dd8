// Templates, at both sizes: an agent writes a template with the live preview
// and submits it; the agent cannot approve (the button is disabled with the
// reason, and the API refuses the agent's own session); an admin approves it
// and the history shows who decided; the browser's preview matches the
// server's (POST .../preview); an edit of the approved template is a new
// draft version; a rejection carries its reason; the agent sends the approved template to a
// contact on the SMS account from the Send screen: it is queued, then sent,
// and reaches the fake Twilio as the rendered text; a viewer sees the
// template without any action.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
import { number, pageApi, startSmsStack, waitFor } from './lib/sms.mjs';

let env;
let browser;
before(async () => {
  env = await startSmsStack();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (env) await env.stop();
});

const BODY = 'Hi {{name}}, your order {{ order }} is ready.';

async function badge(page) {
  return (await page.locator('.tpl-detail__head .tpl-badge').textContent()).trim();
}

for (const size of SIZES) {
  test(`templates: create, submit, approve, send; roles (${size.name})`, async () => {
    const { stack } = env;
    const name = `order_ready_${size.name}_${Math.random().toString(36).slice(2, 8)}`;

    // An agent writes the template, watching the preview fill in.
    const agent = await newPage(browser, size);
    await login(agent, stack.base, stack.users.agent);
    await goNav(agent, 'Templates');
    await agent.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await agent.getByRole('button', { name: 'New template' }).click();
    await agent.locator('#tpl-new-account').selectOption({ label: 'SMS Shop' });
    await agent.locator('#tpl-new-name').fill(name);
    await agent.locator('#tpl-new-body').fill(BODY);
    const text = agent.locator('[data-preview="text"]');
    assert.equal((await text.textContent()).trim(), 'Hi {{name}}, your order {{order}} is ready.');
    await agent.locator('#tpl-var-name').fill('Ada');
    await agent.locator('#tpl-var-order').fill('A-42');
    assert.equal((await text.textContent()).trim(), 'Hi Ada, your order A-42 is ready.');
    await checkScreen(agent, 'templates-new', size);
    await agent.getByRole('button', { name: 'Create draft' }).click();
    await agent.waitForURL(/\/templates\/tpl_/);
    const id = new URL(agent.url()).pathname.split('/').pop();
    await agent.getByRole('heading', { name: new RegExp(name) }).waitFor();
    assert.equal(await badge(agent), 'Draft');
    const listed = await stack.api('GET', '/templates/' + id);
    assert.equal(listed.status, 'draft');
    assert.deepEqual(listed.variables, ['name', 'order']);

    await agent.getByRole('button', { name: 'Submit for approval' }).click();
    await agent.locator('.tpl-detail__head .tpl-badge', { hasText: 'Pending approval' }).waitFor();
    // The agent cannot approve: disabled, with the reason; the API refuses too.
    const approve = agent.getByRole('button', { name: 'Approve' });
    assert.ok(await approve.isDisabled(), 'approve is disabled for an agent');
    assert.match(await agent.locator('#tpl-decide-why').textContent(), /Only owners and admins/);
    const refused = await pageApi(agent, 'POST', `/templates/${id}/approve`, {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
    assert.equal((await stack.api('GET', '/templates/' + id)).status, 'pending');
    await checkScreen(agent, 'templates-pending', size);

    // An admin approves it; the history names the decision.
    const admin = await newPage(browser, size);
    await login(admin, stack.base, stack.users.admin);
    await admin.goto(`${stack.base}/templates/${id}`);
    await admin.getByRole('button', { name: 'Approve' }).click();
    await admin.locator('.tpl-detail__head .tpl-badge', { hasText: 'Approved' }).waitFor();
    await admin.locator('.tpl-version[data-version="1"]', { hasText: 'Approved by' }).waitFor();
    const approved = await stack.api('GET', '/templates/' + id);
    assert.equal(approved.status, 'approved');
    assert.equal(approved.sendable, true);
    const versions = await stack.api('GET', `/templates/${id}/versions`);
    assert.match(versions.data[0].decided_by, /^user:/);

    // The browser's preview is the server's.
    await admin.locator('#tpl-var-name').fill('Grace <Hopper>');
    await admin.locator('#tpl-var-order').fill('B&7');
    const local = (await admin.locator('[data-preview="text"]').textContent()).trim();
    const server = await stack.api('POST', `/templates/${id}/preview`, { variables: { name: 'Grace <Hopper>', order: 'B&7' } });
    assert.equal(local, server.text);
    await checkScreen(admin, 'templates-approved', size);

    // The agent sends it to a contact on the SMS account from the Send screen.
    const to = number();
    const who = `Ada Order ${size.name} ${Math.random().toString(36).slice(2, 6)}`;
    const contact = await stack.api('POST', '/contacts', { name: who, identities: [{ kind: 'phone', address: to }] });
    await agent.goto(stack.base + '/send');
    await agent.getByRole('heading', { name: 'Send message', level: 1 }).waitFor();
    await agent.getByLabel('Channel account').selectOption({ label: 'SMS · SMS Shop' });
    await agent.getByLabel('Search recipients').fill(who);
    await agent.locator(`#rcp-${contact.id}`).check();
    await agent.getByRole('radio', { name: 'Template' }).check();
    await agent.getByRole('combobox', { name: 'Template' }).selectOption({ label: `${name} (en)` });
    await agent.getByLabel('Value for {{name}}').fill('Ada');
    await agent.getByLabel('Value for {{order}}').fill('A-42');
    await agent.locator('.send-summary[data-going="1"]').waitFor();
    await agent.getByRole('button', { name: 'Send to 1 recipient' }).click();
    await agent.locator('.result-list [data-result="queued"]').waitFor();
    await checkScreen(agent, 'templates-sent', size);
    const got = await waitFor(async () => (await env.twilio.requests()).find((r) => r.form && r.form.To === to), 'the SMS at the fake');
    assert.equal(got.form.Body, 'Hi Ada, your order A-42 is ready.');
    const conv = await waitFor(async () => (await stack.api('GET', '/conversations')).data.find((c) => c.contact_id === contact.id || (c.contact && c.contact.id === contact.id)), 'the conversation');
    const msgs = (await stack.api('GET', `/conversations/${conv.id}/messages`)).data;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].body, 'Hi Ada, your order A-42 is ready.');
    assert.equal(msgs[0].template.name, name);
    await waitFor(async () => ['sent', 'delivered'].includes((await stack.api('GET', '/messages/' + msgs[0].id)).status), 'message sent');

    // Editing the approved template makes version 2, a draft; version 1 stays in the history.
    await admin.locator('#tpl-edit-body').fill('Hi {{name}}, order {{order}} is ready for pickup.');
    await admin.getByRole('button', { name: 'Save as a new version' }).click();
    await admin.locator('.tpl-detail__head .tpl-badge', { hasText: 'Draft' }).waitFor();
    await admin.locator('.tpl-version[data-version="2"]').waitFor();
    assert.equal(await admin.locator('.tpl-version[data-version="1"]', { hasText: 'Approved by' }).count(), 1);
    const v2 = await stack.api('GET', '/templates/' + id);
    assert.equal(v2.version, 2);
    assert.equal(v2.sendable, false);

    // Rejecting needs a reason, which the history keeps.
    const other = await stack.api('POST', '/templates', { channel: 'sms', name: `${name}_b`, body: 'Sale: {{pct}} off' });
    await stack.api('POST', `/templates/${other.id}/submit`, {});
    await admin.goto(`${stack.base}/templates/${other.id}`);
    await admin.getByRole('button', { name: 'Reject', exact: true }).click();
    const confirm = admin.getByRole('button', { name: 'Reject this version' });
    assert.ok(await confirm.isDisabled(), 'no rejection without a reason');
    await admin.locator('#tpl-reject-reason').fill('Needs the opt-out wording');
    await confirm.click();
    await admin.locator('.tpl-detail__head .tpl-badge', { hasText: 'Rejected' }).waitFor();
    await admin.locator('.tpl-version[data-version="1"] .tpl-reason', { hasText: 'Needs the opt-out wording' }).waitFor();
    assert.equal((await stack.api('GET', `/templates/${other.id}/versions`)).data[0].reason, 'Needs the opt-out wording');

    // A viewer reads the template, with no action to take.
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(`${stack.base}/templates/${id}`);
    await viewer.getByRole('heading', { name: new RegExp(name) }).waitFor();
    for (const label of ['New template', 'Submit for approval', 'Approve', 'Reject', 'Save', 'Save as a new version']) {
      assert.equal(await viewer.getByRole('button', { name: label, exact: true }).count(), 0, `viewer sees no ${label}`);
    }
    assert.ok(await viewer.locator('#tpl-edit-body').evaluate((el) => el.readOnly), 'the body is read-only');
    await checkScreen(viewer, 'templates-viewer', size);

    for (const p of [agent, admin, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}
