// Assistant › Approval queue: the replies the assistant drafted for a person
// to decide (GET /api/v1/assistant/drafts?status=), newest first. Each shows
// the customer's message, the draft in an editor, why it was drafted, the
// intent and its confidence, the suggested alternatives (one click puts one
// in the editor), whether it was escalated, and a link to the conversation.
// Agents and above approve it as is, send it edited (POST …/approve, with
// the text only when it changed) or reject it with a reason (POST …/reject).
// Live: draft.created adds a draft, draft.updated replaces it, and one that
// was decided elsewhere or went stale leaves the pending list.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { subscribe } from '../../lib/events.js';
import { t, fmtDate, fmtNumber } from '../../lib/i18n.js';
import { Link } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, ChannelIcon, Empty, Field, Pagination, Select, Spinner, usePages } from '../../components/index.js';

export const DRAFT_STATUSES = ['pending', 'sent', 'rejected', 'stale', 'handed_over', 'all'];

function pct(v) {
  return typeof v === 'number' ? fmtNumber(v, { style: 'percent', maximumFractionDigits: 0 }) : '—';
}

function StatusPill({ status }) {
  const tone = { pending: 'pill-warn', sent: 'pill-ok', rejected: 'pill-danger' }[status] || '';
  return (
    <span class={`pill ${tone}`} data-draft-status={status}>
      {t(`assistant.drafts.state.${status}`)}
    </span>
  );
}

