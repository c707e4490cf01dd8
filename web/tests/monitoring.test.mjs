// Monitoring, at both sizes, after real traffic through the fake providers:
// SMS delivered and undelivered (Twilio error 30003), a WhatsApp exchange
// whose status callbacks carry Meta's time (callback latency), and sends
// that failed until they were dead-lettered (a fake Twilio answering 500,
// with two attempts allowed). The numbers on the screen are the API's
// (GET /api/v1/monitoring/summary, read at the same time); an admin retries
// one dead job and discards another; a viewer sees the numbers without
// the dead-letter actions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIZES, checkScreen, goNav, launch, login, newPage } from './lib/browser.mjs';
import { number, startSmsStack, waitFor } from './lib/sms.mjs';

let env;
let browser;
before(async () => {
  env = await startSmsStack({ SB_SEND_MAX_ATTEMPTS: '2', SB_SEND_RETRY_BASE_MS: '100', SB_SEND_RETRY_MAX_MS: '200' });
  browser = await launch();
  await traffic();
});
after(async () => {
  if (browser) await browser.close();
  if (env) await env.stop();
});

async function status(id) {
  return (await env.stack.api('GET', '/messages/' + id)).status;
}

async function sendSms(text) {
  return (await env.stack.api('POST', '/messages', { account_id: env.sms.id, to: number(), text })).id;
}

async function traffic() {
  const { stack, twilio } = env;
  await twilio.mode({ mode: 'ok', callbacks: ['sent', 'delivered'] });
  for (const id of [await sendSms('hello 1'), await sendSms('hello 2')]) await waitFor(async () => (await status(id)) === 'delivered', 'SMS delivered');
  await twilio.mode({ callbacks: ['sent', 'undelivered'], error_code: '30003' });
  const bad = await sendSms('to a phone that is off');
  await waitFor(async () => (await status(bad)) === 'undelivered', 'SMS undelivered');
  await twilio.mode({ callbacks: ['sent', 'delivered'] });

  const wa = '+1650555' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
  await stack.inboundWhatsApp(wa, 'hi there', 'Ada');
  await waitFor(async () => {
    for (const c of (await stack.api('GET', '/conversations')).data) {
      const msgs = (await stack.api('GET', `/conversations/${c.id}/messages`)).data;
      if (msgs.some((m) => m.direction === 'inbound' && m.address === wa)) return true;
    }
    return false;
  }, 'WhatsApp inbound');
  const out = await stack.api('POST', '/messages', { account_id: stack.wa.id, to: wa, text: 'hello back' });
  await waitFor(async () => (await status(out.id)) === 'delivered', 'WhatsApp delivered');
}

/** Two sends the provider refuses until they are dead-lettered; their job ids. */
async function deadJobs() {
  const { stack, twilio } = env;
  const before = new Set((await stack.api('GET', '/jobs/dead')).data.map((j) => j.id));
  await twilio.mode({ mode: '500' });
  await sendSms('provider down 1');
  await sendSms('provider down 2');
  const fresh = await waitFor(async () => {
    const d = (await stack.api('GET', '/jobs/dead')).data.filter((j) => !before.has(j.id));
    return d.length >= 2 ? d : null;
  }, 'two dead-letter jobs');
  await twilio.mode({ mode: 'ok' });
  return fresh.map((j) => j.id);
}

const pct = (r) => (r === null ? '—' : new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(r));
const num = (n) => new Intl.NumberFormat('en-US').format(n);

async function stat(scope, name) {
  return (await scope.locator(`[data-stat="${name}"] dd`).first().textContent()).trim();
}

