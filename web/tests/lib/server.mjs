// Starts what an end-to-end test needs, and nothing that was running before:
// the fake Meta Graph API (tests/fakes/fake_meta.py), the real `switchboard`
// binary ($SB_BIN) on a free loopback port with a temp data dir, a tenant
// with one user of each role (CLI, as an operator would), and a WhatsApp
// account pointed at the fake, whose status callbacks come back signed to
// the server. stop() ends every process started here and removes the dir.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(here, '..', '..');
export const REPO = resolve(WEB_DIR, '..');
export const DIST = join(WEB_DIR, 'dist');
export const SB_BIN = process.env.SB_BIN || join(REPO, 'build-dev', 'src', 'switchboard');

export const WA = {
  token: 'wa-access-e2e-5d4c',
  appSecret: 'meta-app-secret-e2e-31',
  pnid: '106540352242977',
  waba: '102290129340311',
};
export const PASSWORD = 'correct horse battery staple';

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

async function stopProc(proc, signal = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
  await done;
  clearTimeout(t);
}

/** A fake provider: python3 tests/fakes/<script> 0 args…; resolves {port, base, mode(), requests(), stop()}. */
export async function startFake(script, args = []) {
  const proc = track(spawn('python3', [join(REPO, 'tests', 'fakes', script), '0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const port = await new Promise((res, rej) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', (c) => rej(new Error(`${script} exited ${c}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    base,
    async mode(state) {
      const r = await fetch(base + '/_fake/mode', { method: 'POST', body: JSON.stringify(state) });
      await r.text();
    },
    async requests() {
      return (await fetch(base + '/_fake/requests')).json();
    },
    stop: () => stopProc(proc),
  };
}

/** Meta's serialisation of a webhook body (compact, non-ASCII as \uXXXX, "/" as "\/") and its signature. */
export function metaBody(obj) {
  return JSON.stringify(obj)
    .replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    .replace(/\//g, '\\/');
}

export function metaSignature(secret, body) {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export function waText(wamid, from, text, name) {
  return waPayload(from, name, { id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } });
}

/** A WhatsApp Cloud API webhook body carrying one message from `from` (msg: the message without "from"). */
export function waPayload(from, name, msg) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WA.waba,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: WA.pnid },
              contacts: name ? [{ profile: { name }, wa_id: from.replace('+', '') }] : [],
              messages: [{ from: from.replace('+', ''), ...msg }],
            },
          },
        ],
      },
    ],
  };
}

/**
 * Start everything. Resolves {base (what the browser opens), port, tenant,
 * users {owner, admin, agent, viewer} (e-mails; password PASSWORD), wa {id,
 * key, path}, meta (the fake), cli(args, input), api(method, path, body)
 * (an admin API key), inboundWhatsApp(from, text, name), inboundWhatsAppImage(from,
 * bytes, mime, caption, name), stop()}.
 */
export async function startStack() {
  if (!existsSync(SB_BIN)) throw new Error(`no server binary at ${SB_BIN}: build it or set SB_BIN`);
  if (!existsSync(join(DIST, 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  const meta = await startFake('fake_meta.py', ['--access-token', WA.token, '--app-secret', WA.appSecret, '--waba-id', WA.waba]);
  const datadir = mkdtempSync(join(tmpdir(), 'sbweb_'));
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    SB_ENV: 'development',
    SB_COOKIE_SECURE: 'false',
    SB_LOG_LEVEL: 'warn',
    SB_DATA_DIR: datadir,
    SB_PUBLIC_URL: publicUrl,
    SB_WEB_DIR: DIST,
    SB_GRAPH_API_BASE: meta.base + '/v21.0',
    SB_PROVIDER_TIMEOUT_MS: '2000',
    SB_WORKERS: '2',
  };
  delete env.SB_DATABASE_URL;
  const cli = (args, input) => {
    const r = spawnSync(SB_BIN, [...args, '--data', datadir], { env, cwd: datadir, input: input || '', timeout: 60000 });
    if (r.status !== 0) throw new Error(`switchboard ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout.toString();
  };
  const cliJson = (args, input) => JSON.parse(cli([...args, '--json'], input));
  let proc = null;
  const stop = async () => {
    await stopProc(proc);
    await meta.stop();
    rmSync(datadir, { recursive: true, force: true });
  };
  try {
    cli(['migrate']);
    proc = track(spawn(SB_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data', datadir], { env, cwd: datadir, stdio: ['ignore', 'ignore', 'pipe'] }));
    let log = '';
    proc.stderr.on('data', (d) => {
      log = (log + d).slice(-8000);
    });
    const deadline = Date.now() + 30000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error('server exited: ' + log);
      try {
        if ((await fetch(publicUrl + '/healthz')).ok) break;
      } catch (_) {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error('server did not become healthy: ' + log);
      await new Promise((r) => setTimeout(r, 50));
    }
    const tenant = cliJson(['tenant', 'create', '--name', 'E2E Shop'])['id'];
    const users = {};
    for (const role of ['owner', 'admin', 'agent', 'viewer']) {
      users[role] = `${role}@e2e.example`;
      cliJson(['user', 'create', '--tenant', tenant, '--email', users[role], '--role', role, '--name', `${role[0].toUpperCase()}${role.slice(1)} E2E`, '--password-stdin'], PASSWORD + '\n');
    }
    const key = cliJson(['apikey', 'create', '--tenant', tenant, '--role', 'admin'])['key'];
    const settings = `phone_number_id=${WA.pnid}\naccess_token=${WA.token}\napp_secret=${WA.appSecret}\nverify_token=verify-e2e\nwaba_id=${WA.waba}\n`;
    const acct = cliJson(['channel', 'add', '--tenant', tenant, '--provider', 'whatsapp', '--name', 'WhatsApp Shop', '--set-stdin'], settings);
    const waPath = '/webhooks/whatsapp/' + acct.account_key;
    await meta.mode({ webhook_url: publicUrl + waPath, callbacks: ['sent', 'delivered'] });

    // The dashboard is served by the server itself (SB_WEB_DIR), SPA fallback included.
    const base = publicUrl;
    const home = await fetch(publicUrl + '/inbox', { headers: { Accept: 'text/html' } }).then((r) => r.text());
    if (!home.includes('id="app"')) throw new Error(`the server does not serve the dashboard from ${DIST}: run node build.mjs first`);
    const api = async (method, path, body, headers = {}) => {
      const r = await fetch(publicUrl + '/api/v1' + path, {
        method,
        headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json', ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      const data = text ? JSON.parse(text) : null;
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return data;
    };
    const postWhatsApp = async (payload) => {
      const body = metaBody(payload);
      const r = await fetch(publicUrl + waPath, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': metaSignature(WA.appSecret, body) },
        body,
      });
      if (r.status !== 200) throw new Error('webhook refused: ' + r.status + ' ' + (await r.text()));
    };
    const inboundWhatsApp = (from, text, name) => postWhatsApp(waText('wamid.' + randomBytes(12).toString('hex'), from, text, name));
    // A picture: the fake Graph API serves the file under a media id the webhook names.
    const inboundWhatsAppImage = async (from, bytes, mime, caption, name) => {
      const mediaId = String(Date.now()) + randomBytes(3).toString('hex').replace(/[a-f]/g, '7');
      await meta.mode({ media: { [mediaId]: { mime_type: mime, body_b64: Buffer.from(bytes).toString('base64') } } });
      const sha = createHash('sha256').update(bytes).digest('base64');
      await postWhatsApp(
        waPayload(from, name, {
          id: 'wamid.' + randomBytes(12).toString('hex'),
          timestamp: String(Math.floor(Date.now() / 1000)),
          type: 'image',
          image: { caption, mime_type: mime, sha256: sha, id: mediaId },
        }),
      );
    };
    return { base, port, publicUrl, tenant, users, key, wa: { id: acct.id, key: acct.account_key, path: waPath }, meta, cli, cliJson, api, inboundWhatsApp, inboundWhatsAppImage, stop, log: () => log };
  } catch (e) {
    await stop();
    throw e;
  }
}
