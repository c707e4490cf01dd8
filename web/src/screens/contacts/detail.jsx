// One contact: name (rename), identities per channel with their opt-out and
// suppression standing, engagement (messages sent, delivered, read, failed,
// received; the last message each way), reachability per channel account,
// and the timeline of every conversation with them across channels.
import { useEffect, useState } from 'preact/hooks';
import { Button, Card, ChannelIcon, Dialog, Field, PageHeader, Select, Spinner, StatusTicks, channelName } from '../../components/index.js';
import { api, qs } from '../../lib/api.js';
import { subscribe } from '../../lib/events.js';
import { fmtDate, fmtNumber, t } from '../../lib/i18n.js';
import { Link } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { KINDS, kindChannel } from './list.jsx';

/** Every conversation of the contact (the inbox search by its name and addresses), then their newest messages. */
async function loadTimeline(contact) {
  const terms = [...new Set([contact.name, ...contact.identities.map((i) => i.address)].filter(Boolean))];
  const convs = new Map();
  for (const q of terms.slice(0, 6)) {
    const r = await api('GET', '/conversations' + qs({ q, limit: 100 }));
    for (const c of r.data) if (c.contact.id === contact.id) convs.set(c.id, c);
  }
  let msgs = [];
  for (const c of convs.values()) {
    const r = await api('GET', `/conversations/${encodeURIComponent(c.id)}/messages` + qs({ limit: 100 }));
    msgs = msgs.concat(r.data.map((m) => ({ ...m, conv: c })));
  }
  msgs.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return { conversations: [...convs.values()], messages: msgs.slice(0, 100) };
}

function Standing({ id }) {
  if (id.suppressed) {
    return (
      <span class="pill pill-danger" title={id.suppression_reason || ''}>
        {t('contacts.suppressed')}
        {id.suppression_source ? ` (${t('contacts.sources.' + id.suppression_source)})` : ''}
      </span>
    );
  }
  if (id.opted_out) {
    return (
      <span class="pill pill-warn">
        {id.opted_out_at ? t('contacts.opted_out_since', { date: fmtDate(id.opted_out_at, { dateStyle: 'medium' }) }) : t('contacts.opted_out')}
      </span>
    );
  }
  return <span class="pill pill-ok">{t('contacts.subscribed')}</span>;
}

function Rename({ contact, onDone }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(contact.name);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await api('PATCH', '/contacts/' + encodeURIComponent(contact.id), { name: name.trim() });
      toast.ok(t('contacts.renamed', { name: c.name }));
      setOpen(false);
      onDone(c);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button onClick={() => setOpen(true)}>{t('contacts.rename')}</Button>
      <Dialog open={open} title={t('contacts.rename')} onClose={() => setOpen(false)}>
        <form onSubmit={submit}>
          <Field label={t('contacts.name')} value={name} required onInput={(e) => setName(e.currentTarget.value)} />
          <div class="dialog-buttons">
            <Button onClick={() => setOpen(false)}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
              {t('common.save')}
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

function AddIdentity({ contact, onDone }) {
  const [kind, setKind] = useState('phone');
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await api('PATCH', '/contacts/' + encodeURIComponent(contact.id), { add_identities: [{ kind, address: address.trim() }] });
      toast.ok(t('contacts.identity_added', { address: address.trim() }));
      setAddress('');
      onDone(c);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="add-identity" onSubmit={submit}>
      <Select label={t('contacts.kind')} value={kind} onChange={(e) => setKind(e.currentTarget.value)} options={KINDS.map((k) => ({ value: k, label: t('contacts.kinds.' + k) }))} />
      <Field label={t('contacts.address')} value={address} required onInput={(e) => setAddress(e.currentTarget.value)} />
      <Button type="submit" busy={busy} disabled={!address.trim()}>
        {t('contacts.add_identity')}
      </Button>
    </form>
  );
}

