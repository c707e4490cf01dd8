// Send a message to one or many contacts: the channel account, the
// recipients (a list in a fixed-height scrolling box with a search above it
// that filters by name as you type; choices survive the filter), free text
// or an approved template. Before sending, POST /api/v1/messages/preflight
// shows who would be excluded and why (opted out, suppressed, no address on
// the channel, outside the window…); then each recipient gets its own POST
// /api/v1/messages with its own Idempotency-Key, and the result per
// recipient is listed.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Button, Card, Field, PageHeader, Select, Spinner, channelName } from '../../components/index.js';
import { api, newKey, qs } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { templatePayload, templatePreview, templateVars } from '../../lib/templates.js';
import { toast } from '../../lib/toast.js';
import { Recipients } from './recipients.jsx';

const MAX_CONTACTS = 2000;
const PARALLEL = 4;

async function loadAllContacts() {
  let out = [];
  let cursor = null;
  do {
    const r = await api('GET', '/contacts' + qs({ limit: 100, cursor }));
    out = out.concat(r.data);
    cursor = r.next_cursor;
  } while (cursor && out.length < MAX_CONTACTS);
  return out;
}

function reasonText(r, channel) {
  const key = 'inbox.reach.' + r.code;
  const s = t(key, { channel: channelName(channel) });
  return s === key ? r.message || r.code : s;
}