function DraftCard({ d, canDecide, onDecided }) {
  const [text, setText] = useState(d.text || '');
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(null);
  const pending = d.status === 'pending';
  const edited = text.trim() !== (d.text || '').trim();
  const who = d.contact_name || t('assistant.drafts.unknown_contact');
  const editorId = `draft-text-${d.id}`;

  async function approve() {
    if (!text.trim()) return;
    setBusy('approve');
    try {
      const n = await api('POST', `/assistant/drafts/${encodeURIComponent(d.id)}/approve`, edited ? { text } : {});
      toast.ok(t(edited ? 'assistant.drafts.sent_edited' : 'assistant.drafts.approved', { name: who }));
      onDecided(n);
    } catch (e) {
      toast.error(e.code === 'draft_not_pending' ? t('assistant.drafts.not_pending') : e);
      if (e.code === 'draft_not_pending') onDecided({ ...d, status: 'stale' }, true);
    } finally {
      setBusy(null);
    }
  }
  async function reject(e) {
    e.preventDefault();
    if (!reason.trim()) return;
    setBusy('reject');
    try {
      const n = await api('POST', `/assistant/drafts/${encodeURIComponent(d.id)}/reject`, { reason: reason.trim() });
      toast.ok(t('assistant.drafts.rejected_toast', { name: who }));
      onDecided(n);
    } catch (err) {
      toast.error(err.code === 'draft_not_pending' ? t('assistant.drafts.not_pending') : err);
      if (err.code === 'draft_not_pending') onDecided({ ...d, status: 'stale' }, true);
    } finally {
      setBusy(null);
    }
  }

  return (
    <li class="ast-draft card" data-draft={d.id} aria-labelledby={`draft-h-${d.id}`}>
      <div class="ast-draft-head">
        <ChannelIcon channel={d.channel} />
        <h3 id={`draft-h-${d.id}`}>{t('assistant.drafts.reply_to', { name: who })}</h3>
        <StatusPill status={d.status} />
        {d.escalated ? (
          <span class="pill pill-danger" data-escalated title={d.escalated_at ? fmtDate(d.escalated_at) : undefined}>
            {t('assistant.drafts.escalated')}
          </span>
        ) : null}
      </div>
      <p class="ast-muted">
        {fmtDate(d.created_at)} ·{' '}
        <Link href={`/inbox/${encodeURIComponent(d.conversation_id)}`}>{t('assistant.drafts.open_conversation')}</Link>
      </p>
      <dl class="ast-facts">
        <div>
          <dt>{t('assistant.drafts.intent')}</dt>
          <dd data-intent={d.intent || ''}>{d.intent || t('assistant.drafts.no_intent')}</dd>
        </div>
        <div>
          <dt>{t('assistant.drafts.confidence')}</dt>
          <dd data-confidence={d.confidence}>{pct(d.confidence)}</dd>
        </div>
      </dl>
      <h4 class="ast-h4">{t('assistant.drafts.customer_message')}</h4>
      <blockquote class="ast-inbound">{d.inbound_text}</blockquote>
      {d.reason ? (
        <p class="ast-reason">
          <strong>{t('assistant.drafts.why')}</strong> {d.reason}
        </p>
      ) : null}
      {pending && canDecide ? (
        <>
          <Field id={editorId} multiline rows={4} label={t('assistant.drafts.editor')} value={text} onInput={(e) => setText(e.currentTarget.value)} hint={edited ? t('assistant.drafts.edited_hint') : undefined} />
          {(d.alternatives || []).length ? (
            <div class="ast-alts">
              <h4 class="ast-h4">{t('assistant.drafts.alternatives')}</h4>
              <ul>
                {d.alternatives.map((a, i) => (
                  <li key={i}>
                    <p class="ast-alt-text">{a}</p>
                    <Button onClick={() => setText(a)} aria-label={t('assistant.drafts.use_alt_of', { n: i + 1 })} aria-controls={editorId}>
                      {t('assistant.drafts.use_alt')}
                    </Button>
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          <div class="set-actions">
            <Button variant="primary" busy={busy === 'approve'} disabled={!text.trim() || !!busy} onClick={approve}>
              {edited ? t('assistant.drafts.send_edited') : t('assistant.drafts.approve')}
            </Button>
            {edited ? <Button onClick={() => setText(d.text || '')}>{t('assistant.drafts.undo_edit')}</Button> : null}
            {!rejecting ? (
              <Button variant="danger" disabled={!!busy} onClick={() => setRejecting(true)}>
                {t('assistant.drafts.reject')}
              </Button>
            ) : null}
          </div>
          {rejecting ? (
            <form class="ast-reject" onSubmit={reject}>
              <Field id={`draft-reason-${d.id}`} label={t('assistant.drafts.reject_reason')} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
              <div class="set-actions">
                <Button type="submit" variant="danger" busy={busy === 'reject'} disabled={!reason.trim()}>
                  {t('assistant.drafts.reject_confirm')}
                </Button>
                <Button onClick={() => setRejecting(false)}>{t('common.cancel')}</Button>
              </div>
            </form>
          ) : null}
        </>
      ) : (
        <>
          <h4 class="ast-h4">{t('assistant.drafts.draft')}</h4>
          <p class="ast-bubble">{d.final_text || d.text}</p>
          {pending && (d.alternatives || []).length > 0 ? (
            <ul class="ast-alts-ro">
              {d.alternatives.map((a, i) => (
                <li key={i}>{a}</li>
              ))}
            </ul>
          ) : null}
          {d.decided_at ? (
            <p class="ast-muted" data-decided>
              {t('assistant.drafts.decided', { when: fmtDate(d.decided_at) })}
              {typeof d.edit_distance === 'number' && d.edit_distance > 0 ? ` · ${t('assistant.drafts.edit_distance', { n: d.edit_distance })}` : ''}
            </p>
          ) : null}
          {d.reject_reason ? (
            <p class="ast-reason">
              <strong>{t('assistant.drafts.rejected_because')}</strong> {d.reject_reason}
            </p>
          ) : null}
        </>
      )}
    </li>
  );
}

export function Drafts() {
  const { can } = useSession();
  const canDecide = can('assistant.drafts');
  const [status, setStatus] = useState('pending');
  const pages = usePages();
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    api('GET', '/assistant/drafts' + qs({ status, limit: 50, cursor: pages.cursor }))
      .then((r) => {
        if (!live) return;
        setItems(r.data || []);
        setNext(r.next_cursor || null);
      })
      .catch((e) => {
        if (!live) return;
        toast.error(e);
        setItems([]);
      });
    return () => {
      live = false;
    };
  }, [status, pages.cursor, reload]);

  const fits = (d) => status === 'all' || d.status === status;
  useEffect(() => {
    const offs = [
      subscribe('draft.created', (ev) => {
        const d = ev.data;
        if (!d || !d.id || !fits(d) || pages.page !== 1) return;
        setItems((xs) => (xs && !xs.some((x) => x.id === d.id) ? [d, ...xs] : xs));
      }),
      subscribe('draft.updated', (ev) => {
        const d = ev.data;
        if (!d || !d.id) return;
        setItems((xs) => {
          if (!xs) return xs;
          if (!fits(d)) return xs.filter((x) => x.id !== d.id);
          if (xs.some((x) => x.id === d.id)) return xs.map((x) => (x.id === d.id ? d : x));
          return pages.page === 1 ? [d, ...xs] : xs;
        });
      }),
      subscribe('resync', () => setReload((n) => n + 1)),
      subscribe('hello', (ev) => ev.fresh && setReload((n) => n + 1)),
    ];
    return () => offs.forEach((f) => f());
  }, [status, pages.page]);

  function decided(d, stale) {
    setItems((xs) => (fits(d) ? xs.map((x) => (x.id === d.id ? d : x)) : xs.filter((x) => x.id !== d.id)));
    if (stale) setReload((n) => n + 1);
  }

  return (
    <div class="ast-drafts">
      <form class="toolbar" aria-label={t('assistant.drafts.filters')} onSubmit={(e) => e.preventDefault()}>
        <Select
          id="draft-status"
          label={t('assistant.drafts.show')}
          value={status}
          onChange={(e) => {
            setItems(null);
            pages.reset();
            setStatus(e.currentTarget.value);
          }}
          options={DRAFT_STATUSES.map((s) => ({ value: s, label: t(`assistant.drafts.status.${s}`) }))}
        />
      </form>
      {!canDecide ? <p class="field-hint">{t('assistant.drafts.read_only')}</p> : null}
      {items === null ? (
        <Spinner />
      ) : !items.length ? (
        <Card>
          <Empty title={t(status === 'pending' ? 'assistant.drafts.none_pending' : 'assistant.drafts.none')}>{status === 'pending' ? t('assistant.drafts.none_pending_hint') : null}</Empty>
        </Card>
      ) : (
        <ul class="ast-draft-list" aria-label={t('assistant.drafts.list')}>
          {items.map((d) => (
            <DraftCard key={d.id + ':' + d.status} d={d} canDecide={canDecide} onDecided={decided} />
          ))}
        </ul>
      )}
      <Pagination pages={pages} nextCursor={next} />
    </div>
  );
}
