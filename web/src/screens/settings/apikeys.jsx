// Settings › API keys: the tenant's keys by name, role and prefix (the keys
// themselves are never listed), a new key shown exactly once after it is
// created, and revoking. Owners and admins only (apikeys.*).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Dialog, Empty, Field, Select, Spinner } from '../../components/index.js';
import { grantable } from './team.jsx';

function NewKey({ created, onDone }) {
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      toast.ok(t('settings.copied'));
    } catch (_) {
      toast.error(t('settings.copyFailed'));
    }
  }
  return (
    <div class="set-created" role="status" data-new-key={created.id}>
      <h3>{t('settings.apikeys.createdTitle', { name: created.name || created.prefix })}</h3>
      <p>{t('settings.apikeys.onlyOnce')}</p>
      <div class="set-copyrow">
        <Field id="set-new-key" label={t('settings.apikeys.key')} value={created.key} readOnly class="set-mono" onFocus={(e) => e.currentTarget.select()} />
        <Button onClick={copy}>{t('settings.copy')}</Button>
      </div>
      <Button variant="primary" onClick={onDone}>
        {t('settings.apikeys.done')}
      </Button>
    </div>
  );
}

export function ApiKeys() {
  const session = useSession();
  const { can } = session;
  const [keys, setKeys] = useState(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState('agent');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const [revoke, setRevoke] = useState(null);

  async function load() {
    try {
      const r = await api('GET', '/apikeys');
      setKeys(r.data || []);
    } catch (e) {
      toast.error(e);
      setKeys([]);
    }
  }
  useEffect(() => {
    load();
  }, []);

  async function create(e) {
    e.preventDefault();
    setBusy(true);
    try {
      const k = await api('POST', '/apikeys', { name: name.trim(), role });
      setCreated(k);
      setName('');
      toast.ok(t('settings.apikeys.created', { name: k.name || k.prefix }));
      load();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }

  async function doRevoke() {
    setBusy(true);
    try {
      await api('DELETE', `/apikeys/${revoke.id}`);
      toast.ok(t('settings.apikeys.revoked', { name: revoke.name || revoke.prefix }));
      setRevoke(null);
      load();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('settings.apikeys.title')}>
      <p class="field-hint">{t('settings.apikeys.help')}</p>
      {created ? <NewKey created={created} onDone={() => setCreated(null)} /> : null}
      {can('apikeys.create') ? (
        <form class="set-form set-inline" onSubmit={create} aria-labelledby="set-key-add">
          <h3 id="set-key-add">{t('settings.apikeys.create')}</h3>
          <Field id="set-key-name" label={t('settings.apikeys.name')} required value={name} maxLength={127} onInput={(e) => setName(e.currentTarget.value)} />
          <Select
            id="set-key-role"
            label={t('settings.apikeys.role')}
            value={role}
            onChange={(e) => setRole(e.currentTarget.value)}
            options={grantable(session.role).map((r) => ({ value: r, label: t(`common.roles.${r}`) }))}
          />
          <Button type="submit" variant="primary" busy={busy}>
            {t('settings.apikeys.createButton')}
          </Button>
        </form>
      ) : null}
      {keys === null ? (
        <Spinner />
      ) : !keys.length ? (
        <Empty title={t('settings.apikeys.none')} />
      ) : (
        <div class="set-scroll" tabIndex={0} role="region" aria-label={t('settings.apikeys.title')}>
          <table class="table set-table">
            <caption class="sr-only">{t('settings.apikeys.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('settings.apikeys.name')}</th>
                <th scope="col">{t('settings.apikeys.prefix')}</th>
                <th scope="col">{t('settings.apikeys.role')}</th>
                <th scope="col" class="set-opt">
                  {t('settings.apikeys.lastUsed')}
                </th>
                <th scope="col">{t('settings.apikeys.state')}</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key={k.id} data-revoked={k.revoked_at ? 'true' : 'false'}>
                  <th scope="row">{k.name || '—'}</th>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{t(`common.roles.${k.role}`)}</td>
                  <td class="set-opt">{k.last_used_at ? fmtDate(k.last_used_at) : t('settings.apikeys.never')}</td>
                  <td>
                    {k.revoked_at ? (
                      t('settings.apikeys.revokedAt', { when: fmtDate(k.revoked_at) })
                    ) : can('apikeys.revoke') ? (
                      <Button variant="danger" onClick={() => setRevoke(k)} aria-label={t('settings.apikeys.revokeOf', { name: k.name || k.prefix })}>
                        {t('settings.apikeys.revoke')}
                      </Button>
                    ) : (
                      t('settings.apikeys.active')
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        open={!!revoke}
        title={t('settings.apikeys.revokeTitle')}
        onClose={() => setRevoke(null)}
        footer={
          <>
            <Button onClick={() => setRevoke(null)}>{t('settings.cancel')}</Button>
            <Button variant="danger" busy={busy} onClick={doRevoke}>
              {t('settings.apikeys.revoke')}
            </Button>
          </>
        }
      >
        <p>{revoke ? t('settings.apikeys.revokeText', { name: revoke.name || revoke.prefix }) : ''}</p>
      </Dialog>
    </Card>
  );
}
