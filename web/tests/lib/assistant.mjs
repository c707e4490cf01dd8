// What the assistant's end-to-end tests share: turning the assistant on in
// draft mode (PUT /api/v1/assistant/config), a knowledge base document for
// it to answer from, and a customer's WhatsApp message (signed like Meta's)
// followed until the assistant's draft for it exists.

/** Poll fn until it returns something truthy; throws after ms. */
export async function waitFor(fn, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const INTENTS = [
  { name: 'hours', examples: ['what are your opening hours', 'when are you open', 'are you open on saturday'], action: 'answer' },
  { name: 'returns', examples: ['how do i return an item', 'can i get a refund', 'return policy'], action: 'answer' },
];

/** The assistant on, in draft mode, answering on WhatsApp from its knowledge base (two intents; documents on opening hours and returns). */
export async function draftMode(stack) {
  await stack.api('PUT', '/assistant/config', {
    config: { enabled: true, mode: 'draft', channels: { whatsapp: true }, intents: INTENTS, provider: { kind: 'extractive' } },
    note: 'e2e: draft mode',
  });
  await stack.api('POST', '/kb/documents', {
    title: 'Opening hours',
    body: 'Our shop is open from 9:00 to 17:00, Monday to Friday. On Saturdays we open from 10:00 to 14:00. We are closed on Sundays.',
    tags: ['hours'],
    language: 'en',
  });
  await stack.api('POST', '/kb/documents', {
    title: 'Returns',
    body: 'You can return any item within 30 days of delivery for a full refund. Refunds reach your card within five business days.',
    tags: ['returns'],
    language: 'en',
  });
}

let seq = Math.floor(Math.random() * 5000);
/** A new customer's number (each message its own conversation: a second message would make a pending draft stale). */
export function phone() {
  seq = (seq + 1) % 10000;
  return '+1415557' + String(seq).padStart(4, '0');
}

/** The draft for the inbound text (any status), once the assistant wrote it. */
export async function draftFor(stack, text, ms) {
  return waitFor(
    async () => (await stack.api('GET', '/assistant/drafts?status=all&limit=50')).data.find((d) => d.inbound_text === text),
    `the draft for "${text}"`,
    ms,
  );
}

/** A customer's message on WhatsApp, and the assistant's draft for it. */
export async function inboundDraft(stack, text, name = 'Casey') {
  await stack.inboundWhatsApp(phone(), text, name);
  return draftFor(stack, text);
}