for (const size of SIZES) {
  test(`monitoring matches the API, dead jobs retried and discarded (${size.name})`, async () => {
    const { stack } = env;
    const [retryId, discardId] = await deadJobs();

    const page = await newPage(browser, size);
    await login(page, stack.base, stack.users.admin);
    await goNav(page, 'Monitoring');
    await page.getByRole('heading', { name: 'Monitoring', level: 1 }).waitFor();
    await page.locator('[data-channel="sms"]').waitFor();
    const api = await stack.api('GET', '/monitoring/summary');

    // Totals and each channel's numbers are the API's.
    const totals = page.locator('[data-summary="totals"]');
    let out = 0;
    let received = 0;
    for (const c of api.channels) {
      out += c.outbound.total;
      received += c.inbound.received;
      const card = page.locator(`[data-channel="${c.channel}"]`);
      assert.equal(await stat(card, 'outbound'), num(c.outbound.total), `${c.channel} outbound`);
      assert.equal(await stat(card, 'delivery_rate'), pct(c.delivery_rate), `${c.channel} rate`);
      assert.equal(await stat(card, 'received'), num(c.inbound.received), `${c.channel} received`);
      for (const s of ['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered']) {
        assert.equal((await card.locator(`td[data-status="${s}"]`).textContent()).trim(), num(c.outbound[s]), `${c.channel} ${s}`);
      }
      assert.equal(await card.locator('canvas').count(), 1, `${c.channel} has its chart`);
    }
    assert.equal(await stat(totals, 'outbound'), num(out));
    assert.equal(await stat(totals, 'received'), num(received));
    assert.equal(await stat(totals, 'jobs_dead'), num(api.jobs.dead));
    assert.ok(api.jobs.dead >= 2);
    const sms = api.channels.find((c) => c.channel === 'sms');
    assert.ok(sms.outbound.delivered >= 2 && sms.outbound.undelivered >= 1, JSON.stringify(sms));
    for (const f of api.failures) {
      const row = page.locator(`.mon-failures tr[data-reason="${f.reason}"]`);
      assert.equal((await row.locator('td').last().textContent()).trim(), num(f.count));
    }
    assert.ok(api.failures.some((f) => f.reason === '30003'));
    const lat = api.callback_latency.find((p) => p.provider === 'whatsapp');
    assert.ok(lat && lat.count >= 1, 'WhatsApp callbacks measured');
    assert.equal(await stat(page.locator('[data-provider="whatsapp"]'), 'count'), num(lat.count));
    await checkScreen(page, 'monitoring', size);

    // Dead-letter jobs: retry one, discard the other.
    await page.locator(`[data-job="${retryId}"]`).scrollIntoViewIfNeeded();
    await page.locator(`[data-job="${retryId}"]`).getByRole('button', { name: /^Retry/ }).click();
    await page.locator(`[data-job="${retryId}"]`).waitFor({ state: 'detached' });
    await page.locator(`[data-job="${discardId}"]`).getByRole('button', { name: /^Discard/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Discard this job?' });
    await dialog.waitFor();
    await checkScreen(page, 'monitoring-discard', size);
    await dialog.getByRole('button', { name: 'Discard', exact: true }).click();
    await page.locator(`[data-job="${discardId}"]`).waitFor({ state: 'detached' });
    const dead = (await stack.api('GET', '/jobs/dead')).data.map((j) => j.id);
    assert.ok(!dead.includes(retryId) && !dead.includes(discardId), 'both jobs left the dead-letter list');

    // A viewer sees the numbers, not the dead-letter actions.
    const viewer = await newPage(browser, size);
    await login(viewer, stack.base, stack.users.viewer);
    await viewer.goto(stack.base + '/monitoring');
    await viewer.locator('[data-channel="sms"]').waitFor();
    assert.equal(await viewer.getByRole('button', { name: /^(Retry|Discard)/ }).count(), 0);
    await viewer.getByText('Owners and admins can see and retry dead-letter jobs.').waitFor();
    await checkScreen(viewer, 'monitoring-viewer', size);

    for (const p of [page, viewer]) {
      assert.deepEqual(p.jsErrors, []);
      await p.context().close();
    }
  });
}
