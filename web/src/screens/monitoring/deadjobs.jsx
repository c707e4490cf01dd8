// Dead-letter jobs: what failed after its last attempt (GET /api/v1/jobs/
// dead; payloads are never shown), with retry (POST /api/v1/jobs/{id}/retry)
// and discard (DELETE /api/v1/jobs/{id}, after a confirmation) for the
// roles the API allows.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Dialog, Empty, Spinner } from '../../components/index.js';

export function DeadJobs({ onChanged }) {
  const { can } = useSession();
  const [jobs, setJobs] = useState(null);
  const [busy, setBusy] = useState(null);
  const [confirm, setConfirm] = useState(null);

  async function load() {
    try {
      const r = await api('GET', '/jobs/dead');
      setJobs(r.data || []);
    } catch (e) {
      toast.error(e);
      setJobs([]);
    }
  }
  useEffect(() => {
    load();
  }, []);

  async function act(job, what) {
    setBusy(job.id);
    try {
      if (what === 'retry') await api('POST', `/jobs/${job.id}/retry`, {});
      else await api('DELETE', `/jobs/${job.id}`);
      toast.ok(t(what === 'retry' ? 'monitoring.dead.retried' : 'monitoring.dead.discarded', { type: job.type }));
      setConfirm(null);
      await load();
      onChanged && onChanged();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(null);
    }
  }

  if (jobs === null) return <Spinner />;
  return (
    <div class="mon-dead">
      <h3>{t('monitoring.dead.title')}</h3>
      {!jobs.length ? (
        <Empty title={t('monitoring.dead.none')} />
      ) : (
        <ul class="mon-dead-list">
          {jobs.map((j) => (
            <li key={j.id} class="mon-dead-item" data-job={j.id}>
              <p class="mon-dead-head">
                <strong>{j.type}</strong> <span class="mon-muted">{j.id}</span>
              </p>
              <p>{t('monitoring.dead.attempts', { n: j.attempts, max: j.max_attempts })}</p>
              <p class="mon-dead-error">
                <span class="sr-only">{t('monitoring.dead.lastError')}: </span>
                {j.last_error}
              </p>
              <p class="mon-muted">{t('monitoring.dead.when', { when: fmtDate(j.updated_at) })}</p>
              <div class="mon-actions">
                {can('jobs.retry') ? (
                  <Button busy={busy === j.id} onClick={() => act(j, 'retry')} aria-label={t('monitoring.dead.retryOf', { type: j.type, id: j.id })}>
                    {t('monitoring.dead.retry')}
                  </Button>
                ) : null}
                {can('jobs.discard') ? (
                  <Button variant="danger" disabled={busy === j.id} onClick={() => setConfirm(j)} aria-label={t('monitoring.dead.discardOf', { type: j.type, id: j.id })}>
                    {t('monitoring.dead.discard')}
                  </Button>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      )}
      <Dialog
        open={!!confirm}
        title={t('monitoring.dead.confirmTitle')}
        onClose={() => setConfirm(null)}
        footer={
          confirm ? (
            <>
              <Button onClick={() => setConfirm(null)}>{t('monitoring.dead.keep')}</Button>
              <Button variant="danger" busy={busy === confirm.id} onClick={() => act(confirm, 'discard')}>
                {t('monitoring.dead.discard')}
              </Button>
            </>
          ) : null
        }
      >
        <p>{confirm ? t('monitoring.dead.confirmText', { type: confirm.type }) : ''}</p>
      </Dialog>
    </div>
  );
}
