// One conversation: its header (contact, channel, status, assignee, whether
// the AI assistant is paused in it) with the assign and resolve actions, the
// unknown-sender panel, the timeline and the reply box. Opening it marks it
// read. Live: new messages, status ticks and media downloads arrive over the
// events socket; a resync reloads.
import { useEffect, useState } from 'preact/hooks';
import { Button, ChannelIcon, Select, Spinner } from '../../components/index.js';
import { api, qs } from '../../lib/api.js';
import { subscribe } from '../../lib/events.js';
import { t } from '../../lib/i18n.js';
import { Link, navigate } from '../../lib/router.js';
import { getSession, useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { contactLabel, loadChannels, loadUsers, userLabel } from './data.js';
import { UnknownSender } from './link.jsx';
import { AssistantPause } from './pause.jsx';
import { ReplyBox } from './reply.jsx';
import { Timeline, applyStatus, upsert } from './timeline.jsx';

async function loadMessages(id) {
  let out = [];
  let cursor = null;
  // Oldest first, 100 a page: follow the pages to the newest (capped).
  for (let i = 0; i < 20; i++) {
    const r = await api('GET', `/conversations/${encodeURIComponent(id)}/messages` + qs({ limit: 100, cursor }));
    out = out.concat(r.data);
    cursor = r.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export function markRead(id) {
  return api('POST', `/conversations/${encodeURIComponent(id)}/read`).catch(() => {
    /* older servers have no read marker; the badge clears locally */
  });
}

export function Conversation({ id, backHref, onRead, onChange }) {
  const session = useSession();
  const [conv, setConv] = useState(null);
  const [contact, setContact] = useState(null);
  const [messages, setMessages] = useState([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [accounts, setAccounts] = useState([]);
  const [users, setUsers] = useState([]);
  const [busy, setBusy] = useState(null);
  const [reload, setReload] = useState(0);

  const loadContact = (cid) =>
    api('GET', '/contacts/' + encodeURIComponent(cid))
      .then(setContact)
      .catch(() => setContact(null));

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    Promise.all([api('GET', '/conversations/' + encodeURIComponent(id)), loadMessages(id)])
      .then(([c, ms]) => {
        if (!live) return;
        setConv(c);
        setMessages(ms);
        setLoading(false);
        loadContact(c.contact.id);
        if (c.unread > 0 || reload === 0) markRead(id).then(() => onRead && onRead(id));
      })
      .catch((e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [id, reload]);
  useEffect(() => {
    loadChannels(api).then(setAccounts, () => {});
    loadUsers(api).then(setUsers, () => {});
  }, []);

  useEffect(() => {
    const mine = (cid) => cid === id;
    const offs = [
      subscribe('message.created', (ev) => {
        if (!mine(ev.data.conversation_id)) return;
        setMessages((ms) => upsert(ms, ev.data));
        setConv((c) => c && { ...c, last_message_at: ev.data.created_at, last_inbound_at: ev.data.direction === 'inbound' ? ev.data.created_at : c.last_inbound_at });
        if (ev.data.direction === 'inbound') {
          if (conv) loadContact(conv.contact.id); // the messaging windows may have opened
          if (document.visibilityState === 'visible') markRead(id).then(() => onRead && onRead(id));
        }
      }),
      subscribe('message.updated', (ev) => mine(ev.data.conversation_id) && setMessages((ms) => upsert(ms, ev.data))),
      subscribe('message.status', (ev) => {
        if (!mine(ev.data.conversation_id)) return;
        setMessages((ms) => applyStatus(ms, ev.data));
        // A failure's reason may be recorded after its event: read the message for it.
        if ((ev.data.status === 'failed' || ev.data.status === 'undelivered') && !ev.data.error) {
          api('GET', '/messages/' + encodeURIComponent(ev.data.message_id))
            .then((m) => setMessages((ms) => upsert(ms, m)))
            .catch(() => {});
        }
      }),
      subscribe('conversation.updated', (ev) => ev.data && mine(ev.data.id || ev.data.conversation_id) && setReload((n) => n + 1)),
      subscribe('conversation.assigned', (ev) => ev.data && mine(ev.data.id || ev.data.conversation_id) && setReload((n) => n + 1)),
      subscribe('contact.merged', () => conv && loadContact(conv.contact.id)),
      subscribe('resync', () => setReload((n) => n + 1)),
      subscribe('hello', (ev) => ev.fresh && setReload((n) => n + 1)),
    ];
    return () => offs.forEach((f) => f());
  }, [id, conv && conv.contact.id]);

  if (loading && !conv) return <Spinner />;
  if (error) {
    return (
      <div class="conv-error">
        <p class="error-text">{error.message}</p>
        <Link href={backHref}>{t('inbox.back')}</Link>
      </div>
    );
  }
  if (!conv) return null;

  const patch = async (body, done) => {
    setBusy(Object.keys(body)[0]);
    try {
      const c = await api('PATCH', '/conversations/' + encodeURIComponent(id), body);
      setConv((old) => ({ ...old, ...c }));
      onChange && onChange(c);
      toast.ok(done(c));
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(null);
    }
  };
  const me = getSession().user;
  const assignee = users.find((u) => u.id === conv.assignee_id);
  const canUpdate = session.can('conversations.update');
  const canSend = session.can('messages.send');
  const unknown = !conv.contact.name && !(contact && contact.name);
  const name = contactLabel(contact || conv.contact);

  return (
    <article class="conv" aria-labelledby="conv-title" data-conversation={conv.id}>
      <header class="conv-head">
        <Link href={backHref} class="btn btn-ghost conv-back">
          <span aria-hidden="true">←</span> {t('inbox.back')}
        </Link>
        <div class="conv-title-row">
          <ChannelIcon channel={conv.channel} withName />
          <h2 id="conv-title" class="conv-title">
            {name}
          </h2>
          <span class={`pill pill-${conv.status}`} data-conv-status={conv.status}>
            {t('inbox.status.' + conv.status)}
          </span>
        </div>
        <p class="conv-sub">
          {assignee ? t('inbox.assigned_to', { name: userLabel(assignee) }) : t('inbox.unassigned')}
          {' · '}
          <Link href={'/contacts/' + encodeURIComponent(conv.contact.id)}>{t('inbox.view_contact')}</Link>
        </p>
        <AssistantPause id={conv.id} />
        {canUpdate && (
          <div class="conv-actions">
            <Select
              label={t('inbox.assignee')}
              value={conv.assignee_id || ''}
              class="conv-assign"
              onChange={(e) => {
                const v = e.currentTarget.value || null;
                const u = users.find((x) => x.id === v);
                patch({ assignee_id: v }, () => (u ? t('inbox.assigned_toast', { name: userLabel(u) }) : t('inbox.unassigned_toast')));
              }}
              options={[{ value: '', label: t('inbox.unassigned') }, ...users.map((u) => ({ value: u.id, label: userLabel(u) }))]}
            />
            {me && conv.assignee_id !== me.id && (
              <Button busy={busy === 'assignee_id'} onClick={() => patch({ assignee_id: me.id }, () => t('inbox.assigned_toast', { name: t('inbox.you') }))}>
                {t('inbox.assign_me')}
              </Button>
            )}
            {conv.status !== 'resolved' ? (
              <Button variant="primary" busy={busy === 'status'} onClick={() => patch({ status: 'resolved' }, () => t('inbox.resolved_toast'))}>
                {t('inbox.resolve')}
              </Button>
            ) : (
              <Button busy={busy === 'status'} onClick={() => patch({ status: 'open' }, () => t('inbox.reopened_toast'))}>
                {t('inbox.reopen')}
              </Button>
            )}
          </div>
        )}
      </header>
      {unknown && canUpdate && (
        <UnknownSender
          conv={conv}
          contact={contact}
          onDone={(target) => {
            if (!target) {
              setReload((n) => n + 1);
              return;
            }
            // Linked: this conversation now belongs to target, or was folded into target's own.
            api('GET', '/conversations/' + encodeURIComponent(id))
              .then(() => setReload((n) => n + 1))
              .catch(() =>
                api('GET', '/conversations' + qs({ account_id: conv.account_id, q: target.name, status: '' }))
                  .then((r) => {
                    const c = (r.data || []).find((x) => x.contact.id === target.id);
                    navigate(c ? '/inbox/' + encodeURIComponent(c.id) + location.search : backHref);
                  })
                  .catch(() => navigate(backHref)),
              );
          }}
        />
      )}
      <Timeline messages={messages} loading={loading} />
      {canSend && <ReplyBox conv={conv} contact={contact} accounts={accounts} onSent={(m) => setMessages((ms) => upsert(ms, m))} />}
    </article>
  );
}
