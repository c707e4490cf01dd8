// The contact list: search by name, number or e-mail (the server's q, kept
// in the URL), 50 a page, newest activity first; a new contact with a name
// and a first identity.
import { useEffect, useState } from 'preact/hooks';
import { Button, ChannelIcon, Dialog, Empty, Field, PageHeader, Pagination, Select, Spinner, usePages } from '../../components/index.js';
import { api, qs } from '../../lib/api.js';
import { fmtWhen, t } from '../../lib/i18n.js';
import { Link, navigate, setQuery } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';

export const KINDS = ['phone', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'];
const KIND_CHANNEL = { phone: 'sms', whatsapp: 'whatsapp', email: 'email', telegram: 'telegram', instagram: 'instagram', webchat: 'webchat' };
export function kindChannel(kind) {
  return KIND_CHANNEL[kind] || kind;
}

function NewContact({ open, onClose }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState('phone');
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const body = { name: name.trim() };
      if (address.trim()) body.identities = [{ kind, address: address.trim() }];
      const c = await api('POST', '/contacts', body);
      toast.ok(t('contacts.created', { name: c.name }));
      onClose();
      navigate('/contacts/' + encodeURIComponent(c.id));
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={t('contacts.new')} onClose={onClose}>
      <form onSubmit={submit}>
        <Field label={t('contacts.name')} value={name} required autoFocus onInput={(e) => setName(e.currentTarget.value)} />
        <Select label={t('contacts.kind')} value={kind} onChange={(e) => setKind(e.currentTarget.value)} options={KINDS.map((k) => ({ value: k, label: t('contacts.kinds.' + k) }))} />
        <Field label={t('contacts.address')} value={address} hint={t('contacts.address_hint')} onInput={(e) => setAddress(e.currentTarget.value)} />
        <div class="dialog-buttons">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
            {t('contacts.create')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function ContactList({ query }) {
  const q = query.get('q') || '';
  const [search, setSearch] = useState(q);
  const pages = usePages();
  const [rows, setRows] = useState(null);
  const [next, setNext] = useState(null);
  const [creating, setCreating] = useState(false);
  const session = useSession();
  useEffect(() => pages.reset(), [q]);
  useEffect(() => {
    const h = setTimeout(() => search.trim() !== q && setQuery({ q: search.trim() }), 300);
    return () => clearTimeout(h);
  }, [search]);
  useEffect(() => {
    const ctl = new AbortController();
    api('GET', '/contacts' + qs({ q, limit: 50, cursor: pages.cursor }), null, { signal: ctl.signal })
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
  }, [q, pages.cursor]);

  return (
    <div class="page contacts">
      <PageHeader
        title={t('contacts.title')}
        actions={
          session.can('contacts.create') && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              {t('contacts.new')}
            </Button>
          )
        }
      />
      <form role="search" class="contacts-search" onSubmit={(e) => { e.preventDefault(); setQuery({ q: search.trim() }); }}>
        <Field label={t('contacts.search')} type="search" value={search} placeholder={t('contacts.search_placeholder')} onInput={(e) => setSearch(e.currentTarget.value)} />
      </form>
      {rows === null ? (
        <Spinner />
      ) : rows.length === 0 ? (
        <Empty title={q ? t('contacts.no_results') : t('contacts.empty')} />
      ) : (
        <ul class="contact-list" aria-label={t('contacts.title')}>
          {rows.map((c) => (
            <li key={c.id}>
              <Link href={'/contacts/' + encodeURIComponent(c.id)} class="contact-row" data-contact={c.id}>
                <span class="contact-main">
                  <span class="contact-name">{c.name || t('inbox.unknown_sender')}</span>
                  <span class="contact-addr">{[c.phone, c.email].filter(Boolean).join(' · ') || (c.identities[0] && c.identities[0].address) || ''}</span>
                </span>
                <span class="contact-chans">
                  {[...new Set(c.identities.map((i) => kindChannel(i.kind)))].map((ch) => (
                    <ChannelIcon key={ch} channel={ch} />
                  ))}
                </span>
                <span class="contact-when">
                  <span class="sr-only">{t('contacts.last_activity')}: </span>
                  {fmtWhen(c.last_activity_at || c.updated_at)}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <Pagination pages={pages} nextCursor={next} label={t('contacts.pages')} />
      {creating && <NewContact open={creating} onClose={() => setCreating(false)} />}
    </div>
  );
}
