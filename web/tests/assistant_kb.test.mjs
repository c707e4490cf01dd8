// Assistant › Knowledge base, at both sizes, against the real server: an
// admin creates a document through the form, edits it, finds it with the
// search (the passages and scores are the API's), disables it (the search
// no longer finds it) and enables it again, imports a CSV whose report
// lists the accepted documents and the rejected row with its reason, and
// deletes a document after the confirmation. A viewer reads and searches
// without any write control.
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

async function docByTitle(title) {
  return (await stack.api('GET', '/kb/documents?limit=500')).data.find((d) => d.title === title);
}

async function waitFor(fn, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const size of SIZES) {
  test(`knowledge base: create, edit, search, disable, import, delete (${size.name})`, async () => {
    const tag = size.name;
    const title = `Returns policy ${tag}`;
    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.admin);
    await goNav(page, 'Assistant');
    await page.getByRole('heading', { name: 'Assistant', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Knowledge base' }).waitFor();
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();

    // Create through the form.
    await page.getByRole('button', { name: 'New document' }).click();
    const dlg = page.getByRole('dialog', { name: 'New document' });
    await dlg.getByLabel('Title').fill(title);
    await dlg.getByLabel('Text').fill(`Items bought online can be returned within 30 days ${tag}. Refunds reach the card in five business days.`);
    await dlg.getByLabel('Tags').fill('returns, refunds');
    await dlg.getByLabel('Source').fill('https://shop.example/returns');
    await dlg.getByLabel('Language').selectOption('en');
    await checkScreen(page, 'assistant-kb-form', size);
    await dlg.getByRole('button', { name: 'Create document' }).click();
    await page.locator('[data-toast="ok"]', { hasText: `Document “${title}” created.` }).waitFor();
    const doc = await waitFor(() => docByTitle(title), 'the document');
    assert.deepEqual(doc.tags, ['returns', 'refunds']);
    assert.equal(doc.source, 'https://shop.example/returns');
    assert.equal(doc.enabled, true);
    assert.ok(doc.chunks >= 1);
    const row = page.locator(`tr[data-doc="${doc.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /en/);

    // Edit: the body changes on the server.
    await row.getByRole('button', { name: title, exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit document' });
    await edit.getByLabel('Text').waitFor();
    assert.match(await edit.getByLabel('Text').inputValue(), /within 30 days/);
    await edit.getByLabel('Text').fill(`Items bought online can be returned within 60 days ${tag}. Refunds reach the card in five business days.`);
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-toast="ok"]', { hasText: `Document “${title}” saved.` }).waitFor();
    const full = await stack.api('GET', `/kb/documents/${doc.id}`);
    assert.match(full.body, /within 60 days/);

    // Search: the passages on the page are the API's, in its order.
    const q = `return within days ${tag}`;
    await page.getByLabel('Question').fill(q);
    await page.getByRole('search', { name: 'Search the knowledge base' }).getByRole('button', { name: 'Search' }).click();
    const found = (await stack.api('GET', `/kb/search?q=${encodeURIComponent(q)}&k=5`)).data;
    assert.ok(found.length >= 1 && found[0].document_id === doc.id, JSON.stringify(found));
    const passages = page.locator('.ast-passage');
    await passages.first().waitFor();
    assert.equal(await passages.count(), found.length);
    assert.equal(await passages.first().getAttribute('data-document'), doc.id);
    assert.match(await passages.first().textContent(), /within 60 days/);
    assert.equal(Number(await passages.first().locator('[data-score]').getAttribute('data-score')), found[0].score);
    await checkScreen(page, 'assistant-kb', size);

    // Disable: the search no longer retrieves it; enable again.
    await row.getByRole('button', { name: `Disable ${title}` }).click();
    await page.locator(`tr[data-doc="${doc.id}"][data-enabled="false"]`).waitFor();
    assert.equal((await stack.api('GET', `/kb/documents/${doc.id}`)).enabled, false);
    assert.ok(!(await stack.api('GET', `/kb/search?q=${encodeURIComponent(q)}`)).data.some((p) => p.document_id === doc.id));
    await page.getByRole('search', { name: 'Search the knowledge base' }).getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction((id) => !document.querySelector(`.ast-passage[data-document="${id}"]`), doc.id);
    await row.getByRole('button', { name: `Enable ${title}` }).click();
    await page.locator(`tr[data-doc="${doc.id}"][data-enabled="true"]`).waitFor();
    assert.equal((await stack.api('GET', `/kb/documents/${doc.id}`)).enabled, true);

    // Import a CSV: two rows accepted, the third rejected with its reason.
    const csv = `question,answer\nHow long do refunds take ${tag}?,Five business days.\nDo you ship abroad ${tag}?,Yes: to the EU and the UK.\nWhat are your hours ${tag}?,\n`;
    await page.getByLabel('File').setInputFiles({ name: `faq-${tag}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const report = page.locator('[data-import-report]');
    await report.waitFor();
    assert.equal(await report.locator('[data-accepted]').getAttribute('data-accepted'), '2');
    assert.match(await report.textContent(), /2 documents accepted\./);
    const rejected = report.locator('tr[data-row="4"]');
    assert.match(await rejected.textContent(), /missing answer/);
    assert.equal(await report.locator('tbody tr').count(), 1);
    const imported = await waitFor(() => docByTitle(`How long do refunds take ${tag}?`), 'the imported document');
    await page.locator(`tr[data-doc="${imported.id}"]`).waitFor();
    await checkScreen(page, 'assistant-kb-import', size);

    // A file of another type is refused before it is sent.
    await page.getByLabel('File').setInputFiles({ name: 'faq.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4') });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('[data-toast="error"]', { hasText: 'Choose a .csv, .json, .md or .txt file.' }).waitFor();

    // Delete after the confirmation.
    await page.locator(`tr[data-doc="${imported.id}"]`).getByRole('button', { name: `Delete ${imported.title}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this document?' });
    await confirm.waitFor();
    await checkScreen(page, 'assistant-kb-delete', size);
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.locator(`tr[data-doc="${imported.id}"]`).waitFor({ state: 'detached' });
    assert.equal(await docByTitle(imported.title), undefined);

    // A viewer reads and searches, without any write control.
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(stack.base + '/assistant/kb');
    await viewer.locator(`tr[data-doc="${doc.id}"]`).waitFor();
    for (const name of ['New document', 'Import', `Disable ${title}`, `Delete ${title}`]) {
      assert.equal(await viewer.getByRole('button', { name, exact: true }).count(), 0, `no "${name}" for a viewer`);
    }
    assert.equal(await viewer.getByLabel('File').count(), 0);
    await viewer.getByText('Only owners and admins change the knowledge base.').waitFor();
    await viewer.getByLabel('Question').fill(q);
    await viewer.getByRole('search', { name: 'Search the knowledge base' }).getByRole('button', { name: 'Search' }).click();
    await viewer.locator(`.ast-passage[data-document="${doc.id}"]`).first().waitFor();
    await viewer.locator(`tr[data-doc="${doc.id}"]`).getByRole('button', { name: title, exact: true }).click();
    const ro = viewer.getByRole('dialog', { name: title });
    await ro.getByLabel('Text').waitFor();
    assert.equal(await ro.getByLabel('Text').getAttribute('readonly'), '');
    assert.equal(await ro.getByRole('button', { name: 'Save' }).count(), 0);
    await checkScreen(viewer, 'assistant-kb-viewer', size);

    for (const p of [page, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}
