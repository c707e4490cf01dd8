// Assistant › Settings, at both sizes, against the real server: an admin
// saves the configuration through the form (a new version, with its note;
// the API key is write-only: the answer says only that one is set), saves
// again, the diff between the two versions shows exactly the fields that
// changed, and a rollback after the confirmation restores the earlier
// values as a new version. A viewer and an agent read the same page without
// any write control.
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

async function saveForm(page, note) {
  await page.getByLabel('Note', { exact: true }).fill(note);
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  const toast = page.locator('[data-toast]').filter({ hasText: /Saved as version \d+\.|error|invalid|must/i }).last();
  await toast.waitFor();
  assert.equal(await toast.getAttribute('data-toast'), 'ok', await toast.textContent());
  const cur = await stack.api('GET', '/assistant/config');
  assert.equal(cur.note, note);
  await page.locator(`[data-current-version="${cur.version}"]`).waitFor();
  return cur;
}

for (const size of SIZES) {
  test(`assistant settings: save, new version, diff, rollback (${size.name})`, async () => {
    const tag = size.name;
    const nurse = await stack.api('POST', '/contacts', {
      name: `On-call nurse ${tag}`,
      identities: [{ kind: 'phone', address: tag === 'phone' ? '+14155550991' : '+14155550992' }],
    });
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.admin);
    await goNav(page, 'Assistant');
    await page.getByRole('link', { name: 'Assistant settings' }).click();
    await page.getByRole('form', { name: 'Assistant configuration' }).waitFor();
    const start = await stack.api('GET', '/assistant/config');
    await page.locator(`[data-current-version="${start.version}"]`).waitFor();
    await checkScreen(page, 'assistant-config', size);

    // First save: on, draft mode, a name, WhatsApp only, an intent with examples, an API key.
    await page.getByLabel('The assistant answers customers').setChecked(true);
    await page.getByLabel('Name', { exact: true }).fill(`Ava ${tag}`);
    await page.getByLabel('Mode', { exact: true }).selectOption('draft');
    for (const ch of ['SMS', 'Telegram', 'Instagram', 'Website chat']) await page.getByLabel(ch, { exact: true }).setChecked(false);
    await page.getByLabel('WhatsApp', { exact: true }).setChecked(true);
    const n = await page.locator('.ast-intent').count();
    await page.getByRole('button', { name: 'Add intent' }).click();
    await page.locator(`#intent-name-${n}`).fill(`refund_${tag}`);
    await page.locator(`#intent-action-${n}`).selectOption('handover');
    await page.locator(`#intent-examples-${n}`).fill('I want my money back\nrefund please');
    await page.getByLabel('New API key').fill(`sk-e2e-secret-${tag}`);
    // Who is alerted in an emergency, and when a draft escalates.
    await page.getByLabel('On-call contact').selectOption({ label: `On-call nurse ${tag}` });
    await page.getByLabel('Emergency phrases').fill('chest pain\n\nsevere bleeding\n');
    await page.getByLabel('Escalate an undecided draft after (minutes)').fill('5');
    await page.getByLabel('Spanish', { exact: true }).setChecked(true);
    const v1 = await saveForm(page, `first ${tag}`);
    assert.equal(v1.config.handover.on_call_contact_id, nurse.id);
    assert.deepEqual(v1.config.emergency_phrases, ['chest pain', 'severe bleeding']);
    assert.equal(v1.config.handover.draft_escalate_after_s, 300);
    assert.deepEqual(v1.config.languages, ['en', 'es']);
    assert.equal(v1.version, start.version + 1);
    assert.equal(v1.config.enabled, true);
    assert.equal(v1.config.identity.name, `Ava ${tag}`);
    assert.equal(v1.config.mode, 'draft');
    assert.equal(v1.config.channels.whatsapp, true);
    assert.equal(v1.config.channels.sms, false);
    assert.equal(v1.config.intents.length, n + 1);
    assert.equal(v1.config.intents[n].name, `refund_${tag}`);
    assert.equal(v1.config.intents[n].action, 'handover');
    assert.deepEqual(v1.config.intents[n].examples, ['I want my money back', 'refund please']);
    assert.equal(v1.config.provider.api_key_set, true);
    assert.ok(!JSON.stringify(v1).includes('sk-e2e-secret'), 'the key is never answered');
    await page.locator('[data-api-key-set="true"]').waitFor();
    assert.equal(await page.getByLabel('New API key').inputValue(), '', 'the key field is emptied');

    // Second save: another name and the threshold mode.
    await page.getByLabel('Name', { exact: true }).fill(`Bea ${tag}`);
    await page.getByLabel('Mode', { exact: true }).selectOption('threshold');
    await page.getByLabel('Send threshold').fill('0.8');
    const v2 = await saveForm(page, `second ${tag}`);
    assert.equal(v2.version, v1.version + 1);
    assert.equal(v2.config.identity.name, `Bea ${tag}`);
    assert.equal(v2.config.mode, 'threshold');
    assert.equal(v2.config.auto_threshold, 0.8);
    const rows = page.locator('tr[data-version]');
    await page.locator(`tr[data-version="${v2.version}"]`).waitFor();
    assert.equal(await rows.count(), (await stack.api('GET', '/assistant/config/versions')).data.length);
    assert.match(await page.locator(`tr[data-version="${v2.version}"]`).textContent(), new RegExp(`second ${tag}`));

    // The diff between the two versions: exactly the API's changes.
    await page.getByLabel('From', { exact: true }).selectOption(String(v1.version));
    await page.getByLabel('To', { exact: true }).selectOption(String(v2.version));
    await page.getByRole('button', { name: 'Show changes' }).click();
    const diff = page.locator(`table[data-diff="${v1.version}-${v2.version}"]`);
    await diff.waitFor();
    const api = await stack.api('GET', `/assistant/config/diff?from=${v1.version}&to=${v2.version}`);
    const paths = api.changes.map((c) => c.path).sort();
    assert.ok(paths.includes('identity.name') && paths.includes('mode') && paths.includes('auto_threshold'), JSON.stringify(api));
    assert.equal(await diff.locator('tbody tr').count(), api.changes.length);
    const name = diff.locator('tr[data-path="identity.name"]');
    assert.equal((await name.locator('.ast-was').textContent()).trim(), `Ava ${tag}`);
    assert.equal((await name.locator('.ast-became').textContent()).trim(), `Bea ${tag}`);
    assert.equal((await diff.locator('tr[data-path="mode"] .ast-became').textContent()).trim(), 'threshold');
    await checkScreen(page, 'assistant-config-diff', size);

    // Roll back to the first version, after the confirmation: a new version with its values.
    await page.getByRole('button', { name: `Roll back to version ${v1.version}`, exact: true }).click();
    const dlg = page.getByRole('dialog', { name: 'Roll back the configuration?' });
    await dlg.waitFor();
    await checkScreen(page, 'assistant-config-rollback', size);
    await dlg.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.locator('[data-toast="ok"]', { hasText: `Version ${v1.version} restored as version ${v2.version + 1}.` }).waitFor();
    const v3 = await stack.api('GET', '/assistant/config');
    assert.equal(v3.version, v2.version + 1);
    assert.deepEqual(v3.config, v1.config);
    await page.locator(`[data-current-version="${v3.version}"]`).waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), `Ava ${tag}`);
    assert.equal(await page.getByLabel('Mode', { exact: true }).inputValue(), 'draft');

    // A viewer and an agent read the page without any write control.
    for (const role of ['viewer', 'agent']) {
      const ro = await newPage(browser, size);
      await login(ro, stack.base, stack.users[role]);
      await ro.goto(stack.base + '/assistant/config');
      await ro.locator(`[data-current-version="${v3.version}"]`).waitFor();
      await ro.getByText("Only owners and admins change the assistant's configuration.").waitFor();
      for (const label of ['Save as a new version', 'Add intent', `Roll back to version ${v1.version}`, `Remove intent refund_${tag}`]) {
        assert.equal(await ro.getByRole('button', { name: label, exact: true }).count(), 0, `no "${label}" for ${role}`);
      }
      assert.equal(await ro.getByLabel('New API key').count(), 0, `no API key field for ${role}`);
      assert.equal(await ro.getByLabel('Name', { exact: true }).getAttribute('readonly'), '');
      assert.ok(await ro.getByLabel('The assistant answers customers').isDisabled());
      // Reading the diff is allowed.
      await ro.getByLabel('From', { exact: true }).selectOption(String(v1.version));
      await ro.getByLabel('To', { exact: true }).selectOption(String(v2.version));
      await ro.getByRole('button', { name: 'Show changes' }).click();
      await ro.locator(`table[data-diff="${v1.version}-${v2.version}"] tr[data-path="identity.name"]`).waitFor();
      await checkScreen(ro, `assistant-config-${role}`, size);
      assert.deepEqual(ro.jsErrors, []);
      await ro.context().close();
    }
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  });
}
