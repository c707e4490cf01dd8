// The conversation list: every channel in one list, newest activity first,
// 50 a page (cursor pages, so 10,000 conversations cost one page of DOM),
// filters (status, assignee, channel) and search (contact name, number,
// e-mail) kept in the URL. Live: a message.created moves its conversation to
// the top (fetching it when it is new to the list), status changes and
// assignments update rows in place; a resync reloads.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ChannelIcon, Empty, Field, Pagination, Select, Spinner, usePages } from '../../components/index.js';
import { api, qs } from '../../lib/api.js';
import { subscribe } from '../../lib/events.js';
import { fmtDate, fmtWhen, t } from '../../lib/i18n.js';
import { Link, setQuery } from '../../lib/router.js';
import { getSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { byActivity, contactLabel, loadUsers, matches, userLabel } from './data.js';

const PAGE = 50;
const CHANNELS = ['sms', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'];

export function ConversationList({ query, openId, readId, changed }) {
  const st = query.get('status');
  const filters = {
    status: st === null ? 'open' : st === 'all' ? '' : st,
    assignee: query.get('assignee') || '',
    channel: query.get('channel') || '',
    q: query.get('q') || '',
  };
  const key = `${filters.status}|${filters.assignee}|${filters.channel}|${filters.q}`;
  const pages = usePages();
  const [rows, setRows] = useState(null);
  const [next, setNext] = useState(null);
  const [users, setUsers] = useState([]);
  const [search, setSearch] = useState(filters.q);
  const [reload, setReload] = useState(0);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const me = getSession().user;
  const meId = me && me.id;

  useEffect(() => {
    loadUsers(api).then(setUsers, () => {});
  }, []);
  useEffect(() => pages.reset(), [key]);
  useEffect(() => {
    const h = setTimeout(() => {
      if (search !== filters.q) setQuery({ q: search.trim() });
    }, 300);
    return () => clearTimeout(h);
  }, [search]);

  useEffect(() => {
    const ctl = new AbortController();
    const assignee = filters.assignee === 'me' ? meId : filters.assignee;
    const params = { status: filters.status, channel: filters.channel, assignee, q: filters.q, limit: PAGE, cursor: pages.cursor };
    setRows((r) => r && r.length ? r : null);
    api('GET', '/conversations' + qs(params), null, { signal: ctl.signal })
      .then((r) => {
        setRows(r.data);
        setNext(r.next_cursor);
      })
      .catch((e) => {
        if (e.name === 'AbortError') return;
        setRows([]);
        toast.error(e);
      });
    return () => ctl.abort();
  }, [key, pages.cursor, reload]);

  // A conversation opened here is read: clear its badge without a reload.
  useEffect(() => {
    if (readId) setRows((rs) => rs && rs.map((c) => (c.id === readId.id ? { ...c, unread: 0, unread_count: 0 } : c)));
  }, [readId]);

  // A change made in the open conversation (assign, resolve) shows in its row.
  useEffect(() => {
    if (changed) setRows((rs) => rs && rs.map((c) => (c.id === changed.id ? { ...c, status: changed.status, assignee_id: changed.assignee_id, assignee_name: changed.assignee_name } : c)));
  }, [changed]);

  useEffect(() => {
    const refetch = (id, bump) => {
      api('GET', '/conversations/' + encodeURIComponent(id))
        .then((c) => {
          setRows((rs) => {
            if (!rs) return rs;
            const have = rs.some((x) => x.id === id);
            const keep = matches(c, filters, meId) && (!filters.q || have);
            let out = rs.filter((x) => x.id !== id);
            if (keep && (have || pages.page === 1)) out = [...out, { ...c, ...(bump || {}) }];
            return out.sort(byActivity);
          });
        })
        .catch(() => {});
    };
    const offs = [
      subscribe('message.created', (ev) => {
        const m = ev.data;
        const rs = rowsRef.current || [];
        const c = rs.find((x) => x.id === m.conversation_id);
        const unread = m.direction === 'inbound' && m.conversation_id !== openId;
        if (c) {
          setRows((list) =>
            list
              .map((x) =>
                x.id === m.conversation_id
                  ? {
                      ...x,
                      last_message_at: m.created_at > x.last_message_at ? m.created_at : x.last_message_at,
                      last_message: { id: m.id, direction: m.direction, type: m.type, status: m.status, created_at: m.created_at, preview: (m.body || '').replace(/\s+/g, ' ').trim().slice(0, 80) || (m.type !== 'text' ? `[${m.type}]` : '') },
                      unread: (x.unread || 0) + (unread ? 1 : 0),
                      status: m.direction === 'inbound' && x.status === 'resolved' ? 'open' : x.status,
                    }
                  : x,
              )
              .sort(byActivity),
          );
          if (m.direction === 'inbound' && c.status === 'resolved') refetch(c.id);
        } else {
          refetch(m.conversation_id);
        }
      }),
      subscribe('conversation.updated', (ev) => ev.data && refetch(ev.data.id || ev.data.conversation_id)),
      subscribe('conversation.assigned', (ev) => ev.data && refetch(ev.data.id || ev.data.conversation_id)),
      subscribe('conversation.read', (ev) => ev.data && refetch(ev.data.id || ev.data.conversation_id)),
      subscribe('resync', () => setReload((n) => n + 1)),
    ];
    return () => offs.forEach((f) => f());
  }, [key, openId, pages.page, meId]);

  const userById = useMemo(() => Object.fromEntries(users.map((u) => [u.id, u])), [users]);
  const statusOpts = [
    { value: '', label: t('inbox.filter.all_statuses') },
    ...['open', 'pending', 'resolved'].map((s) => ({ value: s, label: t('inbox.status.' + s) })),
  ];
  const assigneeOpts = [
    { value: '', label: t('inbox.filter.anyone') },
    { value: 'me', label: t('inbox.filter.me') },
    { value: 'none', label: t('inbox.filter.unassigned') },
    ...users.filter((u) => u.id !== meId).map((u) => ({ value: u.id, label: userLabel(u) })),
  ];
  const channelOpts = [{ value: '', label: t('inbox.filter.all_channels') }, ...CHANNELS.map((c) => ({ value: c, label: t('common.channels.' + c) }))];

  return (
    <section class="inbox-list" aria-labelledby="inbox-list-title">
      <h2 id="inbox-list-title" class="sr-only">
        {t('inbox.conversations')}
      </h2>
      <form class="inbox-filters" role="search" onSubmit={(e) => { e.preventDefault(); setQuery({ q: search.trim() }); }}>
        <Field
          label={t('inbox.search')}
          type="search"
          name="q"
          value={search}
          placeholder={t('inbox.search_placeholder')}
          onInput={(e) => setSearch(e.currentTarget.value)}
          class="inbox-search"
        />
        <div class="inbox-filter-row">
          <Select label={t('inbox.filter.status')} value={filters.status} options={statusOpts} onChange={(e) => setQuery({ status: e.currentTarget.value === 'open' ? null : e.currentTarget.value || 'all' })} />
          <Select label={t('inbox.filter.assignee')} value={filters.assignee} options={assigneeOpts} onChange={(e) => setQuery({ assignee: e.currentTarget.value })} />
          <Select label={t('inbox.filter.channel')} value={filters.channel} options={channelOpts} onChange={(e) => setQuery({ channel: e.currentTarget.value })} />
        </div>
      </form>
      {rows === null ? (
        <Spinner />
      ) : rows.length === 0 ? (
        <Empty title={filters.q ? t('inbox.no_results') : t('inbox.empty')}>{filters.q ? null : t('inbox.empty_hint')}</Empty>
      ) : (
        <ul class="conv-list" aria-label={t('inbox.conversations')}>
          {rows.map((c) => (
            <ConversationRow key={c.id} c={c} active={c.id === openId} assignee={userById[c.assignee_id]} search={location.search} />
          ))}
        </ul>
      )}
      <Pagination pages={pages} nextCursor={next} label={t('inbox.pages')} />
    </section>
  );
}

function ConversationRow({ c, active, assignee, search }) {
  const name = contactLabel(c.contact, c.contact && c.contact.address);
  const last = c.last_message;
  return (
    <li>
      <Link
        href={`/inbox/${encodeURIComponent(c.id)}${search}`}
        class={`conv-row${active ? ' active' : ''}${c.unread ? ' unread' : ''}`}
        aria-current={active ? 'true' : undefined}
        data-conversation={c.id}
      >
        <ChannelIcon channel={c.channel} />
        <span class="conv-main">
          <span class="conv-name">{name}</span>
          {last && (
            <span class="conv-preview">
              {last.direction === 'outbound' && <span class="sr-only">{t('inbox.you_wrote')} </span>}
              {last.direction === 'outbound' ? '↩ ' : ''}
              {last.preview}
            </span>
          )}
          <span class="conv-meta">
            <span class={`pill pill-${c.status}`}>{t('inbox.status.' + c.status)}</span>
            {assignee && <span class="conv-assignee">{userLabel(assignee)}</span>}
          </span>
        </span>
        <span class="conv-side">
          <time dateTime={c.last_message_at} title={fmtDate(c.last_message_at)}>
            {fmtWhen(c.last_message_at)}
          </time>
          {c.unread > 0 && (
            <span class="badge" data-unread={c.unread}>
              {c.unread}
              <span class="sr-only"> {t('inbox.unread', { count: c.unread })}</span>
            </span>
          )}
        </span>
      </Link>
    </li>
  );
}
