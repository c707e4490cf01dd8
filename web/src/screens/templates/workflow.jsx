// The approval workflow of one template: submit a draft; approve or reject
// a pending version (a reason is required to reject). Roles that may not
// decide see the decision buttons disabled with the reason why; the API
// refuses them anyway (403 forbidden). A WhatsApp template also shows
// Meta's status.
import { useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Field } from '../../components/index.js';

export function Workflow({ tpl, onChanged }) {
  const { can } = useSession();
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');

  async function step(what, body, okKey) {
    setBusy(true);
    try {
      const out = await api('POST', `/templates/${tpl.id}/${what}`, body || {});
      toast.ok(t(okKey, { name: out.name, version: out.version }));
      setRejecting(false);
      setReason('');
      onChanged(out);
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  }

  const mayDecide = can('templates.approve');
  const pending = tpl.status === 'pending';
  const wa = tpl.provider && tpl.provider.status;
  return (
    <div class="tpl-workflow">
      <p class="tpl-state">
        {t('templates.workflow.state', { version: tpl.version })} <strong>{t(`templates.status.${tpl.status}`)}</strong>
        {' · '}
        {tpl.sendable ? t('templates.workflow.sendable') : t('templates.workflow.notSendable')}
      </p>
      {wa ? (
        <p class="tpl-state">
          {t('templates.workflow.meta')} <strong>{tpl.provider.status}</strong>
          {tpl.provider.reason ? ` — ${tpl.provider.reason}` : ''}
        </p>
      ) : null}
      <div class="tpl-actions">
        {can('templates.submit') && (tpl.status === 'draft' || tpl.provider?.status === 'submit_failed') ? (
          <Button variant="primary" busy={busy} onClick={() => step('submit', {}, 'templates.toast.submitted')}>
            {t('templates.workflow.submit')}
          </Button>
        ) : null}
        {pending && can('templates.create') ? (
          <>
            <Button
              variant="primary"
              busy={busy}
              disabled={!mayDecide}
              aria-describedby={mayDecide ? undefined : 'tpl-decide-why'}
              onClick={() => step('approve', {}, 'templates.toast.approved')}
            >
              {t('templates.workflow.approve')}
            </Button>
            <Button
              variant="danger"
              disabled={busy || !mayDecide}
              aria-describedby={mayDecide ? undefined : 'tpl-decide-why'}
              aria-expanded={rejecting ? 'true' : 'false'}
              onClick={() => setRejecting(!rejecting)}
            >
              {t('templates.workflow.reject')}
            </Button>
          </>
        ) : null}
      </div>
      {pending && !mayDecide && can('templates.create') ? (
        <p class="field-hint" id="tpl-decide-why">
          {t('templates.workflow.onlyAdmins')}
        </p>
      ) : null}
      {pending && !can('templates.create') ? <p class="field-hint">{t('templates.workflow.awaiting')}</p> : null}
      {rejecting && mayDecide ? (
        <form
          class="tpl-reject"
          onSubmit={(e) => {
            e.preventDefault();
            step('reject', { reason: reason.trim() }, 'templates.toast.rejected');
          }}
        >
          <Field
            id="tpl-reject-reason"
            label={t('templates.workflow.reason')}
            multiline
            required
            rows={2}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <Button type="submit" variant="danger" busy={busy} disabled={!reason.trim()}>
            {t('templates.workflow.confirmReject')}
          </Button>
        </form>
      ) : null}
    </div>
  );
}
