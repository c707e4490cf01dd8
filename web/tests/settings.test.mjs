// Settings, at both sizes. An admin adds a Twilio account with the guided
// fields (a missing field is named before anything is sent; switching the
// provider changes the fields), sees the webhook URLs to paste at Twilio and
// tests the connection against the fake Twilio; creates an API key that is
// shown once and works, then revokes it (refused from then on); changes the
// SMS opt-out keywords and the HELP reply; finds those changes in the audit
// log. A viewer sees no admin section and no admin action.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
import { TWILIO, startSmsStack } from './lib/sms.mjs';

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

async function section(page, name) {
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name, exact: true }).click();
}

async function me(key) {
  return fetch(env.stack.publicUrl + '/api/v1/me', { headers: { Authorization: 'Bearer ' + key } });
}

for (const size of SIZES) {
  test(`settings: channel account, API key, keywords, audit; viewer (${size.name})`, async () => {
    const { stack } = env;
    const tag = `${size.name}-${Math.random().toString(36).slice(2, 6)}`;
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.admin);
    await goNav(page, 'Settings');
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Channel accounts' }).waitFor();

    // Guided fields: Twilio's, then SMTP's when the provider changes, then back.
    await page.getByRole('button', { name: 'Add a channel account' }).click();
    await page.locator('#set-f-account_sid').waitFor();
    await page.locator('#set-provider').selectOption('smtp');
    await page.locator('#set-f-host').waitFor();
    assert.equal(await page.locator('#set-f-account_sid').count(), 0);
    await page.locator('#set-provider').selectOption('twilio');
    await page.locator('#set-name').fill(`SMS ${tag}`);
    await page.locator('#set-f-account_sid').fill(TWILIO.sid);
    await page.locator('#set-f-from').fill(TWILIO.from);
    await page.getByRole('button', { name: 'Add account' }).click();
    assert.match(await page.getByRole('alert').filter({ hasText: 'Fill in' }).textContent(), /Auth token/);
    await page.locator('#set-f-auth_token').fill(TWILIO.token);
    await checkScreen(page, 'settings-channel-form', size);
    await page.getByRole('button', { name: 'Add account' }).click();
    const created = page.locator('[data-created]');
    await created.waitFor();
    const id = await created.getAttribute('data-created');
    const acct = (await stack.api('GET', '/channels')).data.find((a) => a.id === id);
    assert.equal(acct.name, `SMS ${tag}`);
    assert.equal(acct.address, TWILIO.from);
    const url = await created.locator('[data-webhook="inbound"]').inputValue();
    assert.equal(url, acct.webhook_urls.inbound);
    assert.equal(url, `${stack.publicUrl}/webhooks/twilio/${acct.account_key}`);
    await checkScreen(page, 'settings-channels', size);

    // Test the connection: the fake Twilio checks the credentials.
    const row = page.locator(`[data-account="${id}"]`);
    await row.getByRole('button', { name: 'Test connection' }).click();
    await row.locator('.set-ok').waitFor();

    // An API key: shown once, works, then revoked.
    await section(page, 'API keys');
    await page.locator('#set-key-name').fill(`ci ${tag}`);
    await page.locator('#set-key-role').selectOption('agent');
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyField = page.locator('#set-new-key');
    await keyField.waitFor();
    const key = await keyField.inputValue();
    assert.ok(key.length > 20, 'a key is shown');
    const who = await me(key);
    assert.equal(who.status, 200);
    assert.equal((await who.json()).role, 'agent');
    await checkScreen(page, 'settings-apikeys', size);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await keyField.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByRole('button', { name: `Revoke ci ${tag}` }).waitFor();
    assert.ok(!(await page.content()).includes(key), 'the key is not shown again');
    await page.getByRole('button', { name: `Revoke ci ${tag}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.locator('tr[data-revoked="true"]', { hasText: `ci ${tag}` }).waitFor();
    assert.equal((await me(key)).status, 401);

    // Opt-out keywords and the HELP reply.
    await section(page, 'Opt-out and help');
    await page.locator('#set-kw-channel').selectOption('sms');
    const words = size.name === 'desktop' ? 'STOP, alto  quit' : 'STOP baja';
    await page.locator('#set-kw-stop').fill(words);
    await page.getByRole('button', { name: 'Save keywords' }).click();
    await page.locator('[data-keywords-default="false"]').waitFor();
    const kw = await stack.api('GET', '/compliance/keywords');
    assert.deepEqual(kw.sms.stop, size.name === 'desktop' ? ['STOP', 'ALTO', 'QUIT'] : ['STOP', 'BAJA']);
    assert.equal(kw.sms.default, false);
    const help = `Shop help line ${tag}: reply STOP to opt out.`;
    await page.locator('#set-help-text').fill(help);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Messaging settings saved.').waitFor();
    assert.equal((await stack.api('GET', '/settings')).help_text, help);
    await checkScreen(page, 'settings-compliance', size);

    // The audit log has it all, filtered by action.
    await section(page, 'Audit log');
    await page.locator('.set-audit-row').first().waitFor();
    await page.locator('#set-audit-action').fill('apikey.');
    await page.locator('.set-audit-row[data-action="apikey.revoke"]').first().waitFor();
    const actions = await page.locator('.set-audit-row').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.ok(actions.length >= 2 && actions.every((a) => a.startsWith('apikey.')), actions.join());
    await page.locator('#set-audit-action').fill('keywords');
    await page.locator('.set-audit-row[data-action="compliance.keywords.update"]').first().waitFor();
    await checkScreen(page, 'settings-audit', size);

    await section(page, 'Team');
    await page.locator(`tr[data-user]`, { hasText: stack.users.viewer }).waitFor();
    await checkScreen(page, 'settings-team', size);

    // A viewer: no admin sections, no admin actions, read-only forms.
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(stack.base + '/settings');
    await viewer.getByRole('heading', { name: 'Channel accounts' }).waitFor();
    await viewer.locator(`[data-account="${id}"]`).waitFor();
    const tabs = await viewer.getByRole('navigation', { name: 'Settings sections' }).getByRole('link').allTextContents();
    assert.deepEqual(tabs, ['Channels', 'Team', 'Opt-out and help']);
    for (const label of ['Add a channel account', 'Remove', 'Test connection']) {
      assert.equal(await viewer.getByRole('button', { name: label, exact: true }).count(), 0, `viewer sees no ${label}`);
    }
    await checkScreen(viewer, 'settings-viewer', size);
    await section(viewer, 'Opt-out and help');
    await viewer.locator('#set-kw-stop').waitFor();
    assert.ok(await viewer.locator('#set-kw-stop').evaluate((el) => el.readOnly));
    assert.equal(await viewer.getByRole('button', { name: /^Save/ }).count(), 0);
    await section(viewer, 'Team');
    await viewer.locator('tr[data-user]').first().waitFor();
    assert.equal(await viewer.getByRole('button', { name: /^Remove/ }).count(), 0);
    assert.equal(await viewer.locator('tr[data-user] select').count(), 0);
    await viewer.goto(stack.base + '/settings/apikeys');
    await viewer.getByText('Your role cannot open that section.').waitFor();
    await viewer.goto(stack.base + '/settings/audit');
    await viewer.getByText('Your role cannot open that section.').waitFor();

    for (const p of [page, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}
