// The inbox's first meaningful paint with 10,000 conversations, on loopback.
//
// One server (the real binary, $SB_BIN) and one Chromium. The paint is the
// time from the start of a navigation to /inbox until the first conversation
// row is in the DOM and visible (the list's first page, drawn from the API),
// read from the page's own clock (performance.now(), origin = navigation
// start). Baseline in the same run, same server and browser: the same paint
// with a single conversation in the tenant, measured before the 10,000 are
// written. The ratio says what 10,000 conversations cost the first paint.
//
// Seeding goes through the real path: signed WhatsApp webhooks from 10,000
// different numbers, each processed by the workers into a contact and a
// conversation. Knobs: BENCH_CONVERSATIONS (10000), BENCH_ROUNDS (7),
// BENCH_CONCURRENCY (16).
import { launch, login, newPage, SIZES } from '../tests/lib/browser.mjs';
import { startStack } from '../tests/lib/server.mjs';

const N = Number(process.env.BENCH_CONVERSATIONS || 10000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 16);
const TARGET_MS = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function inboundCount(stack) {
  const now = Date.now();
  const s = await stack.api('GET', `/monitoring/summary?from=${new Date(now - 86400000).toISOString()}&to=${new Date(now + 60000).toISOString()}`);
  return s.channels.reduce((n, c) => n + c.inbound.received, 0);
}

async function waitInbound(stack, n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await inboundCount(stack);
    if (got >= n) return got;
    if (Date.now() > deadline) throw new Error(`only ${got} of ${n} inbound messages processed in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function paint(page, base) {
  await page.goto(base + '/inbox', { waitUntil: 'commit' });
  await page.locator('.conv-list li').first().waitFor({ state: 'visible', timeout: 30000 });
  return page.evaluate(() => performance.now());
}

async function measure(page, base, label) {
  await paint(page, base); // warm: caches, connection, the server's prepared statements
  const xs = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await paint(page, base));
  const m = median(xs);
  console.log(`${label}: median ${m.toFixed(0)} ms over ${ROUNDS} loads (each: ${xs.map((x) => x.toFixed(0)).join(", ")})`);
  return m;
}

const stack = await startStack();
let browser;
try {
  browser = await launch();
  const page = await newPage(browser, SIZES[0]); // 1280x800

  await stack.inboundWhatsApp('+15550000000', 'hello', 'First Customer');
  await waitInbound(stack, 1, 30000);
  await login(page, stack.base, stack.users.agent);
  const base1 = await measure(page, stack.base, 'inbox paint, 1 conversation (baseline)');

  const t0 = Date.now();
  let next = 1;
  const worker = async () => {
    while (next <= N) {
      const i = next++;
      await stack.inboundWhatsApp('+1555' + String(1000000 + i).slice(-7), `message ${i}`, `Customer ${i}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const total = await waitInbound(stack, N + 1, 600000);
  console.log(`seeded ${N} conversations through signed webhooks in ${((Date.now() - t0) / 1000).toFixed(1)} s (${total} inbound messages processed)`);

  const big = await measure(page, stack.base, `inbox paint, ${N + 1} conversations`);
  const ratio = big / base1;
  console.log(`target: first paint with ${N} conversations under ${TARGET_MS} ms: ${big < TARGET_MS ? 'met' : 'MISSED'}`);
  console.log(`inbox_${N}_vs_1 ratio=${ratio.toFixed(2)}`);
  if (big >= TARGET_MS) process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await stack.stop();
}
