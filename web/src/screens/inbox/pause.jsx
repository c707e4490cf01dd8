// Whether the AI assistant answers in this conversation (GET /api/v1/
// conversations/{id}/assistant): "Assistant paused" (with who paused it,
// when and why) or "Assistant on", with Pause (an optional reason) and
// Resume for agents and above (assistant.drafts). A server without the
// assistant answers 404 and nothing is shown. The state follows the
// assistant.* events live (a handover or an emergency pauses by itself).
import { useEffect, useState } from 'preact/hooks';
import { Button, Dialog, Field } from '../../components/index.js';
import { api } from '../../lib/api.js';
import { subscribe } from '../../lib/events.js';
import { fmtDate, t } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';

export function AssistantPause({ id }) {
  const { can } = useSession();
  const [st, setSt] = useState(null);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const path = `/conversations/${encodeURIComponent(id)}/assistant`;

  useEffect(() => {
    let live = true;
    const load = () =>
      api('GET', path).then(
        (s) => live && setSt(s),
        () => live && setSt(null),
      );
    load();
    const offs = ['assistant.paused', 'assistant.resumed', 'assistant.handover', 'assistant.emergency'].map((type) =>
      subscribe(type, (ev) => ev.data && ev.data.conversation_id === id && load()),
    );
    return () => {
      live = false;
      offs.forEach((f) => f());
    };
  }, [id]);

  async function act(what) {
    setBusy(true);
    try {
      const s = await api('POST', `${path}/${what}`, what === 'pause' ? { reason: reason.trim() } : {});
      setSt(s);
      setAsking(false);
      setReason('');
      toast.ok(t(what === 'pause' ? 'inbox.assistant_paused_toast' : 'inbox.assistant_resumed_toast'));
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  }

  if (!st) return null;
  const mayAct = can('assistant.drafts');
  return (
    <div class="conv-assistant" data-assistant-paused={st.paused ? 'true' : 'false'}>
      <p class="conv-assistant-state">
        <span class={`pill ${st.paused ? 'pill-warn' : 'pill-ok'}`}>{t(st.paused ? 'inbox.assistant_paused' : 'inbox.assistant_on')}</span>
        {st.paused && st.paused_at ? <span class="conv-assistant-why"> {t('inbox.assistant_paused_at', { when: fmtDate(st.paused_at) })}</span> : null}
        {st.paused && st.reason ? <span class="conv-assistant-why"> · {st.reason}</span> : null}
      </p>
      {mayAct ? (
        st.paused ? (
          <Button busy={busy} onClick={() => act('resume')}>
            {t('inbox.assistant_resume')}
          </Button>
        ) : (
          <Button onClick={() => setAsking(true)}>{t('inbox.assistant_pause')}</Button>
        )
      ) : null}
      <Dialog
        open={asking}
        title={t('inbox.assistant_pause_title')}
        onClose={() => setAsking(false)}
        footer={
          <>
            <Button onClick={() => setAsking(false)}>{t('common.cancel')}</Button>
            <Button variant="primary" busy={busy} onClick={() => act('pause')}>
              {t('inbox.assistant_pause')}
            </Button>
          </>
        }
      >
        <p>{t('inbox.assistant_pause_text')}</p>
        <Field id={`pause-reason-${id}`} label={t('inbox.assistant_pause_reason')} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Dialog>
    </div>
  );
}