export function ContactDetail({ id }) {
  const session = useSession();
  const [c, setC] = useState(null);
  const [error, setError] = useState(null);
  const [timeline, setTimeline] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    api('GET', '/contacts/' + encodeURIComponent(id))
      .then((x) => {
        setC(x);
        return loadTimeline(x).then(setTimeline);
      })
      .catch((e) => {
        setError(e);
        if (e.status !== 404) toast.error(e);
      });
  }, [id, reload]);
  useEffect(() => {
    const offs = [
      subscribe('message.created', (ev) => timeline && timeline.conversations.some((x) => x.id === ev.data.conversation_id) && setReload((n) => n + 1)),
      subscribe('contact.merged', (ev) => ev.data && (ev.data.target_id === id || ev.data.source_id === id) && setReload((n) => n + 1)),
    ];
    return () => offs.forEach((f) => f());
  }, [id, timeline]);

  if (error) {
    return (
      <div class="page">
        <PageHeader title={t('contacts.title')} />
        <p class="error-text">{error.message}</p>
        <Link href="/contacts">{t('contacts.back')}</Link>
      </div>
    );
  }
  if (!c) return <Spinner />;
  const g = c.engagement || {};
  const canEdit = session.can('contacts.update');
  const stats = [
    ['sent', g.sent],
    ['delivered', g.delivered],
    ['read', g.read],
    ['failed', g.failed],
    ['inbound', g.inbound],
  ];
  return (
    <div class="page contact-detail" data-contact={c.id}>
      <p class="crumb">
        <Link href="/contacts">{t('contacts.back')}</Link>
      </p>
      <PageHeader title={c.name || t('inbox.unknown_sender')} actions={canEdit && <Rename contact={c} onDone={setC} />} />
      <div class="contact-grid">
        <Card title={t('contacts.identities')}>
          {c.identities.length === 0 ? (
            <p class="muted">{t('contacts.no_identities')}</p>
          ) : (
            <ul class="identity-list">
              {c.identities.map((i) => (
                <li key={i.kind + i.address} data-identity={i.address}>
                  <ChannelIcon channel={kindChannel(i.kind)} />
                  <span class="identity-addr">
                    <span class="sr-only">{t('contacts.kinds.' + i.kind)}: </span>
                    {i.address}
                  </span>
                  <Standing id={i} />
                </li>
              ))}
            </ul>
          )}
          {canEdit && <AddIdentity contact={c} onDone={setC} />}
        </Card>
        <Card title={t('contacts.engagement')}>
          <dl class="stats">
            {stats.map(([k, v]) => (
              <div key={k} class="stat" data-stat={k}>
                <dt>{t('contacts.stats.' + k)}</dt>
                <dd>{fmtNumber(v || 0)}</dd>
              </div>
            ))}
          </dl>
          <p class="muted">
            {t('contacts.last_inbound')}: {g.last_inbound_at ? fmtDate(g.last_inbound_at) : t('contacts.never')}
            <br />
            {t('contacts.last_outbound')}: {g.last_outbound_at ? fmtDate(g.last_outbound_at) : t('contacts.never')}
          </p>
        </Card>
        <Card title={t('contacts.reachability')}>
          <ul class="reach-list">
            {(c.reachability || []).map((r) => (
              <li key={r.account_id}>
                <ChannelIcon channel={r.channel} />
                <span class="reach-name">{r.name}</span>
                {r.available ? (
                  <span class="pill pill-ok">{t('contacts.reachable')}</span>
                ) : (
                  <span class={`pill ${r.template_only ? 'pill-warn' : 'pill-danger'}`}>{reason(r)}</span>
                )}
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title={t('contacts.timeline')} class="contact-timeline">
        {timeline === null ? (
          <Spinner />
        ) : timeline.messages.length === 0 ? (
          <p class="muted">{t('contacts.no_messages')}</p>
        ) : (
          <ol class="ctl-list">
            {timeline.messages.map((m) => (
              <li key={m.id} class={`ctl-item ctl-${m.direction}`}>
                <ChannelIcon channel={m.channel} />
                <span class="ctl-body">
                  <span class="ctl-dir">{t(m.direction === 'inbound' ? 'contacts.from_them' : 'contacts.from_us')}</span>
                  {m.body || (m.template ? t('inbox.template_sent', { name: m.template.name }) : `[${m.type}]`)}
                </span>
                <span class="ctl-side">
                  {m.direction === 'outbound' && <StatusTicks status={m.status} error={m.error} />}
                  <Link href={'/inbox/' + encodeURIComponent(m.conversation_id)}>
                    <time dateTime={m.created_at}>{fmtDate(m.created_at, { dateStyle: 'short', timeStyle: 'short' })}</time>
                  </Link>
                </span>
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}

function reason(r) {
  const key = 'inbox.reach.' + r.code;
  const s = t(key, { channel: channelName(r.channel) });
  return s === key ? r.message || r.code : s;
}