export default function Send() {
  const [accounts, setAccounts] = useState(null);
  const [accountId, setAccountId] = useState('');
  const [contacts, setContacts] = useState(null);
  const [selected, setSelected] = useState(() => new Set());
  const [mode, setMode] = useState('text');
  const [text, setText] = useState('');
  const [templates, setTemplates] = useState([]);
  const [tplId, setTplId] = useState('');
  const [vars, setVars] = useState({});
  const [check, setCheck] = useState(null);
  const [checking, setChecking] = useState(false);
  const [sending, setSending] = useState(false);
  const [results, setResults] = useState(null);
  const keys = useRef(new Map());

  useEffect(() => {
    api('GET', '/channels')
      .then((r) => {
        setAccounts(r.data);
        if (r.data.length) setAccountId(r.data[0].id);
      })
      .catch((e) => {
        setAccounts([]);
        toast.error(e);
      });
    loadAllContacts()
      .then(setContacts)
      .catch((e) => {
        setContacts([]);
        toast.error(e);
      });
  }, []);
  const account = accounts && accounts.find((a) => a.id === accountId);
  useEffect(() => {
    setTplId('');
    setTemplates([]);
    if (!accountId) return;
    api('GET', '/templates' + qs({ account_id: accountId, status: 'approved' }))
      .then((r) => setTemplates((r.data || []).filter((x) => x.sendable !== false)))
      .catch(() => setTemplates([]));
  }, [accountId]);
  const tpl = templates.find((x) => x.id === tplId);
  const ids = useMemo(() => [...selected], [selected]);

  // Preflight whenever what would be sent changes.
  useEffect(() => {
    setCheck(null);
    if (!accountId || !ids.length || (mode === 'template' && !tpl)) return;
    let live = true;
    const h = setTimeout(() => {
      setChecking(true);
      const body = { account_id: accountId, contact_ids: ids.slice(0, 500) };
      if (mode === 'template' && tpl) body.template = { name: tpl.name, language: tpl.language };
      api('POST', '/messages/preflight', body)
        .then((r) => live && setCheck(r))
        .catch((e) => live && toast.error(e))
        .finally(() => live && setChecking(false));
    }, 300);
    return () => {
      live = false;
      clearTimeout(h);
    };
  }, [accountId, ids, mode, tplId]);

  const byId = useMemo(() => new Map((contacts || []).map((c) => [c.id, c])), [contacts]);
  const decisions = check ? new Map(check.data.map((d) => [d.contact_id, d])) : null;
  const excluded = check ? check.data.filter((d) => !d.ok) : [];
  const going = ids.filter((id) => !decisions || !decisions.has(id) || decisions.get(id).ok);
  const missing = templateVars(tpl).filter((v) => !vars[v]);
  const ready = account && going.length > 0 && !checking && check && (mode === 'text' ? text.trim() : tpl && !missing.length);

  const payload = () => {
    if (mode === 'text') return { text: text.trim() };
    return { template: templatePayload(tpl, vars) };
  };

  const send = async (e) => {
    e.preventDefault();
    if (!ready) return;
    setSending(true);
    const body = payload();
    const out = going.map((id) => ({ id, state: 'sending' }));
    setResults(out.slice());
    let i = 0;
    const worker = async () => {
      while (i < out.length) {
        const n = i++;
        const cid = out[n].id;
        if (!keys.current.has(cid)) keys.current.set(cid, newKey());
        try {
          const m = await api('POST', '/messages', { account_id: accountId, contact_id: cid, ...body }, { headers: { 'Idempotency-Key': keys.current.get(cid) } });
          out[n] = { id: cid, state: 'queued', message: m };
        } catch (err) {
          out[n] = { id: cid, state: 'failed', error: err };
        }
        setResults(out.slice());
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, out.length) }, worker));
    const ok = out.filter((r) => r.state === 'queued').length;
    const failed = out.length - ok;
    if (failed) toast.error(t('send.partial', { ok, failed }));
    else {
      toast.ok(t('send.done', { count: ok }));
      keys.current = new Map(); // the next send is a new one
    }
    setSending(false);
  };

  if (!accounts || !contacts) return <Spinner />;
  return (
    <div class="page send">
      <PageHeader title={t('send.title')} />
      <form class="send-form" onSubmit={send}>
        <Card title={t('send.from')}>
          {accounts.length ? (
            <Select
              label={t('send.account')}
              value={accountId}
              onChange={(e) => setAccountId(e.currentTarget.value)}
              options={accounts.map((a) => ({ value: a.id, label: `${channelName(a.channel)} · ${a.name}` }))}
            />
          ) : (
            <p class="muted">{t('send.no_accounts')}</p>
          )}
        </Card>
        <Card title={t('send.recipients')}>
          <Recipients contacts={contacts} selected={selected} onChange={setSelected} decisions={decisions} channel={account && account.channel} />
        </Card>
        <Card title={t('send.message')}>
          <fieldset class="send-mode">
            <legend>{t('send.content')}</legend>
            <label class="radio">
              <input type="radio" name="mode" value="text" checked={mode === 'text'} onChange={() => setMode('text')} /> {t('send.free_text')}
            </label>
            <label class="radio">
              <input type="radio" name="mode" value="template" checked={mode === 'template'} onChange={() => setMode('template')} /> {t('send.template')}
            </label>
          </fieldset>
          {mode === 'text' ? (
            <Field label={t('send.text')} multiline rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          ) : templates.length === 0 ? (
            <p class="muted">{t('inbox.no_templates', { channel: account ? channelName(account.channel) : '' })}</p>
          ) : (
            <>
              <Select
                label={t('send.template')}
                value={tplId}
                onChange={(e) => {
                  setTplId(e.currentTarget.value);
                  setVars({});
                }}
                options={[{ value: '', label: t('inbox.choose_template') }, ...templates.map((x) => ({ value: x.id, label: `${x.name} (${x.language})` }))]}
              />
              {tpl &&
                templateVars(tpl).map((v) => (
                  <Field key={v} label={t('inbox.variable', { name: '{{' + v + '}}' })} value={vars[v] || ''} required onInput={(e) => setVars({ ...vars, [v]: e.currentTarget.value })} />
                ))}
              {tpl && <p class="tpl-preview">{templatePreview(tpl, vars)}</p>}
            </>
          )}
        </Card>
        <Card title={t('send.review')}>
          <div aria-live="polite">
            {!ids.length ? (
              <p class="muted">{t('send.pick_recipients')}</p>
            ) : checking || !check ? (
              <p class="muted">{mode === 'template' && !tpl ? t('send.pick_template') : t('send.checking')}</p>
            ) : (
              <>
                <p class="send-summary" data-going={going.length} data-excluded={excluded.length}>
                  {t('send.summary', { count: going.length })}
                  {excluded.length > 0 && ' ' + t('send.excluded_count', { count: excluded.length })}
                </p>
                {excluded.length > 0 && (
                  <ul class="excluded-list" aria-label={t('send.excluded')}>
                    {excluded.map((d) => {
                      const c = byId.get(d.contact_id);
                      return (
                        <li key={d.contact_id} data-excluded={d.contact_id}>
                          <strong>{c ? c.name || c.phone || c.email : d.contact_id}</strong>: {reasonText(d, account && account.channel)}
                        </li>
                      );
                    })}
                  </ul>
                )}
              </>
            )}
          </div>
          <Button type="submit" variant="primary" busy={sending} disabled={!ready}>
            {t('send.send', { count: going.length })}
          </Button>
        </Card>
      </form>
      {results && (
        <Card title={t('send.results')} class="send-results">
          <ul class="result-list">
            {results.map((r) => {
              const c = byId.get(r.id);
              return (
                <li key={r.id} data-result={r.state}>
                  <span class="result-name">{c ? c.name || c.phone || c.email : r.id}</span>
                  <span class={`pill ${r.state === 'queued' ? 'pill-ok' : r.state === 'failed' ? 'pill-danger' : ''}`}>
                    {r.state === 'failed' ? r.error.message : t('send.state.' + r.state)}
                  </span>
                </li>
              );
            })}
          </ul>
        </Card>
      )}
    </div>
  );
}
