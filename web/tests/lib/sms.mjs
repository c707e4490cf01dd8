// The end-to-end stack (server.mjs) plus an SMS account at the fake Twilio
// (tests/fakes/fake_twilio.py): the fake starts first and the server is
// pointed at it (SB_TWILIO_API_BASE), then the account is added through the
// API as an admin would. extraEnv goes to the server too (e.g. short send
// retries so a failing provider makes a dead-letter job quickly).
import { startFake, startStack } from './server.mjs';

export const TWILIO = { sid: 'AC' + '7'.repeat(32), token: 'twilio-token-e2e-41c2', from: '+14155550177' };

export async function startSmsStack(extraEnv = {}) {
  const twilio = await startFake('fake_twilio.py', ['--account-sid', TWILIO.sid, '--auth-token', TWILIO.token]);
  const saved = {};
  const env = { SB_TWILIO_API_BASE: twilio.base, ...extraEnv };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  let stack;
  try {
    stack = await startStack();
  } catch (e) {
    await twilio.stop();
    throw e;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  await twilio.mode({ mode: 'ok', callbacks: ['sent', 'delivered'] });
  const sms = await stack.api('POST', '/channels', {
    provider: 'twilio',
    name: 'SMS Shop',
    settings: { account_sid: TWILIO.sid, auth_token: TWILIO.token, from: TWILIO.from },
  });
  const stop = async () => {
    await stack.stop();
    await twilio.stop();
  };
  return { stack, twilio, sms, stop };
}

/** A fresh E.164 number for one test. */
export function number() {
  return '+1415556' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
}

/** Poll fn until it returns something truthy (or throw after ms). */
export async function waitFor(fn, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The API as the page's own session (cookie + CSRF token): {status, body}. */
export async function pageApi(page, method, path, body) {
  return page.evaluate(
    async ([m, p, b]) => {
      const me = await (await fetch('/api/v1/me')).json();
      const r = await fetch('/api/v1' + p, {
        method: m,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: b ? JSON.stringify(b) : undefined,
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    [method, path, body],
  );
}
