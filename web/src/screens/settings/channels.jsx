// Settings › Channels: the tenant's channel accounts with the webhook URLs to
// paste at each provider; adding one with fields guided per provider
// (providers.js), testing its connection and removing it, for the roles
// allowed to (channels.create, channels.test, channels.delete).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, ChannelIcon, Dialog, Empty, Field, Select, Spinner } from '../../components/index.js';
import { PROVIDERS, collectSettings, providerDef, webhookList } from './providers.js';

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast.ok(t('settings.copied'));
  } catch (_) {
    toast.error(t('settings.copyFailed'));
  }
}

/* The URLs to paste at the provider, each in a read-only field with a copy button. */
export function WebhookUrls({ account, idPrefix }) {
  const urls = webhookList(account.webhook_urls);
  const flags = Object.entries(account.webhook_urls || {}).filter(([, v]) => typeof v === 'boolean');
  if (!urls.length && !flags.length) return <p class="field-hint">{t('settings.channels.noWebhook')}</p>;
  return (
    <div class="set-webhooks" data-webhooks={account.id}>
      {urls.map(({ key, url }) => (
        <div class="set-copyrow" key={key}>
          <Field id={`${idPrefix}-${key}`} label={t(`settings.webhooks.${key}`)} value={url} readOnly data-webhook={key} onFocus={(e) => e.currentTarget.select()} />
          <Button onClick={() => copy(url)} aria-label={t('settings.copyOf', { what: t(`settings.webhooks.${key}`) })}>
            {t('settings.copy')}
          </Button>
        </div>
      ))}
      {flags.length ? (
        <ul class="set-flags">
          {flags.map(([k, v]) => (
            <li key={k}>
              {t(`settings.webhooks.${k}`)}: <strong>{v ? t('settings.yes') : t('settings.no')}</strong>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function AddAccount({ onCreated, onCancel }) {
  const [provider, setProvider] = useState('twilio');
  const [name, setName] = useState('');
  const [values, setValues] = useState({});
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const def = providerDef(provider);

  async function submit(e) {
    e.preventDefault();
    const { settings, missing, invalid } = collectSettings(def, values);
    if (missing.length || invalid.length) {
      const names = (list) => list.map((n) => n.split('|').map((f) => t(`settings.fields.${f}.label`)).join(` ${t('settings.or')} `)).join(', ');
      setProblem(missing.length ? t('settings.channels.missing', { names: names(missing) }) : t('settings.channels.invalid', { names: names(invalid) }));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const body = { provider, settings };
      if (name.trim()) body.name = name.trim();
      const out = await api('POST', '/channels', body);
      toast.ok(t('settings.channels.added', { name: out.name || out.address }));
      setValues({});
      onCreated(out);
    } catch (err) {
      setProblem(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="set-form" onSubmit={submit} aria-labelledby="set-add-title" novalidate>
      <h3 id="set-add-title">{t('settings.channels.add')}</h3>
      <Select
        id="set-provider"
        label={t('settings.channels.provider')}
        value={provider}
        hint={t(`settings.providers.${provider}.help`)}
        onChange={(e) => {
          setProvider(e.currentTarget.value);
          setValues({});
          setProblem(null);
        }}
        options={PROVIDERS.map((p) => ({ value: p.provider, label: t(`settings.providers.${p.provider}.name`) }))}
      />
      <Field id="set-name" label={t('settings.channels.name')} hint={t('settings.channels.nameHint')} value={name} maxLength={127} onInput={(e) => setName(e.currentTarget.value)} />
      {def.fields.map((f) => {
        const label = `${t(`settings.fields.${f.name}.label`)}${f.required ? ' *' : ''}`;
        const hint = t(`settings.fields.${f.name}.help`);
        const id = `set-f-${f.name}`;
        const v = values[f.name] || '';
        const on = (e) => {
          const x = e.currentTarget.value;
          setValues((o) => ({ ...o, [f.name]: x }));
        };
        if (f.kind === 'select')
          return (
            <Select
              key={f.name}
              id={id}
              label={label}
              hint={hint}
              value={v}
              data-setting={f.name}
              onChange={on}
              options={[{ value: '', label: t('settings.default') }, ...f.options.map((o) => ({ value: o, label: o }))]}
            />
          );
        return (
          <Field
            key={`${provider}-${f.name}`}
            id={id}
            label={label}
            hint={hint}
            value={v}
            data-setting={f.name}
            type={f.kind === 'secret' ? 'password' : f.kind === 'email' ? 'email' : 'text'}
            autocomplete={f.kind === 'secret' ? 'new-password' : 'off'}
            inputmode={f.inputmode}
            placeholder={f.placeholder}
            required={f.required}
            onInput={on}
          />
        );
      })}
      {problem ? (
        <p role="alert" class="error-text">
          {problem}
        </p>
      ) : null}
      <div class="set-actions">
        <Button type="submit" variant="primary" busy={busy}>
          {t('settings.channels.create')}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          {t('settings.cancel')}
        </Button>
      </div>
    </form>
  );
}

function Account({ a, onRemoved }) {
  const { can } = useSession();
  const [testing, setTesting] = useState(false);
  const [result, setResult] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);

  async function test() {
    setTesting(true);
    setResult(null);
    try {
      const r = await api('POST', `/channels/${a.id}/test`, {});
      const ok = !r || r.ok !== false;
      const text = (r && (r.message || r.detail)) || t(ok ? 'settings.channels.testOk' : 'settings.channels.testFailed');
      setResult({ ok, text });
      if (ok) toast.ok(t('settings.channels.testOk'));
      else toast.error(text);
    } catch (e) {
      setResult({ ok: false, text: e.message });
      toast.error(e);
    } finally {
      setTesting(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await api('DELETE', `/channels/${a.id}`);
      toast.ok(t('settings.channels.removed', { name: a.name || a.address }));
      setConfirm(false);
      onRemoved();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="set-account" data-account={a.id} data-provider={a.provider}>
      <div class="set-account-head">
        <ChannelIcon channel={a.channel} />
        <h3>{a.name || a.address}</h3>
        <span class="set-muted">
          {t(`settings.providers.${a.provider}.name`)} · {a.address}
        </span>
      </div>
      <p class="set-muted">{t('settings.channels.since', { when: fmtDate(a.created_at) })}</p>
      <WebhookUrls account={a} idPrefix={`set-wh-${a.id}`} />
      <div class="set-actions">
        {can('channels.test') ? (
          <Button busy={testing} onClick={test}>
            {t('settings.channels.test')}
          </Button>
        ) : null}
        {can('channels.delete') ? (
          <Button variant="danger" onClick={() => setConfirm(true)}>
            {t('settings.channels.remove')}
          </Button>
        ) : null}
      </div>
      {result ? (
        <p role="status" class={result.ok ? 'set-ok' : 'error-text'}>
          {result.text}
        </p>
      ) : null}
      <Dialog
        open={confirm}
        title={t('settings.channels.removeTitle')}
        onClose={() => setConfirm(false)}
        footer={
          <>
            <Button onClick={() => setConfirm(false)}>{t('settings.cancel')}</Button>
            <Button variant="danger" busy={busy} onClick={remove}>
              {t('settings.channels.remove')}
            </Button>
          </>
        }
      >
        <p>{t('settings.channels.removeText', { name: a.name || a.address })}</p>
      </Dialog>
    </li>
  );
}

export function Channels() {
  const { can } = useSession();
  const [accounts, setAccounts] = useState(null);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState(null);

  async function load() {
    try {
      const r = await api('GET', '/channels');
      setAccounts(r.data || []);
    } catch (e) {
      toast.error(e);
      setAccounts([]);
    }
  }
  useEffect(() => {
    load();
  }, []);

  return (
    <Card
      title={t('settings.channels.title')}
      actions={
        can('channels.create') && !adding ? (
          <Button variant="primary" onClick={() => (setAdding(true), setCreated(null))}>
            {t('settings.channels.add')}
          </Button>
        ) : null
      }
    >
      {adding ? (
        <AddAccount
          onCancel={() => setAdding(false)}
          onCreated={(a) => {
            setAdding(false);
            setCreated(a);
            load();
          }}
        />
      ) : null}
      {created ? (
        <div class="set-created" role="status" data-created={created.id}>
          <h3>{t('settings.channels.createdTitle', { name: created.name || created.address })}</h3>
          <p>{t('settings.channels.pasteHint')}</p>
          <WebhookUrls account={created} idPrefix="set-new-wh" />
          {created.templates && created.templates.warning ? <p class="error-text">{created.templates.warning}</p> : null}
        </div>
      ) : null}
      {accounts === null ? (
        <Spinner />
      ) : accounts.length ? (
        <ul class="set-accounts">
          {accounts.map((a) => (
            <Account key={a.id} a={a} onRemoved={load} />
          ))}
        </ul>
      ) : (
        <Empty title={t('settings.channels.none')} />
      )}
    </Card>
  );
}
