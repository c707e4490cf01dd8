/*
 * What POST /api/v1/channels takes per provider (src/messaging/
 * messaging_account.c: required, one-of and optional settings, and their
 * checks), as guided fields for the "add a channel account" form. Labels
 * and help come from the dictionary (settings.providers.<provider>.<field>
 * and settings.fields.<field>.help); patterns here only help early, the
 * server's answer is the one shown when it refuses.
 */

const HEX32 = '[0-9a-fA-F]{32}';

/* kind: text | secret | email | select; oneOf: a group name where at least
 * one field of the group is needed (Twilio: from or messaging_service_sid). */
export const PROVIDERS = [
  {
    provider: 'twilio',
    channel: 'sms',
    docs: 'https://console.twilio.com/',
    fields: [
      { name: 'account_sid', kind: 'text', required: true, pattern: `AC${HEX32}`, placeholder: 'AC…' },
      { name: 'auth_token', kind: 'secret', required: true },
      { name: 'from', kind: 'text', oneOf: 'sender', pattern: '\\+[1-9][0-9]{6,14}', placeholder: '+14155550123', inputmode: 'tel' },
      { name: 'messaging_service_sid', kind: 'text', oneOf: 'sender', pattern: `MG${HEX32}`, placeholder: 'MG…' },
    ],
  },
  {
    provider: 'whatsapp',
    channel: 'whatsapp',
    fields: [
      { name: 'phone_number_id', kind: 'text', required: true, pattern: '[0-9]{1,32}', inputmode: 'numeric' },
      { name: 'access_token', kind: 'secret', required: true },
      { name: 'app_secret', kind: 'secret', required: true },
      { name: 'verify_token', kind: 'secret', required: true },
      { name: 'waba_id', kind: 'text', pattern: '[0-9]{1,32}', inputmode: 'numeric' },
    ],
  },
  {
    provider: 'telegram',
    channel: 'telegram',
    fields: [
      { name: 'bot_token', kind: 'secret', required: true, pattern: '[0-9]{1,20}:[A-Za-z0-9_\\-]{1,256}', placeholder: '123456789:AA…' },
      { name: 'secret_token', kind: 'secret', pattern: '[A-Za-z0-9_\\-]{1,256}' },
    ],
  },
  {
    provider: 'instagram',
    channel: 'instagram',
    fields: [
      { name: 'ig_user_id', kind: 'text', required: true, pattern: '[0-9]{1,32}', inputmode: 'numeric' },
      { name: 'access_token', kind: 'secret', required: true },
      { name: 'app_secret', kind: 'secret', required: true },
      { name: 'verify_token', kind: 'secret', required: true },
    ],
  },
  {
    provider: 'smtp',
    channel: 'email',
    fields: [
      { name: 'host', kind: 'text', required: true, placeholder: 'smtp.example.com' },
      { name: 'port', kind: 'text', pattern: '[0-9]{1,5}', placeholder: '587', inputmode: 'numeric' },
      { name: 'tls', kind: 'select', options: ['starttls', 'implicit', 'none'] },
      { name: 'username', kind: 'text', autocomplete: 'off' },
      { name: 'password', kind: 'secret' },
      { name: 'from_email', kind: 'email', required: true, placeholder: 'support@example.com' },
      { name: 'from_name', kind: 'text' },
      { name: 'ca_file', kind: 'text', pattern: '/.*', placeholder: '/etc/ssl/certs/ca.pem' },
    ],
  },
  {
    provider: 'sendgrid',
    channel: 'email',
    fields: [
      { name: 'api_key', kind: 'secret', required: true, placeholder: 'SG.…' },
      { name: 'from_email', kind: 'email', required: true, placeholder: 'support@example.com' },
      { name: 'from_name', kind: 'text' },
      { name: 'event_public_key', kind: 'text' },
      { name: 'inbound_secret', kind: 'secret', pattern: '.{16,}' },
    ],
  },
  {
    provider: 'webchat',
    channel: 'webchat',
    fields: [
      { name: 'allowed_origins', kind: 'text', required: true, placeholder: 'https://shop.example.com' },
      { name: 'title', kind: 'text' },
      { name: 'greeting', kind: 'text' },
      { name: 'color', kind: 'text', pattern: '#[0-9a-fA-F]{6}', placeholder: '#0b5cad' },
    ],
  },
];

export function providerDef(provider) {
  return PROVIDERS.find((p) => p.provider === provider) || null;
}

/* The settings object to send: trimmed, empty fields left out. Returns
 * {settings, missing: [field names or 'a|b' groups], invalid: [names]}. */
export function collectSettings(def, values) {
  const settings = {};
  const missing = [];
  const invalid = [];
  const groups = {};
  for (const f of def.fields) {
    const v = (values[f.name] || '').trim();
    if (f.oneOf) (groups[f.oneOf] ||= []).push(f.name);
    if (!v) {
      if (f.required) missing.push(f.name);
      continue;
    }
    if (f.pattern && !new RegExp(`^(?:${f.pattern})$`).test(v)) invalid.push(f.name);
    settings[f.name] = v;
  }
  for (const names of Object.values(groups)) if (!names.some((n) => settings[n])) missing.push(names.join('|'));
  return { settings, missing, invalid };
}

/* The webhook URLs of an account as [{key, url}] (booleans are shown as
 * facts elsewhere). */
export function webhookList(urls) {
  return Object.entries(urls || {})
    .filter(([, v]) => typeof v === 'string')
    .map(([key, url]) => ({ key, url }));
}
