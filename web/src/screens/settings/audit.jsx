// Settings › Audit log: the tenant's hash-chained audit log, newest first
// (GET /api/v1/audit?from=&to=&limit=&before=). The time range is asked of
// the server; the action and actor filters narrow what was loaded, and
// "load more" follows next_before. Owners and admins only (audit.read).
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Empty, Field, Spinner } from '../../components/index.js';

const PAGE = 100;

/* A date input's value (yyyy-mm-dd, the browser's day) as RFC 3339. */
function dayStart(v, end) {
  if (!v) return '';
  const d = new Date(`${v}T00:00:00`);
  if (Number.isNaN(d.getTime())) return '';
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export function Audit() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [rows, setRows] = useState(null);
  const [next, setNext] = useState(null);
  const [busy, setBusy] = useState(false);

  async function load(before) {
    setBusy(true);
    try {
      const r = await api('GET', '/audit' + qs({ from: dayStart(from), to: dayStart(to, true), limit: PAGE, before }));
      setRows((old) => (before && old ? [...old, ...(r.data || [])] : r.data || []));
      setNext(r.next_before ?? null);
    } catch (e) {
      toast.error(e);
      if (!before) setRows([]);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    load();
  }, [from, to]);

  const a = action.trim().toLowerCase();
  const w = actor.trim().toLowerCase();
  const shown = (rows || []).filter(
    (r) => (!a || String(r.action).toLowerCase().includes(a)) && (!w || `${r.actor_type}:${r.actor_id}`.toLowerCase().includes(w)),
  );

  return (
    <Card title={t('settings.audit.title')}>
      <p class="field-hint">{t('settings.audit.help')}</p>
      <form class="toolbar set-filters" role="search" aria-label={t('settings.audit.filters')} onSubmit={(e) => e.preventDefault()}>
        <Field id="set-audit-from" type="date" label={t('settings.audit.from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        <Field id="set-audit-to" type="date" label={t('settings.audit.to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        <Field id="set-audit-action" label={t('settings.audit.action')} placeholder="template.approve" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        <Field id="set-audit-actor" label={t('settings.audit.actor')} value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
      </form>
      {rows === null ? (
        <Spinner />
      ) : !shown.length ? (
        <Empty title={t('settings.audit.none')} />
      ) : (
        <>
          <p class="set-muted" aria-live="polite">
            {t('settings.audit.count', { count: shown.length })}
          </p>
          <ol class="set-audit">
            {shown.map((r) => (
              <li key={r.seq} class="set-audit-row" data-action={r.action} data-seq={r.seq}>
                <p class="set-audit-head">
                  <code class="set-strong">{r.action}</code>
                  <span class="set-muted">{fmtDate(r.at)}</span>
                </p>
                <p>
                  {t('settings.audit.by', { actor: `${r.actor_type}:${r.actor_id}` })}
                  {r.target ? ` · ${t('settings.audit.on', { target: r.target })}` : ''}
                  {r.ip ? ` · ${r.ip}` : ''}
                </p>
                {r.details ? (
                  <details>
                    <summary>{t('settings.audit.details')}</summary>
                    <pre class="set-pre">{JSON.stringify(r.details, null, 2)}</pre>
                  </details>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      )}
      {next ? (
        <Button busy={busy} onClick={() => load(next)}>
          {t('settings.audit.more')}
        </Button>
      ) : null}
    </Card>
  );
}
