// Templates: the tenant's message templates by channel and status, a new
// template or an edit with a live preview, the approval workflow (submit;
// approve or reject for the roles allowed to) and each template's history of
// versions and decisions. Everything goes through /api/v1/templates.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, useLocale, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { Link, navigate } from '../../lib/router.js';
import { Button, ChannelIcon, Empty, PageHeader, Select, Spinner } from '../../components/index.js';
import { Editor } from './editor.jsx';
import { Workflow } from './workflow.jsx';
import { History } from './history.jsx';

export const CHANNELS = ['sms', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'];
export const STATUSES = ['draft', 'pending', 'approved', 'rejected'];

export function StatusBadge({ status }) {
  return <span class={`tpl-badge tpl-badge--${status}`}>{t(`templates.status.${status}`)}</span>;
}

function List({ items, selected, compact }) {
  if (!items.length) return <Empty title={t('templates.empty')} />;
  return (
    <div class="tpl-tablewrap" tabIndex={0} role="region" aria-label={t('templates.listCaption')}>
      <table class="table tpl-table">
        <caption class="sr-only">{t('templates.listCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('templates.fields.name')}</th>
            <th scope="col">{t('templates.fields.channel')}</th>
            {compact ? null : (
              <th scope="col" class="tpl-opt">
                {t('templates.fields.language')}
              </th>
            )}
            {compact ? null : (
              <th scope="col" class="tpl-opt">
                {t('templates.fields.version')}
              </th>
            )}
            <th scope="col">{t('templates.fields.status')}</th>
            {compact ? null : (
              <th scope="col" class="tpl-opt">
                {t('templates.fields.updated')}
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((tpl) => (
            <tr key={tpl.id} class={selected === tpl.id ? 'is-selected' : ''}>
              <th scope="row">
                <Link href={`/templates/${tpl.id}`} class="tpl-link" aria-current={selected === tpl.id ? 'true' : undefined}>
                  {tpl.name}
                </Link>
                {tpl.is_default ? <span class="tpl-note"> {t('templates.default')}</span> : null}
              </th>
              <td>
                <ChannelIcon channel={tpl.channel} withName />
              </td>
              {compact ? null : <td class="tpl-opt">{tpl.language}</td>}
              {compact ? null : <td class="tpl-opt">{tpl.version}</td>}
              <td>
                <StatusBadge status={tpl.status} />
              </td>
              {compact ? null : <td class="tpl-opt">{fmtDate(tpl.updated_at)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/* One template: its editor (or read-only view), the workflow and history. */
function Detail({ id, accounts, onChanged, onClose }) {
  const [tpl, setTpl] = useState(null);
  const [versions, setVersions] = useState([]);
  const [error, setError] = useState(null);

  async function load() {
    try {
      const [one, vs] = await Promise.all([api('GET', `/templates/${id}`), api('GET', `/templates/${id}/versions`)]);
      setTpl(one);
      setVersions(vs.data || []);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    setTpl(null);
    load();
  }, [id]);

  function changed(next) {
    setTpl(next);
    onChanged();
    api('GET', `/templates/${id}/versions`).then((vs) => setVersions(vs.data || []), () => {});
  }

  if (error) return <p role="alert" class="error-text">{error.message}</p>;
  if (!tpl) return <Spinner />;
  return (
    <section class="tpl-detail" aria-labelledby="tpl-detail-title" data-template-id={tpl.id}>
      <div class="tpl-detail__head">
        <h2 id="tpl-detail-title">
          {tpl.name} <span class="tpl-muted">({tpl.language})</span>
        </h2>
        <StatusBadge status={tpl.status} />
        <Button variant="ghost" onClick={onClose}>
          {t('templates.close')}
        </Button>
      </div>
      <Workflow tpl={tpl} onChanged={changed} />
      <Editor key={`${tpl.id}-${tpl.version}-${tpl.status}`} tpl={tpl} accounts={accounts} onSaved={changed} />
      <History versions={versions} />
    </section>
  );
}

export default function TemplatesScreen({ params }) {
  useLocale();
  const { can } = useSession();
  const [channel, setChannel] = useState('');
  const [status, setStatus] = useState('');
  const [items, setItems] = useState(null);
  const [accounts, setAccounts] = useState([]);
  const [error, setError] = useState(null);
  const id = params && params.id;
  const creating = id === 'new';
  const selected = creating ? null : id || null;

  async function load() {
    try {
      const r = await api('GET', '/templates' + qs({ channel, status }));
      setItems(r.data || []);
      setError(null);
    } catch (e) {
      setError(e);
      setItems([]);
    }
  }
  useEffect(() => {
    load();
  }, [channel, status]);
  useEffect(() => {
    api('GET', '/channels').then(
      (r) => setAccounts(r.data || []),
      () => setAccounts([]),
    );
  }, []);

  function created(tpl) {
    navigate(`/templates/${tpl.id}`, { keepScroll: true });
    load();
  }

  return (
    <div class="page tpl-screen">
      <PageHeader
        title={t('templates.title')}
        actions={
          can('templates.create') ? (
            <Button variant="primary" onClick={() => navigate('/templates/new')}>
              {t('templates.new')}
            </Button>
          ) : null
        }
      />
      <form class="toolbar tpl-filters" role="search" aria-label={t('templates.filters')} onSubmit={(e) => e.preventDefault()}>
        <Select
          label={t('templates.fields.channel')}
          value={channel}
          onChange={(e) => setChannel(e.currentTarget.value)}
          options={[{ value: '', label: t('templates.allChannels') }, ...CHANNELS.map((c) => ({ value: c, label: t(`templates.channels.${c}`) }))]}
        />
        <Select
          label={t('templates.fields.status')}
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value)}
          options={[{ value: '', label: t('templates.allStatuses') }, ...STATUSES.map((s) => ({ value: s, label: t(`templates.status.${s}`) }))]}
        />
      </form>
      {error ? (
        <p role="alert" class="error-text">
          {error.message}
        </p>
      ) : null}
      <div class={`tpl-layout${id ? ' tpl-layout--detail' : ''}`}>
        <div class="tpl-list">
          {items === null ? <Spinner /> : <List items={items} selected={selected} compact={!!id} />}
        </div>
        {creating && can('templates.create') ? (
          <section class="tpl-detail" aria-labelledby="tpl-new-title">
            <div class="tpl-detail__head">
              <h2 id="tpl-new-title">{t('templates.new')}</h2>
              <Button variant="ghost" onClick={() => navigate('/templates')}>
                {t('templates.cancel')}
              </Button>
            </div>
            <Editor tpl={null} accounts={accounts} onSaved={created} />
          </section>
        ) : selected ? (
          <Detail id={selected} accounts={accounts} onChanged={load} onClose={() => navigate('/templates')} />
        ) : null}
      </div>
    </div>
  );
}
